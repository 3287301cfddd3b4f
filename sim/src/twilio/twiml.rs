//! TwiML parsing into typed verbs (roxmltree). Execution lives in `executor`.
//!
//! Errors name the offending element. Problems Twilio only notices at execution time (a
//! `<Stream url>` that is not ws/wss or that has a query string) are not parse errors: the
//! executor records them as 31920.

use std::collections::BTreeMap;

use roxmltree::{Document, Node};
use serde::Serialize;

use super::spec::HttpMethod;

/// A parsed `<Response>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Twiml {
    /// The verbs in document order.
    pub verbs: Vec<Verb>,
}

/// A `<Stream>` noun inside `<Connect>`, `<Start>` or `<Stop>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamNoun {
    /// The URL as written (validated at execution).
    pub url: String,
    /// The `name` attribute.
    pub name: Option<String>,
    /// `inbound_track` (default), `outbound_track` or `both_tracks`.
    pub track: String,
    /// Stream status callback URL.
    pub status_callback: Option<String>,
    /// Its method (POST by default).
    pub status_callback_method: HttpMethod,
    /// `<Parameter>` children.
    pub parameters: BTreeMap<String, String>,
}

/// Something said or played inside `<Gather>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Prompt {
    /// A nested `<Say>`.
    Say {
        /// The text.
        text: String,
        /// Repetitions.
        loops: u32,
    },
    /// A nested `<Play>`.
    Play {
        /// The audio URL.
        url: String,
        /// Repetitions.
        loops: u32,
    },
    /// A nested `<Pause>`.
    Pause {
        /// Seconds.
        length: u64,
    },
}

/// `<Gather>` attributes and prompts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gather {
    /// Where collected digits go; `None`: the current document URL.
    pub action: Option<String>,
    /// Method of the action request.
    pub method: HttpMethod,
    /// Seconds without a key before giving up (default 5).
    pub timeout: u64,
    /// Stop after this many digits.
    pub num_digits: Option<u32>,
    /// Key that ends input (default `#`; empty disables).
    pub finish_on_key: String,
    /// `input` attribute (default "dtmf"); only DTMF is simulated.
    pub input: String,
    /// Request the action even when nothing was collected.
    pub action_on_empty_result: bool,
    /// Nested Say/Play/Pause.
    pub prompts: Vec<Prompt>,
}

/// One TwiML verb.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verb")]
pub enum Verb {
    /// Text to speech.
    Say {
        /// The text.
        text: String,
        /// `voice` attribute.
        voice: Option<String>,
        /// `language` attribute.
        language: Option<String>,
        /// Repetitions (`loop`, default 1; 0 is treated as 1).
        loops: u32,
    },
    /// Audio URL or DTMF digits.
    Play {
        /// The audio URL (empty when `digits` is used).
        url: String,
        /// `digits` attribute.
        digits: Option<String>,
        /// Repetitions.
        loops: u32,
    },
    /// Silence.
    Pause {
        /// Seconds (default 1).
        length: u64,
    },
    /// End the call.
    Hangup,
    /// Refuse the call before answering.
    Reject {
        /// "rejected" (default) or "busy".
        reason: String,
    },
    /// Fetch and run another document.
    Redirect {
        /// The URL.
        url: String,
        /// Its method.
        method: HttpMethod,
    },
    /// Collect DTMF.
    Gather(Gather),
    /// A bidirectional stream (blocking).
    Connect {
        /// Requested when the stream ends.
        action: Option<String>,
        /// Its method.
        method: HttpMethod,
        /// The stream.
        stream: StreamNoun,
    },
    /// A unidirectional stream fork (non-blocking).
    Start {
        /// The stream.
        stream: StreamNoun,
    },
    /// Stop a `<Start>` stream.
    Stop {
        /// The stream's `name` (or URL).
        name: Option<String>,
    },
    /// Bridge to a number (recorded, not bridged).
    Dial {
        /// The dialled number or noun text.
        number: String,
        /// `action` attribute.
        action: Option<String>,
        /// `callerId` attribute.
        caller_id: Option<String>,
        /// Ring timeout (default 30).
        timeout: u64,
    },
    /// Record the caller (recorded, nothing is stored).
    Record {
        /// `action` attribute.
        action: Option<String>,
        /// `maxLength` (default 3600).
        max_length: u64,
        /// Silence timeout (default 5).
        timeout: u64,
        /// `finishOnKey` (default "1234567890*#").
        finish_on_key: String,
    },
}

impl Verb {
    /// The element name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Say { .. } => "Say",
            Self::Play { .. } => "Play",
            Self::Pause { .. } => "Pause",
            Self::Hangup => "Hangup",
            Self::Reject { .. } => "Reject",
            Self::Redirect { .. } => "Redirect",
            Self::Gather(_) => "Gather",
            Self::Connect { .. } => "Connect",
            Self::Start { .. } => "Start",
            Self::Stop { .. } => "Stop",
            Self::Dial { .. } => "Dial",
            Self::Record { .. } => "Record",
        }
    }
}

/// Why a document is not valid TwiML (Twilio error 12100).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwimlError {
    /// Not well-formed XML.
    #[error("document is not well-formed XML: {0}")]
    NotXml(String),
    /// The root element is not `<Response>`.
    #[error("root element is <{0}>, expected <Response>")]
    BadRoot(String),
    /// An element that is not a known verb or noun at this place.
    #[error("<{child}> is not allowed inside <{parent}>")]
    UnexpectedElement {
        /// The enclosing element.
        parent: String,
        /// The unexpected element.
        child: String,
    },
    /// A required attribute or text is missing.
    #[error("<{element}> is missing {what}")]
    Missing {
        /// The element.
        element: String,
        /// The missing attribute or text.
        what: String,
    },
    /// An attribute has an invalid value.
    #[error("<{element}> has an invalid {attribute}=\"{value}\"")]
    BadAttribute {
        /// The element.
        element: String,
        /// The attribute.
        attribute: String,
        /// Its value.
        value: String,
    },
}

/// Parses a TwiML document.
pub fn parse(xml: &str) -> Result<Twiml, TwimlError> {
    let doc = Document::parse(xml).map_err(|e| TwimlError::NotXml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(TwimlError::BadRoot(root.tag_name().name().to_owned()));
    }
    let verbs = root
        .children()
        .filter(Node::is_element)
        .map(parse_verb)
        .collect::<Result<_, _>>()?;
    Ok(Twiml { verbs })
}

fn parse_verb(node: Node<'_, '_>) -> Result<Verb, TwimlError> {
    let name = node.tag_name().name();
    Ok(match name {
        "Say" => Verb::Say {
            text: text(node),
            voice: attr(node, "voice"),
            language: attr(node, "language"),
            loops: loops(node)?,
        },
        "Play" => parse_play(node)?,
        "Pause" => Verb::Pause {
            length: number(node, "length", 1)?,
        },
        "Hangup" => Verb::Hangup,
        "Reject" => {
            let reason = attr(node, "reason").unwrap_or_else(|| "rejected".into());
            if reason != "rejected" && reason != "busy" {
                return Err(bad(node, "reason", &reason));
            }
            Verb::Reject { reason }
        }
        "Redirect" => parse_redirect(node)?,
        "Gather" => Verb::Gather(parse_gather(node)?),
        "Connect" => parse_connect(node)?,
        "Start" => {
            let stream = single_stream(node)?;
            Verb::Start {
                stream: parse_stream(stream, true)?,
            }
        }
        "Stop" => {
            let stream = single_stream(node)?;
            Verb::Stop {
                name: attr(stream, "name").or_else(|| attr(stream, "url")),
            }
        }
        "Dial" => Verb::Dial {
            number: text(node),
            action: attr(node, "action"),
            caller_id: attr(node, "callerId"),
            timeout: number(node, "timeout", 30)?,
        },
        "Record" => Verb::Record {
            action: attr(node, "action"),
            max_length: number(node, "maxLength", 3600)?,
            timeout: number(node, "timeout", 5)?,
            finish_on_key: attr(node, "finishOnKey").unwrap_or_else(|| "1234567890*#".into()),
        },
        _ => {
            return Err(TwimlError::UnexpectedElement {
                parent: "Response".into(),
                child: name.to_owned(),
            });
        }
    })
}

/// `<Play>`: an audio URL, or digits to send.
fn parse_play(node: Node<'_, '_>) -> Result<Verb, TwimlError> {
    let digits = attr(node, "digits");
    let url = text(node);
    if url.is_empty() && digits.is_none() {
        return Err(missing(node, "an audio URL or digits"));
    }
    Ok(Verb::Play {
        url,
        digits,
        loops: loops(node)?,
    })
}

/// `<Redirect>`: the URL of the next document.
fn parse_redirect(node: Node<'_, '_>) -> Result<Verb, TwimlError> {
    let url = text(node);
    if url.is_empty() {
        return Err(missing(node, "a URL"));
    }
    Ok(Verb::Redirect {
        url,
        method: method(node, "method"),
    })
}

/// `<Connect>`: exactly one `<Stream>` noun, and what to do after it.
fn parse_connect(node: Node<'_, '_>) -> Result<Verb, TwimlError> {
    let mut streams = node.children().filter(Node::is_element);
    let Some(first) = streams.next() else {
        return Err(missing(node, "a <Stream> noun"));
    };
    if first.tag_name().name() != "Stream" {
        return Err(unexpected(node, first));
    }
    if let Some(extra) = streams.next() {
        return Err(unexpected(node, extra));
    }
    Ok(Verb::Connect {
        action: attr(node, "action"),
        method: method(node, "method"),
        stream: parse_stream(first, true)?,
    })
}

fn parse_gather(node: Node<'_, '_>) -> Result<Gather, TwimlError> {
    let mut prompts = Vec::new();
    for child in node.children().filter(Node::is_element) {
        prompts.push(match child.tag_name().name() {
            "Say" => Prompt::Say {
                text: text(child),
                loops: loops(child)?,
            },
            "Play" => Prompt::Play {
                url: text(child),
                loops: loops(child)?,
            },
            "Pause" => Prompt::Pause {
                length: number(child, "length", 1)?,
            },
            _ => return Err(unexpected(node, child)),
        });
    }
    let num_digits = match attr(node, "numDigits") {
        Some(v) => Some(
            v.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(node, "numDigits", &v))?,
        ),
        None => None,
    };
    Ok(Gather {
        action: attr(node, "action"),
        method: method(node, "method"),
        timeout: number(node, "timeout", 5)?,
        num_digits,
        finish_on_key: attr(node, "finishOnKey").unwrap_or_else(|| "#".into()),
        input: attr(node, "input").unwrap_or_else(|| "dtmf".into()),
        action_on_empty_result: attr(node, "actionOnEmptyResult").is_some_and(|v| v == "true"),
        prompts,
    })
}

fn single_stream<'a, 'i>(node: Node<'a, 'i>) -> Result<Node<'a, 'i>, TwimlError> {
    let mut children = node.children().filter(Node::is_element);
    let Some(first) = children.next() else {
        return Err(missing(node, "a <Stream> noun"));
    };
    if first.tag_name().name() != "Stream" {
        return Err(unexpected(node, first));
    }
    if let Some(extra) = children.next() {
        return Err(unexpected(node, extra));
    }
    Ok(first)
}

fn parse_stream(node: Node<'_, '_>, url_required: bool) -> Result<StreamNoun, TwimlError> {
    let url = attr(node, "url").unwrap_or_default();
    if url_required && url.is_empty() {
        return Err(missing(node, "the url attribute"));
    }
    let track = attr(node, "track").unwrap_or_else(|| "inbound_track".into());
    if !["inbound_track", "outbound_track", "both_tracks"].contains(&track.as_str()) {
        return Err(bad(node, "track", &track));
    }
    let mut parameters = BTreeMap::new();
    for child in node.children().filter(Node::is_element) {
        if child.tag_name().name() != "Parameter" {
            return Err(unexpected(node, child));
        }
        let Some(name) = attr(child, "name") else {
            return Err(missing(child, "the name attribute"));
        };
        parameters.insert(name, attr(child, "value").unwrap_or_default());
    }
    Ok(StreamNoun {
        url,
        name: attr(node, "name"),
        track,
        status_callback: attr(node, "statusCallback"),
        status_callback_method: method(node, "statusCallbackMethod"),
        parameters,
    })
}

fn attr(node: Node<'_, '_>, name: &str) -> Option<String> {
    node.attribute(name).map(str::to_owned)
}

fn text(node: Node<'_, '_>) -> String {
    node.text().map(str::trim).unwrap_or_default().to_owned()
}

fn method(node: Node<'_, '_>, name: &str) -> HttpMethod {
    node.attribute(name)
        .map_or(HttpMethod::Post, HttpMethod::parse)
}

fn number(node: Node<'_, '_>, name: &str, default: u64) -> Result<u64, TwimlError> {
    match node.attribute(name) {
        Some(v) => v.trim().parse().map_err(|_| bad(node, name, v)),
        None => Ok(default),
    }
}

fn loops(node: Node<'_, '_>) -> Result<u32, TwimlError> {
    let n = number(node, "loop", 1)?;
    // loop="0" means "until the call ends" on Twilio; the simulator plays it once.
    Ok(u32::try_from(n.max(1)).unwrap_or(u32::MAX))
}

fn missing(node: Node<'_, '_>, what: &str) -> TwimlError {
    TwimlError::Missing {
        element: node.tag_name().name().to_owned(),
        what: what.to_owned(),
    }
}

fn bad(node: Node<'_, '_>, attribute: &str, value: &str) -> TwimlError {
    TwimlError::BadAttribute {
        element: node.tag_name().name().to_owned(),
        attribute: attribute.to_owned(),
        value: value.to_owned(),
    }
}

fn unexpected(parent: Node<'_, '_>, child: Node<'_, '_>) -> TwimlError {
    TwimlError::UnexpectedElement {
        parent: parent.tag_name().name().to_owned(),
        child: child.tag_name().name().to_owned(),
    }
}

/// Checks a `<Stream url>` the way Twilio does when it opens the socket: ws/wss only, no query.
pub fn check_stream_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("wss://") || lower.starts_with("ws://")) {
        return Err(format!("stream url {url} is not a ws:// or wss:// URL"));
    }
    if url.contains('?') {
        return Err(format!(
            "stream url {url} has a query string (use <Parameter>)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(xml: &str) -> Verb {
        let doc = parse(&format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{xml}</Response>"
        ))
        .unwrap();
        assert_eq!(doc.verbs.len(), 1);
        doc.verbs.into_iter().next().unwrap()
    }

    fn err(xml: &str) -> TwimlError {
        parse(&format!("<Response>{xml}</Response>")).unwrap_err()
    }

    #[test]
    fn empty_response_has_no_verbs() {
        assert_eq!(parse("<Response/>").unwrap().verbs, vec![]);
    }

    #[test]
    fn say_play_pause_hangup_reject_redirect() {
        assert_eq!(
            one(r#"<Say voice="alice" loop="2"> Hello there </Say>"#),
            Verb::Say {
                text: "Hello there".into(),
                voice: Some("alice".into()),
                language: None,
                loops: 2
            }
        );
        assert_eq!(
            one("<Play>https://x/a.wav</Play>"),
            Verb::Play {
                url: "https://x/a.wav".into(),
                digits: None,
                loops: 1
            }
        );
        assert_eq!(
            one(r#"<Play digits="1w2"/>"#),
            Verb::Play {
                url: String::new(),
                digits: Some("1w2".into()),
                loops: 1
            }
        );
        assert_eq!(one("<Pause/>"), Verb::Pause { length: 1 });
        assert_eq!(one(r#"<Pause length="40"/>"#), Verb::Pause { length: 40 });
        assert_eq!(one("<Hangup/>"), Verb::Hangup);
        assert_eq!(
            one("<Reject/>"),
            Verb::Reject {
                reason: "rejected".into()
            }
        );
        assert_eq!(
            one(r#"<Reject reason="busy"/>"#),
            Verb::Reject {
                reason: "busy".into()
            }
        );
        assert_eq!(
            one(r#"<Redirect method="GET">https://x/next</Redirect>"#),
            Verb::Redirect {
                url: "https://x/next".into(),
                method: HttpMethod::Get
            }
        );
    }

    #[test]
    fn gather_with_nested_prompts() {
        let Verb::Gather(g) = one(
            r#"<Gather action="/digits" numDigits="4" timeout="3" finishOnKey="*"><Say>Enter PIN</Say><Play>https://x/b.wav</Play><Pause length="2"/></Gather>"#,
        ) else {
            panic!("not a gather");
        };
        assert_eq!(g.action.as_deref(), Some("/digits"));
        assert_eq!(
            (g.num_digits, g.timeout, g.finish_on_key.as_str()),
            (Some(4), 3, "*")
        );
        assert_eq!(g.prompts.len(), 3);
        assert_eq!(g.method, HttpMethod::Post);
        let Verb::Gather(d) = one("<Gather/>") else {
            panic!()
        };
        assert_eq!(
            (d.timeout, d.finish_on_key.as_str(), d.num_digits),
            (5, "#", None)
        );
    }

    #[test]
    fn connect_stream_with_parameters() {
        let verb = one(
            r#"<Connect action="https://x/after" method="GET"><Stream url="wss://x/media" name="agent" statusCallback="https://x/ss"><Parameter name="callId" value="abc"/><Parameter name="tenant" value="acme"/></Stream></Connect>"#,
        );
        let Verb::Connect {
            action,
            method,
            stream,
        } = verb
        else {
            panic!()
        };
        assert_eq!(action.as_deref(), Some("https://x/after"));
        assert_eq!(method, HttpMethod::Get);
        assert_eq!(stream.url, "wss://x/media");
        assert_eq!(stream.name.as_deref(), Some("agent"));
        assert_eq!(stream.track, "inbound_track");
        assert_eq!(stream.status_callback.as_deref(), Some("https://x/ss"));
        assert_eq!(
            stream.parameters.get("tenant").map(String::as_str),
            Some("acme")
        );
    }

    #[test]
    fn start_stop_dial_record() {
        let Verb::Start { stream } =
            one(r#"<Start><Stream name="fork" url="wss://x/f" track="both_tracks"/></Start>"#)
        else {
            panic!()
        };
        assert_eq!(
            (stream.name.as_deref(), stream.track.as_str()),
            (Some("fork"), "both_tracks")
        );
        assert_eq!(
            one(r#"<Stop><Stream name="fork"/></Stop>"#),
            Verb::Stop {
                name: Some("fork".into())
            }
        );
        assert_eq!(
            one(r#"<Dial callerId="+1555" timeout="10">+14155550100</Dial>"#),
            Verb::Dial {
                number: "+14155550100".into(),
                action: None,
                caller_id: Some("+1555".into()),
                timeout: 10
            }
        );
        assert_eq!(
            one(r#"<Record maxLength="20"/>"#),
            Verb::Record {
                action: None,
                max_length: 20,
                timeout: 5,
                finish_on_key: "1234567890*#".into()
            }
        );
    }

    #[test]
    fn invalid_documents_name_the_element() {
        assert!(matches!(parse("<Response>"), Err(TwimlError::NotXml(_))));
        assert!(matches!(parse("hello"), Err(TwimlError::NotXml(_))));
        assert_eq!(
            parse("<Reply/>").unwrap_err(),
            TwimlError::BadRoot("Reply".into())
        );
        let e = err("<Dance/>");
        assert_eq!(
            e,
            TwimlError::UnexpectedElement {
                parent: "Response".into(),
                child: "Dance".into()
            }
        );
        assert!(e.to_string().contains("<Dance>"));
        assert!(
            matches!(err("<Connect/>"), TwimlError::Missing { element, .. } if element == "Connect")
        );
        assert!(
            matches!(err("<Connect><Stream/></Connect>"), TwimlError::Missing { element, .. } if element == "Stream")
        );
        assert!(matches!(
            err(r#"<Connect><Stream url="wss://x"/><Stream url="wss://y"/></Connect>"#),
            TwimlError::UnexpectedElement { parent, .. } if parent == "Connect"
        ));
        assert!(matches!(
            err(r#"<Connect><Stream url="wss://x"><Say/></Stream></Connect>"#),
            TwimlError::UnexpectedElement { parent, child } if parent == "Stream" && child == "Say"
        ));
        assert!(matches!(
            err(r#"<Connect><Stream url="wss://x"><Parameter value="v"/></Stream></Connect>"#),
            TwimlError::Missing { element, .. } if element == "Parameter"
        ));
        assert!(
            matches!(err(r#"<Pause length="soon"/>"#), TwimlError::BadAttribute { element, .. } if element == "Pause")
        );
        assert!(matches!(
            err(r#"<Reject reason="maybe"/>"#),
            TwimlError::BadAttribute { .. }
        ));
        assert!(matches!(
            err(r#"<Gather numDigits="0"/>"#),
            TwimlError::BadAttribute { .. }
        ));
        assert!(
            matches!(err("<Gather><Dial/></Gather>"), TwimlError::UnexpectedElement { parent, .. } if parent == "Gather")
        );
        assert!(matches!(err("<Redirect/>"), TwimlError::Missing { .. }));
        assert!(matches!(err("<Play/>"), TwimlError::Missing { .. }));
        assert!(matches!(
            err(r#"<Start><Stream url="wss://x" track="sideways"/></Start>"#),
            TwimlError::BadAttribute { .. }
        ));
        assert!(matches!(err("<Stop/>"), TwimlError::Missing { .. }));
    }

    #[test]
    fn stream_urls_are_checked_at_execution() {
        assert!(check_stream_url("wss://x/media").is_ok());
        assert!(check_stream_url("ws://127.0.0.1:1/media").is_ok());
        assert!(check_stream_url("https://x/media").is_err());
        assert!(check_stream_url("wss://x/media?token=1").is_err());
        // The parser itself accepts them: Twilio only fails when it dials.
        assert!(
            parse(r#"<Response><Connect><Stream url="https://x/m?a=1"/></Connect></Response>"#)
                .is_ok()
        );
    }
}
