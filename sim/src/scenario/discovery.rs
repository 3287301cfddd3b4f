//! Finding scenario files: every `*.yaml`/`*.yml` under the given files and folders, each real
//! file once, named after its path relative to the scenarios root.
//!
//! Folders are walked in name order and compared by their canonical path, so a symlink loop
//! (`a/loop -> ..`) or a self-link (`here -> .`) is visited once and never hangs the run, and a
//! file reachable through several links keeps the name of the first path that reaches it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A scenario file and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScenarioFile {
    /// Name: the path relative to the scenarios root, without extension.
    pub name: String,
    /// The file.
    pub path: PathBuf,
}

/// Directories under the scenarios root that `callsim run` skips unless named explicitly.
pub const SEPARATE_PACKS: &[&str] = &["certification"];

/// The most scenario files one run may discover; a folder holding more is almost certainly the
/// wrong folder (a home directory, a dependency tree).
pub const MAX_FILES: usize = 100_000;

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// A given path or a folder under it could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path as given (or as reached from a given folder).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Too many files.
    #[error("{}: more than {MAX_FILES} scenario files; name a smaller folder", path.display())]
    TooMany {
        /// The folder being walked.
        path: PathBuf,
    },
}

/// The scenarios root of a path: its nearest ancestor directory named `scenarios`.
fn scenarios_root(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "scenarios"))
        .map(Path::to_path_buf)
}

fn name_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let name = rel.with_extension("").to_string_lossy().replace('\\', "/");
    name.strip_prefix("./").map(str::to_string).unwrap_or(name)
}

fn is_scenario(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
        && path
            .file_name()
            .is_some_and(|n| n != crate::certify::MANIFEST_FILE)
}

/// What one walk has seen: canonical folders and files.
#[derive(Default)]
struct Seen {
    dirs: BTreeSet<PathBuf>,
    files: BTreeSet<PathBuf>,
    out: Vec<ScenarioFile>,
}

/// Finds scenario files under the given files and folders, sorted by name, each real file once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<ScenarioFile>, DiscoveryError> {
    let mut seen = Seen::default();
    for given in paths {
        let io = |source| DiscoveryError::Io {
            path: given.clone(),
            source,
        };
        let canonical = given.canonicalize().map_err(io)?;
        if canonical.is_file() {
            let root = scenarios_root(&canonical)
                .unwrap_or_else(|| canonical.parent().unwrap_or(Path::new(".")).to_path_buf());
            if seen.files.insert(canonical.clone()) {
                seen.out.push(ScenarioFile {
                    name: name_of(&root, &canonical),
                    path: given.clone(),
                });
            }
            continue;
        }
        let root = scenarios_root(&canonical).unwrap_or_else(|| canonical.clone());
        walk(&mut seen, &root, &canonical, given, canonical == root)?;
    }
    let mut out = seen.out;
    out.sort();
    out.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}

/// Walks one given folder depth-first in name order. `skip_packs` skips the separate packs
/// directly under the root.
fn walk(
    seen: &mut Seen,
    root: &Path,
    start: &Path,
    shown_start: &Path,
    skip_packs: bool,
) -> Result<(), DiscoveryError> {
    let mut stack = vec![(start.to_path_buf(), shown_start.to_path_buf())];
    while let Some((dir, shown)) = stack.pop() {
        let io = |source| DiscoveryError::Io {
            path: shown.clone(),
            source,
        };
        let canonical_dir = dir.canonicalize().map_err(io)?;
        if !seen.dirs.insert(canonical_dir.clone()) {
            continue;
        }
        let mut entries = std::fs::read_dir(&dir)
            .map_err(io)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        entries.sort_unstable();
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = dir.join(&entry);
            let shown_path = shown.join(&entry);
            // A dangling link or an unreadable entry is skipped like any non-scenario file.
            let Ok(canonical) = path.canonicalize() else {
                continue;
            };
            if canonical.is_dir() {
                let skip = skip_packs
                    && canonical_dir == root
                    && SEPARATE_PACKS.iter().any(|p| entry == *p);
                if !skip && !seen.dirs.contains(&canonical) {
                    subdirs.push((path, shown_path));
                }
            } else if is_scenario(&path) && seen.files.insert(canonical) {
                if seen.out.len() >= MAX_FILES {
                    return Err(DiscoveryError::TooMany { path: shown });
                }
                seen.out.push(ScenarioFile {
                    name: name_of(root, &path),
                    path: shown_path,
                });
            }
        }
        // Files first, then folders in name order (reversed onto the stack), so the first path
        // to reach a linked file is the same on every run.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenarios_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }

    fn names(files: &[ScenarioFile]) -> Vec<&str> {
        files.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn discovery_names_files_after_their_path_and_skips_the_certification_pack() {
        let files = discover(&[scenarios_dir()]).unwrap();
        let names = names(&files);
        assert!(names.contains(&"seed/inbound-empty-ai-prompt"), "{names:?}");
        assert!(names.contains(&"long/two-hour-call"), "{names:?}");
        assert!(
            !names.iter().any(|n| n.starts_with("certification/")),
            "{names:?}"
        );
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn a_pack_named_explicitly_runs_without_its_manifest() {
        let files = discover(&[scenarios_dir().join("certification/v1")]).unwrap();
        let names = names(&files);
        assert!(
            names.contains(&"certification/v1/prompt-direction"),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n.ends_with("/profile")), "{names:?}");
    }

    #[test]
    fn a_single_file_keeps_its_name_relative_to_the_scenarios_root() {
        let file = scenarios_dir().join("seed/both-prompts-set.yaml");
        let files = discover(&[file]).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "seed/both-prompts-set");
        let err = discover(&[scenarios_dir().join("nope")]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_and_self_links_visit_each_real_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("scenarios");
        std::fs::create_dir_all(root.join("pack/inner")).unwrap();
        std::fs::write(root.join("pack/a.yaml"), "title: a\n").unwrap();
        std::fs::write(root.join("pack/inner/b.yaml"), "title: b\n").unwrap();
        // A loop back to an ancestor, a self-link, a link to a file and a dangling link.
        std::os::unix::fs::symlink("..", root.join("pack/inner/up")).unwrap();
        std::os::unix::fs::symlink(".", root.join("pack/here")).unwrap();
        std::os::unix::fs::symlink("a.yaml", root.join("pack/alias.yaml")).unwrap();
        std::os::unix::fs::symlink("missing", root.join("pack/dangling.yaml")).unwrap();
        let files = discover(std::slice::from_ref(&root)).unwrap();
        assert_eq!(names(&files), ["pack/a", "pack/inner/b"]);
        // Naming the same folder twice, or a folder and a file in it, still runs each file once.
        let twice = discover(&[root.join("pack"), root.clone(), root.join("pack/a.yaml")]).unwrap();
        assert_eq!(names(&twice), ["pack/a", "pack/inner/b"]);
    }
}
