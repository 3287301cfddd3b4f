//! Placeholder library target of the test-only root package; the suite lives in `tests/suite/main.rs`.
