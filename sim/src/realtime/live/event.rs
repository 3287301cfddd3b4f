//! The Live wire vocabulary: client events parsed strictly into typed structs, and the error
//! shape the service answers with.
//!
//! Every struct refuses unknown fields, because the service documents its configuration as a
//! strict object; the path of the offending key becomes the error's `param`
//! (`session.audio.voice`), as the service words it.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// Client event types the primary WebSocket accepts, in the SDK's order.
pub(crate) const CLIENT_EVENT_TYPES: &[&str] = &[
    "session.start",
    "session.update",
    "session.input_audio.append",
    "session.input_audio.mute",
    "session.input_audio.unmute",
    "session.output_audio.fixture.play",
    "session.instructions.append",
    "session.thinking.append",
    "session.commentary.append",
    "decision.create",
    "decision.item.create",
    "decision.item.delete",
    "response.item.create",
    "response.create",
    "session.close",
];

/// One `error` event payload: `code`, `message` and `type` always strings, `param` optional.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LiveError {
    pub(crate) error_type: &'static str,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) param: Option<String>,
}

impl LiveError {
    /// An `invalid_request_error`.
    pub(crate) fn invalid(code: &str, message: impl Into<String>, param: Option<&str>) -> Self {
        Self {
            error_type: "invalid_request_error",
            code: code.to_owned(),
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }

    /// `Unknown parameter: 'session.voice'.`
    pub(crate) fn unknown_parameter(param: &str) -> Self {
        Self::invalid(
            "unknown_parameter",
            format!("Unknown parameter: '{param}'."),
            Some(param),
        )
    }

    /// A field that is fixed at `session.start`.
    pub(crate) fn immutable(param: &str) -> Self {
        Self::invalid(
            "immutable_field_update",
            format!(
                "Cannot update '{param}' after the session has started; start a new session \
                 to change it."
            ),
            Some(param),
        )
    }

    /// The `error` object, with the id of the client event it answers.
    pub(crate) fn to_json(&self, client_event_id: Option<&str>) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.error_type));
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        if let Some(id) = client_event_id {
            error.insert("client_event_id".into(), json!(id));
        }
        Value::Object(error)
    }
}

/// The kind of a context append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendKind {
    /// A standing developer rule.
    Instructions,
    /// Silent context.
    Thinking,
    /// Something for the model to say.
    Commentary,
}

impl AppendKind {
    /// The client event type, e.g. `session.commentary.append`.
    pub(crate) fn event_type(self) -> &'static str {
        match self {
            AppendKind::Instructions => "session.instructions.append",
            AppendKind::Thinking => "session.thinking.append",
            AppendKind::Commentary => "session.commentary.append",
        }
    }

    /// The acknowledgement type, e.g. `session.commentary.appended`.
    pub(crate) fn ack_type(self) -> &'static str {
        match self {
            AppendKind::Instructions => "session.instructions.appended",
            AppendKind::Thinking => "session.thinking.appended",
            AppendKind::Commentary => "session.commentary.appended",
        }
    }
}

/// A client event the mock acts on, its `event_id` kept apart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ClientEvent {
    /// `session.start`.
    Start(StartConfig),
    /// `session.update`.
    Update(Map<String, Value>),
    /// `session.input_audio.append` (base64 still undecoded).
    AudioAppend(String),
    /// `session.input_audio.mute`.
    Mute,
    /// `session.input_audio.unmute`.
    Unmute,
    /// A context append.
    Append {
        /// Which channel.
        kind: AppendKind,
        /// The text.
        content: String,
        /// The delegation it answers.
        delegation_id: Option<String>,
    },
    /// `session.close`.
    Close,
    /// A known event that needs a delegation the session does not have.
    NeedsDelegation(&'static str),
}

/// `session.start.session`: the configuration fixed for the whole session.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartConfig {
    pub(crate) model: String,
    #[serde(default)]
    pub(crate) instructions: Option<String>,
    #[serde(default)]
    pub(crate) audio: Option<AudioConfig>,
    #[serde(default)]
    pub(crate) delegation: Option<Delegation>,
    #[serde(default)]
    pub(crate) input: Option<Vec<Value>>,
    #[serde(default)]
    pub(crate) store: Option<bool>,
    #[serde(default)]
    pub(crate) safety_identifier: Option<String>,
    #[serde(default)]
    pub(crate) triggers: Option<Vec<Value>>,
}

/// `session.audio`: one format for both directions and the voice.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AudioConfig {
    #[serde(default)]
    pub(crate) format: Option<FormatSpec>,
    #[serde(default)]
    pub(crate) output: Option<AudioOutput>,
}

/// An audio format; `rate` is required for all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub(crate) enum FormatSpec {
    /// PCM16 little-endian mono at 16 or 24 kHz.
    #[serde(rename = "audio/pcm")]
    Pcm {
        /// Sample rate.
        rate: u32,
    },
    /// G.711 µ-law.
    #[serde(rename = "audio/pcmu")]
    Pcmu {
        /// Sample rate.
        rate: u32,
    },
    /// G.711 A-law.
    #[serde(rename = "audio/pcma")]
    Pcma {
        /// Sample rate.
        rate: u32,
    },
}

/// `session.audio.output`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AudioOutput {
    #[serde(default)]
    pub(crate) voice: Option<Voice>,
}

/// A built-in voice name or a custom voice id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Voice {
    /// A built-in voice.
    Name(String),
    /// `{"id": "voice_…"}`.
    Custom(CustomVoice),
}

/// `{"id": "voice_…"}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomVoice {
    pub(crate) id: String,
}

/// Who answers delegations; only its type matters to the mock.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub(crate) enum Delegation {
    /// The application itself.
    #[serde(rename = "client")]
    Client {
        #[serde(default)]
        acknowledgement_delay_ms: Option<u64>,
    },
    /// A hosted Responses model.
    #[serde(rename = "responses")]
    Responses {
        responses: Value,
        #[serde(default)]
        acknowledgement_delay_ms: Option<u64>,
    },
    /// Decisions.
    #[serde(rename = "decisions")]
    Decisions {
        decisions: Value,
        #[serde(default)]
        acknowledgement_delay_ms: Option<u64>,
    },
}

impl Delegation {
    /// `client`, `responses` or `decisions`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Delegation::Client { .. } => "client",
            Delegation::Responses { .. } => "responses",
            Delegation::Decisions { .. } => "decisions",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartEvent {
    session: StartConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateEvent {
    session: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AudioAppendEvent {
    audio: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendEvent {
    // Required but nullable: `Option` alone would also accept a missing key.
    delegation_id: MaybeNull,
    content: String,
}

/// A required key whose value may be `null`.
#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeNull {
    Id(String),
    Null(()),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Bare {}

/// What a frame that could not be read as a known event leaves: the `event_id` and `type` that
/// could be read, and the error to send.
pub(crate) type Refused = Box<(Option<String>, Option<String>, LiveError)>;

/// Parses one text frame into its `event_id`, its `type` and the event, or what is left of it.
pub(crate) fn parse(text: &str) -> Result<(Option<String>, String, ClientEvent), Refused> {
    let mut map: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            let err = LiveError::invalid("invalid_json", "Expected a JSON object.", None);
            return Err(Box::new((None, None, err)));
        }
        Err(e) => {
            let err = LiveError::invalid("invalid_json", format!("Invalid JSON: {e}"), None);
            return Err(Box::new((None, None, err)));
        }
    };
    let event_id = match map.remove("event_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(_) => {
            let err = LiveError::invalid(
                "invalid_type",
                "Invalid type for 'event_id': expected a string.",
                Some("event_id"),
            );
            return Err(Box::new((None, None, err)));
        }
    };
    let Some(Value::String(ty)) = map.remove("type") else {
        let err = LiveError::invalid(
            "missing_required_parameter",
            "Missing required parameter: 'type'.",
            Some("type"),
        );
        return Err(Box::new((event_id, None, err)));
    };
    let body = Value::Object(map);
    let event = match ty.as_str() {
        "session.start" => typed::<StartEvent>(body).map(|e| ClientEvent::Start(e.session)),
        "session.update" => typed::<UpdateEvent>(body).map(|e| ClientEvent::Update(e.session)),
        "session.input_audio.append" => {
            typed::<AudioAppendEvent>(body).map(|e| ClientEvent::AudioAppend(e.audio))
        }
        "session.input_audio.mute" => typed::<Bare>(body).map(|_| ClientEvent::Mute),
        "session.input_audio.unmute" => typed::<Bare>(body).map(|_| ClientEvent::Unmute),
        "session.close" => typed::<Bare>(body).map(|_| ClientEvent::Close),
        "session.instructions.append" => append(body, AppendKind::Instructions),
        "session.thinking.append" => append(body, AppendKind::Thinking),
        "session.commentary.append" => append(body, AppendKind::Commentary),
        "response.item.create" | "response.create" => Ok(ClientEvent::NeedsDelegation(
            "response.item.create requires Responses delegation.",
        )),
        "decision.create" | "decision.item.create" | "decision.item.delete" => Ok(
            ClientEvent::NeedsDelegation("decision events require Decisions delegation."),
        ),
        "session.output_audio.fixture.play" => Ok(ClientEvent::NeedsDelegation(
            "session.output_audio.fixture.play is not supported by this mock.",
        )),
        other => Err(unknown_type(other)),
    };
    match event {
        Ok(event) => Ok((event_id, ty, event)),
        Err(err) => Err(Box::new((event_id, Some(ty), err))),
    }
}

fn append(body: Value, kind: AppendKind) -> Result<ClientEvent, LiveError> {
    let event = typed::<AppendEvent>(body)?;
    Ok(ClientEvent::Append {
        kind,
        content: event.content,
        delegation_id: match event.delegation_id {
            MaybeNull::Id(id) => Some(id),
            MaybeNull::Null(()) => None,
        },
    })
}

/// `Invalid value: 'x'. Supported values are: 'session.start', …`.
fn unknown_type(ty: &str) -> LiveError {
    let list: Vec<String> = CLIENT_EVENT_TYPES
        .iter()
        .map(|t| format!("'{t}'"))
        .collect();
    LiveError::invalid(
        "invalid_value",
        format!(
            "Invalid value: '{ty}'. Supported values are: {}.",
            list.join(", ")
        ),
        Some("type"),
    )
}

/// Deserializes `body` strictly, turning serde's complaint into the service's error.
fn typed<T: DeserializeOwned>(body: Value) -> Result<T, LiveError> {
    serde_path_to_error::deserialize(body).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        // serde_path_to_error's path already ends at an unknown key, not at a missing one.
        let join = |key: &str| {
            if path == "." || path.is_empty() {
                key.to_owned()
            } else if path == key || path.ends_with(&format!(".{key}")) {
                path.clone()
            } else {
                format!("{path}.{key}")
            }
        };
        if let Some(key) = backticked(&message, "unknown field `") {
            LiveError::unknown_parameter(&join(key))
        } else if let Some(key) = backticked(&message, "missing field `") {
            let param = join(key);
            LiveError::invalid(
                "missing_required_parameter",
                format!("Missing required parameter: '{param}'."),
                Some(&param),
            )
        } else {
            let param = if path == "." {
                None
            } else {
                Some(path.as_str())
            };
            let shown = param.unwrap_or("event");
            LiveError::invalid(
                "invalid_value",
                format!("Invalid value for '{shown}': {message}."),
                param,
            )
        }
    })
}

/// The text between `prefix` and the next backtick of `message`, if it starts with `prefix`.
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}
