//! TwiML execution: verbs top to bottom, with the simulator's timing rules.
//!
//! - `<Say>` blocks 60 ms per character per loop; `<Play>` blocks 1 s per loop for a URL (the
//!   audio is not fetched) and 100 ms per digit (500 ms per `w`) for `digits`; `<Pause>` blocks
//!   `length` seconds (default 1).
//! - `<Gather>` runs its prompts, then reads DTMF from the caller script 20 ms at a time
//!   (`numDigits`, `finishOnKey`, `timeout`); digits go to `action` (default: the current
//!   document URL) with `Digits` and `CallStatus=in-progress`; nothing collected → next verb.
//! - `<Redirect>` fetches a new document; `<Connect><Stream>` blocks while the stream is up and,
//!   when the server closes the socket (or the connection drops), continues after `</Connect>`
//!   or fetches `<Connect action>`; a caller hang-up ends the call.
//! - `<Start>`/`<Stop>`, `<Dial>` and `<Record>` are recorded but not simulated further
//!   (no fork stream is opened, nothing is bridged or stored).
//! - `<Reject reason="busy">` ends the call as `busy`, `reason="rejected"` as `no-answer` [infer].
//! - A failed fetch after the call was answered ends the call as `completed` (the error is
//!   recorded); documents exhausted → hang up (`completed`). At most 100 documents per call,
//!   so redirect loops end.
//!
//! `executor/connect.rs` holds `<Connect><Stream>`: the stream's record, its socket and its end.

use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, sleep, sleep_until};

use super::call_record::{TwilioError, TwimlStep};
use super::call_store::{ControlCmd, TwimlSource};
use super::caller_cursor::CallerCursor;
use super::context::CallContext;
use super::spec::HttpMethod;
use super::twiml::{Gather, Prompt, Twiml, Verb, parse};
use super::webhook::fetch_twiml;

const SAY_MS_PER_CHAR: u64 = 60;
const MAX_DOCUMENTS: usize = 100;

mod connect;

enum Flow {
    Next,
    Fetch {
        url: String,
        method: HttpMethod,
        extra: Vec<(String, String)>,
    },
    Control(ControlCmd),
    End(String),
}

/// Runs TwiML documents for one answered call.
pub struct Executor<'a> {
    ctx: &'a CallContext,
    control: &'a mut UnboundedReceiver<ControlCmd>,
    caller: &'a mut CallerCursor,
    stream_connect_delay: Duration,
}

impl<'a> Executor<'a> {
    /// An executor for the call in `ctx`.
    pub fn new(
        ctx: &'a CallContext,
        control: &'a mut UnboundedReceiver<ControlCmd>,
        caller: &'a mut CallerCursor,
        stream_connect_delay: Duration,
    ) -> Self {
        Self {
            ctx,
            control,
            caller,
            stream_connect_delay,
        }
    }

    /// Executes `doc` (fetched from `doc_url`, if any) and what it leads to; returns the final
    /// call status.
    pub async fn run(&mut self, first: Twiml, first_url: Option<String>) -> String {
        let mut doc = first;
        let mut doc_url = first_url;
        for _ in 0..MAX_DOCUMENTS {
            let mut flow = Flow::Next;
            for verb in &doc.verbs {
                self.step(verb);
                flow = self.exec(verb, doc_url.as_deref()).await;
                if !matches!(flow, Flow::Next) {
                    break;
                }
            }
            // A REST redirect becomes a fetch (or an inline document) here.
            let next = match flow {
                Flow::Next => return "completed".into(),
                Flow::End(status) => return status,
                Flow::Control(ControlCmd::End(status)) => return status,
                Flow::Control(ControlCmd::Redirect(TwimlSource::Inline(xml))) => {
                    match parse(&xml) {
                        Ok(d) => Ok((d, None)),
                        Err(e) => Err(self
                            .ctx
                            .error(12100, format!("Document parse failure: inline TwiML: {e}"))),
                    }
                }
                Flow::Control(ControlCmd::Redirect(TwimlSource::Url { url, method })) => {
                    self.fetch(&url, method, Vec::new()).await
                }
                Flow::Fetch { url, method, extra } => self.fetch(&url, method, extra).await,
            };
            match next {
                Ok((d, u)) => {
                    doc = d;
                    doc_url = u;
                }
                Err(_) => return "completed".into(),
            }
        }
        self.ctx.error(
            12100,
            format!("more than {MAX_DOCUMENTS} TwiML documents in one call"),
        );
        "completed".into()
    }

    async fn fetch(
        &mut self,
        url: &str,
        method: HttpMethod,
        extra: Vec<(String, String)>,
    ) -> Result<(Twiml, Option<String>), TwilioError> {
        let mut params = self.ctx.identity.voice_params("in-progress");
        params.extend(extra);
        let doc = fetch_twiml(self.ctx, url, method, &params, false).await?;
        Ok((doc, Some(url.to_owned())))
    }

    fn step(&self, verb: &Verb) {
        let step = TwimlStep {
            at_ms: self.ctx.now_ms(),
            verb: verb.name().to_owned(),
            detail: serde_json::to_value(verb).unwrap_or_default(),
        };
        self.ctx.record.update(|r| r.twiml.push(step));
    }

    fn note(&self, detail: serde_json::Value) {
        self.ctx.record.update(|r| {
            if let Some(last) = r.twiml.last_mut()
                && let (Some(obj), Some(extra)) = (last.detail.as_object_mut(), detail.as_object())
            {
                obj.extend(extra.clone());
            }
        });
    }

    async fn wait(&mut self, d: Duration) -> Option<ControlCmd> {
        // Biased: a REST update due at the instant the wait ends wins on every run, not at
        // random, so that a seeded run is the same bytes every time.
        tokio::select! {
            biased;
            Some(cmd) = self.control.recv() => Some(cmd),
            () = sleep(d) => None,
        }
    }

    async fn blocking(&mut self, d: Duration) -> Flow {
        match self.wait(d).await {
            Some(cmd) => Flow::Control(cmd),
            None => Flow::Next,
        }
    }

    async fn exec(&mut self, verb: &Verb, doc_url: Option<&str>) -> Flow {
        match verb {
            Verb::Say { text, loops, .. } => self.blocking(say_time(text, *loops)).await,
            Verb::Play { digits, loops, .. } => {
                self.blocking(play_time(digits.as_deref(), *loops)).await
            }
            Verb::Pause { length } => self.blocking(Duration::from_secs(*length)).await,
            Verb::Hangup => Flow::End("completed".into()),
            Verb::Reject { reason } => Flow::End(
                if reason == "busy" {
                    "busy"
                } else {
                    "no-answer"
                }
                .into(),
            ),
            Verb::Redirect { url, method } => match absolute(doc_url, url) {
                Some(url) => Flow::Fetch {
                    url,
                    method: *method,
                    extra: Vec::new(),
                },
                None => self.bad_url(url),
            },
            Verb::Gather(g) => self.gather(g, doc_url).await,
            Verb::Connect {
                action,
                method,
                stream,
            } => {
                self.connect(action.as_deref(), *method, stream, doc_url)
                    .await
            }
            Verb::Start { .. } | Verb::Stop { .. } => {
                self.note(
                    json!({"simulated": false, "reason": "unidirectional streams are not opened"}),
                );
                Flow::Next
            }
            Verb::Dial { .. } | Verb::Record { .. } => {
                self.note(json!({"simulated": false}));
                Flow::Next
            }
        }
    }

    fn bad_url(&self, url: &str) -> Flow {
        self.ctx.error(11100, format!("Invalid URL format: {url}"));
        Flow::End("completed".into())
    }

    async fn gather(&mut self, g: &Gather, doc_url: Option<&str>) -> Flow {
        for prompt in &g.prompts {
            let d = match prompt {
                Prompt::Say { text, loops } => say_time(text, *loops),
                Prompt::Play { loops, .. } => play_time(None, *loops),
                Prompt::Pause { length } => Duration::from_secs(*length),
            };
            if let Some(cmd) = self.wait(d).await {
                return Flow::Control(cmd);
            }
        }
        let tick = Duration::from_millis(crate::audio::FRAME_MS);
        let limit = Duration::from_secs(g.timeout);
        let mut digits = String::new();
        let mut finished_on = None;
        let mut last_input = Instant::now();
        let mut next = Instant::now() + tick;
        'collect: loop {
            if self.caller.should_hang_up() {
                self.note(json!({"digits": digits, "caller_hung_up": true}));
                return Flow::End("completed".into());
            }
            tokio::select! {
                biased;
                Some(cmd) = self.control.recv() => return Flow::Control(cmd),
                () = sleep_until(next) => {}
            }
            for key in self.caller.next_tick().digits {
                if g.finish_on_key.contains(key) {
                    finished_on = Some(key);
                    break 'collect;
                }
                digits.push(key);
                last_input = Instant::now();
                if g.num_digits
                    .is_some_and(|n| digits.chars().count() >= n as usize)
                {
                    break 'collect;
                }
            }
            if Instant::now().duration_since(last_input) >= limit {
                break;
            }
            next += tick;
        }
        self.note(json!({"digits": digits, "finished_on_key": finished_on.map(String::from)}));
        if digits.is_empty() && !g.action_on_empty_result {
            return Flow::Next;
        }
        let Some(url) = g
            .action
            .as_deref()
            .map_or(doc_url.map(str::to_owned), |a| absolute(doc_url, a))
        else {
            return Flow::Next;
        };
        let mut extra = vec![("Digits".to_owned(), digits)];
        if let Some(key) = finished_on {
            extra.push(("FinishedOnKey".into(), key.to_string()));
        }
        Flow::Fetch {
            url,
            method: g.method,
            extra,
        }
    }
}

fn say_time(text: &str, loops: u32) -> Duration {
    let chars = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
    Duration::from_millis(
        chars
            .saturating_mul(SAY_MS_PER_CHAR)
            .saturating_mul(u64::from(loops)),
    )
}

fn play_time(digits: Option<&str>, loops: u32) -> Duration {
    match digits {
        Some(d) => Duration::from_millis(d.chars().map(|c| if c == 'w' { 500 } else { 100 }).sum()),
        None => Duration::from_secs(u64::from(loops)),
    }
}

/// Resolves a possibly relative URL against the current document's URL.
fn absolute(base: Option<&str>, url: &str) -> Option<String> {
    if url.contains("://") {
        return Some(url.to_owned());
    }
    let base = url::Url::parse(base?).ok()?;
    base.join(url).ok().map(String::from)
}

fn to_ws_scheme(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_rules() {
        assert_eq!(say_time("Hello", 2), Duration::from_millis(600));
        assert_eq!(play_time(Some("1w2"), 1), Duration::from_millis(700));
        assert_eq!(play_time(None, 3), Duration::from_secs(3));
    }

    #[test]
    fn relative_urls_resolve_against_the_document() {
        assert_eq!(
            absolute(Some("https://h/twiml/in"), "/next").as_deref(),
            Some("https://h/next")
        );
        assert_eq!(
            absolute(Some("https://h/twiml/in"), "wss://o/m").as_deref(),
            Some("wss://o/m")
        );
        assert_eq!(absolute(None, "/next"), None);
        let ws_base = to_ws_scheme("https://h/twiml/in");
        assert_eq!(
            absolute(Some(&ws_base), "/ws/media").as_deref(),
            Some("wss://h/ws/media")
        );
    }
}
