//! One line of a capture file. The field names are the documented schema (`docs/capture.md`):
//! renaming one is a breaking change for the vendors' tools that read captures.

use serde::Serialize;

/// Which of callsim's two sockets a message went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Socket {
    /// The Media Streams socket the fake Twilio opened to the server.
    Twilio,
    /// The socket the server opened to the mock AI.
    Ai,
}

/// Which way a message went, seen from the call server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// callsim (Twilio or the mock AI) sent it to the server.
    ToServer,
    /// The server sent it to callsim.
    FromServer,
}

/// One captured event; `kind` tags the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaptureEvent {
    /// An HTTP request the fake Twilio sent (a voice webhook or a status callback).
    HttpRequest {
        /// The URL as signed (the public URL; a GET's parameters are in its query string).
        url: String,
        /// Where the request was really sent.
        sent_to: String,
        /// `GET` or `POST`.
        method: String,
        /// The form parameters of a POST body, in the order sent (empty for a GET).
        params: Vec<(String, String)>,
        /// Every header sent, in order, with its name as written.
        headers: Vec<(String, String)>,
    },
    /// A Media Streams WebSocket upgrade the fake Twilio sent.
    WsUpgrade {
        /// The `wss://` URL as signed.
        url: String,
        /// Where the upgrade was really sent.
        sent_to: String,
        /// Every header of the upgrade request.
        headers: Vec<(String, String)>,
    },
    /// One text message on one of the two sockets.
    WsMessage {
        /// Which socket.
        socket: Socket,
        /// Which connection on that socket (the stream SID, or `ai-N` for the Nth AI socket).
        connection: String,
        /// Which way it went.
        direction: Direction,
        /// The message exactly as it crossed the wire.
        text: String,
    },
}
