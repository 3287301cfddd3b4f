//! G.711 for the mock: µ-law from `sim::audio`, A-law here.
//!
//! The VAD must measure energy on linear samples (µ-law digital silence is 0xFF/0x7F, not 0x00),
//! and scripted replies are encoded into whatever output format the session negotiated.

// µ-law is `sim::audio`'s table-driven codec; A-law only exists here.
pub(crate) use crate::audio::{decode as ulaw_decode, encode as ulaw_encode};

/// Decodes one A-law byte to a linear 16-bit sample.
pub(crate) fn alaw_decode(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let exponent = i32::from((a & 0x70) >> 4);
    let mantissa = i32::from(a & 0x0F);
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    let value = if a & 0x80 != 0 { magnitude } else { -magnitude };
    i16::try_from(value).unwrap_or(0)
}

/// Encodes one linear 16-bit sample as A-law.
pub(crate) fn alaw_encode(sample: i16) -> u8 {
    let s = i32::from(sample);
    let (sign, magnitude) = if s >= 0 { (0x80u8, s) } else { (0u8, -s - 1) };
    let magnitude = magnitude.min(0x7FFF);
    let mut exponent: u8 = 7;
    let mut mask = 0x4000;
    while exponent > 0 && magnitude & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let shift = if exponent == 0 {
        4
    } else {
        i32::from(exponent) + 3
    };
    let mantissa = u8::try_from((magnitude >> shift) & 0x0F).unwrap_or(0);
    (sign | (exponent << 4) | mantissa) ^ 0x55
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_reference_points() {
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x00), -32_124);
        assert_eq!(ulaw_decode(0x80), 32_124);
        assert_eq!(ulaw_encode(0), 0xFF);
    }

    #[test]
    fn round_trips_stay_close() {
        for s in (-32_000i16..32_000).step_by(97) {
            let u = ulaw_decode(ulaw_encode(s));
            let a = alaw_decode(alaw_encode(s));
            let tol = (i32::from(s).abs() / 16).max(16);
            assert!(
                (i32::from(u) - i32::from(s)).abs() <= tol,
                "ulaw {s} -> {u}"
            );
            assert!(
                (i32::from(a) - i32::from(s)).abs() <= tol,
                "alaw {s} -> {a}"
            );
        }
    }
}
