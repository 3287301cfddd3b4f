//! Reports read what the pipeline produced: the JSON run report, JUnit and HTML.

pub mod html;
pub mod junit;
pub mod run_report;

pub use run_report::{Outcome, RunReport, ScenarioReport};
