//! `callsim run --target` and `callsim certify --target` against the real `call-server` binary,
//! started as a separate process on port 0, in real time.

#[path = "common/callsim.rs"]
mod callsim_binary;
#[path = "common/ports.rs"]
mod ports;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use callsim_binary::{callsim, repo};
use ports::Reserved;

const TWILIO_TOKEN: &str = "external-test-token";
const ACCOUNT_SID: &str = "AC22222222222222222222222222222222";
const FIXTURE_TOKEN: &str = "external-fixture-token";

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

/// A `call-server` process, killed when dropped.
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

/// Starts `call-server` with `profile` and `extra` flags, pointed at callsim's fakes on
/// `ai_port` and `twilio_port`, and waits for its `listening on` line.
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

/// The target file callsim reads for the server's public URL, fixture token and Twilio account;
/// it asks for status callbacks, which the reference server uses to forget a finished call.
fn target_file(dir: &Path) -> PathBuf {
    let path = dir.join("target.yaml");
    std::fs::write(
        &path,
        format!(
            "public_url: https://sut.test\npaths:\n  status_callback: /status/call\nfixtures:\n  token: {FIXTURE_TOKEN}\ntwilio:\n  account_sid: {ACCOUNT_SID}\n  auth_token: {TWILIO_TOKEN}\nscenario_timeout: 2m\n"
        ),
    )
    .unwrap();
    path
}

/// A running `call-server` and the ports callsim's mock AI and fake Twilio will listen on, which
/// the server was told about at start.
struct ExternalTarget {
    server: Server,
    ai_port: u16,
    twilio_port: u16,
    dir: TempDir,
}

/// What `callsim` printed and how it exited.
struct Run {
    code: Option<i32>,
    printed: String,
}

/// What `callsim certify` printed and wrote as its JSON result.
struct Certification {
    run: Run,
    result: Value,
}

impl ExternalTarget {
    fn start(profile: &str, extra: &[&str]) -> Self {
        let (ports, reserved) = Reserved::new(2);
        let (ai_port, twilio_port) = (ports[0], ports[1]);
        let server = start_server(profile, ai_port, twilio_port, extra);
        reserved.release();
        Self {
            server,
            ai_port,
            twilio_port,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs `callsim <args>` against this target, with real time and a wall-clock limit.
    fn callsim(&self, args: &[&str]) -> Run {
        let target = format!("http://127.0.0.1:{}", self.server.port);
        let out = callsim()
            .args(args)
            .args(["--target", &target, "--target-config"])
            .arg(target_file(self.dir.path()))
            .args(["--ai-listen", &format!("127.0.0.1:{}", self.ai_port)])
            .args([
                "--twilio-listen",
                &format!("127.0.0.1:{}", self.twilio_port),
            ])
            .args(["--wall-limit", "120"])
            .output()
            .expect("callsim runs");
        Run {
            code: out.status.code(),
            printed: text(&out),
        }
    }

    /// Runs `callsim certify` against this target and reads its JSON result.
    fn certify(&self) -> Certification {
        let json = self.dir.path().join("cert.json");
        let run = self.callsim(&["certify", "--json", json.to_str().unwrap()]);
        let result = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        Certification { run, result }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn run_and_certify_pass_against_the_fixed_server() {
    let target = ExternalTarget::start("fixed", &[]);

    let run = target.callsim(&[
        "run",
        "scenarios/seed/inbound-empty-ai-prompt.yaml",
        "scenarios/security/unsigned-stream.yaml",
    ]);
    let printed = &run.printed;
    assert_eq!(run.code, Some(0), "{printed}");
    assert!(
        printed.contains(&format!("ws://127.0.0.1:{}/v1/realtime", target.ai_port)),
        "{printed}"
    );
    assert!(printed.contains("2 passed, 0 failed"), "{printed}");

    let Certification { run, result } = target.certify();
    let printed = &run.printed;
    assert_eq!(run.code, Some(0), "{printed}");
    assert!(
        printed.contains("CERTIFIED: twilio-media-streams-realtime/v1"),
        "{printed}"
    );
    assert_eq!(result["certified"], true);
    assert_eq!(result["profile_id"], "twilio-media-streams-realtime/v1");
    assert_eq!(result["pack_sha256"].as_str().unwrap().len(), 64);
    assert!(
        result["target"]
            .as_str()
            .unwrap()
            .contains(&target.server.port.to_string())
    );
}

#[test]
fn certify_fails_against_the_legacy_server_and_names_the_requirement() {
    let target = ExternalTarget::start("legacy", &[]);
    let Certification { run, result } = target.certify();
    let printed = &run.printed;
    assert_eq!(run.code, Some(1), "{printed}");
    assert!(
        printed.contains(
            "NOT CERTIFIED: failed mandatory requirement(s): prompt.no-cross-direction-fallback"
        ),
        "{printed}"
    );
    assert_eq!(result["certified"], false);
    assert_eq!(
        result["failed_requirements"],
        json!(["prompt.no-cross-direction-fallback"])
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
    let target = ExternalTarget::start("fixed", &["--insecure-skip-signature-validation"]);
    let Certification { run, result } = target.certify();
    let printed = &run.printed;
    assert_eq!(run.code, Some(1), "{printed}");
    assert_eq!(
        result["failed_requirements"],
        json!(["signatures.webhook", "signatures.stream"]),
        "{printed}"
    );
}

/// The preflight's verdict: the exit code, the `error: preflight:` lines, and whether any
/// scenario ran.
fn preflight_failure(out: &Output) -> (Option<i32>, Vec<String>, bool) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = stderr
        .lines()
        .filter(|l| l.starts_with("error: preflight:"))
        .map(str::to_owned)
        .collect();
    let ran = String::from_utf8_lossy(&out.stdout).contains("FAIL");
    (out.status.code(), lines, ran)
}

#[test]
fn a_closed_port_is_one_diagnosis_line_and_exit_2() {
    let port = free_port();
    let out = callsim()
        .args(["run", "-q", "--target", &format!("http://127.0.0.1:{port}")])
        .arg("scenarios/seed/inbound-empty-ai-prompt.yaml")
        .output()
        .unwrap();
    let (code, lines, ran) = preflight_failure(&out);
    assert_eq!(code, Some(2), "{}", text(&out));
    assert_eq!(lines.len(), 1, "{}", text(&out));
    assert!(lines[0].contains("does not answer"), "{}", lines[0]);
    assert!(lines[0].contains("11205"), "{}", lines[0]);
    assert!(!ran, "no scenario may run: {}", text(&out));
}

#[test]
fn a_wrong_webhook_path_is_one_diagnosis_line_and_exit_2() {
    let target = ExternalTarget::start("fixed", &[]);
    let file = target.dir.path().join("wrong-path.yaml");
    std::fs::write(
        &file,
        format!(
            "public_url: https://sut.test\npaths:\n  incoming: /incoming-call\nfixtures:\n  \
             token: {FIXTURE_TOKEN}\ntwilio:\n  account_sid: {ACCOUNT_SID}\n  auth_token: \
             {TWILIO_TOKEN}\n"
        ),
    )
    .unwrap();
    let out = callsim()
        .args(["certify", "-q"])
        .args([
            "--target",
            &format!("http://127.0.0.1:{}", target.server.port),
        ])
        .arg("--target-config")
        .arg(&file)
        .args(["--ai-listen", &format!("127.0.0.1:{}", target.ai_port)])
        .args([
            "--twilio-listen",
            &format!("127.0.0.1:{}", target.twilio_port),
        ])
        .output()
        .unwrap();
    let (code, lines, ran) = preflight_failure(&out);
    assert_eq!(code, Some(2), "{}", text(&out));
    assert_eq!(lines.len(), 1, "{}", text(&out));
    assert!(
        lines[0].contains("https://sut.test/incoming-call answered 404"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("paths.incoming"), "{}", lines[0]);
    assert!(!ran, "no requirement may run: {}", text(&out));
}
