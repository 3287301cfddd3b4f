//! Twilio's `media` message in its exact compact layout, read without a JSON parser.
//!
//! Fifty of these arrive every second of every call and nearly all of a stream is made of them;
//! a general JSON parse of each costs more than everything else the server does with it. Twilio
//! writes them in one fixed layout:
//! `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"20","payload":"…"},"streamSid":"MZ…"}`.
//! A message in exactly that layout, whose values contain no backslash, quote or control
//! character, has one meaning, which this reads; anything else (other whitespace, order, fields,
//! an escape) is `None` and goes to the general parser. A test holds the two together.

use crate::twilio_message::{MediaPayload, TwilioInbound};

/// The `media` message in `text`, if `text` has Twilio's exact layout.
pub(crate) fn parse_media(text: &str) -> Option<TwilioInbound> {
    let rest = text.strip_prefix(r#"{"event":"media","sequenceNumber":""#)?;
    let (_, rest) = plain_value(rest)?;
    let rest = rest.strip_prefix(r#","media":{"track":""#)?;
    let (_, rest) = plain_value(rest)?;
    let rest = rest.strip_prefix(r#","chunk":""#)?;
    let (_, rest) = plain_value(rest)?;
    let rest = rest.strip_prefix(r#","timestamp":""#)?;
    let (timestamp, rest) = plain_value(rest)?;
    let rest = rest.strip_prefix(r#","payload":""#)?;
    let (payload, rest) = plain_value(rest)?;
    let rest = rest.strip_prefix(r#"},"streamSid":""#)?;
    let (stream_sid, rest) = plain_value(rest)?;
    if rest != "}" {
        return None;
    }
    Some(TwilioInbound::Media {
        stream_sid: Some(stream_sid.to_owned()),
        media: MediaPayload {
            timestamp: Some(timestamp.to_owned()),
            payload: payload.to_owned(),
        },
    })
}

/// The string value that `text` starts with (its opening quote already consumed) and what
/// follows its closing quote, if the value needs no unescaping.
fn plain_value(text: &str) -> Option<(&str, &str)> {
    let end = text.find('"')?;
    let value = &text[..end];
    // One pass without an early exit, which the compiler vectorizes.
    let needs_parser = value
        .bytes()
        .fold(false, |found, b| found | (b == b'\\') | (b < 0x20));
    (!needs_parser).then(|| (value, &text[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWILIO: &str = r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"20","payload":"//8A/w=="},"streamSid":"MZ1"}"#;

    #[test]
    fn twilio_s_layout_reads_as_the_general_parser_reads_it() {
        let general: TwilioInbound = serde_json::from_str(TWILIO).unwrap();
        assert_eq!(parse_media(TWILIO), Some(general));
    }

    #[test]
    fn anything_else_is_left_to_the_general_parser() {
        let others = [
            // Whitespace, another order, a missing or extra field, an escape, trailing bytes.
            r#"{"event": "media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"20","payload":"//8="},"streamSid":"MZ1"}"#,
            r#"{"sequenceNumber":"3","event":"media","media":{"track":"inbound","chunk":"2","timestamp":"20","payload":"//8="},"streamSid":"MZ1"}"#,
            r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","payload":"//8="},"streamSid":"MZ1"}"#,
            r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"20","payload":"//8=","x":1},"streamSid":"MZ1"}"#,
            r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"20","payload":"//8\u0041"},"streamSid":"MZ1"}"#,
            r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"20","payload":"//8="},"streamSid":"MZ1"} "#,
            r#"{"event":"mark","sequenceNumber":"3","mark":{"name":"a"},"streamSid":"MZ1"}"#,
            "",
        ];
        for text in others {
            assert_eq!(parse_media(text), None, "{text}");
        }
    }
}
