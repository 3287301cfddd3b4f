//! Helpers shared by the integration tests, so each test reads as what it does:
//! `let app = spawn_app().await;` then `app.post_signed(path, &params)`, `app.fixture_put(..)`,
//! `app.open_media_stream()`.
//!
//! Every test module lives in the one test binary of `tests/main.rs`, so each helper here is
//! used by some test and none of them is dead code in any build.

mod ai;
mod app;
mod calls;
mod media;
mod requests;

pub(crate) use ai::{AiRecorder, spawn_with_recording_ai};
pub(crate) use app::{
    FIXTURE_TOKEN, TOKEN, TestApp, config, on_paused_clock, paused_runtime, spawn_app,
    spawn_app_with, spawn_with_hanging_ai,
};
pub(crate) use calls::{StreamingCall, stream_parameters};
pub(crate) use requests::{params, sign};
