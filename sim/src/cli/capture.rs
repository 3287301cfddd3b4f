//! `--capture FILE` of `run` and `certify`: opens the capture before the first scenario and
//! flushes it after the last.

use std::path::PathBuf;

use crate::capture::{Capture, CaptureWriter};

/// The capture file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CaptureArgs {
    /// Write every HTTP request and WebSocket upgrade callsim sends, and every WebSocket message
    /// on both of its sockets, to FILE as JSON lines (schema: docs/capture.md).
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
}

/// An open capture: the handle the run writes through and the file's owner.
pub struct OpenCapture {
    /// What the run's parts record into (off without `--capture`).
    pub capture: Capture,
    writer: Option<CaptureWriter>,
}

impl CaptureArgs {
    /// Creates the file, if one is named.
    pub fn open(&self) -> Result<OpenCapture, String> {
        match &self.capture {
            None => Ok(OpenCapture {
                capture: Capture::off(),
                writer: None,
            }),
            Some(path) => {
                let (capture, writer) = Capture::to_file(path).map_err(|e| e.to_string())?;
                Ok(OpenCapture {
                    capture,
                    writer: Some(writer),
                })
            }
        }
    }
}

impl OpenCapture {
    /// Flushes the file; answers the line to print, or the error.
    pub fn finish(self) -> Result<Option<String>, String> {
        drop(self.capture);
        let Some(writer) = self.writer else {
            return Ok(None);
        };
        writer
            .finish()
            .map(|lines| Some(format!("capture: {lines} lines written")))
            .map_err(|e| e.to_string())
    }
}
