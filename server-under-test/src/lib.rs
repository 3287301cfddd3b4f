//! Reference call server (skeleton).
