//! Transcripts and reports: the snapshot-able transcript, the JSON run report, JUnit and HTML.

pub mod html;
pub mod junit;
pub mod run_report;
pub mod shorten;
pub mod transcript;

pub use run_report::{Outcome, RunReport, ScenarioReport};
pub use transcript::Transcript;
