//! The `callsim` binary: exit codes, result lines, input errors, determinism, shards and reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn callsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args(args)
        .current_dir(repo())
        .env("CI", "true")
        .output()
        .expect("callsim runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const QUICK: &[&str] = &[
    "scenarios/seed/inbound-empty-ai-prompt.yaml",
    "scenarios/seed/prebuilt-prompt-lock.yaml",
    "scenarios/security/unsigned-webhook.yaml",
    "scenarios/faults/webhook-500-fallback.yaml",
];

#[test]
fn passing_run_exits_0_with_the_summary_line() {
    let out = callsim(&["run", QUICK[0], QUICK[2]]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains("PASS  seed/inbound-empty-ai-prompt"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("2 passed, 0 failed"), "{text}");
}

#[test]
fn legacy_run_exits_1_and_names_the_mixup() {
    let out = callsim(&["run", "--profile", "legacy", QUICK[0]]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  seed/inbound-empty-ai-prompt"),
        "{text}"
    );
    assert!(text.contains("acme.outbound_prompt"), "{text}");
    assert!(text.contains("received the OUTBOUND prompt"), "{text}");
    assert_eq!(text.lines().last(), Some("0 passed, 1 failed"), "{text}");
}

fn bad_scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

const GOOD_HEAD: &str = "title: t\ntenants:\n  acme:\n    business_name: Acme\ncalls:\n  - tenant: acme\n    direction: inbound\n";

#[test]
fn malformed_scenarios_exit_2_naming_file_line_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown-key.yaml",
            format!("{GOOD_HEAD}    colour: red\n"),
            ":8:5",
            "unknown field `colour`",
        ),
        (
            "wrong-type.yaml",
            format!("seed: many\n{GOOD_HEAD}"),
            ":1:7",
            "`seed`",
        ),
        (
            "bad-duration.yaml",
            format!("{GOOD_HEAD}    timeline:\n      - silence: 2 weeks\n"),
            ":9:",
            "invalid duration `2 weeks`",
        ),
        (
            "missing-file.yaml",
            format!("{GOOD_HEAD}    timeline:\n      - say: nowhere.wav\n"),
            ":9:",
            "nowhere.wav",
        ),
        (
            "unknown-tenant.yaml",
            "title: t\ncalls:\n  - tenant: ghost\n    direction: inbound\n".to_string(),
            ":3:",
            "unknown tenant `ghost`",
        ),
    ];
    for (name, body, location, message) in cases {
        let path = bad_scenario(dir.path(), name, &body);
        let out = callsim(&["run", path.to_str().unwrap()]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {text}");
        let wanted = format!("{}{location}", path.display());
        assert!(
            text.contains(&wanted),
            "{name}: expected `{wanted}` in\n{text}"
        );
        assert!(
            text.contains(message),
            "{name}: expected `{message}` in\n{text}"
        );
    }
    let out = callsim(&["run", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/dir"));
}

#[test]
fn hash_shards_cover_every_scenario_once_and_merge_to_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let mut args = vec!["run".to_string(), "--json".into(), path("all.json")];
    args.extend(QUICK.iter().map(|s| (*s).to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(callsim(&argv).status.code(), Some(0));

    let mut shards = Vec::new();
    for m in 1..=3 {
        let out_file = path(&format!("shard{m}.json"));
        let partition = format!("hash:{m}/3");
        let mut args = vec![
            "run".to_string(),
            "--partition".into(),
            partition,
            "--json".into(),
            out_file.clone(),
        ];
        args.extend(QUICK.iter().map(|s| (*s).to_string()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = callsim(&argv);
        // A shard may be empty; it still passes and writes a (empty) report.
        assert_eq!(out.status.code(), Some(0), "shard {m}: {}", stdout(&out));
        shards.push(out_file);
    }
    let mut args = vec!["merge-reports".to_string()];
    args.extend(shards.iter().cloned());
    args.extend([
        "--json".to_string(),
        path("merged.json"),
        "--junit".into(),
        path("merged.xml"),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = callsim(&argv);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out).lines().last(), Some("4 passed, 0 failed"));

    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert_eq!(read(&path("merged.json")), read(&path("all.json")));
    let junit = std::fs::read_to_string(path("merged.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 4, "{junit}");
}

#[test]
fn junit_has_one_testcase_per_scenario_with_failures_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let out = callsim(&[
        "run",
        "--profile",
        "legacy",
        "--junit",
        junit.to_str().unwrap(),
        QUICK[0],
        QUICK[2],
    ]);
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 2, "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    assert!(xml.contains("calls.caller.prompt_source"), "{xml}");
}

#[test]
fn serve_ai_prints_its_address_first() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args(["serve-ai", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("listening on 127.0.0.1:"), "{line:?}");
}

#[test]
fn repeat_reports_a_pass_rate_per_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = callsim(&[
        "run",
        "--repeat",
        "3",
        "--json",
        json.to_str().unwrap(),
        QUICK[2],
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("passed 3/3 runs"), "{}", stdout(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(report["scenarios"][0]["runs"], 3);
    assert_eq!(report["scenarios"][0]["passed_runs"], 3);

    let out = callsim(&["run", "--repeat", "2", "--profile", "legacy", QUICK[0]]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("passed 0/2 runs"), "{}", stdout(&out));
}

#[test]
fn clock_real_runs_the_in_process_server_in_real_time() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = bad_scenario(
        dir.path(),
        "real.yaml",
        "title: real clock\nclock: real\ntenants:\n  acme: { business_name: Acme, inbound_prompt: \"Answer calls for Acme.\" }\ncalls:\n  - tenant: acme\n    direction: inbound\n    timeline: [{ silence: 1s }, { tone: { for: 500ms } }, { silence: 500ms }]\nexpect:\n  - calls.call-0.status: completed\n  - calls.call-0.prompt_source: acme.inbound_prompt\n",
    );
    let json = dir.path().join("r.json");
    let started = std::time::Instant::now();
    let out = callsim(&[
        "run",
        "--json",
        json.to_str().unwrap(),
        scenario.to_str().unwrap(),
    ]);
    let wall = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let simulated = report["scenarios"][0]["transcript"]["simulated_ms"]
        .as_u64()
        .unwrap();
    // On the real clock the 2-second call takes at least 2 seconds of wall time.
    assert!(simulated >= 2000, "{simulated}");
    assert!(wall >= std::time::Duration::from_millis(2000), "{wall:?}");
}
