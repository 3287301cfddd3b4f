//! Scenario files: the raw model, loading with locations, the validated plan, the runner and
//! assertions.

pub mod discovery;
pub mod duration;
pub mod error;
pub mod expect;
mod expect_shape;
mod inputs;
pub mod limits;
pub mod load;
pub mod model;
pub mod plan;
pub mod runner;
pub mod suite;
pub mod target;
pub mod transcript_builder;
pub mod validate;

pub use error::{Location, ScenarioError};
pub use load::{LoadedScenario, load_file};
pub use plan::Plan;
pub use runner::{HarnessError, run_plan};
pub use target::{ExternalTarget, Profile, Target};
pub use validate::build_plan;
