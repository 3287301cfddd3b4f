//! A run that meets bad input: every bad file is an input error of its own scenario (named with
//! its line), the good scenarios still run and pass, and every report is written.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The guard against a hang: far above what this run needs, so it never fails on a slow machine,
/// but a run that hangs fails the test instead of hanging CI.
const HANG_GUARD: Duration = Duration::from_secs(300);

fn callsim_in(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("callsim starts");
    let started = std::time::Instant::now();
    while child
        .try_wait()
        .expect("callsim can be waited for")
        .is_none()
    {
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("callsim did not finish within {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("callsim output")
}

const TENANT: &str = "tenants:\n  acme: { business_name: Acme, inbound_prompt: \"You answer Acme's calls.\", outbound_prompt: \"You call Acme's patients.\" }\n";

fn scenario(title: &str, timeline: &str, extra: &str) -> String {
    format!(
        "title: {title}\n{TENANT}calls:\n  - name: caller\n    tenant: acme\n    direction: inbound\n    timeline:\n{timeline}{extra}"
    )
}

/// A 1 MB WAV whose header claims a sample rate of 1 Hz (and a matching byte rate).
fn lying_wav() -> Vec<u8> {
    let data = vec![0x10u8; 1_000_000];
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    for field in [
        16u32.to_le_bytes().to_vec(),
        1u16.to_le_bytes().to_vec(),
        1u16.to_le_bytes().to_vec(),
    ] {
        out.extend_from_slice(&field);
    }
    out.extend_from_slice(&1u32.to_le_bytes()); // sample rate: 1 Hz
    out.extend_from_slice(&2u32.to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

#[cfg(unix)]
#[test]
fn bad_files_are_input_errors_of_their_own_while_the_good_one_passes_and_reports_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("scenarios");
    std::fs::create_dir_all(&root).unwrap();
    let good = scenario(
        "a short good call",
        "      - speech: 2s\n      - silence: 3s\n",
        "expect:\n  - calls.caller.status: completed\n  - calls.caller.prompt_source: acme.inbound_prompt\n",
    );
    std::fs::write(root.join("good.yaml"), good).unwrap();
    std::fs::write(
        root.join("huge-speech.yaml"),
        scenario("a thousand hours of speech", "      - speech: 1000h\n", ""),
    )
    .unwrap();
    std::fs::write(root.join("liar.wav"), lying_wav()).unwrap();
    std::fs::write(
        root.join("lying-wav.yaml"),
        scenario(
            "a WAV that lies about its rate",
            "      - say: liar.wav\n",
            "",
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("huge-reply.yaml"),
        scenario(
            "a reply of a thousand hours",
            "      - speech: 2s\n",
            "ai:\n  default_reply: { audio: { tone: 1000h } }\n",
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("late-hangup.yaml"),
        scenario(
            "a hang-up after Twilio's limit",
            "      - speech: 2s\n",
            "    hangup_at: 10h\n",
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("early-hangup.yaml"),
        scenario(
            "a hang-up before the caller speaks",
            "      - silence: 5s\n      - speech: 2s\n",
            "    hangup_at: 3s\n",
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("typo-path.yaml"),
        scenario(
            "an expectation on a field that does not exist",
            "      - speech: 2s\n",
            "expect:\n  - calls.caller.stauts: completed\n",
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink("..", root.join("loop")).unwrap();
    std::os::unix::fs::symlink(".", root.join("self")).unwrap();

    let out = callsim_in(
        dir.path(),
        &["run", "--json", "r.json", "--junit", "r.xml", "scenarios"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("PASS  good"), "{text}");
    for (name, line, cause) in [
        ("huge-speech", "huge-speech.yaml:9:", "longer than 24h"),
        ("lying-wav", "lying-wav.yaml:9:", "sample rate of 1 Hz"),
        ("huge-reply", "huge-reply.yaml:11:", "longer than 24h"),
        (
            "late-hangup",
            "late-hangup.yaml:10:",
            "past Twilio's maximum call length",
        ),
        ("early-hangup", "early-hangup.yaml:10:", "never plays"),
        (
            "typo-path",
            "typo-path.yaml:11:",
            "`calls.caller.stauts` cannot exist",
        ),
    ] {
        assert!(text.contains(&format!("ERROR {name}")), "{name}: {text}");
        assert!(text.contains(line), "{name}: expected `{line}` in {text}");
        assert!(text.contains(cause), "{name}: expected `{cause}` in {text}");
    }
    // Every real file ran once, whatever the links.
    assert_eq!(text.matches("PASS  ").count(), 1, "{text}");
    assert_eq!(text.matches("ERROR ").count(), 6, "{text}");

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let scenarios = report["scenarios"]
        .as_array()
        .expect("scenarios in the JSON report");
    assert_eq!(scenarios.len(), 7, "{report}");
    let junit = std::fs::read_to_string(dir.path().join("r.xml")).unwrap();
    assert!(
        junit.contains("lying-wav") && junit.contains("good"),
        "{junit}"
    );
}
