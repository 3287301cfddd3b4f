//! The built `callsim serve-ai` process: clean shutdown on a signal sent the instant the
//! listening line appears, and the ledger retention flags.

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const BIN: &str = env!("CARGO_BIN_EXE_callsim");

/// Generous: two CPU hogs can slow a process start a lot, and these waits only bound a hang.
const WAIT: Duration = Duration::from_secs(30);

/// Starts `callsim serve-ai`, sends `signal` (via the `kill` command, as the workspace forbids
/// unsafe code) the instant the `listening on` line appears and returns the exit status.
async fn exit_status_after_signal(signal: &str) -> std::process::ExitStatus {
    let mut child = Command::new(BIN)
        .args(["serve-ai", "--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = timeout(WAIT, lines.next_line())
        .await
        .expect("the listening line in time")
        .unwrap()
        .unwrap();
    assert!(first.starts_with("listening on 127.0.0.1:"), "{first:?}");
    let pid = child.id().unwrap().to_string();
    let sent = timeout(WAIT, Command::new("kill").args([signal, &pid]).status())
        .await
        .expect("kill finishes in time")
        .unwrap();
    assert!(sent.success());
    timeout(WAIT, child.wait())
        .await
        .expect("serve-ai exits after the signal")
        .unwrap()
}

/// Runs `runs` start-and-signal cycles, `parallel` at a time, and asserts every exit is 0.
async fn every_run_exits_zero(signal: &'static str, runs: usize, parallel: usize) {
    let mut failures = Vec::new();
    for batch_start in (0..runs).step_by(parallel) {
        let batch: Vec<_> = (batch_start..runs.min(batch_start + parallel))
            .map(|run| tokio::spawn(async move { (run, exit_status_after_signal(signal).await) }))
            .collect();
        for handle in batch {
            let (run, status) = handle.await.unwrap();
            if status.code() != Some(0) {
                failures.push(format!("run {run}: {status}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs did not exit 0 after {signal}: {failures:?}",
        failures.len()
    );
}

// The handlers used to register only when the server first polled its shutdown future, after
// the listening line; a signal sent right after the line then killed the process (143).
#[tokio::test]
async fn sigterm_right_after_the_listening_line_exits_zero_every_time() {
    every_run_exits_zero("-TERM", 50, 5).await;
}

#[tokio::test]
async fn sigint_right_after_the_listening_line_exits_zero_every_time() {
    every_run_exits_zero("-INT", 10, 5).await;
}

#[tokio::test]
async fn help_documents_the_retention_flags() {
    let output = timeout(
        WAIT,
        Command::new(BIN).args(["serve-ai", "--help"]).output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--keep-sessions",
        "--session-audio-cap",
        "--max-records-per-session",
        "--max-session-text",
        "--full-ledger",
        "--max-message-bytes",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

/// Opens one session, waits for `session.created`, closes it and waits until the server has
/// closed the TCP connection (by then the session is recorded as closed).
async fn one_session(addr: &str) {
    let mut request = format!("ws://{addr}/v1/realtime?model=gpt-realtime")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer sk-test".parse().unwrap());
    let (mut ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    let created = timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
    assert!(
        matches!(&created, Message::Text(t) if t.contains("session.created")),
        "{created:?}"
    );
    ws.close(None).await.unwrap();
    timeout(WAIT, async { while let Some(Ok(_)) = ws.next().await {} })
        .await
        .unwrap();
}

#[tokio::test]
async fn keep_sessions_bounds_the_ledger_and_the_drops_are_logged() {
    let mut child = Command::new(BIN)
        .args([
            "-vv",
            "serve-ai",
            "--listen",
            "127.0.0.1:0",
            "--keep-sessions",
            "2",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr_text = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let first = timeout(WAIT, BufReader::new(stdout).lines().next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr = first.strip_prefix("listening on ").unwrap().to_owned();
    for _ in 0..5 {
        one_session(&addr).await;
    }
    let pid = child.id().unwrap().to_string();
    let sent = timeout(WAIT, Command::new("kill").args(["-TERM", &pid]).status())
        .await
        .unwrap();
    assert!(sent.unwrap().success());
    let status = timeout(WAIT, child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status}");
    let log = timeout(WAIT, stderr_text).await.unwrap().unwrap();
    assert!(
        log.contains("prompt ledger at shutdown") && log.contains("dropped_sessions=3"),
        "{log}"
    );
    assert!(log.contains("kept_sessions=2"), "{log}");
}
