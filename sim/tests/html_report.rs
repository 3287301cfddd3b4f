//! The HTML report opened in a real headless Chromium.
//!
//! The fixture `tests/fixtures/legacy-seed-report.json` is a hand-written run report of the
//! legacy server: one passed outbound scenario and one failed inbound scenario whose call got
//! the tenant's OUTBOUND prompt (the seed bug). The page must load with no console message at
//! all: it has no script, and its Content-Security-Policy (`default-src 'none'`) turns any
//! external load into a console error, so a clean console also proves self-containment.
//!
//! The browser is `/usr/bin/chromium`, or the path in `CALLSIM_CHROMIUM`. When it is missing,
//! the browser tests are reported as ignored (the summary counts them, and a note says why),
//! except under CI (`CI` set and not `false` or `0`) or with `CALLSIM_REQUIRE_CHROMIUM=1`, where
//! they fail and say how to install it. Set `CALLSIM_HTML_REPORT_DIR=<dir>` to keep the rendered
//! page and the screenshot.
//!
//! This binary uses libtest-mimic instead of the built-in harness (`harness = false`), because
//! the built-in harness cannot report a test as ignored at run time: a browser test would
//! otherwise pass without having looked at anything.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use sim::report::RunReport;
use sim::report::html::{CallAudio, render_html};

/// Where the browser is unless `CALLSIM_CHROMIUM` says otherwise.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
const FAILED_SCENARIO: &str = "seed/inbound-empty-ai-prompt";
const PASSED_SCENARIO: &str = "seed/outbound-normal";

fn fixture() -> RunReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-seed-report.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn audio() -> BTreeMap<(String, String), CallAudio> {
    [(FAILED_SCENARIO, "caller"), (PASSED_SCENARIO, "callee")]
        .into_iter()
        .map(|(scenario, call)| {
            let audio = CallAudio {
                heard_by_caller: sim::audio::tone(440.0, 1_000, 0.3),
                received_by_ai: sim::audio::speech_like(1_500, 7),
            };
            ((scenario.to_owned(), call.to_owned()), audio)
        })
        .collect()
}

/// Renders the fixture into `dir/report.html`.
fn write_report(dir: &Path) -> PathBuf {
    let path = dir.join("report.html");
    std::fs::write(&path, render_html(&fixture(), &audio())).unwrap();
    path
}

/// Whether the browser tests can run, and what to do when they cannot.
#[derive(Debug, Clone)]
enum Browser {
    /// The browser at this path.
    Found(PathBuf),
    /// Missing, and nothing requires it: the browser tests are ignored for this reason.
    Skip(String),
    /// Missing but required (CI or `CALLSIM_REQUIRE_CHROMIUM=1`): the browser tests fail.
    Required(String),
}

impl Browser {
    fn detect() -> Browser {
        let path = std::env::var_os("CALLSIM_CHROMIUM")
            .map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
        if path.exists() {
            return Browser::Found(path);
        }
        let missing = format!("chromium is not installed at {}", path.display());
        let ci = std::env::var("CI")
            .ok()
            .filter(|v| v != "false" && v != "0");
        let required_by = match ci {
            Some(v) => Some(format!("CI={v}")),
            None => (std::env::var("CALLSIM_REQUIRE_CHROMIUM").as_deref() == Ok("1"))
                .then(|| "CALLSIM_REQUIRE_CHROMIUM=1".to_owned()),
        };
        match required_by {
            Some(by) => Browser::Required(format!(
                "{missing}, and {by} requires the browser tests: install it with \
                 `apt-get install -y chromium` (or set CALLSIM_CHROMIUM to its path)"
            )),
            None => Browser::Skip(format!(
                "{missing}; install it with `apt-get install -y chromium` or set \
                 CALLSIM_CHROMIUM to its path"
            )),
        }
    }

    /// A trial that runs `test` with the browser's path, or is ignored or fails without it.
    fn trial<F, Fut>(&self, name: &str, test: F) -> Trial
    where
        F: FnOnce(PathBuf) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        match self.clone() {
            Browser::Found(path) => Trial::test(name, move || block_on(test(path))),
            Browser::Required(why) => Trial::test(name, move || Err(why.into())),
            // Flagged as ignored, so the summary counts it; run anyway (`--include-ignored`),
            // it reports itself ignored at run time with the reason.
            Browser::Skip(why) => {
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why)))
                    .with_ignored_flag(true)
            }
        }
    }
}

/// Runs an async test body on a runtime of its own.
fn block_on(test: impl Future<Output = ()>) -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    rt.block_on(test);
    Ok(())
}

/// Runs headless Chromium on a page with a fresh profile, bounded by [`BROWSER_TIMEOUT`];
/// returns stdout and stderr.
async fn chromium(browser: &Path, dir: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let mut cmd = tokio::process::Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=2000",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    // Dropping the wait future on timeout drops the child, which kills the browser.
    .kill_on_drop(true);
    let child = cmd.spawn().unwrap();
    let output = match tokio::time::timeout(BROWSER_TIMEOUT, child.wait_with_output()).await {
        Ok(result) => result.unwrap(),
        Err(_) => panic!("chromium did not finish within {BROWSER_TIMEOUT:?}; it was killed"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "chromium exited with {}:\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// Copies an artifact to `CALLSIM_HTML_REPORT_DIR` when that is set, for humans and CI uploads.
fn keep(path: &Path) {
    if let Ok(dir) = std::env::var("CALLSIM_HTML_REPORT_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(path, Path::new(&dir).join(path.file_name().unwrap())).unwrap();
    }
}

/// Every `src="…"` and `href="…"` attribute value.
fn url_attributes(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for attr in [" src=\"", " href=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            found.push(&rest[..rest.find('"').unwrap()]);
        }
    }
    found
}

fn fixture_renders_self_contained_and_deterministic() {
    let report = fixture();
    assert_eq!(report.counts(), (1, 1, 0, 0));
    let html = render_html(&report, &audio());
    assert_eq!(html, render_html(&report, &audio()));
    let urls = url_attributes(&html);
    assert_eq!(
        urls.iter()
            .filter(|u| u.starts_with("data:audio/wav;base64,"))
            .count(),
        4
    );
    for url in urls {
        assert!(
            url.starts_with('#') || url.starts_with("data:"),
            "external URL in an attribute: {url}"
        );
    }
    // The fixture's target and tenant name carry markup, which must arrive escaped.
    assert!(html.contains("legacy server (seed bug) &lt;http://127.0.0.1:0&gt;"));
    assert!(!html.contains("<Plumbing>"));
}

async fn report_opens_in_headless_chromium_with_a_clean_console(browser: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let page = write_report(dir.path());
    keep(&page);
    let (dom, stderr) = chromium(&browser, dir.path(), &page, &["--dump-dom".to_owned()]).await;

    assert!(
        dom.contains("<header id=\"summary\">"),
        "no summary in the DOM"
    );
    assert!(dom.contains("1 passed") && dom.contains("1 failed"));
    assert!(dom.contains(
        "<section class=\"scenario\" id=\"scenario-seed-inbound-empty-ai-prompt\" data-outcome=\"failed\">"
    ));
    assert!(dom.contains(
        "<section class=\"scenario\" id=\"scenario-seed-outbound-normal\" data-outcome=\"passed\">"
    ));
    assert_eq!(dom.matches("class=\"wrong-prompt\"").count(), 1);
    assert!(
        dom.contains("Inbound call <code>caller</code> received tenant acme's OUTBOUND prompt")
    );
    assert!(dom.contains("calls.caller.direction_mixup"));
    assert_eq!(dom.matches("class=\"timeline\"").count(), 2);
    assert_eq!(dom.matches("<svg").count(), 2);
    assert_eq!(dom.matches("class=\"audio-heard\"").count(), 2);
    assert_eq!(dom.matches("class=\"audio-ai\"").count(), 2);

    // The page has no script: any console line is a CSP violation (an external load) or an
    // error, so none is allowed.
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
}

async fn report_screenshot_is_rendered(browser: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let page = write_report(dir.path());
    let shot = dir.path().join("report.png");
    let args = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1280,2000".to_owned(),
        "--hide-scrollbars".to_owned(),
    ];
    chromium(&browser, dir.path(), &page, &args).await;
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // IHDR holds the width and height as big-endian u32s at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2000));
    // A blank page compresses to a few KB; a rendered report with text and a timeline does not.
    assert!(
        png.len() > 50_000,
        "screenshot is suspiciously small: {} bytes",
        png.len()
    );
    keep(&shot);
}

/// The report of a real run: the seed pack against the legacy reference server, rendered by
/// `callsim run --html`, must open cleanly and highlight the wrong prompt.
async fn legacy_seed_run_report_highlights_the_wrong_prompt_in_chromium(browser: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("legacy-seed.html");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callsim"))
        .args(["-q", "run", "--profile", "legacy", "--html"])
        .arg(&page)
        .args([
            "scenarios/seed/inbound-empty-ai-prompt.yaml",
            "scenarios/seed/outbound-empty-outbound-prompt.yaml",
            "scenarios/seed/both-prompts-set.yaml",
        ])
        .current_dir(&repo)
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    keep(&page);
    let (dom, stderr) = chromium(&browser, dir.path(), &page, &["--dump-dom".to_owned()]).await;
    assert!(dom.contains("<header id=\"summary\">"));
    assert!(
        dom.contains("1 passed") && dom.contains("2 failed"),
        "summary counts"
    );
    assert!(dom.contains("data-outcome=\"failed\""));
    assert!(
        dom.contains("Inbound call <code>caller</code> received tenant acme's OUTBOUND prompt")
    );
    assert!(
        dom.contains("Outbound call <code>callee</code> received tenant acme's INBOUND prompt")
    );
    assert!(
        dom.contains("class=\"audio-heard\""),
        "caller audio is embedded"
    );
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let browser = Browser::detect();
    // The note goes to stderr and not with `--list`, whose output tools parse.
    if let Browser::Skip(why) = &browser
        && !args.list
    {
        eprintln!("note: the browser tests are ignored: {why}");
    }
    let trials = vec![
        Trial::test("fixture_renders_self_contained_and_deterministic", || {
            fixture_renders_self_contained_and_deterministic();
            Ok(())
        }),
        browser.trial(
            "report_opens_in_headless_chromium_with_a_clean_console",
            report_opens_in_headless_chromium_with_a_clean_console,
        ),
        browser.trial(
            "report_screenshot_is_rendered",
            report_screenshot_is_rendered,
        ),
        browser.trial(
            "legacy_seed_run_report_highlights_the_wrong_prompt_in_chromium",
            legacy_seed_run_report_highlights_the_wrong_prompt_in_chromium,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}
