//! Reading a scenario file into the raw model, with `file:line:column` and the key path on every
//! error.

use std::path::{Path, PathBuf};

use super::error::{Location, ScenarioError};
use super::limits::{MAX_FILE_BYTES, MAX_NESTING, yaml_nesting};
use super::model::RawScenario;

/// The raw model plus what is needed to report later validation errors precisely.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file as given.
    pub file: PathBuf,
    /// Its text, kept to locate keys and values named by validation errors.
    pub source: String,
    /// The parsed model.
    pub raw: RawScenario,
}

impl LoadedScenario {
    /// An error located at the first line that mentions `needle` (a key or a value) after
    /// `after` (another needle that narrows the search, e.g. the call's name), or at no line.
    pub fn error_at(
        &self,
        key: &str,
        needles: &[&str],
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.clone(),
            location: locate(&self.source, needles),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Reads and parses one scenario file, refusing files over [`MAX_FILE_BYTES`].
pub fn load_file(file: &Path) -> Result<LoadedScenario, ScenarioError> {
    let read_error = |source| ScenarioError::Read {
        file: file.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(file).map_err(read_error)?.len();
    if len > MAX_FILE_BYTES {
        return Err(ScenarioError::Invalid {
            file: file.to_path_buf(),
            location: None,
            key: String::new(),
            message: format!(
                "the file is {len} bytes; scenario files may be at most {MAX_FILE_BYTES} bytes \
                 (put audio in WAV files and long prompts in fewer, shorter scenarios)"
            ),
        });
    }
    let source = std::fs::read_to_string(file).map_err(read_error)?;
    parse_str(file, source)
}

/// Parses scenario text; `file` is only used in messages. Text nested deeper than
/// [`MAX_NESTING`] is refused before the YAML parser sees it.
pub fn parse_str(file: &Path, source: String) -> Result<LoadedScenario, ScenarioError> {
    let depth = yaml_nesting(&source);
    if depth > MAX_NESTING {
        return Err(ScenarioError::Invalid {
            file: file.to_path_buf(),
            location: None,
            key: String::new(),
            message: format!(
                "the YAML nests {depth} levels deep; scenarios may nest at most {MAX_NESTING}"
            ),
        });
    }
    let raw: RawScenario = parse_yaml(file, &source)?;
    Ok(LoadedScenario {
        file: file.to_path_buf(),
        source,
        raw,
    })
}

/// Parses YAML into `T`, reporting the file, line, column and key path of the first error.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &Path,
    source: &str,
) -> Result<T, ScenarioError> {
    let de = serde_norway::Deserializer::from_str(source);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let key = err.path().to_string();
        let inner = err.into_inner();
        let location = inner.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        });
        ScenarioError::Invalid {
            file: file.to_path_buf(),
            location,
            message: strip_path(&strip_location(&inner.to_string()), &key),
            key: if key == "." { String::new() } else { key },
        }
    })
}

/// serde_norway starts some messages with the path of the enclosing value (`calls[0]: …`); the
/// key is reported separately, so that prefix only repeats it.
fn strip_path(message: &str, key: &str) -> String {
    match message.split_once(": ") {
        Some((prefix, rest)) if !prefix.is_empty() && key.starts_with(prefix) => rest.to_string(),
        _ => message.to_string(),
    }
}

/// serde_norway appends " at line X column Y" to messages; the location is reported separately.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(idx) => message[..idx].to_string(),
        None => message.to_string(),
    }
}

/// Finds the needles in order (each search starts where the previous one matched) and returns
/// the position of the last one.
fn locate(source: &str, needles: &[&str]) -> Option<Location> {
    let mut from = 0;
    let mut found = None;
    for needle in needles.iter().filter(|n| !n.is_empty()) {
        let idx = source[from..].find(needle)? + from;
        found = Some(idx);
        from = idx + needle.len();
    }
    let idx = found?;
    let before = &source[..idx];
    let line = before.matches('\n').count() + 1;
    let column = idx - before.rfind('\n').map_or(0, |nl| nl + 1) + 1;
    Some(Location { line, column })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_str(Path::new("s.yaml"), text.to_string())
            .map(|_| ())
            .expect_err("should fail")
            .to_string()
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let msg = err("title: t\ncalls:\n  - tenant: a\n    direction: inbound\n    colour: red\n");
        assert!(msg.starts_with("s.yaml:5:"), "{msg}");
        assert!(msg.contains("unknown field `colour`"), "{msg}");
        assert!(msg.contains("`calls[0]"), "{msg}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let msg = err("title: t\nseed: many\ncalls: []\n");
        assert!(msg.starts_with("s.yaml:2:"), "{msg}");
        assert!(msg.contains("`seed`"), "{msg}");
    }

    #[test]
    fn bad_duration_names_the_key() {
        let msg = err(
            "title: t\ncalls:\n  - tenant: a\n    direction: inbound\n    timeline:\n      - silence: 2 weeks\n",
        );
        assert!(msg.starts_with("s.yaml:6:"), "{msg}");
        assert!(msg.contains("calls[0].timeline[0]"), "{msg}");
        assert!(msg.contains("invalid duration"), "{msg}");
    }

    #[test]
    fn deeply_nested_yaml_is_refused_before_parsing() {
        let text = format!("title: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        // The message comes from the pre-parse scan: the YAML parser never saw the text.
        let msg = err(&text);
        assert!(msg.contains("nests 100000 levels deep"), "{msg}");
    }

    #[test]
    fn an_oversized_file_is_refused_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        let pad = "#".repeat(usize::try_from(MAX_FILE_BYTES).unwrap() + 1);
        std::fs::write(&path, format!("title: t\n{pad}\n")).unwrap();
        let msg = load_file(&path).unwrap_err().to_string();
        assert!(
            msg.contains("big.yaml") && msg.contains("at most 1048576 bytes"),
            "{msg}"
        );
    }

    #[test]
    fn missing_required_key() {
        let msg = err("calls: []\n");
        assert!(msg.contains("missing field `title`"), "{msg}");
    }

    #[test]
    fn locate_finds_nested_needles() {
        let src = "a: 1\ncalls:\n  - name: x\n    say: f.wav\n";
        assert_eq!(
            locate(src, &["name: x", "f.wav"]),
            Some(Location {
                line: 4,
                column: 10
            })
        );
        assert_eq!(locate(src, &["nope"]), None);
    }
}
