//! Runs every scenario file under `scenarios/` as its own test (datatest-stable), against the
//! bundled reference server in-process on the virtual clock.
//!
//! Each scenario must pass under the `fixed` profile, and its transcript must match the
//! reviewed snapshot in `snapshots/` (accept changes with `cargo insta review`). Each scenario
//! also runs under `legacy`: it must fail exactly when the file says `fails_under: [legacy]`,
//! with a failure that names the wrong prompt, and that failing transcript is pinned too, as
//! `<name>.legacy.snap`.
//!
//! The seed pack runs a second time with the server and the mock on the Live dialect
//! (`--ai-dialect live`): the same verdicts are required, and its transcripts are pinned apart,
//! as `<name>.live.snap` and `<name>.live.legacy.snap`, so the Realtime snapshots stay as they are.

use std::path::{Path, PathBuf};
use std::time::Duration;

use datatest_stable::Utf8Path;
use sim::report::Outcome;
use sim::report::junit::failure_text;
use sim::run::{AiDialect, Profile, Target, Transport};
use sim::suite::{RunOptions, ScenarioFile, run_file};
use sim::transcript::snapshot::{SnapshotView, snapshot_view};

fn options(profile: Profile, ai_dialect: Option<AiDialect>) -> RunOptions {
    RunOptions {
        capture: sim::capture::Capture::off(),
        target: Target::InProcess {
            profile,
            validate_signatures: true,
            bugs: Vec::new(),
            transport: Transport::default(),
            ai_dialect,
        },
        seed: None,
        wall_limit: Duration::from_secs(300),
    }
}

fn assert_snapshot(name: &str, input: &Path, view: &SnapshotView<'_>) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(input);
    settings.bind(|| insta::assert_yaml_snapshot!(name, view));
}

fn scenario(path: &Utf8Path, _contents: String) -> datatest_stable::Result<()> {
    check(path, None, "")
}

fn live_scenario(path: &Utf8Path, _contents: String) -> datatest_stable::Result<()> {
    check(path, Some(AiDialect::Live), ".live")
}

/// Runs one file under both profiles (on `ai_dialect`, if given) and pins the transcripts
/// under its name plus `suffix`.
fn check(
    path: &Utf8Path,
    ai_dialect: Option<AiDialect>,
    suffix: &str,
) -> datatest_stable::Result<()> {
    let rel = path.strip_prefix("scenarios").unwrap_or(path);
    let name = rel.with_extension("").as_str().replace('\\', "/");
    let file = ScenarioFile {
        name: name.clone(),
        path: PathBuf::from(path.as_str()),
    };

    let fixed = run_file(&file, &options(Profile::Fixed, ai_dialect));
    let report = &fixed.report;
    if report.outcome != Outcome::Passed {
        return Err(format!(
            "`{name}` must pass against the fixed reference server, but {:?}:\n{}",
            report.outcome,
            failure_text(report)
        )
        .into());
    }
    let (Some(plan), Some(transcript)) = (&fixed.plan, &report.transcript) else {
        return Err("a passed scenario always has a plan and a transcript".into());
    };
    assert_snapshot(
        &format!("{name}{suffix}"),
        path.as_std_path(),
        &snapshot_view(plan, transcript),
    );

    let legacy = run_file(&file, &options(Profile::Legacy, ai_dialect));
    let expect_failure = plan.fails_under.contains(&Profile::Legacy);
    match (expect_failure, legacy.report.outcome) {
        (false, Outcome::Passed) => {}
        (true, Outcome::Failed) => {
            let text = failure_text(&legacy.report);
            if !text.contains("_prompt") {
                return Err(format!(
                    "`{name}` failed under legacy as declared, but no failure names a prompt:\n{text}"
                )
                .into());
            }
            if let Some(t) = &legacy.report.transcript {
                assert_snapshot(
                    &format!("{name}{suffix}.legacy"),
                    path.as_std_path(),
                    &snapshot_view(plan, t),
                );
            }
        }
        (expected, outcome) => {
            return Err(format!(
                "`{name}` under legacy: expected {}, got {outcome:?}:\n{}",
                if expected {
                    "a failure (fails_under: [legacy])"
                } else {
                    "a pass"
                },
                failure_text(&legacy.report)
            )
            .into());
        }
    }
    Ok(())
}

datatest_stable::harness! {
    // The certification pack is run by `callsim certify` and its own tests, not as scenarios.
    { test = scenario, root = "scenarios", pattern = r"^(?!certification/).*\.ya?ml$" },
    // The seed pack again, on the Live dialect.
    { test = live_scenario, root = "scenarios/seed", pattern = r"\.ya?ml$" },
}
