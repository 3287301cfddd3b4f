//! Scenario files: the raw model, loading with locations, the validated plan, the runner and
//! assertions.

pub mod duration;
pub mod error;
pub mod expect;
pub mod load;
pub mod model;
pub mod plan;
#[cfg(any())]
pub mod runner;
#[cfg(any())]
pub mod suite;
pub mod target;
#[cfg(any())]
pub mod transcript_builder;

pub use error::{Location, ScenarioError};
pub use load::{LoadedScenario, load_file};
pub use plan::{Plan, build_plan};
pub use target::{ExternalTarget, Profile, Target};
