//! Session tests over channels under a paused clock.

use futures_util::{Sink, Stream};
use serde_json::Value;
use std::pin::Pin;
use tokio::sync::mpsc;

use super::*;
use crate::twilio::call_record::CallRecord;
use crate::twilio::spec::{CallerScript, CallerStep, Direction};

const SID: &str = "MZ0123456789abcdef0123456789abcdef";

type BoxSink = Pin<Box<dyn Sink<Message, Error = ()> + Send>>;
type BoxStream = Pin<Box<dyn Stream<Item = Result<Message, ()>> + Send>>;

/// The client end (sink, stream) and the server end (receiver of client messages, sender to it).
fn pipe() -> (
    BoxSink,
    BoxStream,
    mpsc::UnboundedReceiver<Message>,
    mpsc::UnboundedSender<Message>,
) {
    let (to_server, from_client) = mpsc::unbounded_channel::<Message>();
    let (to_client, from_server) = mpsc::unbounded_channel::<Message>();
    let sink = futures_util::sink::unfold(to_server, |tx, msg: Message| async move {
        tx.send(msg).map_err(|_| ())?;
        Ok::<_, ()>(tx)
    });
    let stream = futures_util::stream::unfold(from_server, |mut rx| async move {
        rx.recv().await.map(|m| (Ok::<_, ()>(m), rx))
    });
    (Box::pin(sink), Box::pin(stream), from_client, to_client)
}

fn setup() -> (StreamSetup, CallHandle) {
    let mut record = CallRecord::new("t", "CA1", Direction::Inbound, "+1", "+2", 0);
    record
        .streams
        .push(StreamRecord::new(SID, "wss://x/m", None, BTreeMap::new()));
    let setup = StreamSetup {
        account_sid: "AC1".into(),
        call_sid: "CA1".into(),
        stream_sid: SID.into(),
        custom_parameters: BTreeMap::from([("k".into(), "v".into())]),
        drop_at: None,
        index: 0,
    };
    (setup, CallHandle::detached(record))
}

fn text(json: Value) -> Message {
    Message::text(json.to_string())
}

fn media(bytes: usize) -> Message {
    text(
        serde_json::json!({"event":"media","streamSid":SID,"media":{"payload":STANDARD.encode(vec![0x55u8; bytes])}}),
    )
}

fn mark(name: &str) -> Message {
    text(serde_json::json!({"event":"mark","streamSid":SID,"mark":{"name":name}}))
}

/// Reads client messages until one with `event`, returning it and the elapsed ms.
async fn until(
    rx: &mut mpsc::UnboundedReceiver<Message>,
    event: &str,
    t0: Instant,
) -> (Value, u64) {
    loop {
        let msg = rx.recv().await.expect("client stopped");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["event"] == event {
                return (v, u64::try_from((Instant::now() - t0).as_millis()).unwrap());
            }
        }
    }
}

fn script(ms: u64) -> CallerScript {
    CallerScript {
        steps: vec![CallerStep::Silence(Duration::from_millis(ms))],
        hangup_at: None,
    }
}

#[tokio::test(start_paused = true)]
async fn mark_after_one_second_of_audio_echoes_at_one_second() {
    let (setup, record) = setup();
    let (mut sink, mut stream, mut from_client, to_client) = pipe();
    let mut caller = CallerCursor::new(&script(3000));
    let (_ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    let clock = SimClock::start_default();
    let t0 = Instant::now();
    let server = async {
        until(&mut from_client, "start", t0).await;
        to_client.send(media(8000)).unwrap();
        to_client.send(mark("m1")).unwrap();
        let (echo, at) = until(&mut from_client, "mark", t0).await;
        assert_eq!(echo["mark"]["name"], "m1");
        assert_eq!(at, 1000);
        until(&mut from_client, "stop", t0).await
    };
    let (end, (stop, stop_at)) = tokio::join!(
        drive_stream(
            &mut sink,
            &mut stream,
            &setup,
            clock,
            &mut caller,
            &mut ctl_rx,
            &record
        ),
        server
    );
    assert_eq!(end, StreamEnd::Caller);
    assert_eq!(stop_at, 3000);
    assert_eq!(stop["stop"]["callSid"], "CA1");
    let st = record.snapshot().streams.remove(0);
    assert_eq!((st.marks_sent_by_server, st.marks_echoed), (1, 1));
    assert_eq!(st.media_frames_sent, 150);
    assert_eq!(st.heard.len(), 8000);
    assert_eq!(st.audio_heard_ms, 1000);
    assert_eq!(st.sent.len(), 150 * 160);
    let whole = PlayoutSpan {
        from_ms: 0,
        to_ms: 1000,
        bytes: 8000,
        cleared: false,
    };
    assert_eq!(st.playout, vec![whole]);
    assert_eq!(whole.heard_within(250, 5000), 750);
}

#[tokio::test(start_paused = true)]
async fn clear_at_300_ms_echoes_pending_marks_and_drops_the_rest() {
    let (setup, record) = setup();
    let (mut sink, mut stream, mut from_client, to_client) = pipe();
    let mut caller = CallerCursor::new(&script(2000));
    let (_ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    let clock = SimClock::start_default();
    let t0 = Instant::now();
    let server = async {
        until(&mut from_client, "start", t0).await;
        to_client.send(media(8000)).unwrap();
        to_client.send(mark("a")).unwrap();
        to_client.send(media(8000)).unwrap();
        to_client.send(mark("b")).unwrap();
        tokio::time::sleep_until(t0 + Duration::from_millis(300)).await;
        to_client
            .send(text(serde_json::json!({"event":"clear","streamSid":SID})))
            .unwrap();
        let (a, at_a) = until(&mut from_client, "mark", t0).await;
        let (b, at_b) = until(&mut from_client, "mark", t0).await;
        assert_eq!((a["mark"]["name"].as_str(), at_a), (Some("a"), 300));
        assert_eq!((b["mark"]["name"].as_str(), at_b), (Some("b"), 300));
        until(&mut from_client, "stop", t0).await
    };
    let (end, _) = tokio::join!(
        drive_stream(
            &mut sink,
            &mut stream,
            &setup,
            clock,
            &mut caller,
            &mut ctl_rx,
            &record
        ),
        server
    );
    assert_eq!(end, StreamEnd::Caller);
    let st = record.snapshot().streams.remove(0);
    assert_eq!(st.heard.len(), 2400);
    assert_eq!(st.clears, vec![300]);
    assert_eq!(st.marks_echoed, 2);
    let cut = PlayoutSpan {
        from_ms: 0,
        to_ms: 300,
        bytes: 2400,
        cleared: true,
    };
    assert_eq!(st.playout, vec![cut]);
    assert_eq!(cut.heard_within(100, 200), 100);
    assert_eq!(cut.heard_within(400, 900), 0);
}

#[tokio::test(start_paused = true)]
async fn sequence_chunk_and_timestamp_numbering() {
    let (setup, record) = setup();
    let (mut sink, mut stream, mut from_client, to_client) = pipe();
    let script = CallerScript {
        steps: vec![
            CallerStep::Silence(Duration::from_millis(40)),
            CallerStep::Dtmf("7".into()),
        ],
        hangup_at: None,
    };
    let mut caller = CallerCursor::new(&script);
    let (_ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    let clock = SimClock::start_default();
    let (end, ()) = tokio::join!(
        drive_stream(
            &mut sink,
            &mut stream,
            &setup,
            clock,
            &mut caller,
            &mut ctl_rx,
            &record
        ),
        async {
            // A mark with nothing buffered comes straight back, numbered in line.
            to_client.send(mark("early")).unwrap();
        }
    );
    assert_eq!(end, StreamEnd::Caller);
    drop(to_client);
    let mut msgs = Vec::new();
    while let Ok(Message::Text(t)) = from_client.try_recv() {
        msgs.push(serde_json::from_str::<Value>(t.as_str()).unwrap());
    }
    let events: Vec<&str> = msgs.iter().map(|m| m["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        [
            "connected",
            "start",
            "mark",
            "media",
            "media",
            "dtmf",
            "media",
            "media",
            "media",
            "media",
            "media",
            "stop"
        ]
    );
    assert!(msgs[0].get("sequenceNumber").is_none());
    let seqs: Vec<&str> = msgs[1..]
        .iter()
        .map(|m| m["sequenceNumber"].as_str().unwrap())
        .collect();
    assert_eq!(
        seqs,
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]
    );
    let media: Vec<(&str, &str)> = msgs
        .iter()
        .filter(|m| m["event"] == "media")
        .map(|m| {
            (
                m["media"]["chunk"].as_str().unwrap(),
                m["media"]["timestamp"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        media,
        [
            ("1", "0"),
            ("2", "20"),
            ("3", "40"),
            ("4", "60"),
            ("5", "80"),
            ("6", "100"),
            ("7", "120")
        ]
    );
    assert_eq!(
        msgs[5]["dtmf"],
        serde_json::json!({"track":"inbound_track","digit":"7"})
    );
    assert_eq!(msgs[1]["start"]["customParameters"]["k"], "v");
    assert_eq!(msgs[1]["start"]["tracks"], serde_json::json!(["inbound"]));
}

#[tokio::test(start_paused = true)]
async fn invalid_server_messages_are_warnings_not_crashes() {
    let (setup, record) = setup();
    let (mut sink, mut stream, mut from_client, to_client) = pipe();
    let mut caller = CallerCursor::new(&script(200));
    let (_ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    let clock = SimClock::start_default();
    let t0 = Instant::now();
    let server = async {
        until(&mut from_client, "start", t0).await;
        to_client.send(Message::text("{nope")).unwrap();
        to_client
            .send(text(serde_json::json!({"event":"dance","streamSid":SID})))
            .unwrap();
        to_client
            .send(text(
                serde_json::json!({"event":"clear","streamSid":"MZother"}),
            ))
            .unwrap();
        to_client
            .send(text(serde_json::json!({"event":"mark","streamSid":SID})))
            .unwrap();
        to_client
            .send(text(
                serde_json::json!({"event":"media","streamSid":SID,"media":{"payload":"!!"}}),
            ))
            .unwrap();
        to_client.send(Message::binary(vec![1u8, 2, 3])).unwrap();
        until(&mut from_client, "stop", t0).await
    };
    let (end, _) = tokio::join!(
        drive_stream(
            &mut sink,
            &mut stream,
            &setup,
            clock,
            &mut caller,
            &mut ctl_rx,
            &record
        ),
        server
    );
    assert_eq!(end, StreamEnd::Caller);
    let st = record.snapshot().streams.remove(0);
    let codes: Vec<u32> = st.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, [31951, 31951, 31951, 31951, 31951, 31950]);
    assert_eq!(st.media_frames_sent, 10);
}

#[tokio::test(start_paused = true)]
async fn server_close_drop_and_rest_commands_end_the_session() {
    // The server closes the socket.
    let (setup_a, record) = setup();
    let (mut sink, mut stream, _from_client, to_client) = pipe();
    let mut caller = CallerCursor::new(&script(5000));
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    to_client.send(Message::Close(None)).unwrap();
    let end = drive_stream(
        &mut sink,
        &mut stream,
        &setup_a,
        SimClock::start_default(),
        &mut caller,
        &mut ctl_rx,
        &record,
    )
    .await;
    assert_eq!(end, StreamEnd::Server);

    // An injected drop: no stop message.
    let (mut setup_b, record) = setup();
    setup_b.drop_at = Some(Duration::from_millis(100));
    let (mut sink, mut stream, mut from_client, _to_client) = pipe();
    let end = drive_stream(
        &mut sink,
        &mut stream,
        &setup_b,
        SimClock::start_default(),
        &mut caller,
        &mut ctl_rx,
        &record,
    )
    .await;
    assert_eq!(end, StreamEnd::Drop);
    let mut saw_stop = false;
    while let Ok(m) = from_client.try_recv() {
        saw_stop |= matches!(&m, Message::Text(t) if t.as_str().contains("\"stop\""));
        assert!(!matches!(m, Message::Close(_)));
    }
    assert!(!saw_stop);

    // A REST command: stop then close.
    let (setup_c, record) = setup();
    let (mut sink, mut stream, mut from_client, _to_client) = pipe();
    ctl_tx.send(ControlCmd::End("completed".into())).unwrap();
    let end = drive_stream(
        &mut sink,
        &mut stream,
        &setup_c,
        SimClock::start_default(),
        &mut caller,
        &mut ctl_rx,
        &record,
    )
    .await;
    assert_eq!(end, StreamEnd::Rest(ControlCmd::End("completed".into())));
    let mut last_two = Vec::new();
    while let Ok(m) = from_client.try_recv() {
        last_two.push(m);
    }
    assert!(matches!(last_two.last(), Some(Message::Close(_))));
}
