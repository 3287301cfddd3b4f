//! Translation of GA server events into the retired beta dialect.
//!
//! The session always builds GA events; a beta connection gets them renamed on the way out,
//! which keeps one code path for behaviour and one place that knows the naming differences.

use serde_json::{Map, Value, json};

/// Rewrites one GA event for a beta connection; `None` drops events beta never sent.
pub(crate) fn to_beta(mut event: Value, temperature: f64) -> Option<Value> {
    let ty = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let renamed = match ty.as_str() {
        "conversation.item.done" => return None,
        "conversation.item.added" => "conversation.item.created",
        "response.output_audio.delta" => "response.audio.delta",
        "response.output_audio.done" => "response.audio.done",
        "response.output_audio_transcript.delta" => "response.audio_transcript.delta",
        "response.output_audio_transcript.done" => "response.audio_transcript.done",
        "response.output_text.delta" => "response.text.delta",
        "response.output_text.done" => "response.text.done",
        other => other,
    }
    .to_owned();
    let obj = event.as_object_mut()?;
    obj.insert("type".to_owned(), Value::String(renamed));
    obj.remove("obfuscation");
    if ty == "response.function_call_arguments.done" {
        obj.remove("name");
    }
    if let Some(item) = obj.get_mut("item") {
        beta_item(item);
    }
    if let Some(response) = obj.get_mut("response") {
        beta_response(response, temperature);
    }
    if ty == "rate_limits.updated"
        && let Some(Value::Array(limits)) = obj.get_mut("rate_limits")
    {
        limits.insert(
            0,
            json!({"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012}),
        );
    }
    Some(event)
}

fn beta_item(item: &mut Value) {
    let Some(obj) = item.as_object_mut() else {
        return;
    };
    obj.insert("object".to_owned(), json!("realtime.item"));
    if let Some(Value::Array(content)) = obj.get_mut("content") {
        for part in content {
            if let Some(t) = part.get_mut("type") {
                match t.as_str() {
                    Some("output_audio") => *t = json!("audio"),
                    Some("output_text") => *t = json!("text"),
                    _ => {}
                }
            }
        }
    }
}

fn beta_response(response: &mut Value, temperature: f64) {
    let Some(obj) = response.as_object_mut() else {
        return;
    };
    let modalities = match obj.remove("output_modalities") {
        Some(Value::Array(m)) if m.iter().any(|x| x == "audio") => json!(["audio", "text"]),
        _ => json!(["text"]),
    };
    let audio = obj.remove("audio").unwrap_or(Value::Null);
    let output = audio.get("output").cloned().unwrap_or(Value::Null);
    let format = match output.pointer("/format/type").and_then(Value::as_str) {
        Some("audio/pcmu") => "g711_ulaw",
        Some("audio/pcma") => "g711_alaw",
        _ => "pcm16",
    };
    let mut out = Map::new();
    for (k, v) in std::mem::take(obj) {
        out.insert(k, v);
    }
    out.insert("modalities".to_owned(), modalities);
    out.insert(
        "voice".to_owned(),
        output.get("voice").cloned().unwrap_or(json!("alloy")),
    );
    out.insert("output_audio_format".to_owned(), json!(format));
    out.insert("temperature".to_owned(), json!(temperature));
    if let Some(Value::Array(items)) = out.get_mut("output") {
        for item in items {
            beta_item(item);
        }
    }
    *obj = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_audio_events_and_drops_item_done() {
        let ev = json!({"type": "response.output_audio.delta", "delta": "AA"});
        assert_eq!(to_beta(ev, 0.8).unwrap()["type"], "response.audio.delta");
        assert!(to_beta(json!({"type": "conversation.item.done"}), 0.8).is_none());
        let added = json!({"type": "conversation.item.added",
            "item": {"type": "message", "content": [{"type": "output_text", "text": "hi"}]}});
        let beta = to_beta(added, 0.8).unwrap();
        assert_eq!(beta["type"], "conversation.item.created");
        assert_eq!(beta["item"]["object"], "realtime.item");
        assert_eq!(beta["item"]["content"][0]["type"], "text");
    }

    #[test]
    fn response_objects_get_flat_fields() {
        let ev = json!({"type": "response.created", "response": {"id": "resp_1",
            "output_modalities": ["audio"], "audio": {"output": {"format": {"type": "audio/pcmu"}, "voice": "ash"}}}});
        let beta = to_beta(ev, 0.8).unwrap();
        assert_eq!(beta["response"]["modalities"], json!(["audio", "text"]));
        assert_eq!(beta["response"]["output_audio_format"], "g711_ulaw");
        assert_eq!(beta["response"]["voice"], "ash");
        assert!(beta["response"].get("audio").is_none());
    }
}
