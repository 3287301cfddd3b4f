//! The built `callsim` binary, run from the repository root.
//!
//! Each test binary that includes this file uses all of it (see `common/README.md`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root, where `scenarios/` lives.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `callsim`, ready for its arguments: run from [`repo`] with `CI=true` (plain output).
pub(crate) fn callsim() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callsim"));
    command.current_dir(repo()).env("CI", "true");
    command
}
