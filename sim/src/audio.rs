//! G.711 µ-law, WAV in and out, generators and framing.
