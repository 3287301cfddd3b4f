//! Headless Chromium for the HTML report tests: finding the browser (or saying why the browser
//! tests are ignored or fail without it), running it on a page with a bounded wait, keeping the
//! artifacts, and the checks every report page must pass (a clean console, a rendered
//! screenshot).
//!
//! The browser is `/usr/bin/chromium`, or the path in `CALLSIM_CHROMIUM`. When it is missing,
//! the browser tests are reported as ignored (the summary counts them, and a note says why),
//! except under CI (`CI` set and not `false` or `0`) or with `CALLSIM_REQUIRE_CHROMIUM=1`, where
//! they fail and say how to install it. Set `CALLSIM_HTML_REPORT_DIR=<dir>` to keep the rendered
//! pages and the screenshots.
//!
//! The test binaries that include this file use libtest-mimic (`harness = false`), because the
//! built-in harness cannot report a test as ignored at run time: a browser test would otherwise
//! pass without having looked at anything. Each of them uses all of this file (see
//! `common/README.md`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Where the browser is unless `CALLSIM_CHROMIUM` says otherwise.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether the browser tests can run, and what to do when they cannot.
#[derive(Debug, Clone)]
pub(crate) enum Browser {
    /// The browser at this path.
    Found(PathBuf),
    /// Missing, and nothing requires it: the browser tests are ignored for this reason.
    Skip(String),
    /// Missing but required (CI or `CALLSIM_REQUIRE_CHROMIUM=1`): the browser tests fail.
    Required(String),
}

impl Browser {
    pub(crate) fn detect() -> Browser {
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

    /// Prints on stderr why the browser tests are ignored, when they are; not with `--list`,
    /// whose output tools parse.
    pub(crate) fn note(&self, args: &Arguments) {
        if let Browser::Skip(why) = self
            && !args.list
        {
            eprintln!("note: the browser tests are ignored: {why}");
        }
    }

    /// A trial that runs `test` with the browser's path, or is ignored or fails without it.
    pub(crate) fn trial<F, Fut>(&self, name: &str, test: F) -> Trial
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
pub(crate) async fn chromium(
    browser: &Path,
    dir: &Path,
    page: &Path,
    extra: &[String],
) -> (String, String) {
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

/// Asserts that Chromium logged no console message and no uncaught error. The report pages
/// have no script and a Content-Security-Policy of `default-src 'none'`, so any console line is
/// a CSP violation (an external load) or an error: a clean console proves self-containment.
pub(crate) fn assert_clean_console(stderr: &str) {
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

/// Takes a `width` x `height` screenshot of `page` into `dir/<name>`, checks that it is a PNG of
/// that size and larger than `min_bytes` (a blank page compresses to a few KB), and keeps it.
pub(crate) async fn assert_screenshot_rendered(
    browser: &Path,
    dir: &Path,
    page: &Path,
    name: &str,
    (width, height): (u32, u32),
    min_bytes: usize,
) {
    let shot = dir.join(name);
    let args = [
        format!("--screenshot={}", shot.display()),
        format!("--window-size={width},{height}"),
        "--hide-scrollbars".to_owned(),
    ];
    chromium(browser, dir, page, &args).await;
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // IHDR holds the width and height as big-endian u32s at bytes 16..24.
    let shot_width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let shot_height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((shot_width, shot_height), (width, height));
    assert!(
        png.len() > min_bytes,
        "screenshot is suspiciously small: {} bytes",
        png.len()
    );
    keep(&shot);
}

/// Copies an artifact to `CALLSIM_HTML_REPORT_DIR` when that is set, for humans and CI uploads.
pub(crate) fn keep(path: &Path) {
    if let Ok(dir) = std::env::var("CALLSIM_HTML_REPORT_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(path, Path::new(&dir).join(path.file_name().unwrap())).unwrap();
    }
}
