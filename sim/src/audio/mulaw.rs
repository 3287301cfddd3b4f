//! G.711 µ-law companding: a 256-entry decode table and the standard segment encoder.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

/// The G.711 µ-law decode table: `MULAW_DECODE[byte]` is the linear 16-bit sample.
pub const MULAW_DECODE: [i16; 256] = build_decode_table();

const fn decode_formula(byte: u8) -> i16 {
    let u = !byte;
    let mut t = (((u & 0x0F) as i32) << 3) + BIAS;
    t <<= ((u & 0x70) >> 4) as i32;
    let v = if u & 0x80 != 0 { BIAS - t } else { t - BIAS };
    v as i16
}

const fn build_decode_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = decode_formula(i as u8);
        i += 1;
    }
    table
}

/// Decodes one µ-law byte to a linear 16-bit sample.
pub fn decode(byte: u8) -> i16 {
    MULAW_DECODE[usize::from(byte)]
}

/// Encodes one linear 16-bit sample as µ-law (ITU-T G.711, as in the Sun reference code).
pub fn encode(sample: i16) -> u8 {
    let pcm = i32::from(sample);
    let (magnitude, mask) = if pcm < 0 {
        ((-pcm).min(CLIP) + BIAS, 0x7F_u8)
    } else {
        (pcm.min(CLIP) + BIAS, 0xFF_u8)
    };
    // The segment is the position of the highest set bit above bit 7 (0..=7).
    let mut segment: u8 = 0;
    while segment < 7 && (magnitude >> (segment + 8)) != 0 {
        segment += 1;
    }
    let mantissa = u8::try_from((magnitude >> (segment + 3)) & 0x0F).unwrap_or(0x0F);
    ((segment << 4) | mantissa) ^ mask
}

/// Encodes a slice of linear samples.
pub fn encode_all(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| encode(s)).collect()
}

/// Decodes a slice of µ-law bytes.
pub fn decode_all(mulaw: &[u8]) -> Vec<i16> {
    mulaw.iter().map(|&b| decode(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itu_reference_values() {
        assert_eq!(decode(0xFF), 0);
        assert_eq!(decode(0x7F), 0);
        assert_eq!(decode(0x00), -32124);
        assert_eq!(decode(0x80), 32124);
        assert_eq!(decode(0xFE), 8);
        assert_eq!(decode(0x7E), -8);
        assert_eq!(encode(0), 0xFF);
        assert_eq!(encode(i16::MAX), 0x80);
        assert_eq!(encode(i16::MIN), 0x00);
        assert_eq!(encode(-32124), 0x00);
        assert_eq!(encode(32124), 0x80);
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for byte in 0..=255u8 {
            let back = encode(decode(byte));
            // 0x7F is negative zero; it encodes back as positive zero.
            if byte == 0x7F {
                assert_eq!(back, 0xFF);
            } else {
                assert_eq!(back, byte, "code {byte:#04x}");
            }
        }
    }

    #[test]
    fn round_trip_error_is_within_the_quantisation_step() {
        for sample in (i16::MIN..=i16::MAX).step_by(7) {
            let back = i32::from(decode(encode(sample)));
            let s = i32::from(sample).clamp(-CLIP, CLIP);
            // The step doubles per segment; half a step at the top segment is 512.
            let allowed = s.abs() / 16 + 8;
            assert!((back - s).abs() <= allowed, "{sample} -> {back}");
        }
    }
}
