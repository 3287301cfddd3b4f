//! callsim against a call server it did not write: `tests/independent_server/server.py`, a
//! Python server shaped like Twilio's official Media Streams + Realtime sample (webhook at
//! `/incoming-call`, port-less `wss://HOST/media-stream`, one fixed prompt, no signature
//! validation, no fixture API), started as a process and driven in real time.
//!
//! It needs `python3` with the `websockets` package. Without them the tests are reported as
//! ignored with the reason, except under CI (`CI` set and not `false` or `0`), where they fail:
//! `.ci/run` installs the package, so a missing one there is a broken setup, not a skip.

#[path = "common/callsim.rs"]
mod callsim_binary;
#[path = "common/ports.rs"]
mod ports;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;

use callsim_binary::{callsim, repo};
use ports::Reserved;

/// The public URL the target file gives: the server sees it in `Host` and builds its stream URL
/// from it, so the run only works when callsim sends the public host.
const PUBLIC_HOST: &str = "independent.test";

/// The Python server, killed when dropped, and the ports callsim's fakes must listen on.
struct Independent {
    child: Child,
    port: u16,
    ai_port: u16,
    rest_port: u16,
}

impl Drop for Independent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Independent {
    /// Starts the server pointed at callsim's mock AI and waits for its first line.
    fn start() -> Independent {
        Independent::spawn(&[], false)
    }

    /// Starts the server pointed at a port where callsim's mock AI will not listen.
    fn start_pointed_at_the_wrong_mock() -> Independent {
        Independent::spawn(&[], true)
    }

    /// Starts the server with a built-in prompt of its own, as Twilio's sample has.
    fn start_with_prompt(prompt: &str) -> Independent {
        Independent::spawn(&[("SYSTEM_MESSAGE", prompt)], false)
    }

    fn spawn(env: &[(&str, &str)], wrong_mock: bool) -> Independent {
        let (ports, reserved) = Reserved::new(3);
        let (told, rest_port) = (ports[0], ports[1]);
        let ai_port = if wrong_mock { ports[2] } else { told };
        let mut child = Command::new("python3")
            .arg(repo().join("tests/independent_server/server.py"))
            .env(
                "REALTIME_URL",
                format!("ws://127.0.0.1:{told}/v1/realtime?model=gpt-realtime"),
            )
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the independent server prints its address within 30 s");
        let port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        reserved.release();
        Independent {
            child,
            port,
            ai_port,
            rest_port,
        }
    }

    /// `callsim SUBCOMMAND` aimed at this server with a target file in `dir`.
    fn callsim(&self, subcommand: &str, dir: &Path) -> Command {
        self.callsim_with(subcommand, dir, "")
    }

    /// `callsim SUBCOMMAND` aimed at this server with a target file in `dir` that ends with
    /// `more` (YAML; an indented line adds to `paths:`).
    fn callsim_with(&self, subcommand: &str, dir: &Path, more: &str) -> Command {
        let target = dir.join("target.yaml");
        std::fs::write(
            &target,
            format!(
                "public_url: https://{PUBLIC_HOST}\nscenario_timeout: 1m\npaths:\n  \
                 incoming: /incoming-call\n{more}"
            ),
        )
        .unwrap();
        let mut command = callsim();
        command.args([
            subcommand,
            "--target",
            &format!("http://127.0.0.1:{}", self.port),
            "--target-config",
            target.to_str().unwrap(),
            "--ai-listen",
            &format!("127.0.0.1:{}", self.ai_port),
            "--twilio-listen",
            &format!("127.0.0.1:{}", self.rest_port),
        ]);
        command
    }
}

fn lines_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn header<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    line["headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
}

fn a_run_passes_and_its_capture_names_the_public_host() {
    let server = Independent::start();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let out = server
        .callsim("run", dir.path())
        .args(["--capture", capture.to_str().unwrap()])
        .args([
            "scenarios/certification/v1/twiml-connect-stream.yaml",
            "scenarios/certification/v1/realtime-ga-session.yaml",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");

    let lines = lines_of(&capture);
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "http_request")
        .collect();
    // One webhook per call, and no status callback: the target file asks for none.
    assert_eq!(requests.len(), 2, "{requests:?}");
    for request in &requests {
        assert_eq!(header(request, "Host"), Some(PUBLIC_HOST));
        assert_eq!(header(request, "User-Agent"), Some("TwilioProxy/1.1"));
        assert_eq!(
            request["url"],
            format!("https://{PUBLIC_HOST}/incoming-call")
        );
    }
    // The server built its stream URL from that Host; callsim dialled it without a rewrite.
    let upgrades: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "ws_upgrade").collect();
    assert_eq!(upgrades.len(), 2);
    for upgrade in &upgrades {
        assert_eq!(upgrade["url"], format!("wss://{PUBLIC_HOST}/media-stream"));
        assert_eq!(header(upgrade, "Host"), Some(PUBLIC_HOST));
    }
    // Both sockets are in the capture: the server's session.update reached the mock AI.
    assert!(lines.iter().any(|l| {
        l["socket"] == "ai"
            && l["direction"] == "from_server"
            && l["text"]
                .as_str()
                .is_some_and(|t| t.contains("session.update"))
    }));
    assert!(lines.iter().any(|l| l["socket"] == "twilio"
        && l["direction"] == "from_server"
        && l["text"].as_str().is_some_and(|t| t.contains("\"media\""))));
}

fn certify_fails_exactly_the_signature_requirements() {
    let server = Independent::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("certification.json");
    let out = server
        .callsim("certify", dir.path())
        .args(["-q", "--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let result: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        result["failed_requirements"],
        serde_json::json!(["signatures.webhook", "signatures.stream"]),
        "{stdout}"
    );
    // Every assertion carries what was expected and what the transcript actually held.
    let connect = result["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "twiml.connect-stream")
        .unwrap();
    let handshake = connect["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "calls.caller.stream.handshake_status")
        .unwrap();
    assert_eq!(handshake["expected"], "equals 101");
    assert_eq!(handshake["actual"], 101);
    let webhook = result["requirements"][0]["evidence"][0].clone();
    assert_eq!(webhook["path"], "calls[*].webhooks[0].http_status");
    assert_eq!(webhook["actual"]["calls[0].webhooks[0].http_status"], 200);
}

fn a_server_pointed_at_the_wrong_mock_is_diagnosed_in_one_line() {
    // The server dials a port where no mock listens; callsim's mock is elsewhere.
    let server = Independent::start_pointed_at_the_wrong_mock();
    let dir = tempfile::tempdir().unwrap();
    let out = server
        .callsim("run", dir.path())
        .args(["-q", "scenarios/certification/v1/twiml-connect-stream.yaml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let causes: Vec<&str> = stdout.lines().filter(|l| l.contains("cause:")).collect();
    let expected = format!(
        "cause: call `caller`: the server never connected to the mock AI at ws://127.0.0.1:{port}/v1/realtime; \
         is its realtime URL set to ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime?",
        port = server.ai_port
    );
    assert_eq!(causes.len(), 1, "{stdout}");
    assert_eq!(causes[0].trim(), expected, "{stdout}");
    // The cause comes before the assertions it explains.
    let first_assertion = stdout.find('✗').unwrap_or(usize::MAX);
    assert!(stdout.find("cause:").unwrap() < first_assertion, "{stdout}");
}

fn a_built_in_prompt_is_named_and_judged_once_the_target_file_declares_it() {
    // Twilio's sample speaks with one prompt of its own, whatever tenant a scenario names.
    const SAMPLE: &str = "You are a helpful and bubbly AI assistant who loves to chat.";
    let server = Independent::start_with_prompt(SAMPLE);
    let scenario = "scenarios/certification/v1/twiml-connect-stream.yaml";
    let run = |more: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sample-prompt.txt"), format!("{SAMPLE}\n")).unwrap();
        let json = dir.path().join("report.json");
        let out = server
            .callsim_with("run", dir.path(), more)
            .args(["-q", "--json", json.to_str().unwrap(), scenario])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap())
            .unwrap_or_else(|e| panic!("{e}: {stdout}"));
        (out.status.code(), stdout, report)
    };
    let transcript = |report: &Value| report["scenarios"][0]["transcript"].clone();

    // Undeclared, the prompt is nobody's: the scenario's tenant prompt is missing from every
    // response, and the invariant says so.
    let (code, stdout, report) = run("");
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        transcript(&report)["calls"][0]["prompt_source"],
        "other",
        "{stdout}"
    );
    assert!(
        stdout.contains("prompt.own-tenant-and-direction"),
        "{stdout}"
    );

    // Declared, it is named, and the invariants judge the call against it.
    let declared = "tenants: preprovisioned\nprompts:\n  sample: { file: sample-prompt.txt }\n";
    let (code, stdout, report) = run(declared);
    assert_eq!(code, Some(0), "{stdout}");
    let transcript = transcript(&report);
    assert_eq!(
        transcript["calls"][0]["prompt_source"], "sample",
        "{stdout}"
    );
    assert_eq!(
        transcript["tenants"]["cert-clinic"]["inbound_prompt"],
        SAMPLE
    );
    // A transcript lists its invariant findings only when there are some.
    assert!(
        transcript["invariants"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{stdout}"
    );
    assert!(
        !stdout.contains("prompt.own-tenant-and-direction"),
        "{stdout}"
    );

    // A scenario that edits a tenant cannot be played against tenants callsim does not
    // provision: it is skipped with the reason, never judged on an edit that was not made.
    let dir = tempfile::tempdir().unwrap();
    let out = server
        .callsim_with("run", dir.path(), "tenants: preprovisioned\n")
        .arg("scenarios/history/2026-01-09-edited-prompt-reaches-calls.yaml")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 passed, 0 failed, 1 skipped"), "{stdout}");
    assert!(
        stdout.contains("skipped: the scenario edits tenant `acme` at 30s"),
        "{stdout}"
    );
}

fn a_status_route_the_server_lacks_is_a_warning_not_a_failure() {
    // Twilio's sample has no status route: a target file that asks for callbacks there gets
    // 404s, which Twilio logs (11200) without touching the call.
    let server = Independent::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = server
        .callsim_with("run", dir.path(), "  status_callback: /call-status\n")
        .args(["--json", json.to_str().unwrap()])
        .arg("scenarios/certification/v1/twiml-connect-stream.yaml")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let warnings: Vec<&str> = stdout.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(warnings.len(), 1, "one line per call: {stdout}");
    assert!(
        warnings[0].contains(&format!(
            "warning: call `caller`: status callback `initiated` to https://{PUBLIC_HOST}/call-status"
        )),
        "{stdout}"
    );
    assert!(warnings[0].contains("404 (Twilio 11200)"), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["warnings"].as_array().map(Vec::len), Some(1));
    assert!(
        scenario.get("causes").is_none(),
        "a passing call has no cause"
    );
}

/// Whether the server can run here, and what to do when it cannot.
enum Python {
    Ready,
    Skip(String),
    Required(String),
}

impl Python {
    fn detect() -> Python {
        let importable = Command::new("python3")
            .args(["-c", "import websockets"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if importable {
            return Python::Ready;
        }
        let missing = "python3 with the `websockets` package is not available \
                       (`pip install websockets`)";
        match std::env::var("CI")
            .ok()
            .filter(|v| v != "false" && v != "0")
        {
            Some(v) => Python::Required(format!("{missing}, and CI={v} requires these tests")),
            None => Python::Skip(missing.to_owned()),
        }
    }

    fn trial(&self, name: &str, test: fn()) -> Trial {
        match self {
            Python::Ready => Trial::test(name, move || {
                test();
                Ok(())
            }),
            Python::Required(why) => {
                let why = why.clone();
                Trial::test(name, move || Err(Failed::from(why)))
            }
            Python::Skip(why) => {
                let why = why.clone();
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why)))
                    .with_ignored_flag(true)
            }
        }
    }
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let python = Python::detect();
    if let Python::Skip(why) = &python
        && !args.list
    {
        eprintln!("note: the independent-server tests are ignored: {why}");
    }
    let trials = vec![
        python.trial(
            "a_run_passes_and_its_capture_names_the_public_host",
            a_run_passes_and_its_capture_names_the_public_host,
        ),
        python.trial(
            "a_server_pointed_at_the_wrong_mock_is_diagnosed_in_one_line",
            a_server_pointed_at_the_wrong_mock_is_diagnosed_in_one_line,
        ),
        python.trial(
            "a_built_in_prompt_is_named_and_judged_once_the_target_file_declares_it",
            a_built_in_prompt_is_named_and_judged_once_the_target_file_declares_it,
        ),
        python.trial(
            "a_status_route_the_server_lacks_is_a_warning_not_a_failure",
            a_status_route_the_server_lacks_is_a_warning_not_a_failure,
        ),
        python.trial(
            "certify_fails_exactly_the_signature_requirements",
            certify_fails_exactly_the_signature_requirements,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}
