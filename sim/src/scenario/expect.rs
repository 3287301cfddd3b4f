//! Assertions: a path into the transcript and a matcher.
//!
//! Paths are dotted keys with `[N]` (index) and `[*]` (every element): `ai.sessions[0].instructions`,
//! `ai.responses[*].prompt_source`, `calls.caller.status`. A key applied to a list selects the
//! element whose `name` is that key, so calls can be named instead of counted. A wildcard that
//! selects nothing fails: "every response had the right prompt" must not pass when there were
//! no responses.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::path::{Segment, parse_path, select};
use super::plan::TenantPlan;
use crate::shorten::shorten_message;

/// A matcher operation; a matcher is a conjunction of these.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Equal to.
    Equals(Value),
    /// Not equal to.
    Not(Value),
    /// One of.
    OneOf(Vec<Value>),
    /// String contains (or list has an element equal to).
    Contains(Value),
    /// String does not contain.
    NotContains(String),
    /// Equal to a tenant setting (`same_as: tenant.acme.inbound_prompt`).
    SameAs(String, String),
    /// Equal to the one value at another transcript path
    /// (`same_as: ai.sessions[0].instructions`).
    SameAsPath(String, Vec<Segment>),
    /// Contains a tenant setting.
    Includes(String, String),
    /// Does not contain a tenant setting.
    Excludes(String, String),
    /// Number at least.
    Min(f64),
    /// Number at most.
    Max(f64),
    /// List length (or string length).
    Count(u64),
    /// Empty (or not).
    Empty(bool),
    /// The path does not exist.
    Absent,
}

/// One assertion.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The path as written.
    pub path: String,
    /// Parsed segments.
    pub segments: Vec<Segment>,
    /// The operations, all of which must hold for every selected value.
    pub ops: Vec<Op>,
}

/// The outcome of one assertion.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct AssertionResult {
    /// The path.
    pub path: String,
    /// Whether it held.
    pub passed: bool,
    /// What was expected, in words.
    pub expected: String,
    /// The failure explanation (actual value, diff), empty when it passed.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub message: String,
}

fn tenant_ref(
    text: &str,
    tenants: &BTreeMap<String, TenantPlan>,
) -> Result<(String, String), String> {
    let parts: Vec<&str> = text.split('.').collect();
    let [root, slug, field] = parts.as_slice() else {
        return Err(format!(
            "`{text}` is not a tenant reference like `tenant.acme.inbound_prompt`"
        ));
    };
    if *root != "tenant" {
        return Err(format!(
            "`{text}` is not a tenant reference like `tenant.acme.inbound_prompt`"
        ));
    }
    let Some(t) = tenants.get(*slug) else {
        return Err(format!("`{text}`: unknown tenant `{slug}`"));
    };
    let value = match *field {
        "inbound_prompt" => t.inbound_prompt.clone(),
        "outbound_prompt" => t.outbound_prompt.clone(),
        "business_name" => t.business_name.clone(),
        "greeting" => t.greeting.clone().unwrap_or_default(),
        other => {
            return Err(format!(
                "`{text}`: unknown field `{other}` (inbound_prompt, outbound_prompt, business_name, greeting)"
            ));
        }
    };
    if value.is_empty() {
        return Err(format!(
            "`{text}` is empty, so it cannot be compared against"
        ));
    }
    Ok((text.to_string(), value))
}

/// Parses `path: matcher` into an expectation; tenant references resolve against the tenants'
/// initial settings.
pub fn parse_expectation(
    path: &str,
    matcher: &Value,
    tenants: &BTreeMap<String, TenantPlan>,
) -> Result<Expectation, String> {
    let segments = parse_path(path)?;
    let mut ops = Vec::new();
    match matcher {
        Value::Object(map) => {
            for (op, arg) in map {
                let need_str = || {
                    arg.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("`{op}` needs a string"))
                };
                let need_num = || arg.as_f64().ok_or_else(|| format!("`{op}` needs a number"));
                ops.push(match op.as_str() {
                    "equals" => Op::Equals(arg.clone()),
                    "not" => Op::Not(arg.clone()),
                    "one_of" => Op::OneOf(
                        arg.as_array().cloned().ok_or_else(|| "`one_of` needs a list".to_string())?,
                    ),
                    "contains" => match arg {
                        Value::Array(_) | Value::Object(_) | Value::Null => {
                            return Err("`contains` needs a string or a number".into());
                        }
                        other => Op::Contains(other.clone()),
                    },
                    "not_contains" => Op::NotContains(need_str()?),
                    "same_as" => {
                        let reference = need_str()?;
                        if reference.starts_with("tenant.") {
                            let (r, v) = tenant_ref(&reference, tenants)?;
                            Op::SameAs(r, v)
                        } else {
                            let segments = parse_path(&reference).map_err(|e| {
                                format!("`same_as` needs a tenant setting or a transcript path: {e}")
                            })?;
                            Op::SameAsPath(reference, segments)
                        }
                    }
                    "includes" => {
                        let (r, v) = tenant_ref(&need_str()?, tenants)?;
                        Op::Includes(r, v)
                    }
                    "excludes" => {
                        let (r, v) = tenant_ref(&need_str()?, tenants)?;
                        Op::Excludes(r, v)
                    }
                    "min" => Op::Min(need_num()?),
                    "max" => Op::Max(need_num()?),
                    "count" => Op::Count(
                        arg.as_u64().ok_or_else(|| "`count` needs a whole number".to_string())?,
                    ),
                    "empty" => Op::Empty(
                        arg.as_bool().ok_or_else(|| "`empty` needs true or false".to_string())?,
                    ),
                    "absent" => Op::Absent,
                    other => {
                        return Err(format!(
                            "unknown matcher `{other}` (equals, not, one_of, contains, not_contains, \
                             same_as, includes, excludes, min, max, count, empty, absent)"
                        ));
                    }
                });
            }
            if ops.is_empty() {
                return Err("empty matcher".into());
            }
        }
        other => ops.push(Op::Equals(other.clone())),
    }
    Ok(Expectation {
        path: path.to_string(),
        segments,
        ops,
    })
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) if v.to_string().len() > 200 => {
            format!("a list of {} element(s)", items.len())
        }
        Value::Object(map) if v.to_string().len() > 200 => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        other => other.to_string(),
    }
}

/// The number a `min`/`max` bound applies to: the value itself, or a list's length.
fn magnitude(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_array().map(|a| a.len() as f64))
}

fn describe(op: &Op) -> String {
    match op {
        Op::Equals(v) => format!("equals {}", show(v)),
        Op::Not(v) => format!("not {}", show(v)),
        Op::OneOf(vs) => format!(
            "one of {}",
            vs.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Op::Contains(s) => format!("contains {}", show(s)),
        Op::NotContains(s) => format!("does not contain {s:?}"),
        Op::SameAs(r, _) | Op::SameAsPath(r, _) => format!("same as {r}"),
        Op::Includes(r, _) => format!("includes {r}"),
        Op::Excludes(r, _) => format!("excludes {r}"),
        Op::Min(n) => format!("at least {n} (a number, or a list's length)"),
        Op::Max(n) => format!("at most {n} (a number, or a list's length)"),
        Op::Count(n) => format!("has {n} element(s)"),
        Op::Empty(true) => "is empty".into(),
        Op::Empty(false) => "is not empty".into(),
        Op::Absent => "does not exist".into(),
    }
}

/// A line diff of two long strings, for messages.
pub fn text_diff(expected: &str, actual: &str) -> String {
    let diff = similar::TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    // Only the changed lines and two lines of context around each change: a long multi-line
    // prompt must not push the lines that differ past the failure message's length cap.
    for (i, group) in diff.grouped_ops(2).iter().enumerate() {
        if i > 0 {
            out.push_str("      …\n");
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "-",
                    similar::ChangeTag::Insert => "+",
                    similar::ChangeTag::Equal => " ",
                };
                let _ = write!(out, "      {sign} {}", change.value());
                if !change.value().ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn len_of(v: &Value) -> Option<u64> {
    match v {
        Value::Array(a) => Some(a.len() as u64),
        Value::String(s) => Some(s.chars().count() as u64),
        Value::Object(o) => Some(o.len() as u64),
        Value::Null => Some(0),
        _ => None,
    }
}

fn check(op: &Op, v: &Value) -> Option<String> {
    let s = v.as_str();
    let fail = |why: String| Some(why);
    match op {
        Op::Equals(e) => check_equals(e, v),
        Op::Not(e) => values_equal(e, v).then(|| format!("actual: {}", show(v))),
        Op::OneOf(es) => {
            (!es.iter().any(|e| values_equal(e, v))).then(|| format!("actual: {}", show(v)))
        }
        Op::Contains(needle) => match (v, needle.as_str()) {
            (Value::String(text), Some(n)) => {
                (!text.contains(n)).then(|| format!("actual: {}", show(v)))
            }
            (Value::Array(items), _) => (!items.iter().any(|i| values_equal(needle, i)))
                .then(|| format!("actual: {}", show(v))),
            _ => fail(format!("not a string or a list: {}", show(v))),
        },
        Op::NotContains(needle) => match s {
            Some(text) => text
                .contains(needle.as_str())
                .then(|| format!("actual: {}", show(v))),
            None => fail(format!("not a string: {}", show(v))),
        },
        Op::SameAs(r, expected) | Op::Includes(r, expected) | Op::Excludes(r, expected) => {
            check_text(op, r, expected, v)
        }
        Op::Min(n) => match magnitude(v) {
            Some(x) if x >= *n => None,
            _ => fail(format!("actual: {}", show(v))),
        },
        Op::Max(n) => match magnitude(v) {
            Some(x) if x <= *n => None,
            _ => fail(format!("actual: {}", show(v))),
        },
        Op::Count(n) => match len_of(v) {
            Some(len) if len == *n => None,
            Some(len) => fail(format!("actual count: {len}")),
            None => fail(format!("not a list: {}", show(v))),
        },
        Op::Empty(want) => match len_of(v) {
            Some(len) if (len == 0) == *want => None,
            _ => fail(format!("actual: {}", show(v))),
        },
        Op::Absent => fail(format!("it exists: {}", show(v))),
        // Resolved against the transcript by `check_in`, which never passes it here.
        Op::SameAsPath(r, _) => fail(format!("{r} was not resolved (a callsim bug)")),
    }
}

/// `equals`: a long or multi-line text that differs is shown as a line diff.
fn check_equals(e: &Value, v: &Value) -> Option<String> {
    if values_equal(e, v) {
        return None;
    }
    match (e.as_str(), v.as_str()) {
        (Some(es), Some(vs))
            if es.len() > 60 || vs.len() > 60 || es.contains('\n') || vs.contains('\n') =>
        {
            Some(format!(
                "differs (- expected, + actual):\n{}",
                text_diff(es, vs)
            ))
        }
        _ => Some(format!("actual: {}", show(v))),
    }
}

/// `same_as`, `includes` and `excludes` against a tenant's text `expected`, named `r`.
fn check_text(op: &Op, r: &str, expected: &str, v: &Value) -> Option<String> {
    let Some(text) = v.as_str() else {
        return Some(format!("not a string: {}", show(v)));
    };
    match op {
        Op::SameAs(..) if text != expected => Some(format!(
            "differs from {r} (- expected, + actual):\n{}",
            text_diff(expected, text)
        )),
        Op::Includes(..) if !text.contains(expected) => Some(format!(
            "{r} ({expected:?}) is missing; actual: {}",
            show(v)
        )),
        Op::Excludes(..) if text.contains(expected) => Some(format!(
            "it contains {r} ({expected:?}); actual: {}",
            show(v)
        )),
        _ => None,
    }
}

/// Checks `op` on `v`, resolving a reference to another transcript path first: the reference
/// must select exactly one value, which `v` must equal.
fn check_in(op: &Op, v: &Value, transcript: &Value) -> Option<String> {
    let Op::SameAsPath(reference, segments) = op else {
        return check(op, v);
    };
    let expected = match select(transcript, segments) {
        Ok(values) if values.len() == 1 => values.into_iter().map(|(_, value)| value).next()?,
        Ok(values) => {
            return Some(format!(
                "`{reference}` selects {} values, not one",
                values.len()
            ));
        }
        Err(why) => return Some(format!("`{reference}`: {why}")),
    };
    if values_equal(&expected, v) {
        return None;
    }
    match (expected.as_str(), v.as_str()) {
        (Some(e), Some(a)) => Some(format!(
            "differs from {reference} (- expected, + actual):\n{}",
            text_diff(e, a)
        )),
        _ => Some(format!(
            "actual: {}; {reference}: {}",
            show(v),
            show(&expected)
        )),
    }
}

/// Equality that treats `2` and `2.0` alike and compares strings to scalars by their text, so
/// `status: 200` matches `"200"` written either way.
fn values_equal(expected: &Value, actual: &Value) -> bool {
    if expected == actual {
        return true;
    }
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(text), Value::Number(_) | Value::Bool(_))
        | (Value::Number(_) | Value::Bool(_), Value::String(text)) => {
            let scalar = if expected.is_string() {
                actual
            } else {
                expected
            };
            text.as_str() == scalar.to_string().as_str()
        }
        _ => false,
    }
}

/// The value an assertion path selects in a transcript: the one value, or an object of every
/// selected path and its value; `None` when the path is not an assertion path (an invariant's
/// finding) or selects nothing.
pub fn actual_value(path: &str, transcript: &Value) -> Option<Value> {
    let segments = parse_path(path).ok()?;
    let mut selected = select(transcript, &segments).ok()?;
    match selected.len() {
        0 => None,
        1 => selected.pop().map(|(_, v)| v),
        _ => Some(Value::Object(selected.into_iter().collect())),
    }
}

/// Evaluates an expectation against a transcript.
pub fn evaluate(exp: &Expectation, transcript: &Value) -> AssertionResult {
    let expected = exp
        .ops
        .iter()
        .map(describe)
        .collect::<Vec<_>>()
        .join(" and ");
    // Values are shortened here, once: the full values stay in the transcript, so a 10 MB
    // prompt is not copied again into the record's message and diff.
    let result = |passed: bool, message: String| AssertionResult {
        path: exp.path.clone(),
        passed,
        expected: shorten_message(&expected),
        message: shorten_message(&message),
    };
    let selected = match select(transcript, &exp.segments) {
        Ok(values) => values,
        Err(why) => {
            return if exp.ops.contains(&Op::Absent) {
                result(true, String::new())
            } else {
                result(false, why)
            };
        }
    };
    if selected.is_empty() {
        return result(false, format!("`{}` selected no values", exp.path));
    }
    let mut failures = Vec::new();
    for (path, value) in &selected {
        for op in &exp.ops {
            if let Some(why) = check_in(op, value, transcript) {
                failures.push(format!("at `{path}`: expected it {}; {why}", describe(op)));
            }
        }
    }
    if failures.is_empty() {
        result(true, String::new())
    } else {
        result(false, failures.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tenants() -> BTreeMap<String, TenantPlan> {
        let mut m = BTreeMap::new();
        m.insert(
            "acme".to_string(),
            TenantPlan::acme("Answer calls for Acme.", "You are making a sales call."),
        );
        m
    }

    fn eval(path: &str, matcher: Value, t: &Value) -> AssertionResult {
        evaluate(&parse_expectation(path, &matcher, &tenants()).unwrap(), t)
    }

    fn transcript() -> Value {
        json!({
            "calls": [{"name": "caller", "status": "completed", "duration_secs": 30}],
            "ai": {"sessions": [{"instructions": "Business: Acme\n\nYou are making a sales call."}],
                   "responses": [{"instructions": "x"}, {"instructions": "y"}]},
            "server": {"residual_state": "none"}
        })
    }

    #[test]
    fn scalar_equality_and_named_elements() {
        let t = transcript();
        assert!(eval("calls.caller.status", json!("completed"), &t).passed);
        assert!(eval("calls[0].duration_secs", json!({"min": 29, "max": 31}), &t).passed);
        assert!(eval("ai.responses", json!({"min": 2, "max": 2}), &t).passed);
        let r = eval("ai.responses", json!({"min": 3}), &t);
        assert!(!r.passed);
        assert!(
            r.message.contains("a list of 2") || r.message.contains("[{"),
            "{}",
            r.message
        );
        assert!(eval("server.residual_state", json!("none"), &t).passed);
        let r = eval("calls.caller.status", json!("failed"), &t);
        assert!(!r.passed);
        assert!(r.message.contains("\"completed\""), "{}", r.message);
    }

    #[test]
    fn tenant_references_name_the_wrong_prompt() {
        let t = transcript();
        let r = eval(
            "ai.sessions[0].instructions",
            json!({"excludes": "tenant.acme.outbound_prompt"}),
            &t,
        );
        assert!(!r.passed);
        assert!(
            r.message.contains("tenant.acme.outbound_prompt"),
            "{}",
            r.message
        );
        assert!(r.message.contains("sales call"), "{}", r.message);
        assert!(
            !eval(
                "ai.sessions[0].instructions",
                json!({"includes": "tenant.acme.inbound_prompt"}),
                &t
            )
            .passed
        );
    }

    #[test]
    fn wildcards_check_every_element_and_fail_when_empty() {
        let t = transcript();
        let r = eval("ai.responses[*].instructions", json!({"equals": "x"}), &t);
        assert!(!r.passed);
        assert!(
            r.message.contains("ai.responses[1].instructions"),
            "{}",
            r.message
        );
        let empty = json!({"ai": {"responses": []}});
        assert!(!eval("ai.responses[*].instructions", json!("x"), &empty).passed);
    }

    #[test]
    fn missing_paths_explain_what_exists() {
        let r = eval("ai.session[0].instructions", json!("x"), &transcript());
        assert!(!r.passed);
        assert!(
            r.message.contains("available: sessions, responses"),
            "{}",
            r.message
        );
        assert!(eval("ai.nothing", json!({"absent": true}), &transcript()).passed);
    }

    #[test]
    fn bad_expectations_are_rejected_at_load() {
        assert!(
            parse_path("nope.x")
                .unwrap_err()
                .contains("must start with")
        );
        assert!(
            parse_path("ai.sessions[x]")
                .unwrap_err()
                .contains("not an index")
        );
        let t = tenants();
        assert!(
            parse_expectation("ai.x", &json!({"frobs": 1}), &t)
                .unwrap_err()
                .contains("unknown matcher")
        );
        assert!(
            parse_expectation("ai.x", &json!({"same_as": "tenant.zzz.inbound_prompt"}), &t)
                .unwrap_err()
                .contains("unknown tenant")
        );
    }

    #[test]
    fn same_as_a_path_compares_with_the_one_value_there() {
        let t = json!({"ai": {"sessions": [
            {"instructions": "Front desk.", "n": 1},
            {"instructions": "Front desk.", "n": 1},
            {"instructions": "Sales call.", "n": 2},
        ]}});
        let tenants = tenants();
        let same = |path: &str, reference: &str| {
            let exp = parse_expectation(path, &json!({ "same_as": reference }), &tenants)
                .expect("valid matcher");
            evaluate(&exp, &t)
        };
        let held = same("ai.sessions[1].instructions", "ai.sessions[0].instructions");
        assert!(held.passed, "{held:?}");
        assert_eq!(held.expected, "same as ai.sessions[0].instructions");
        let differs = same("ai.sessions[2].instructions", "ai.sessions[0].instructions");
        assert!(!differs.passed);
        assert!(
            differs.message.contains("- Front desk."),
            "{}",
            differs.message
        );
        let many = same("ai.sessions[0].instructions", "ai.sessions[*].instructions");
        assert!(
            many.message.contains("selects 3 values, not one"),
            "{}",
            many.message
        );
        let missing = same("ai.sessions[0].instructions", "ai.sessions[9].instructions");
        assert!(!missing.passed, "{missing:?}");
        assert!(
            parse_expectation("ai.x", &json!({"same_as": "nowhere.x"}), &tenants)
                .unwrap_err()
                .contains("tenant setting or a transcript path")
        );
    }

    #[test]
    fn long_strings_are_diffed() {
        let t = json!({"ai": {"x": "line one\nline two\n"}});
        let r = eval("ai.x", json!("line one\nline 2\n"), &t);
        assert!(r.message.contains("- line 2"), "{}", r.message);
        assert!(r.message.contains("+ line two"), "{}", r.message);
    }
}
