//! `Sink`/`Stream` wrappers that record every text frame crossing the fake Twilio's Media
//! Streams socket, so the session logic in `twilio::stream` stays unaware of the capture.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Sink, Stream};
use tokio_tungstenite::tungstenite::Message;

use super::event::{CaptureEvent, Direction, Socket};
use super::sink::Capture;

/// What one connection's wrappers record into.
#[derive(Debug, Clone)]
pub struct Tap {
    capture: Capture,
    socket: Socket,
    connection: String,
}

impl Tap {
    /// A tap for one connection of `socket`.
    pub fn new(capture: &Capture, socket: Socket, connection: &str) -> Tap {
        Tap {
            capture: capture.clone(),
            socket,
            connection: connection.to_owned(),
        }
    }

    /// Records one text message.
    pub fn text(&self, direction: Direction, text: &str) {
        if self.capture.is_on() {
            self.capture.record(&CaptureEvent::WsMessage {
                socket: self.socket,
                connection: self.connection.clone(),
                direction,
                text: text.to_owned(),
            });
        }
    }
}

/// A sink whose text frames are recorded as sent to the server.
#[derive(Debug)]
pub struct CapturedSink<W> {
    inner: W,
    tap: Tap,
}

impl<W> CapturedSink<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, tap: Tap) -> Self {
        CapturedSink { inner, tap }
    }
}

impl<W: Sink<Message> + Unpin> Sink<Message> for CapturedSink<W> {
    type Error = W::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), W::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), W::Error> {
        if let Message::Text(text) = &item {
            self.tap.text(Direction::ToServer, text.as_str());
        }
        Pin::new(&mut self.inner).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), W::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), W::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// A stream whose text frames are recorded as sent by the server.
#[derive(Debug)]
pub struct CapturedStream<R> {
    inner: R,
    tap: Tap,
}

impl<R> CapturedStream<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, tap: Tap) -> Self {
        CapturedStream { inner, tap }
    }
}

impl<R, E> Stream for CapturedStream<R>
where
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    type Item = Result<Message, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(Message::Text(text)))) = &polled {
            self.tap.text(Direction::FromServer, text.as_str());
        }
        polled
    }
}
