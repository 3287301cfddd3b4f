//! `callsim serve-ai`: the mock realtime endpoint as a standalone process.
