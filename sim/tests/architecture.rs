//! The architecture invariants of ARCHITECTURE.md, checked over the sources the way
//! rust-analyzer's tidy tests do: a rule is a function from a source tree to its violations, so
//! each rule is also shown to fail on a tree that breaks it.

use std::path::{Path, PathBuf};

fn sim_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

/// Lines of code (comments left out) that mention any of `needles`, as `file:line: text`.
fn mentions(root: &Path, dirs: &[&str], needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for dir in dirs {
        for (path, text) in sources(&root.join(dir)) {
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if needles.iter().any(|n| code.contains(n)) {
                    let rel = path.strip_prefix(root).unwrap_or(&path).display();
                    found.push(format!("{rel}:{}: {}", i + 1, line.trim()));
                }
            }
        }
    }
    found
}

/// `sim::scenario` turns files into plans: it opens no socket and speaks no protocol.
fn scenario_does_network_io(root: &Path) -> Vec<String> {
    mentions(
        root,
        &["scenario"],
        &[
            "tokio::net",
            "std::net::Tcp",
            "reqwest",
            "axum",
            "tungstenite",
            "hyper",
        ],
    )
}

/// The pipeline (scenario → run → transcript) never imports the reports that read it.
fn pipeline_imports_report(root: &Path) -> Vec<String> {
    mentions(root, &["scenario", "run", "transcript"], &["crate::report"])
}

/// Only `run/in_process.rs` names the reference server (plus the log directive that silences it).
fn reference_server_named_outside_run(root: &Path) -> Vec<String> {
    mentions(root, &["."], &["server_under_test"])
        .into_iter()
        .filter(|l| {
            !l.starts_with("run/in_process.rs:") && !l.contains("\"server_under_test=off\"")
        })
        .collect()
}

#[test]
fn the_scenario_room_does_no_network_io() {
    let found = scenario_does_network_io(&sim_src());
    assert!(
        found.is_empty(),
        "sim::scenario must not do network I/O:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_pipeline_never_imports_report() {
    let found = pipeline_imports_report(&sim_src());
    assert!(
        found.is_empty(),
        "the pipeline must not import report:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_in_process_file_names_the_reference_server() {
    let found = reference_server_named_outside_run(&sim_src());
    assert!(
        found.is_empty(),
        "only run/in_process.rs may name server_under_test:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_reference_server_does_not_depend_on_sim() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server-under-test/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("server-under-test/Cargo.toml");
    let deps: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("sim ") || l.trim_start().starts_with("sim="))
        .collect();
    assert!(
        deps.is_empty(),
        "server-under-test must be a server like any other: {deps:?}"
    );
}

/// Each rule reports a tree that breaks it, so a green run means the rule was kept, not that it
/// could not fail.
#[test]
fn each_rule_catches_a_tree_that_breaks_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for (file, text) in [
        (
            "scenario/load.rs",
            "use tokio::net::TcpStream;\n// reqwest in a comment is fine\n",
        ),
        ("transcript/build.rs", "use crate::report::Outcome;\n"),
        (
            "run/runner.rs",
            "let c = server_under_test::Config::default();\n",
        ),
        (
            "run/in_process.rs",
            "let c = server_under_test::Config::default();\n",
        ),
        (
            "cli/mod.rs",
            "const OFF: &str = \"server_under_test=off\";\n",
        ),
    ] {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    assert_eq!(
        scenario_does_network_io(root),
        ["scenario/load.rs:1: use tokio::net::TcpStream;"]
    );
    assert_eq!(
        pipeline_imports_report(root),
        ["transcript/build.rs:1: use crate::report::Outcome;"]
    );
    assert_eq!(
        reference_server_named_outside_run(root),
        ["run/runner.rs:1: let c = server_under_test::Config::default();"]
    );
}
