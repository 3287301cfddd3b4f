//! The capture handle and the thread that writes the file.
//!
//! Every part of a run holds a [`Capture`] (cheap to clone, a no-op when capturing is off) and
//! hands it events; a bounded channel carries the serialized lines to one writer thread with a
//! buffered file. The channel blocks a sender when it is full, so a slow disk slows the run
//! instead of growing memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use serde::Serialize;

use super::event::CaptureEvent;
use crate::clock::SimClock;

/// Lines in flight between the run and the writer thread (a few hundred bytes each).
const CHANNEL_LINES: usize = 4096;

/// Why the capture file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be created or written.
    #[error("capture file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The writer thread panicked.
    #[error("capture file {0}: the writer thread stopped unexpectedly")]
    Writer(PathBuf),
}

/// Where a run's events go; `Capture::off()` drops them.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    sender: Option<SyncSender<Option<String>>>,
    scope: Option<Arc<Scope>>,
}

/// The scenario a handle writes for and the clock its times are read from.
#[derive(Debug)]
struct Scope {
    scenario: String,
    clock: SimClock,
}

/// One line: the scenario, the time on its clock, and the event.
#[derive(Serialize)]
struct Line<'a> {
    scenario: &'a str,
    at_ms: u64,
    #[serde(flatten)]
    event: &'a CaptureEvent,
}

impl Capture {
    /// A handle that records nothing.
    pub fn off() -> Capture {
        Capture::default()
    }

    /// Creates (truncates) `path` and starts the writer thread.
    pub fn to_file(path: &Path) -> Result<(Capture, CaptureWriter), CaptureError> {
        let io = |source| CaptureError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::create(path).map_err(io)?;
        let (sender, receiver) = sync_channel(CHANNEL_LINES);
        let thread = std::thread::Builder::new()
            .name("callsim-capture".into())
            .spawn(move || write_lines(BufWriter::new(file), &receiver))
            .map_err(io)?;
        let capture = Capture {
            sender: Some(sender.clone()),
            scope: None,
        };
        let writer = CaptureWriter {
            path: path.to_owned(),
            sender,
            thread,
        };
        Ok((capture, writer))
    }

    /// Whether events are recorded at all.
    pub fn is_on(&self) -> bool {
        self.sender.is_some()
    }

    /// This handle for one scenario: its lines carry the scenario's name and times on `clock`.
    #[must_use]
    pub fn scoped(&self, scenario: &str, clock: SimClock) -> Capture {
        Capture {
            sender: self.sender.clone(),
            scope: Some(Arc::new(Scope {
                scenario: scenario.to_owned(),
                clock,
            })),
        }
    }

    /// Records one event (nothing when capturing is off).
    pub fn record(&self, event: &CaptureEvent) {
        let Some(sender) = &self.sender else {
            return;
        };
        let (scenario, at_ms) = match &self.scope {
            Some(scope) => (scope.scenario.as_str(), scope.clock.elapsed_ms()),
            None => ("", 0),
        };
        let line = Line {
            scenario,
            at_ms,
            event,
        };
        // A line that cannot be serialized cannot happen (strings and numbers only); a writer
        // that has stopped reports its error from `CaptureWriter::finish`.
        if let Ok(text) = serde_json::to_string(&line) {
            let _ = sender.send(Some(text));
        }
    }
}

/// The owner of the capture file: [`CaptureWriter::finish`] flushes it and reports how many
/// lines it holds.
#[derive(Debug)]
pub struct CaptureWriter {
    path: PathBuf,
    sender: SyncSender<Option<String>>,
    thread: JoinHandle<std::io::Result<u64>>,
}

impl CaptureWriter {
    /// Stops the writer after the lines already sent and flushes the file; handles still alive
    /// afterwards record nothing.
    pub fn finish(self) -> Result<u64, CaptureError> {
        let _ = self.sender.send(None);
        match self.thread.join() {
            Ok(Ok(lines)) => Ok(lines),
            Ok(Err(source)) => Err(CaptureError::Io {
                path: self.path,
                source,
            }),
            Err(_) => Err(CaptureError::Writer(self.path)),
        }
    }
}

fn write_lines(
    mut out: BufWriter<File>,
    receiver: &Receiver<Option<String>>,
) -> std::io::Result<u64> {
    let mut lines = 0;
    while let Ok(Some(line)) = receiver.recv() {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        lines += 1;
    }
    out.flush()?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_arrive_in_order_with_their_scenario_and_a_handle_that_is_off_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cap.jsonl");
        let (capture, writer) = Capture::to_file(&path).unwrap();
        let scoped = capture.scoped("greeting", SimClock::start_default());
        for n in 0..3 {
            scoped.record(&CaptureEvent::WsUpgrade {
                url: format!("wss://h/{n}"),
                sent_to: format!("ws://127.0.0.1:9/{n}"),
                headers: vec![("Host".into(), "h".into())],
            });
        }
        Capture::off().record(&CaptureEvent::WsUpgrade {
            url: "wss://never".into(),
            sent_to: String::new(),
            headers: Vec::new(),
        });
        assert_eq!(writer.finish().unwrap(), 3);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["kind"], "ws_upgrade");
        assert_eq!(lines[2]["scenario"], "greeting");
        assert_eq!(lines[2]["url"], "wss://h/2");
        assert_eq!(lines[2]["headers"][0], serde_json::json!(["Host", "h"]));
    }

    #[test]
    fn a_file_that_cannot_be_created_names_the_path() {
        let err = Capture::to_file(Path::new("/nonexistent-dir/cap.jsonl")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("capture file /nonexistent-dir/cap.jsonl:"),
            "{err}"
        );
    }
}
