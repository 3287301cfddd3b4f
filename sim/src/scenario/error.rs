//! Errors of scenario loading and validation; every one names the file, and where it can the
//! line, column and key.

use std::fmt;
use std::path::PathBuf;

/// A position in a scenario file (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{}: cannot read scenario file: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("{}", InvalidDisplay { file, location: *location, key, message })]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Where, when known.
        location: Option<Location>,
        /// The key path, e.g. `calls[0].timeline[1].silence`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

struct InvalidDisplay<'a> {
    file: &'a PathBuf,
    location: Option<Location>,
    key: &'a str,
    message: &'a str,
}

impl fmt::Display for InvalidDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(loc) = self.location {
            write!(f, ":{}:{}", loc.line, loc.column)?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": `{}`: {}", self.key, self.message)
        }
    }
}
