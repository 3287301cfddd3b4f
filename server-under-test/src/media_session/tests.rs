//! Tests of the media session, driven in memory: Twilio is a pair of channels and every Realtime
//! connection is a `FakeAi` handed to the test by `ChannelConnector`.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{sink, stream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::*;
use crate::config::{Config, Profile};
use crate::prompt_builder::build_full_business_prompt;
use crate::realtime::{AiConnection, AiConnector, ConnectFuture, RealtimeError};
use crate::realtime_event::{ErrorDetail, ServerEvent};
use crate::tenants::TenantInput;
use crate::twilio_message::{MarkPayload, MediaPayload, StartPayload};

const SALES: &str = "You are calling the customer for a sales pitch. Be persuasive.";

/// The model side of one in-memory Realtime connection.
struct FakeAi {
    from_bridge: UnboundedReceiver<ClientEvent>,
    to_bridge: UnboundedSender<ServerEvent>,
}

impl FakeAi {
    async fn next(&mut self) -> Option<ClientEvent> {
        tokio::time::timeout(Duration::from_secs(30), self.from_bridge.recv())
            .await
            .unwrap()
    }

    async fn instructions(&mut self) -> String {
        match self.next().await {
            Some(ClientEvent::SessionUpdate { session }) => session.instructions,
            other => panic!("expected session.update, got {other:?}"),
        }
    }

    fn send(&self, event: ServerEvent) {
        self.to_bridge.send(event).unwrap();
    }
}

/// Hands every new connection's model side to the test; refuses to connect when `fail` is set.
struct ChannelConnector {
    connections: UnboundedSender<FakeAi>,
    fail: bool,
}

impl AiConnector for ChannelConnector {
    fn connect(&self) -> ConnectFuture<'_> {
        Box::pin(async move {
            if self.fail {
                return Err(RealtimeError::Closed);
            }
            let (client_tx, from_bridge) = unbounded_channel();
            let (to_bridge, server_rx) = unbounded_channel();
            self.connections
                .send(FakeAi {
                    from_bridge,
                    to_bridge,
                })
                .map_err(|_| RealtimeError::Closed)?;
            let sink = sink::unfold(
                client_tx,
                |tx: UnboundedSender<ClientEvent>, event| async move {
                    tx.send(event).map_err(|_| RealtimeError::Closed)?;
                    Ok::<_, RealtimeError>(tx)
                },
            );
            let stream = stream::unfold(server_rx, |mut rx| async move {
                rx.recv().await.map(|e| (e, rx))
            });
            Ok(AiConnection {
                sink: Box::pin(sink),
                stream: Box::pin(stream),
            })
        })
    }
}

struct Call {
    state: AppState,
    twilio_in: UnboundedSender<TwilioInbound>,
    twilio_out: UnboundedReceiver<TwilioOutbound>,
    ai_connections: UnboundedReceiver<FakeAi>,
    session: JoinHandle<SessionReport>,
}

impl Call {
    async fn next_ai(&mut self) -> FakeAi {
        tokio::time::timeout(Duration::from_secs(30), self.ai_connections.recv())
            .await
            .unwrap()
            .unwrap()
    }

    async fn next_twilio(&mut self) -> TwilioOutbound {
        tokio::time::timeout(Duration::from_secs(30), self.twilio_out.recv())
            .await
            .unwrap()
            .unwrap()
    }

    fn send(&self, message: TwilioInbound) {
        self.twilio_in.send(message).unwrap();
    }

    fn media(&self, ts: u64, payload: &str) {
        self.send(TwilioInbound::Media {
            stream_sid: Some("MZ1".into()),
            media: MediaPayload {
                timestamp: Some(ts.to_string()),
                payload: payload.into(),
            },
        });
    }

    async fn stop(self) -> (AppState, SessionReport) {
        self.send(TwilioInbound::Stop {
            stream_sid: Some("MZ1".into()),
        });
        let report = tokio::time::timeout(Duration::from_secs(30), self.session)
            .await
            .unwrap()
            .unwrap();
        (self.state, report)
    }
}

fn start_message(direction: &str) -> TwilioInbound {
    let custom_parameters = BTreeMap::from([
        ("tenant".to_owned(), "acme".to_owned()),
        ("direction".to_owned(), direction.to_owned()),
        ("call_sid".to_owned(), "CA1".to_owned()),
    ]);
    TwilioInbound::Start {
        stream_sid: "MZ1".into(),
        start: StartPayload {
            account_sid: Some("AC1".into()),
            call_sid: Some("CA1".into()),
            custom_parameters,
        },
    }
}

fn start_call(profile: Profile, greeting: Option<&str>, fail_ai: bool) -> Call {
    let mut config = Config::in_process("https://callsim.test", "t", "ws://unused");
    config.profile = profile;
    let (connections, ai_connections) = unbounded_channel();
    let connector = ChannelConnector {
        connections,
        fail: fail_ai,
    };
    let state = AppState::with_connector(config, Arc::new(connector)).unwrap();
    let input = TenantInput {
        business_name: "Acme".into(),
        inbound_prompt: Some(String::new()),
        outbound_prompt: Some(SALES.into()),
        greeting: greeting.map(str::to_owned),
        voice: None,
    };
    let tenant = state.upsert_tenant("acme", &input).unwrap();
    // What the inbound webhook stores before the stream connects.
    let prebuilt = build_full_business_prompt(&tenant, Direction::Inbound, profile.into());
    state.registry().store_prebuilt("CA1", &prebuilt);

    let (twilio_in, in_rx) = unbounded_channel();
    let (out_tx, twilio_out) = unbounded_channel();
    let twilio_tx = sink::unfold(
        out_tx,
        |tx: UnboundedSender<TwilioOutbound>, message| async move {
            tx.send(message).map_err(|_| "twilio receiver dropped")?;
            Ok::<_, &'static str>(tx)
        },
    );
    let twilio_rx = stream::unfold(
        in_rx,
        |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
    );
    let session = tokio::spawn(run_media_session(
        state.clone(),
        Box::pin(twilio_tx),
        Box::pin(twilio_rx),
    ));
    Call {
        state,
        twilio_in,
        twilio_out,
        ai_connections,
        session,
    }
}

fn delta(item: &str, bytes: usize) -> ServerEvent {
    ServerEvent::OutputAudioDelta {
        item_id: item.into(),
        delta: STANDARD.encode(vec![0xFFu8; bytes]),
    }
}

fn media_bytes(message: &TwilioOutbound) -> usize {
    match message {
        TwilioOutbound::Media { media, .. } => STANDARD.decode(&media.payload).unwrap().len(),
        other => panic!("expected media, got {other:?}"),
    }
}

/// Seed test F end to end in memory: legacy sends the outbound sales prompt to an inbound call.
#[tokio::test(start_paused = true)]
async fn test_f_legacy_inbound_call_gets_outbound_prompt() {
    let mut call = start_call(Profile::Legacy, None, false);
    call.send(TwilioInbound::Connected {
        protocol: Some("Call".into()),
    });
    call.send(start_message("inbound"));
    let mut ai = call.next_ai().await;
    assert!(ai.instructions().await.contains("sales pitch"));
    let (state, report) = call.stop().await;
    assert_eq!(report.prompt_source, Some(PromptSource::Prebuilt));
    assert_eq!(report.direction, Some(Direction::Inbound));
    assert_eq!(report.end, EndReason::Stop);
    assert_eq!(state.registry().len(), 0);
}

/// Seed test F with the fix: the fixed profile rebuilds an inbound prompt.
#[tokio::test(start_paused = true)]
async fn test_f_fixed_inbound_call_gets_receptionist_prompt() {
    let mut call = start_call(Profile::Fixed, None, false);
    call.send(start_message("inbound"));
    let mut ai = call.next_ai().await;
    let instructions = ai.instructions().await;
    assert!(
        instructions.contains("receptionist for Acme"),
        "{instructions}"
    );
    assert!(!instructions.contains("sales"));
    let (_, report) = call.stop().await;
    // The fixed webhook never falls back, so its pre-built prompt passes validation.
    assert_eq!(report.prompt_source, Some(PromptSource::Prebuilt));
}

#[tokio::test(start_paused = true)]
async fn bridges_audio_with_buffering_marks_and_greeting_then_cleans_up() {
    let mut call = start_call(Profile::Fixed, Some("Welcome to Acme!"), false);
    call.send(start_message("inbound"));
    let mut ai = call.next_ai().await;
    ai.instructions().await;
    match ai.next().await {
        Some(ClientEvent::ConversationItemCreate { item }) => {
            assert_eq!(
                item.content[0].text,
                "Greet the caller with: Welcome to Acme!"
            );
        }
        other => panic!("expected the greeting item, got {other:?}"),
    }
    assert_eq!(ai.next().await, Some(ClientEvent::ResponseCreate));
    assert_eq!(call.state.residual_state().active_ai_sockets, 1);
    assert_eq!(call.state.residual_state().active_streams, 1);

    call.media(100, "fw==");
    assert_eq!(
        ai.next().await,
        Some(ClientEvent::InputAudioBufferAppend {
            audio: "fw==".into()
        })
    );
    ai.send(ServerEvent::SessionUpdated);
    ai.send(delta("item_1", 100));
    ai.send(delta("item_1", 100));
    let first = call.next_twilio().await;
    assert_eq!(
        media_bytes(&first),
        200,
        "100-byte deltas are buffered to at least 160 bytes"
    );
    ai.send(delta("item_1", 40));
    ai.send(ServerEvent::OutputAudioDone {
        item_id: Some("item_1".into()),
    });
    assert_eq!(
        media_bytes(&call.next_twilio().await),
        40,
        "the remainder is flushed on done"
    );
    assert_eq!(
        call.next_twilio().await,
        TwilioOutbound::Mark {
            stream_sid: "MZ1".into(),
            mark: MarkPayload {
                name: "resp-1".into()
            }
        }
    );
    // A benign error changes nothing.
    ai.send(ServerEvent::Error {
        error: ErrorDetail {
            kind: None,
            code: Some("response_cancel_not_active".into()),
            message: None,
        },
    });
    let (state, report) = call.stop().await;
    assert_eq!(
        ai.next().await,
        None,
        "the AI socket is closed at the end of the call"
    );
    assert_eq!(report.ai_connections, 1);
    assert_eq!(
        state.residual_state(),
        crate::state::ResidualState {
            registry_entries: 0,
            active_streams: 0,
            active_ai_sockets: 0,
            prompt_cache_entries: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn barge_in_truncates_at_heard_audio_clamped_to_received_audio() {
    let mut call = start_call(Profile::Fixed, None, false);
    call.send(start_message("inbound"));
    let mut ai = call.next_ai().await;
    ai.instructions().await;
    call.media(1000, "AA==");
    ai.next().await;
    ai.send(delta("item_1", 800)); // 100 ms of audio
    call.next_twilio().await;
    ai.send(ServerEvent::OutputAudioDone {
        item_id: Some("item_1".into()),
    });
    assert!(matches!(
        call.next_twilio().await,
        TwilioOutbound::Mark { .. }
    ));
    call.media(1060, "AA==");
    ai.next().await;
    ai.send(ServerEvent::SpeechStarted);
    assert_eq!(
        ai.next().await,
        Some(ClientEvent::ConversationItemTruncate {
            item_id: "item_1".into(),
            content_index: 0,
            audio_end_ms: 60
        })
    );
    assert_eq!(
        call.next_twilio().await,
        TwilioOutbound::Clear {
            stream_sid: "MZ1".into()
        }
    );

    // A second item: Twilio's clock runs past the audio received, so the offset is clamped.
    ai.send(delta("item_2", 800));
    call.next_twilio().await;
    call.media(1600, "AA==");
    ai.next().await;
    ai.send(ServerEvent::SpeechStarted);
    assert_eq!(
        ai.next().await,
        Some(ClientEvent::ConversationItemTruncate {
            item_id: "item_2".into(),
            content_index: 0,
            audio_end_ms: 100
        })
    );
    assert_eq!(
        call.next_twilio().await,
        TwilioOutbound::Clear {
            stream_sid: "MZ1".into()
        }
    );

    // Nothing is playing any more (mark echoed after done): speech does not truncate.
    ai.send(delta("item_3", 160));
    call.next_twilio().await;
    ai.send(ServerEvent::OutputAudioDone {
        item_id: Some("item_3".into()),
    });
    let TwilioOutbound::Mark { mark, .. } = call.next_twilio().await else {
        panic!("expected a mark")
    };
    call.send(TwilioInbound::Mark {
        stream_sid: Some("MZ1".into()),
        mark,
    });
    call.media(1700, "AA==");
    ai.next().await;
    ai.send(ServerEvent::SpeechStarted);
    call.media(1720, "AA==");
    assert_eq!(
        ai.next().await,
        Some(ClientEvent::InputAudioBufferAppend {
            audio: "AA==".into()
        })
    );
    let (_, report) = call.stop().await;
    assert_eq!(report.truncations, 2);
}

#[tokio::test(start_paused = true)]
async fn session_expiry_and_ai_close_reconnect_with_the_same_session_update() {
    let mut call = start_call(Profile::Legacy, None, false);
    call.send(start_message("inbound"));
    let mut first = call.next_ai().await;
    let instructions = first.instructions().await;
    first.send(ServerEvent::Error {
        error: ErrorDetail {
            kind: None,
            code: Some("session_expired".into()),
            message: Some("60 minutes".into()),
        },
    });
    let mut second = call.next_ai().await;
    assert_eq!(second.instructions().await, instructions);
    assert_eq!(first.next().await, None, "the expired socket is closed");
    second.send(ServerEvent::SessionUpdated);
    drop(second); // the model side goes away (close 1001)
    let mut third = call.next_ai().await;
    assert_eq!(third.instructions().await, instructions);
    assert_eq!(call.state.residual_state().active_ai_sockets, 1);
    let (state, report) = call.stop().await;
    assert_eq!(report.ai_connections, 3);
    assert_eq!(state.residual_state().active_ai_sockets, 0);
}

#[tokio::test(start_paused = true)]
async fn broken_ai_gives_up_after_capped_attempts() {
    let call = start_call(Profile::Fixed, None, true);
    call.send(start_message("inbound"));
    let report = tokio::time::timeout(Duration::from_secs(30), call.session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.end, EndReason::AiUnavailable);
    assert_eq!(report.ai_connections, 0);
    assert_eq!(call.state.residual_state().registry_entries, 0);
    assert_eq!(call.state.residual_state().active_streams, 0);
}

#[tokio::test(start_paused = true)]
async fn bad_start_or_no_start_ends_the_session() {
    let call = start_call(Profile::Fixed, None, false);
    call.send(start_message("sideways"));
    let report = tokio::time::timeout(Duration::from_secs(30), call.session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.end, EndReason::BadStart);
    assert_eq!(call.state.registry().len(), 0);

    let call = start_call(Profile::Fixed, None, false);
    call.send(TwilioInbound::Connected { protocol: None });
    let report = tokio::time::timeout(Duration::from_secs(30), call.session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.end, EndReason::NoStart);
}
