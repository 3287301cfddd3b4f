//! `callsim`: see `sim::cli`.

fn main() {}
