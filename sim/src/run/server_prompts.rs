//! The prompts a call server declares as its own (the target file's `prompts:`), for servers whose
//! prompt is built in rather than provisioned by callsim: each has a name, a text (or a file) and
//! the tenants and directions it serves, so the transcript names it and the invariants judge each
//! call against the prompt the server says that call should get.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use crate::scenario::ScenarioError;
use crate::scenario::plan::{CallDirection, TenantPlan};

/// Longest prompt file callsim reads: a prompt is text for a model, and a larger file is almost
/// certainly the wrong path.
const MAX_PROMPT_FILE: u64 = 256 * 1024;

/// One entry of `prompts:` as written: a text, or a map with `text` or `file` and `serves`.
#[derive(Debug, Clone, Default)]
pub(super) struct RawPrompt {
    text: Option<String>,
    file: Option<PathBuf>,
    serves: Option<Vec<String>>,
}

/// The map form of a [`RawPrompt`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPromptMap {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    serves: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for RawPrompt {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PromptVisitor;
        impl<'de> Visitor<'de> for PromptVisitor {
            type Value = RawPrompt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the prompt's text, or a map with `text` or `file` and `serves`")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawPrompt, E> {
                Ok(RawPrompt {
                    text: Some(text.to_owned()),
                    ..RawPrompt::default()
                })
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<RawPrompt, M::Error> {
                let m = RawPromptMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawPrompt {
                    text: m.text,
                    file: m.file,
                    serves: m.serves,
                })
            }
        }
        deserializer.deserialize_any(PromptVisitor)
    }
}

/// Which calls a declared prompt serves: a tenant (or any) and a direction (or both).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Serves {
    tenant: Option<String>,
    direction: Option<CallDirection>,
}

impl Serves {
    /// Reads `TENANT.DIRECTION`, where either side may be `*`.
    fn parse(pattern: &str) -> Result<Serves, String> {
        let (tenant, direction) = pattern.rsplit_once('.').ok_or_else(|| {
            format!("`{pattern}` is not TENANT.DIRECTION (such as `acme.inbound` or `*.*`)")
        })?;
        let direction = match direction {
            "*" => None,
            "inbound" => Some(CallDirection::Inbound),
            "outbound" => Some(CallDirection::Outbound),
            other => {
                return Err(format!(
                    "`{other}` in `{pattern}` is not a direction (inbound, outbound or *)"
                ));
            }
        };
        let tenant = match tenant {
            "*" => None,
            "" => return Err(format!("`{pattern}` names no tenant (use `*` for any)")),
            slug => Some(slug.to_owned()),
        };
        Ok(Serves { tenant, direction })
    }

    /// How well the pattern fits a call: `None` when it does not, higher when more specific.
    fn fit(&self, tenant: &str, direction: CallDirection) -> Option<u8> {
        let tenant_fit = match &self.tenant {
            None => 0,
            Some(t) if t == tenant => 2,
            Some(_) => return None,
        };
        let direction_fit = match self.direction {
            None => 0,
            Some(d) if d == direction => 1,
            Some(_) => return None,
        };
        Some(tenant_fit + direction_fit)
    }
}

/// One prompt the server declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredPrompt {
    /// Its name in the target file, which the transcript uses as the prompt's source.
    pub name: String,
    /// Its text.
    pub text: String,
    serves: Vec<Serves>,
}

/// Every prompt a server declares; empty when the target file declares none (the prompts are
/// then the scenario's, as provisioned).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerPrompts {
    prompts: Vec<DeclaredPrompt>,
}

impl ServerPrompts {
    /// Whether the target declares prompts of its own.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    /// The declared prompt a call of `tenant` in `direction` should get: the most specific match.
    pub fn for_call(&self, tenant: &str, direction: CallDirection) -> Option<&DeclaredPrompt> {
        self.prompts
            .iter()
            .filter_map(|p| {
                let best = p
                    .serves
                    .iter()
                    .filter_map(|s| s.fit(tenant, direction))
                    .max()?;
                Some((best, p))
            })
            .max_by_key(|(fit, _)| *fit)
            .map(|(_, p)| p)
    }

    /// The settings a run judges a tenant by: the scenario's, with each direction's prompt
    /// replaced by the declared prompt that serves it (empty when none does). Without declared
    /// prompts, the scenario's settings unchanged.
    pub fn settings_for(&self, slug: &str, scenario: &TenantPlan) -> TenantPlan {
        if self.is_empty() {
            return scenario.clone();
        }
        let text = |direction| {
            self.for_call(slug, direction)
                .map(|p| p.text.clone())
                .unwrap_or_default()
        };
        TenantPlan {
            inbound_prompt: text(CallDirection::Inbound),
            outbound_prompt: text(CallDirection::Outbound),
            ..scenario.clone()
        }
    }

    /// (name, text) of every declared prompt, for naming them in transcripts.
    pub fn names(&self) -> Vec<(String, String)> {
        self.prompts
            .iter()
            .map(|p| (p.name.clone(), p.text.clone()))
            .collect()
    }

    /// Validates `prompts:` of the target file `file` (prompt files are relative to it).
    pub(super) fn from_raw(
        file: &Path,
        raw: &BTreeMap<String, RawPrompt>,
    ) -> Result<ServerPrompts, ScenarioError> {
        let mut prompts: Vec<DeclaredPrompt> = Vec::new();
        for (name, entry) in raw {
            let invalid = |key: &str, message: String| ScenarioError::Invalid {
                file: file.to_path_buf(),
                location: None,
                key: format!("prompts.{name}{key}"),
                message,
            };
            let text = match (&entry.text, &entry.file) {
                (Some(text), None) => text.trim().to_owned(),
                (None, Some(path)) => {
                    read_prompt_file(file, path).map_err(|message| invalid(".file", message))?
                }
                _ => return Err(invalid("", "give exactly one of `text` and `file`".into())),
            };
            if text.is_empty() {
                return Err(invalid("", "the prompt is empty".into()));
            }
            let patterns = entry.serves.clone().unwrap_or_else(|| vec!["*.*".into()]);
            let mut serves = Vec::new();
            for (i, pattern) in patterns.iter().enumerate() {
                let parsed =
                    Serves::parse(pattern).map_err(|m| invalid(&format!(".serves[{i}]"), m))?;
                if let Some(other) = prompts.iter().find(|p| p.serves.contains(&parsed)) {
                    return Err(invalid(
                        &format!(".serves[{i}]"),
                        format!("`{pattern}` is already served by prompt `{}`", other.name),
                    ));
                }
                serves.push(parsed);
            }
            prompts.push(DeclaredPrompt {
                name: name.clone(),
                text,
                serves,
            });
        }
        Ok(ServerPrompts { prompts })
    }
}

/// Reads a prompt file named relative to the target file, bounded in size.
fn read_prompt_file(target_file: &Path, path: &Path) -> Result<String, String> {
    let full = target_file
        .parent()
        .map(|dir| dir.join(path))
        .unwrap_or_else(|| path.to_path_buf());
    let size = std::fs::metadata(&full)
        .map_err(|e| format!("cannot read {}: {e}", full.display()))?
        .len();
    if size > MAX_PROMPT_FILE {
        return Err(format!(
            "{} is {size} bytes; a prompt file may hold at most {MAX_PROMPT_FILE}",
            full.display()
        ));
    }
    let text = std::fs::read_to_string(&full)
        .map_err(|e| format!("cannot read {}: {e}", full.display()))?;
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts(yaml: &str) -> Result<ServerPrompts, ScenarioError> {
        let raw: BTreeMap<String, RawPrompt> =
            crate::scenario::load::parse_yaml(Path::new("target.yaml"), yaml)?;
        ServerPrompts::from_raw(Path::new("target.yaml"), &raw)
    }

    #[test]
    fn a_bare_text_serves_every_tenant_both_ways() {
        let p = prompts("assistant: \"  You are a helpful assistant.\n\"\n").expect("valid");
        for direction in [CallDirection::Inbound, CallDirection::Outbound] {
            let found = p.for_call("anyone", direction).expect("served");
            assert_eq!(found.name, "assistant");
            assert_eq!(found.text, "You are a helpful assistant.");
        }
        let judged = p.settings_for("acme", &TenantPlan::acme("scenario in", "scenario out"));
        assert_eq!(judged.inbound_prompt, "You are a helpful assistant.");
        assert_eq!(judged.outbound_prompt, "You are a helpful assistant.");
        assert_eq!(judged.business_name, "Acme");
    }

    #[test]
    fn the_most_specific_pattern_wins_and_unserved_directions_are_empty() {
        let p = prompts(
            "desk: { text: Front desk., serves: ['*.inbound'] }\n\
             acme-desk: { text: Acme desk., serves: [acme.inbound] }\n",
        )
        .expect("valid");
        assert_eq!(
            p.for_call("acme", CallDirection::Inbound)
                .map(|d| d.name.as_str()),
            Some("acme-desk")
        );
        assert_eq!(
            p.for_call("zed", CallDirection::Inbound)
                .map(|d| d.name.as_str()),
            Some("desk")
        );
        assert_eq!(p.for_call("acme", CallDirection::Outbound), None);
        let judged = p.settings_for("zed", &TenantPlan::acme("in", "out"));
        assert_eq!(judged.inbound_prompt, "Front desk.");
        assert_eq!(judged.outbound_prompt, "");
    }

    #[test]
    fn without_declared_prompts_the_scenarios_settings_stand() {
        let p = ServerPrompts::default();
        assert_eq!(
            p.settings_for("acme", &TenantPlan::acme("in", "out")),
            TenantPlan::acme("in", "out")
        );
    }

    #[test]
    fn a_prompt_file_is_read_relative_to_the_target_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("desk.txt"), "From a file.\n").expect("written");
        let target = dir.path().join("target.yaml");
        let raw: BTreeMap<String, RawPrompt> =
            crate::scenario::load::parse_yaml(&target, "desk: { file: desk.txt }\n").expect("raw");
        let p = ServerPrompts::from_raw(&target, &raw).expect("valid");
        assert_eq!(p.names(), vec![("desk".into(), "From a file.".into())]);
    }

    #[test]
    fn bad_declarations_name_their_key() {
        let cases = [
            ("a: { text: x, file: y }\n", "prompts.a", "exactly one"),
            ("a: \"  \"\n", "prompts.a", "empty"),
            (
                "a: { text: x, serves: [acme] }\n",
                "prompts.a.serves[0]",
                "TENANT.DIRECTION",
            ),
            (
                "a: { text: x, serves: [acme.sideways] }\n",
                "prompts.a.serves[0]",
                "direction",
            ),
            (
                "a: { file: /no/such/prompt.txt }\n",
                "prompts.a.file",
                "cannot read",
            ),
            (
                "a: { text: x, serves: ['*.inbound'] }\nb: { text: y, serves: ['*.inbound'] }\n",
                "prompts.b.serves[0]",
                "already served by prompt `a`",
            ),
            ("a: { text: x, voice: y }\n", "a.voice", "unknown field"),
        ];
        for (yaml, key, words) in cases {
            let err = prompts(yaml).expect_err(yaml).to_string();
            assert!(err.contains(key), "{yaml}: {err}");
            assert!(err.contains(words), "{yaml}: {err}");
        }
    }
}
