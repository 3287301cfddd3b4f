//! Runs every scenario file under `scenarios/` as its own test.

fn main() {}
