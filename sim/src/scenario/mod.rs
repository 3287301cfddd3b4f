//! Scenario files: the raw model, loading with locations, the validated plan, the runner and
//! assertions.

pub mod duration;
pub mod error;
pub mod load;
pub mod model;

pub use error::{Location, ScenarioError};
pub use load::{LoadedScenario, load_file};
