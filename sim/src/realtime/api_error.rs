//! The Realtime API error catalogue: codes, messages and params as the service words them.

use serde_json::{Value, json};

/// One `error` event payload (`error.type`, `code`, `message`, `param`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) error_type: String,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
    pub(crate) param: Option<String>,
}

impl ApiError {
    /// An `invalid_request_error` with the given code, message and param.
    pub(crate) fn invalid(
        code: Option<&str>,
        message: impl Into<String>,
        param: Option<&str>,
    ) -> Self {
        Self {
            error_type: "invalid_request_error".to_owned(),
            code: code.map(str::to_owned),
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }

    /// `Unknown parameter: 'session.X'.`
    pub(crate) fn unknown_parameter(path: &str) -> Self {
        Self::invalid(
            Some("unknown_parameter"),
            format!("Unknown parameter: '{path}'."),
            Some(path),
        )
    }

    /// `Missing required parameter: 'session.type'.`
    pub(crate) fn missing_required(path: &str) -> Self {
        Self::invalid(
            Some("missing_required_parameter"),
            format!("Missing required parameter: '{path}'."),
            Some(path),
        )
    }

    /// `Invalid value: 'X'. Supported values are: 'a', 'b', and 'c'.`
    pub(crate) fn invalid_value(value: &str, supported: &[&str], param: &str) -> Self {
        Self::invalid(
            Some("invalid_value"),
            format!(
                "Invalid value: '{value}'. Supported values are: {}.",
                quoted_list(supported)
            ),
            Some(param),
        )
    }

    /// `Invalid type for 'x': expected a string, but got an integer instead.`
    pub(crate) fn invalid_type(param: &str, expected: &str, got: &Value) -> Self {
        Self::invalid(
            Some("invalid_type"),
            format!(
                "Invalid type for '{param}': expected {expected}, but got {} instead.",
                json_kind(got)
            ),
            Some(param),
        )
    }

    /// `Invalid value for 'x': expected a non-negative integer, got -5`.
    ///
    /// A negative integer is the right type with the wrong value; reporting it as a type error
    /// would read "expected an integer, but got an integer instead".
    pub(crate) fn negative_integer(param: &str, got: &Value) -> Self {
        Self::invalid(
            Some("integer_below_min_value"),
            format!("Invalid value for '{param}': expected a non-negative integer, got {got}"),
            Some(param),
        )
    }

    /// A number outside its allowed range.
    pub(crate) fn out_of_range(param: &str, value: &Value, low: &str, high: &str) -> Self {
        Self::invalid(
            Some("invalid_value"),
            format!("Invalid '{param}': {value}. Expected a value between {low} and {high}."),
            Some(param),
        )
    }

    /// The JSON body of the `error` field, echoing the client's `event_id`.
    pub(crate) fn to_json(&self, client_event_id: Option<&str>) -> Value {
        json!({
            "type": self.error_type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        })
    }
}

/// `'a'`, `'a' and 'b'`, `'a', 'b', and 'c'`.
pub(crate) fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

/// The article-and-noun the service uses for a JSON type.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_the_service_wording() {
        assert_eq!(
            ApiError::unknown_parameter("session.temperature").message,
            "Unknown parameter: 'session.temperature'."
        );
        assert_eq!(
            ApiError::invalid_value(
                "input_text",
                &[
                    "message",
                    "function_call",
                    "function_call_output",
                    "item_reference"
                ],
                "item.type"
            )
            .message,
            "Invalid value: 'input_text'. Supported values are: 'message', 'function_call', 'function_call_output', and 'item_reference'."
        );
        assert_eq!(quoted_list(&["a", "b"]), "'a' and 'b'");
        let negative = ApiError::negative_integer("audio_end_ms", &json!(-5));
        assert_eq!(
            negative.message,
            "Invalid value for 'audio_end_ms': expected a non-negative integer, got -5"
        );
        assert_eq!(negative.code.as_deref(), Some("integer_below_min_value"));
        assert_eq!(negative.param.as_deref(), Some("audio_end_ms"));
        assert_eq!(
            ApiError::invalid_type("session.instructions", "a string", &json!(3)).message,
            "Invalid type for 'session.instructions': expected a string, but got an integer instead."
        );
    }
}
