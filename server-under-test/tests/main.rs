//! The integration tests of `server-under-test`, as one test binary.
//!
//! One binary means one link step, and it lets every module share the helpers in `common/`
//! without any of them being dead code in a binary that does not use it (`Cargo.toml` turns
//! off the automatic one-binary-per-file discovery for this reason).

mod common;

/// The built `call-server` binary: the listening line, signals, exit codes.
mod binary;
/// The bug zoo: each `--inject-bug` regression against the fixed profile, on the wire.
mod bugs;
/// The seed scenario over real sockets, with a minimal Realtime peer.
mod end_to_end;
/// The HTTP surface: signatures, the fixture API and input validation.
mod http;
/// `--ai-dialect live` on the wire, with a minimal Live peer.
mod live_dialect;
/// Tenants found by the number called (inbound) or called from (outbound).
mod numbers;
/// Outbound call placement through a mock Twilio REST API.
mod outbound;
