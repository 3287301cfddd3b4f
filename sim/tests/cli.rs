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

/// The pointer that follows a shortened value on the terminal.
const FULL_VALUE_POINTER: &str = "(full value in --json/--html report)";

/// A scenario whose inbound and outbound prompts are `chars` characters each (multi-byte
/// characters included, so a cut at a byte offset would show) and whose expectations fail on
/// the call's instructions, which carry the inbound prompt.
fn huge_prompt_scenario(dir: &Path, chars: usize) -> PathBuf {
    let prompt = |seed: &str| {
        let mut text = format!("You are the {seed} agent of Acme Dental. ");
        while text.chars().count() < chars - "Goodbye.".len() {
            text.push_str("Answer politely, café hours are 9–5. ");
        }
        text.truncate(
            text.char_indices()
                .nth(chars - "Goodbye.".len())
                .map_or(text.len(), |(i, _)| i),
        );
        text.push_str("Goodbye.");
        assert_eq!(text.chars().count(), chars);
        text
    };
    let body = format!(
        "title: huge prompts\nseed: 7\ntenants:\n  acme:\n    business_name: Acme\n    \
         inbound_prompt: \"{}\"\n    outbound_prompt: \"{}\"\ncalls:\n  - name: caller\n    \
         tenant: acme\n    direction: inbound\n    timeline: [{{ silence: 1s }}, {{ speech: 1s }}, {{ silence: 2s }}]\n\
         expect:\n  - calls.caller.instructions: {{ contains: \"a sentence that is not there\" }}\n  \
         - calls.caller.instructions: {{ same_as: tenant.acme.outbound_prompt }}\n",
        prompt("inbound"),
        prompt("outbound")
    );
    bad_scenario(dir, "huge-prompts.yaml", &body)
}

#[test]
fn huge_values_print_a_bounded_number_of_bytes_and_are_stored_once() {
    const CHARS: usize = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let scenario = huge_prompt_scenario(dir.path(), CHARS);
    let json = dir.path().join("r.json");
    let out = callsim(&[
        "run",
        "--json",
        json.to_str().unwrap(),
        scenario.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    // Two failed assertions, each quoting the prompt several times, in a few kilobytes.
    assert!(
        text.len() < 24_000,
        "{} bytes on stdout:\n{text}",
        text.len()
    );
    assert!(text.contains("FAIL  huge-prompts"), "{text}");
    // The diff's `+` line is the inbound prompt itself; its length is shown exactly.
    assert!(text.contains("…[200,000 chars]…"), "{text}");
    assert!(
        text.contains("You are the inbound agent of Acme Dental."),
        "{text}"
    );
    assert!(
        text.contains(&format!("Goodbye. {FULL_VALUE_POINTER}")),
        "{text}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let scenario = &report["scenarios"][0];
    let instructions = scenario["transcript"]["calls"][0]["instructions"]
        .as_str()
        .unwrap();
    assert!(
        instructions.chars().count() >= CHARS,
        "the transcript keeps the full prompt"
    );
    let assertions = scenario["assertions"].as_array().unwrap();
    assert_eq!(assertions.len(), 2);
    for a in assertions {
        let message = a["message"].as_str().unwrap();
        assert!(message.len() < 10_000, "{} bytes: {message}", message.len());
        assert!(message.contains(" chars]…"), "{message}");
    }
}

/// Runs `callsim` with the environment a person's shell might have, minus CI: logs and colours
/// are decided by the flags and by whether the output is a terminal (here: pipes).
fn callsim_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callsim"));
    cmd.args(args)
        .current_dir(repo())
        .env_remove("CI")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("callsim runs")
}

#[test]
fn quiet_prints_failures_and_the_summary_and_no_server_logs() {
    // Under legacy, ai-unavailable passes while the server logs an error ("realtime API
    // unavailable"), and the seed scenario fails.
    let args = [
        "-q",
        "run",
        "--profile",
        "legacy",
        "--jobs",
        "2",
        "scenarios/faults/ai-unavailable.yaml",
        QUICK[0],
        QUICK[2],
    ];
    let out = callsim_env(&args, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines()
            .all(|l| !l.starts_with("PASS") && !l.starts_with("simulated")),
        "{text}"
    );
    assert!(
        text.contains("FAIL  seed/inbound-empty-ai-prompt"),
        "{text}"
    );
    assert!(text.contains("received the OUTBOUND prompt"), "{text}");
    assert_eq!(text.lines().last(), Some("2 passed, 1 failed"), "{text}");
    assert_eq!(stderr(&out), "", "quiet runs log nothing here");

    // Even when RUST_LOG asks for warnings, -q keeps the in-process server's logs out.
    let out = callsim_env(&args, &[("RUST_LOG", "warn")]);
    assert_eq!(out.status.code(), Some(1));
    let logs = stderr(&out);
    assert!(!logs.contains("server_under_test"), "{logs}");
    assert!(!logs.contains("realtime API unavailable"), "{logs}");
}

#[test]
fn piped_output_has_no_escape_sequences() {
    let out = callsim_env(&["-vv", "run", "--profile", "legacy", QUICK[0]], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let logs = stderr(&out);
    assert!(
        logs.contains("server_under_test"),
        "-vv shows the server's logs: {logs}"
    );
    assert!(!stdout(&out).contains('\x1b'), "{}", stdout(&out));
    assert!(!logs.contains('\x1b'), "{logs}");

    let out = callsim_env(&["run", "--no-such-flag"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains('\x1b'), "{}", stderr(&out));
}

#[test]
fn parallel_results_print_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    // The first file is the slowest, so with two jobs the others finish before it.
    bad_scenario(
        dir.path(),
        "a-slow.yaml",
        "title: slow\ntenants:\n  acme: { business_name: Acme, inbound_prompt: \"Answer calls for Acme.\" }\n\
         calls:\n  - tenant: acme\n    direction: inbound\n    timeline: [{ speech: 2s }, { silence: 40s }]\n\
         expect:\n  - calls.call-0.status: completed\n",
    );
    let quick = "title: quick\ntenants:\n  acme: { business_name: Acme, inbound_prompt: \"Answer calls for Acme.\" }\n\
                 calls:\n  - tenant: acme\n    direction: inbound\n    timeline: [{ silence: 1s }]\n\
                 faults:\n  - unsigned_webhook: { call: call-0 }\n\
                 expect:\n  - calls.call-0.webhooks[0].http_status: 403\n";
    for name in ["b-quick.yaml", "c-quick.yaml", "d-quick.yaml"] {
        bad_scenario(dir.path(), name, quick);
    }
    let out = callsim(&["run", "--jobs", "2", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("PASS  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["a-slow", "b-quick", "c-quick", "d-quick"], "{text}");
}
