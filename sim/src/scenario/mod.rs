//! Scenario files: a file on disk → a validated [`Plan`], with no sockets and no report types.
//!
//! - `discovery`: which files a run covers, each real file once.
//! - `load`: YAML → the raw `model` with `file:line:col` and key paths; `limits` guard the
//!   parser and every allocation the file drives.
//! - `validate`: raw model → `plan`, every reference resolved and every alternative checked.
//! - `path`: assertion paths into the transcript; `expect`: matchers and judging;
//!   `expect_shape`: which paths can exist.
//! - `duration`: human durations (`1h30m`).

pub mod discovery;
pub mod duration;
pub mod error;
pub mod expect;
mod expect_shape;
pub mod limits;
pub mod load;
pub mod model;
pub mod path;
pub mod plan;
pub mod validate;

pub use error::{Location, ScenarioError};
pub use load::{LoadedScenario, load_file};
pub use plan::Plan;
pub use validate::build_plan;
