//! Smoke tests of the built `call-server` binary.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

const BIN: &str = env!("CARGO_BIN_EXE_call-server");

#[tokio::test]
async fn prints_listening_line_first_and_serves() {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "https://x.test",
            "--twilio-auth-token",
            "t",
            "--fixture-token",
            "fx",
            "--db",
            ":memory:",
            "--profile",
            "legacy",
        ])
        .env_remove("TWILIO_AUTH_TOKEN")
        .env_remove("OPENAI_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
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
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
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

#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
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
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.starts_with("listening on "), "{first:?}");
    // The workspace forbids unsafe code, so the signal goes through the `kill` command.
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
