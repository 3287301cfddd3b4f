//! `callsim run --target` and `callsim certify --target` against the real `call-server` binary,
//! started as a separate process on port 0, in real time.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TWILIO_TOKEN: &str = "external-test-token";
const ACCOUNT_SID: &str = "AC22222222222222222222222222222222";
const FIXTURE_TOKEN: &str = "external-fixture-token";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `call-server` binary beside `callsim` (cargo builds both for `cargo test --workspace`);
/// built on demand when only this package's tests were asked for.
fn call_server_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_callsim")).with_file_name("call-server");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "server-under-test", "--bin", "call-server"])
            .current_dir(repo())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building call-server failed");
    }
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(profile: &str, ai_port: u16, twilio_port: u16, extra: &[&str]) -> Server {
    let mut child = Command::new(call_server_binary())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "https://sut.test",
            "--twilio-auth-token",
            TWILIO_TOKEN,
            "--twilio-account-sid",
            ACCOUNT_SID,
            "--twilio-api-base",
            &format!("http://127.0.0.1:{twilio_port}"),
            "--realtime-url",
            &format!("ws://127.0.0.1:{ai_port}/v1/realtime?model=gpt-realtime"),
            "--openai-api-key",
            "sk-external-test",
            "--fixture-token",
            FIXTURE_TOKEN,
            "--profile",
            profile,
            "--db",
            ":memory:",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("call-server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("call-server prints its address within 30 s");
    let port = line
        .trim()
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    Server { child, port }
}

fn target_file(dir: &Path) -> PathBuf {
    let path = dir.join("target.yaml");
    std::fs::write(
        &path,
        format!(
            "public_url: https://sut.test\nfixtures:\n  token: {FIXTURE_TOKEN}\ntwilio:\n  account_sid: {ACCOUNT_SID}\n  auth_token: {TWILIO_TOKEN}\nscenario_timeout: 2m\n"
        ),
    )
    .unwrap();
    path
}

fn callsim(args: &[&str], server: &Server, ai_port: u16, twilio_port: u16, dir: &Path) -> Output {
    let target = format!("http://127.0.0.1:{}", server.port);
    let config = target_file(dir);
    Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args(args)
        .args(["--target", &target, "--target-config"])
        .arg(&config)
        .args(["--ai-listen", &format!("127.0.0.1:{ai_port}")])
        .args(["--twilio-listen", &format!("127.0.0.1:{twilio_port}")])
        .args(["--wall-limit", "120"])
        .current_dir(repo())
        .env("CI", "true")
        .output()
        .expect("callsim runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn certification(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn run_and_certify_pass_against_the_fixed_server() {
    let (ai, tw) = (free_port(), free_port());
    let server = start_server("fixed", ai, tw, &[]);
    let dir = tempfile::tempdir().unwrap();

    let out = callsim(
        &[
            "run",
            "scenarios/seed/inbound-empty-ai-prompt.yaml",
            "scenarios/security/unsigned-stream.yaml",
        ],
        &server,
        ai,
        tw,
        dir.path(),
    );
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains(&format!("ws://127.0.0.1:{ai}/v1/realtime")),
        "{printed}"
    );
    assert!(printed.contains("2 passed, 0 failed"), "{printed}");

    let json = dir.path().join("cert.json");
    let out = callsim(
        &["certify", "--json", json.to_str().unwrap()],
        &server,
        ai,
        tw,
        dir.path(),
    );
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("CERTIFIED: twilio-media-streams-realtime/v1"),
        "{printed}"
    );
    let result = certification(&json);
    assert_eq!(result["certified"], true);
    assert_eq!(result["profile_id"], "twilio-media-streams-realtime/v1");
    assert_eq!(result["pack_sha256"].as_str().unwrap().len(), 64);
    assert!(
        result["target"]
            .as_str()
            .unwrap()
            .contains(&server.port.to_string())
    );
}

#[test]
fn certify_fails_against_the_legacy_server_and_names_the_requirement() {
    let (ai, tw) = (free_port(), free_port());
    let server = start_server("legacy", ai, tw, &[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("cert.json");
    let out = callsim(
        &["certify", "--json", json.to_str().unwrap()],
        &server,
        ai,
        tw,
        dir.path(),
    );
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains(
            "NOT CERTIFIED: failed mandatory requirement(s): prompt.no-cross-direction-fallback"
        ),
        "{printed}"
    );
    let result = certification(&json);
    assert_eq!(result["certified"], false);
    assert_eq!(
        result["failed_requirements"],
        serde_json::json!(["prompt.no-cross-direction-fallback"])
    );
    let failed = result["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "prompt.no-cross-direction-fallback")
        .unwrap();
    let evidence = failed["evidence"].to_string();
    assert!(
        evidence.contains("cert-empty.outbound_prompt"),
        "{evidence}"
    );
}

#[test]
fn certify_fails_the_signature_requirements_when_validation_is_off() {
    let (ai, tw) = (free_port(), free_port());
    let server = start_server("fixed", ai, tw, &["--insecure-skip-signature-validation"]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("cert.json");
    let out = callsim(
        &["certify", "--json", json.to_str().unwrap()],
        &server,
        ai,
        tw,
        dir.path(),
    );
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    let result = certification(&json);
    assert_eq!(
        result["failed_requirements"],
        serde_json::json!(["signatures.webhook", "signatures.stream"]),
        "{printed}"
    );
}
