//! What a mock session is whatever dialect it speaks (Realtime GA and beta in `session.rs`,
//! Live in `live/session.rs`): its configuration, its place in the ledger, its id generator,
//! its scripted faults, the outputs it has queued and how it ended, and the loop step that hands
//! those outputs to the transport.

use futures_util::{Sink, SinkExt};
use serde_json::{Map, Value};
use tokio::time::{Instant, sleep_until};

use super::config::MockConfig;
use super::ledger::{ErrorRecord, SessionRecord};
use super::script::AiFaultKind;
use super::session::{End, SessionOutput};
use crate::ids::IdGen;

/// The dialect-independent state of one mock session.
pub(crate) struct SessionCore {
    pub(crate) cfg: MockConfig,
    /// Connection index in accept order, which is also the session's ledger index.
    pub(crate) index: usize,
    pub(crate) ids: IdGen,
    /// This session's scripted faults, in time order.
    faults: Vec<(Instant, AiFaultKind)>,
    pub(crate) out: Vec<SessionOutput>,
    pub(crate) end: Option<End>,
}

impl SessionCore {
    /// Opens the session's `record` in the ledger and schedules its scripted faults from now.
    pub(crate) fn open(cfg: MockConfig, index: usize, ids: IdGen, record: SessionRecord) -> Self {
        let now = Instant::now();
        let mut faults: Vec<(Instant, AiFaultKind)> = cfg
            .script
            .faults
            .iter()
            .filter(|f| f.session == index)
            .map(|f| (now + f.at, f.kind.clone()))
            .collect();
        faults.sort_by_key(|f| f.0);
        cfg.ledger.open(record, &cfg.retention);
        SessionCore {
            cfg,
            index,
            ids,
            faults,
            out: Vec::new(),
            end: None,
        }
    }

    /// A server event: `type`, a fresh `event_id`, then `fields`.
    pub(crate) fn event(&mut self, ty: &str, fields: Value) -> Value {
        let mut map = Map::new();
        map.insert("type".to_owned(), Value::String(ty.to_owned()));
        map.insert(
            "event_id".to_owned(),
            Value::String(self.ids.openai_id("event")),
        );
        if let Value::Object(rest) = fields {
            map.extend(rest);
        }
        Value::Object(map)
    }

    /// Queues a close frame and ends the session.
    pub(crate) fn close(&mut self, code: u16, reason: &str, closed_by: &'static str) {
        self.out.push(SessionOutput::Close {
            code,
            reason: reason.to_owned(),
        });
        self.end = Some(End {
            closed_by,
            code: Some(code),
        });
    }

    /// Ends the session because the client closed or went away.
    pub(crate) fn closed_by_client(&mut self, code: Option<u16>) {
        self.end = Some(End {
            closed_by: "client",
            code,
        });
    }

    /// Milliseconds since the simulation clock start.
    pub(crate) fn now_ms(&self) -> u64 {
        self.cfg.clock.elapsed_ms()
    }

    /// Updates this session's ledger record.
    pub(crate) fn record(&self, f: impl FnOnce(&mut SessionRecord)) {
        self.cfg.ledger.with(self.index, f);
    }

    /// Keeps an error the session sent in its ledger record, and answers it.
    pub(crate) fn keep_error(&self, record: ErrorRecord) -> ErrorRecord {
        let copy = record.clone();
        let retention = self.cfg.retention;
        self.record(|s| s.push_error(copy, &retention));
        record
    }

    /// When the next scripted fault is due.
    pub(crate) fn next_fault(&self) -> Option<Instant> {
        self.faults.first().map(|f| f.0)
    }

    /// Takes the fault that is due. A dropped socket or a close is carried out here; an error
    /// event is answered, for the dialect to send in its own shape.
    pub(crate) fn fire_fault(&mut self) -> Option<(String, String, String)> {
        if self.faults.is_empty() {
            return None;
        }
        let (_, kind) = self.faults.remove(0);
        match kind {
            AiFaultKind::ErrorEvent {
                code,
                message,
                error_type,
            } => return Some((error_type, code, message)),
            AiFaultKind::DropSocket => {
                self.out.push(SessionOutput::Drop);
                self.end = Some(End {
                    closed_by: "fault",
                    code: None,
                });
            }
            AiFaultKind::Close { code, reason } => self.close(code, &reason, "fault"),
        }
        None
    }

    /// Hands the queued outputs to the transport, stopping after a close or a drop; a transport
    /// that refuses one ends the session as closed by the client.
    pub(crate) async fn flush<Si>(&mut self, sink: &mut Si)
    where
        Si: Sink<SessionOutput> + Unpin,
    {
        for output in std::mem::take(&mut self.out) {
            let last = !matches!(output, SessionOutput::Event(_));
            if sink.send(output).await.is_err() {
                if self.end.is_none() {
                    self.closed_by_client(None);
                }
                break;
            }
            if last {
                break;
            }
        }
    }

    /// Closes the session's ledger record: when and how it ended, and what `more` adds.
    pub(crate) fn finish(&self, end: &End, more: impl FnOnce(&mut SessionRecord)) {
        let now = self.now_ms();
        self.cfg.ledger.close(self.index, &self.cfg.retention, |s| {
            s.closed_at_ms = Some(now);
            s.closed_by = Some(end.closed_by.to_owned());
            s.close_code = end.code;
            more(s);
        });
    }
}

/// Sleeps until `at`, or forever when nothing is due.
pub(crate) async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
