//! `--ai-dialect live` over real sockets: a minimal Live peer records every frame the server
//! sends. The server opens `/v1/live/sessions`, starts each session with one `session.start`
//! carrying the call's prompt and Twilio's µ-law, never sends a Realtime event, greets with a
//! commentary append, forwards the caller's audio as `session.input_audio.append` and the
//! model's output track to Twilio, and ends the session with `session.close` when the caller
//! hangs up. Legacy's wrong prompt goes into `session.start`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use server_under_test::{AiDialect, Profile};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use crate::common::{config, spawn_app_with, stream_parameters};

const SALES: &str = "You are calling the customer for a sales pitch. Be persuasive.";
/// 100 ms of the model's output track (800 µ-law bytes).
const TRACK_DELTA: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2+v8DBwsPExcbHyMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpucnZ6foKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr/AwcLDxMXGx8jJysvMzc7P0NHS09TV1tfY2drb3N3e3+Dh4uPk5ebn6Onq6+zt7u/w8fLz9PX29/j5+vv8/f7/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const WAIT: Duration = Duration::from_secs(5);
/// 20 ms of µ-law silence, as Twilio sends it.
const SILENCE_FRAME: &str = "/////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////w==";

/// What the Live peer saw: the upgrade's path and key, then every text frame.
#[derive(Debug)]
enum Seen {
    Upgrade {
        path: String,
        authorization: Option<String>,
    },
    Frame(Value),
}

/// A Live peer: silent until `session.start`, answers it with `session.started`, and sends one
/// 100 ms output delta after the first caller audio.
async fn start_live_peer() -> (String, UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, rx) = unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_peer(stream, seen.clone()));
        }
    });
    (format!("ws://{addr}/v1/live/sessions"), rx)
}

#[expect(
    clippy::result_large_err,
    reason = "tungstenite's accept callback signature fixes the error type"
)]
async fn serve_peer(stream: tokio::net::TcpStream, seen: UnboundedSender<Seen>) {
    let upgrade = seen.clone();
    let callback = move |request: &Request, response: Response| {
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let _ = upgrade.send(Seen::Upgrade {
            path: request.uri().to_string(),
            authorization,
        });
        Ok(response)
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let mut spoke = false;
    while let Some(Ok(Message::Text(text))) = socket.next().await {
        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
        let reply = match frame["type"].as_str() {
            Some("session.start") => Some(json!({"type": "session.started",
                "event_id": "event_1", "session": {"id": "live_1", "status": "active"}})),
            Some("session.input_audio.append") if !spoke => {
                spoke = true;
                Some(json!({"type": "session.output_audio.delta", "delta": TRACK_DELTA}))
            }
            _ => None,
        };
        let _ = seen.send(Seen::Frame(frame));
        if let Some(reply) = reply {
            let _ = socket.send(Message::Text(reply.to_string().into())).await;
        }
    }
}

/// One inbound call under `profile` on the Live dialect: what the peer saw, and the first
/// `media` the server sent to Twilio.
async fn live_call(profile: Profile) -> (Vec<Seen>, Value) {
    let (live_url, mut peer) = start_live_peer().await;
    let mut config = config();
    config.ai_dialect = AiDialect::Live;
    config.live_url = live_url;
    config.profile = profile;
    let app = spawn_app_with(config).await;
    app.put_tenant(
        "acme",
        json!({"business_name": "Acme", "inbound_prompt": "", "outbound_prompt": SALES,
               "greeting": "Welcome to Acme!"}),
    )
    .await;
    let call_sid = "CA0123456789abcdef0123456789abcdef";
    let answer = app.answer_call("incoming", "acme", call_sid).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let mut twilio = timeout(WAIT, app.open_media_stream()).await.unwrap();
    let mut messages = vec![
        json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
        json!({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1",
            "start": {"accountSid": "AC1", "streamSid": "MZ1", "callSid": call_sid,
                      "customParameters": stream_parameters(&answer.text)}}),
    ];
    for i in 0..5u32 {
        messages.push(
            json!({"event": "media", "sequenceNumber": (i + 2).to_string(),
            "streamSid": "MZ1", "media": {"track": "inbound", "chunk": (i + 1).to_string(),
            "timestamp": (i * 20).to_string(), "payload": SILENCE_FRAME}}),
        );
    }
    for message in messages {
        twilio
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }
    let media = timeout(WAIT, async {
        loop {
            let Some(Ok(Message::Text(text))) = twilio.next().await else {
                panic!("the Twilio socket closed before any media");
            };
            let message: Value = serde_json::from_str(text.as_str()).unwrap();
            if message["event"] == "media" {
                return message;
            }
        }
    })
    .await
    .unwrap();
    let mut seen = Vec::new();
    let appends = |seen: &[Seen]| {
        seen.iter()
            .filter(|s| matches!(s, Seen::Frame(f) if f["type"] == "session.input_audio.append"))
            .count()
    };
    while appends(&seen) < 5 {
        seen.push(timeout(WAIT, peer.recv()).await.unwrap().unwrap());
    }
    let stop = json!({"event": "stop", "sequenceNumber": "7", "streamSid": "MZ1"});
    twilio
        .send(Message::Text(stop.to_string().into()))
        .await
        .unwrap();
    // The hang-up ends the Live session with session.close before the socket closes.
    loop {
        let next = timeout(WAIT, peer.recv()).await.unwrap().unwrap();
        let closing = matches!(&next, Seen::Frame(f) if f["type"] == "session.close");
        seen.push(next);
        if closing {
            break;
        }
    }
    (seen, media)
}

fn frames(seen: &[Seen]) -> Vec<&Value> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Frame(f) => Some(f),
            Seen::Upgrade { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn a_live_call_starts_once_greets_by_commentary_and_streams_both_ways() {
    let (seen, media) = live_call(Profile::Fixed).await;
    let Some(Seen::Upgrade {
        path,
        authorization,
    }) = seen.first()
    else {
        panic!("the upgrade comes first: {seen:?}");
    };
    assert_eq!(
        path, "/v1/live/sessions",
        "no query: the model goes in session.start"
    );
    assert_eq!(authorization.as_deref(), Some("Bearer sk-test"));
    let frames = frames(&seen);
    let start = frames[0];
    assert_eq!(
        start["type"], "session.start",
        "session.start is the first frame"
    );
    assert_eq!(start["session"]["model"], "gpt-live-1");
    assert_eq!(
        start["session"]["audio"]["format"],
        json!({"type": "audio/pcmu", "rate": 8000})
    );
    let instructions = start["session"]["instructions"].as_str().unwrap();
    assert!(!instructions.contains(SALES), "{instructions}");
    let types: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(types.iter().filter(|t| **t == "session.start").count(), 1);
    assert!(
        types.iter().all(|t| t.starts_with("session.")),
        "only Live events: {types:?}"
    );
    let greeting = frames
        .iter()
        .find(|f| f["type"] == "session.commentary.append")
        .expect("the greeting is a commentary append");
    assert_eq!(greeting["delegation_id"], Value::Null);
    assert!(
        greeting["content"]
            .as_str()
            .unwrap()
            .contains("Welcome to Acme!"),
        "{greeting}"
    );
    assert_eq!(
        media["media"]["payload"], TRACK_DELTA,
        "the output track reaches Twilio as it came"
    );
}

#[tokio::test]
async fn legacy_puts_its_wrong_prompt_into_session_start() {
    let (seen, _) = live_call(Profile::Legacy).await;
    let frames = frames(&seen);
    assert_eq!(frames[0]["type"], "session.start");
    let instructions = frames[0]["session"]["instructions"].as_str().unwrap();
    assert!(instructions.contains(SALES), "{instructions}");
}
