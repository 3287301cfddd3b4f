//! Smoke tests of the built `call-server` binary.

use std::process::Stdio;
use std::time::Duration;

use server_under_test::Bug;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

const BIN: &str = env!("CARGO_BIN_EXE_call-server");

/// A `call-server` process that has printed its first stdout line.
struct Started {
    child: Child,
    first_line: String,
    /// The rest of stdout, kept open so the server never writes to a closed pipe.
    _stdout: Lines<BufReader<ChildStdout>>,
}

/// Starts `call-server` on port 0 with an in-memory database plus `extra` flags, and waits up to
/// 30 s for its first stdout line.
async fn start(extra: &[&str]) -> Started {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "https://x.test",
            "--twilio-auth-token",
            "t",
            "--db",
            ":memory:",
        ])
        .args(extra)
        .env_remove("TWILIO_AUTH_TOKEN")
        .env_remove("OPENAI_API_KEY")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first_line = timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the listening line within 30 s")
        .unwrap()
        .unwrap();
    Started {
        child,
        first_line,
        _stdout: lines,
    }
}

#[tokio::test]
async fn prints_listening_line_first_and_serves() {
    let Started {
        mut child,
        first_line: first,
        _stdout,
    } = start(&["--fixture-token", "fx", "--profile", "legacy"]).await;
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );

    let client = reqwest::Client::new();
    let state = timeout(
        Duration::from_secs(10),
        client
            .get(format!("http://{addr}/fixtures/state"))
            .bearer_auth("fx")
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(state.status(), 200);
    let body: serde_json::Value = state.json().await.unwrap();
    assert_eq!(body["active_streams"], 0);
    let unsigned = client
        .post(format!("http://{addr}/twiml/incoming/acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);

    child.kill().await.unwrap();
}

#[tokio::test]
async fn help_lists_every_flag() {
    let output = timeout(
        Duration::from_secs(10),
        Command::new(BIN).arg("--help").output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--public-url",
        "--twilio-auth-token",
        "--twilio-account-sid",
        "--twilio-api-base",
        "--realtime-url",
        "--openai-api-key",
        "--fixture-token",
        "--prompt-cache-ttl",
        "--profile",
        "--db",
        "--insecure-skip-signature-validation",
        "--ai-connect-timeout",
        "--registry-ttl",
        "--inject-bug",
        "--prebuild",
        "--list-bugs",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

/// `--list-bugs` needs no other flag, prints one block per bug and exits 0.
#[tokio::test]
async fn list_bugs_prints_every_bug_with_its_history_and_symptom() {
    let output = timeout(
        Duration::from_secs(10),
        Command::new(BIN).arg("--list-bugs").output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let listing = String::from_utf8(output.stdout).unwrap();
    assert_eq!(listing, Bug::catalogue());
    for &bug in Bug::ALL {
        let mut lines = listing.lines().skip_while(|line| *line != bug.name());
        assert_eq!(lines.next(), Some(bug.name()), "{listing}");
        assert_eq!(
            lines.next(),
            Some(format!("    history: {}", bug.history()).as_str())
        );
        assert_eq!(
            lines.next(),
            Some(format!("    symptom: {}", bug.symptom()).as_str())
        );
    }
}

/// `--inject-bug` takes the catalogue's names, more than once, and refuses anything else.
#[tokio::test]
async fn inject_bug_accepts_catalogue_names_and_refuses_others() {
    let Started {
        mut child,
        first_line,
        _stdout,
    } = start(&[
        "--inject-bug",
        "duplicate-session-update",
        "--inject-bug",
        "per-call-limit-too-short",
        "--prebuild",
        "absent",
    ])
    .await;
    assert!(first_line.starts_with("listening on "), "{first_line:?}");
    child.kill().await.unwrap();

    let refused = timeout(
        Duration::from_secs(10),
        Command::new(BIN)
            .args([
                "--public-url",
                "https://x.test",
                "--twilio-auth-token",
                "t",
                "--inject-bug",
                "no-such-bug",
            ])
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("no-such-bug"), "{stderr}");
    assert!(stderr.contains("cache-key-without-direction"), "{stderr}");
    assert!(refused.stdout.is_empty());
}

#[tokio::test]
async fn missing_auth_token_is_a_startup_error() {
    let output = timeout(
        Duration::from_secs(10),
        Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--public-url",
                "https://x.test",
                "--db",
                ":memory:",
            ])
            .env_remove("TWILIO_AUTH_TOKEN")
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--twilio-auth-token"));
    assert!(output.stdout.is_empty());
}

/// Starts the server, sends `signal` (via the `kill` command, as the workspace forbids unsafe
/// code) the instant the `listening on` line appears and returns the exit status.
async fn exit_status_after_signal(signal: &str) -> std::process::ExitStatus {
    let Started {
        mut child,
        first_line: first,
        _stdout,
    } = start(&[]).await;
    assert!(first.starts_with("listening on "), "{first:?}");
    let pid = child.id().unwrap().to_string();
    let sent = timeout(
        Duration::from_secs(30),
        Command::new("kill").args([signal, &pid]).status(),
    )
    .await
    .expect("kill finishes within 30 s")
    .unwrap();
    assert!(sent.success());
    timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the server exits within 30 s of the signal")
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

// The signal handlers used to be installed only when `serve` first polled its shutdown future,
// after the listening line; a signal sent right after the line then killed the process (143).
#[tokio::test]
async fn sigterm_right_after_the_listening_line_exits_zero_every_time() {
    every_run_exits_zero("-TERM", 50, 5).await;
}

#[tokio::test]
async fn sigint_right_after_the_listening_line_exits_zero_every_time() {
    every_run_exits_zero("-INT", 10, 5).await;
}
