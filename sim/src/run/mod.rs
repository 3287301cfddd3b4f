//! Running a plan against a target: `Plan` × `Target` → [`RunArtifacts`].
//!
//! - `target`: what a run drives (the reference server in-process or a server at a URL) and its
//!   [`Endpoints`]; `target_file`: the vendor's target file; `declarations`: the capabilities
//!   and bounds a target declares; `server_prompts`: the prompts a server with built-in prompts
//!   declares in its target file.
//! - `wiring`: a plan translated into what the fakes take.
//! - `fakes`: starting the mock AI, the fake Twilio REST API and the fault endpoint.
//! - `in_process`: starting the reference server (the only file that names it).
//! - `play`: provisioning, calls and tenant edits; `collect`: residual state and records.
//! - `preflight`: before the first scenario against a server at a URL, the target, its webhook
//!   route and its stream URL checked, so a misconfiguration is one line.
//! - `runner`: the four stages in order; `guard`: the runtime and the wall-clock guard.
//! - `artifacts`: what a run recorded; `error`: why a run could not happen; `cpu`: the CPU time
//!   a scenario's thread used.

mod artifacts;
mod collect;
mod cpu;
mod declarations;
mod error;
mod fakes;
mod guard;
mod in_process;
mod play;
mod preflight;
mod runner;
mod server_prompts;
mod target;
mod target_file;
mod wiring;

pub use artifacts::{PanicRecord, RunArtifacts, TenantRevision};
pub use cpu::CpuTime;
pub use declarations::Declarations;
pub use error::HarnessError;
pub use guard::{ExecuteError, GuardError, execute, guarded};
pub use in_process::{ReferenceBug, reference_bugs, start_reference_over_tcp};
pub use play::provision_tenants;
pub use preflight::{PreflightError, preflight};
pub use runner::run_plan;
pub use server_prompts::{DeclaredPrompt, ServerPrompts};
pub use target::{
    AiDialect, DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_FIXTURE_TOKEN, DEFAULT_OPENAI_KEY,
    Endpoints, ExternalTarget, IN_PROCESS_PUBLIC_URL, Profile, Target, TenantSetup, Transport,
};
pub(crate) use wiring::caller_script;
