//! The `callsim` command line.

pub mod serve_ai;
