//! A path into the transcript, the left side of every assertion: dotted keys with `[N]` (index)
//! and `[*]` (every element), parsed once when the scenario is validated and applied to the
//! transcript's JSON when it is judged. A key applied to a list selects the element whose
//! `name` is that key, so calls can be named instead of counted.

use serde_json::Value;

/// One segment of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object key (or a list element's `name`).
    Key(String),
    /// A list index.
    Index(usize),
    /// Every list element.
    All,
}

/// The keys a path may start with: the transcript's sections.
const ROOTS: &[&str] = &["calls", "ai", "server", "tenants"];

/// Parses a path.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    for part in path.split('.') {
        if part.is_empty() {
            return Err(format!("invalid path `{path}`: empty segment"));
        }
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            segments.push(Segment::Key(name.to_string()));
        }
        while !rest.is_empty() {
            let Some(close) = rest.find(']') else {
                return Err(format!("invalid path `{path}`: missing `]`"));
            };
            let inner = &rest[1..close];
            if inner == "*" {
                segments.push(Segment::All);
            } else if let Ok(n) = inner.parse() {
                segments.push(Segment::Index(n));
            } else {
                return Err(format!(
                    "invalid path `{path}`: `[{inner}]` is not an index or `*`"
                ));
            }
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!("invalid path `{path}`: unexpected `{rest}`"));
            }
        }
    }
    match segments.first() {
        Some(Segment::Key(root)) if ROOTS.contains(&root.as_str()) => Ok(segments),
        _ => Err(format!(
            "invalid path `{path}`: it must start with one of {}",
            ROOTS.join(", ")
        )),
    }
}

/// The values `segments` selects in `root`, each with its concrete path (`calls[0].status`).
pub(crate) fn select(root: &Value, segments: &[Segment]) -> Result<Vec<(String, Value)>, String> {
    let mut current = vec![(String::new(), root.clone())];
    for seg in segments {
        let mut next = Vec::new();
        for (path, value) in current {
            match seg {
                Segment::Key(key) => {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match &value {
                        Value::Object(map) => match map.get(key) {
                            Some(v) => next.push((here, v.clone())),
                            None => {
                                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                                return Err(format!(
                                    "`{here}` does not exist (available: {})",
                                    keys.join(", ")
                                ));
                            }
                        },
                        Value::Array(items) => {
                            let found = items
                                .iter()
                                .find(|i| i.get("name").and_then(Value::as_str) == Some(key));
                            match found {
                                Some(v) => next.push((here, v.clone())),
                                None => {
                                    let names: Vec<&str> = items
                                        .iter()
                                        .filter_map(|i| i.get("name").and_then(Value::as_str))
                                        .collect();
                                    return Err(format!(
                                        "`{here}`: no element named `{key}` (names: {})",
                                        names.join(", ")
                                    ));
                                }
                            }
                        }
                        _ => {
                            return Err(format!("`{path}` is not an object, so it has no `{key}`"));
                        }
                    }
                }
                Segment::Index(n) => match value.as_array() {
                    Some(items) => match items.get(*n) {
                        Some(v) => next.push((format!("{path}[{n}]"), v.clone())),
                        None => {
                            return Err(format!(
                                "`{path}[{n}]` does not exist (`{path}` has {} element(s))",
                                items.len()
                            ));
                        }
                    },
                    None => return Err(format!("`{path}` is not a list")),
                },
                Segment::All => match value.as_array() {
                    Some(items) => {
                        for (i, v) in items.iter().enumerate() {
                            next.push((format!("{path}[{i}]"), v.clone()));
                        }
                    }
                    None => return Err(format!("`{path}` is not a list")),
                },
            }
        }
        current = next;
    }
    Ok(current)
}
