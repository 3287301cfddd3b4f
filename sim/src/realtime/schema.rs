//! The GA session schema (for unknown-parameter detection at any depth) and the field
//! validators shared by `session.update` and `response.create`, worded like the service.

use serde_json::{Map, Value};

use super::api_error::ApiError;
use super::session_config::{AudioFormat, TurnDetection};

/// A node of the GA session schema, used to find unknown keys at any depth.
pub(crate) struct Schema {
    keys: &'static [(&'static str, Option<&'static Schema>)],
}

const FORMAT_SCHEMA: Schema = Schema {
    keys: &[("type", None), ("rate", None)],
};
const TD_SCHEMA: Schema = Schema {
    keys: &[
        ("type", None),
        ("threshold", None),
        ("prefix_padding_ms", None),
        ("silence_duration_ms", None),
        ("idle_timeout_ms", None),
        ("create_response", None),
        ("interrupt_response", None),
        ("eagerness", None),
    ],
};
const TRANSCRIPTION_SCHEMA: Schema = Schema {
    keys: &[("model", None), ("language", None), ("prompt", None)],
};
const NOISE_SCHEMA: Schema = Schema {
    keys: &[("type", None)],
};
const INPUT_SCHEMA: Schema = Schema {
    keys: &[
        ("format", Some(&FORMAT_SCHEMA)),
        ("transcription", Some(&TRANSCRIPTION_SCHEMA)),
        ("noise_reduction", Some(&NOISE_SCHEMA)),
        ("turn_detection", Some(&TD_SCHEMA)),
    ],
};
const OUTPUT_SCHEMA: Schema = Schema {
    keys: &[
        ("format", Some(&FORMAT_SCHEMA)),
        ("voice", None),
        ("speed", None),
    ],
};
const AUDIO_SCHEMA: Schema = Schema {
    keys: &[
        ("input", Some(&INPUT_SCHEMA)),
        ("output", Some(&OUTPUT_SCHEMA)),
    ],
};
pub(crate) const GA_SCHEMA: Schema = Schema {
    keys: &[
        ("type", None),
        ("model", None),
        ("output_modalities", None),
        ("instructions", None),
        ("audio", Some(&AUDIO_SCHEMA)),
        ("tools", None),
        ("tool_choice", None),
        ("max_output_tokens", None),
        ("tracing", None),
        ("truncation", None),
        ("prompt", None),
        ("include", None),
    ],
};

/// Schema of the `audio` object of a GA `response.create` (only `output` may be overridden).
pub(crate) const RESPONSE_AUDIO_SCHEMA: &Schema = &Schema {
    keys: &[(
        "output",
        Some(&Schema {
            keys: &[("format", Some(&FORMAT_SCHEMA)), ("voice", None)],
        }),
    )],
};

pub(crate) fn scan_unknown(
    obj: &Map<String, Value>,
    path: &str,
    schema: &Schema,
) -> Result<(), ApiError> {
    for (key, value) in obj {
        let p = format!("{path}.{key}");
        match schema.keys.iter().find(|(k, _)| k == key) {
            None => return Err(ApiError::unknown_parameter(&p)),
            Some((_, Some(child))) => {
                if let Value::Object(inner) = value {
                    scan_unknown(inner, &p, child)?;
                }
            }
            Some((_, None)) => {}
        }
    }
    Ok(())
}

/// Checks `obj` for keys not in `schema` (for callers outside this file).
pub(crate) fn check_unknown(
    obj: &Map<String, Value>,
    path: &str,
    schema: &Schema,
) -> Result<(), ApiError> {
    scan_unknown(obj, path, schema)
}

pub(crate) fn string<'a>(v: &'a Value, p: &str) -> Result<&'a str, ApiError> {
    v.as_str()
        .ok_or_else(|| ApiError::invalid_type(p, "a string", v))
}

pub(crate) fn object<'a>(v: &'a Value, p: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::invalid_type(p, "an object", v))
}

pub(crate) fn nullable_object(v: &Value, p: &str) -> Result<Value, ApiError> {
    match v {
        Value::Null | Value::Object(_) => Ok(v.clone()),
        other => Err(ApiError::invalid_type(p, "an object", other)),
    }
}

/// A non-negative integer; a negative one is a value error, anything else a type error.
pub(crate) fn uint(v: &Value, p: &str) -> Result<u64, ApiError> {
    match v.as_u64() {
        Some(n) => Ok(n),
        None if v.is_i64() => Err(ApiError::negative_integer(p, v)),
        None => Err(ApiError::invalid_type(p, "an integer", v)),
    }
}

pub(crate) fn boolean(v: &Value, p: &str) -> Result<bool, ApiError> {
    v.as_bool()
        .ok_or_else(|| ApiError::invalid_type(p, "a boolean", v))
}

pub(crate) fn tools(v: &Value, p: &str) -> Result<Vec<Value>, ApiError> {
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::invalid_type(p, "an array", v))?;
    for (i, tool) in arr.iter().enumerate() {
        let tp = format!("{p}[{i}].type");
        let t = tool
            .get("type")
            .ok_or_else(|| ApiError::missing_required(&tp))?;
        let t = string(t, &tp)?;
        if !["function", "mcp"].contains(&t) {
            return Err(ApiError::invalid_value(t, &["function", "mcp"], &tp));
        }
    }
    Ok(arr.clone())
}

pub(crate) fn tool_choice(v: &Value, p: &str) -> Result<Value, ApiError> {
    match v {
        Value::String(s) if ["auto", "none", "required"].contains(&s.as_str()) => Ok(v.clone()),
        Value::String(s) => Err(ApiError::invalid_value(s, &["auto", "none", "required"], p)),
        Value::Object(_) => Ok(v.clone()),
        other => Err(ApiError::invalid_type(p, "a string or an object", other)),
    }
}

pub(crate) fn max_tokens(v: &Value, p: &str) -> Result<Value, ApiError> {
    match v {
        Value::String(s) if s == "inf" => Ok(v.clone()),
        Value::String(s) => Err(ApiError::invalid_value(s, &["inf"], p)),
        Value::Number(n) => match n.as_u64() {
            Some(1..=4096) => Ok(v.clone()),
            _ => Err(ApiError::out_of_range(p, v, "1", "4096")),
        },
        other => Err(ApiError::invalid_type(p, "an integer or 'inf'", other)),
    }
}

pub(crate) fn ga_modalities(v: &Value, p: &str) -> Result<Vec<String>, ApiError> {
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::invalid_type(p, "an array", v))?;
    let mut out = Vec::new();
    for (i, m) in arr.iter().enumerate() {
        let mp = format!("{p}[{i}]");
        let m = string(m, &mp)?;
        if !["audio", "text"].contains(&m) {
            return Err(ApiError::invalid_value(m, &["audio", "text"], &mp));
        }
        out.push(m.to_owned());
    }
    out.dedup();
    if out.len() != 1 {
        let listed: Vec<String> = out.iter().map(|m| format!("'{m}'")).collect();
        return Err(ApiError::invalid(
            Some("invalid_value"),
            format!(
                "Invalid modalities: [{}]. Supported combinations are: ['text'] and ['audio'].",
                listed.join(", ")
            ),
            Some(p),
        ));
    }
    Ok(out)
}

pub(crate) fn beta_modalities(v: &Value, p: &str) -> Result<Vec<String>, ApiError> {
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::invalid_type(p, "an array", v))?;
    let mut has_audio = false;
    for (i, m) in arr.iter().enumerate() {
        let mp = format!("{p}[{i}]");
        match string(m, &mp)? {
            "audio" => has_audio = true,
            "text" => {}
            other => return Err(ApiError::invalid_value(other, &["text", "audio"], &mp)),
        }
    }
    Ok(vec![if has_audio { "audio" } else { "text" }.to_owned()])
}

pub(crate) fn ga_format(v: &Value, p: &str) -> Result<AudioFormat, ApiError> {
    let obj = object(v, p)?;
    let tp = format!("{p}.type");
    let t = obj
        .get("type")
        .ok_or_else(|| ApiError::missing_required(&tp))?;
    let format = match string(t, &tp)? {
        "audio/pcm" => AudioFormat::Pcm24k,
        "audio/pcmu" => AudioFormat::Pcmu,
        "audio/pcma" => AudioFormat::Pcma,
        other => {
            return Err(ApiError::invalid_value(
                other,
                &["audio/pcm", "audio/pcmu", "audio/pcma"],
                &tp,
            ));
        }
    };
    if let Some(rate) = obj.get("rate") {
        let rp = format!("{p}.rate");
        if format != AudioFormat::Pcm24k {
            return Err(ApiError::unknown_parameter(&rp));
        }
        if rate.as_u64() != Some(24000) {
            return Err(ApiError::invalid_value(&rate.to_string(), &["24000"], &rp));
        }
    }
    Ok(format)
}

pub(crate) fn beta_format(v: &Value, p: &str) -> Result<AudioFormat, ApiError> {
    let s = string(v, p)?;
    AudioFormat::from_beta(s)
        .ok_or_else(|| ApiError::invalid_value(s, &["pcm16", "g711_ulaw", "g711_alaw"], p))
}

pub(crate) fn voice(v: &Value, p: &str, allowed: &[&str]) -> Result<String, ApiError> {
    match v {
        Value::String(s) if allowed.contains(&s.as_str()) => Ok(s.clone()),
        Value::String(s) => Err(ApiError::invalid_value(s, allowed, p)),
        Value::Object(o) => match o.get("id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_owned()),
            None => Err(ApiError::missing_required(&format!("{p}.id"))),
        },
        other => Err(ApiError::invalid_type(p, "a string", other)),
    }
}

pub(crate) fn turn_detection(v: &Value, p: &str) -> Result<Option<TurnDetection>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(obj) => TurnDetection::parse(obj, p).map(Some),
        other => Err(ApiError::invalid_type(p, "an object", other)),
    }
}
