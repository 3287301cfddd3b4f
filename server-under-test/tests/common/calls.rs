//! A call as Twilio places it on a [`TestApp`]: the voice webhook, then the Media Streams socket
//! with the `start` message carrying the TwiML's `<Parameter>`s, then `stop`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::app::TestApp;
use super::media::MediaStream;
use super::requests::{Answer, params};

/// The person on the line unless a test names one.
const DEFAULT_CALLER: &str = "+14155551234";
/// The tenant's Twilio number.
const BUSINESS_NUMBER: &str = "+15005550006";

/// How long a call waits for the server to close its stream.
const CLOSE_WAIT: Duration = Duration::from_secs(60);

/// The `<Parameter name="…" value="…"/>` pairs of a TwiML answer, as `customParameters`.
pub(crate) fn stream_parameters(twiml: &str) -> Value {
    let mut parameters = Map::new();
    let marker = "<Parameter name=\"";
    for piece in twiml.split(marker).skip(1) {
        let Some((name, rest)) = piece.split_once('"') else {
            continue;
        };
        let Some(value) = rest
            .strip_prefix(" value=\"")
            .and_then(|rest| rest.split_once('"'))
            .map(|(value, _)| value)
        else {
            continue;
        };
        parameters.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    Value::Object(parameters)
}

/// A media stream whose `start` has been sent.
pub(crate) struct StreamingCall {
    stream: MediaStream,
    /// When `start` was sent.
    pub(crate) started_at: Instant,
}

impl TestApp {
    /// The voice webhook `/twiml/{route}/{tenant}` ("incoming" or "outbound") for `call_sid`.
    pub(crate) async fn answer_call(&self, route: &str, tenant: &str, call_sid: &str) -> Answer {
        self.answer_call_with(route, tenant, call_sid, DEFAULT_CALLER)
            .await
    }

    /// The voice webhook for a call with `caller`, the person on the line: `From` when they
    /// call in, `To` when the tenant calls them.
    pub(crate) async fn answer_call_with(
        &self,
        route: &str,
        tenant: &str,
        call_sid: &str,
        caller: &str,
    ) -> Answer {
        let (from, to) = match route {
            "outbound" => (BUSINESS_NUMBER, caller),
            _ => (caller, BUSINESS_NUMBER),
        };
        let form = params(&[("CallSid", call_sid), ("From", from), ("To", to)]);
        self.post_signed(&format!("/twiml/{route}/{tenant}"), &form)
            .await
    }

    /// The slug-less voice webhook `/twiml/{route}` ("incoming" or "outbound") for `call_sid`
    /// from `from` to `to`: the server finds the tenant by `To` when the call comes in and by
    /// `From` when the tenant placed it.
    pub(crate) async fn answer_by_number(
        &self,
        route: &str,
        call_sid: &str,
        from: &str,
        to: &str,
    ) -> Answer {
        let form = params(&[("CallSid", call_sid), ("From", from), ("To", to)]);
        self.post_signed(&format!("/twiml/{route}"), &form).await
    }

    /// [`TestApp::answer_by_number`], then the stream with the TwiML's parameters; fails the
    /// test unless the webhook answers 200 with a stream.
    pub(crate) async fn place_by_number(
        &self,
        route: &str,
        call_sid: &str,
        from: &str,
        to: &str,
    ) -> StreamingCall {
        let answer = self.answer_by_number(route, call_sid, from, to).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(answer.text.contains("<Stream "), "{}", answer.text);
        self.start_stream(call_sid, stream_parameters(&answer.text))
            .await
    }

    /// Opens the media stream and sends `connected` and a `start` with `parameters`.
    pub(crate) async fn start_stream(&self, call_sid: &str, parameters: Value) -> StreamingCall {
        let mut stream = self.open_media_stream().await;
        let start = json!({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1",
            "start": {"accountSid": "AC1", "streamSid": "MZ1", "callSid": call_sid,
                      "customParameters": parameters}});
        for message in [
            json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
            start,
        ] {
            stream
                .send(Message::Text(message.to_string().into()))
                .await
                .unwrap();
        }
        StreamingCall {
            stream,
            started_at: Instant::now(),
        }
    }

    /// Answers `call_sid` on `route` and starts its stream with the TwiML's parameters; fails
    /// the test unless the webhook answers 200.
    pub(crate) async fn place_answered_call(
        &self,
        route: &str,
        tenant: &str,
        call_sid: &str,
    ) -> StreamingCall {
        self.place_call_with(route, tenant, call_sid, DEFAULT_CALLER)
            .await
    }

    /// [`TestApp::place_answered_call`] with `caller` on the line.
    pub(crate) async fn place_call_with(
        &self,
        route: &str,
        tenant: &str,
        call_sid: &str,
        caller: &str,
    ) -> StreamingCall {
        let answer = self.answer_call_with(route, tenant, call_sid, caller).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        self.start_stream(call_sid, stream_parameters(&answer.text))
            .await
    }
}

impl StreamingCall {
    /// Sends `stop` (the caller hung up) and waits for the server to close the stream.
    pub(crate) async fn hang_up(mut self) {
        let stop = json!({"event": "stop", "sequenceNumber": "2", "streamSid": "MZ1"});
        // The server may already have closed the stream; then there is nothing to stop.
        let _ = self
            .stream
            .send(Message::Text(stop.to_string().into()))
            .await;
        self.closed_by_server().await;
    }

    /// Waits until the server closes the stream; true when it sent nothing else first.
    pub(crate) async fn closed_by_server(&mut self) -> bool {
        let mut only_close = true;
        let closing = async {
            while let Some(Ok(message)) = self.stream.next().await {
                if !matches!(message, Message::Close(_)) {
                    only_close = false;
                }
            }
        };
        tokio::time::timeout(CLOSE_WAIT, closing)
            .await
            .expect("the server closes the stream");
        only_close
    }
}
