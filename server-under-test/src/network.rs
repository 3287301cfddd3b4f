//! How the server reaches other hosts: a small [`Dialer`] seam under its outbound connections
//! (the Realtime WebSocket and the Twilio REST API), defaulting to TCP.
//!
//! The binary always dials TCP. A harness that runs the server in-process on a paused clock may
//! hand it a dialer of its own (in-process pipes), so that every byte stays inside the runtime;
//! the server then speaks exactly the same HTTP and WebSocket over them. The listening side needs
//! no seam: [`crate::serve_on`] takes any `axum::serve::Listener`.

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to another host.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for T {}

/// A dialled connection, whatever carries it.
pub type BoxedConnection = Box<dyn Connection>;

/// What [`Dialer::dial`] returns.
pub type DialFuture<'a> = Pin<Box<dyn Future<Output = io::Result<BoxedConnection>> + Send + 'a>>;

/// Opens byte streams to `host:port`.
pub trait Dialer: Debug + Send + Sync + 'static {
    /// Connects to `host:port`.
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a>;

    /// Whether this is plain TCP, which can also carry TLS (`https://`, `wss://`).
    fn is_tcp(&self) -> bool {
        false
    }
}

/// The default: the kernel's TCP.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpDialer;

impl Dialer for TcpDialer {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a> {
        Box::pin(async move {
            let tcp = tokio::net::TcpStream::connect((host, port)).await?;
            // Small WebSocket frames must leave at once: Nagle's algorithm would hold them for
            // an ACK, and a harness on a paused clock would see time jump meanwhile.
            tcp.set_nodelay(true)?;
            Ok(Box::new(tcp) as BoxedConnection)
        })
    }

    fn is_tcp(&self) -> bool {
        true
    }
}

/// The host and port a `ws://`, `wss://`, `http://` or `https://` URL names.
pub fn host_and_port(url: &url::Url) -> Option<(String, u16)> {
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    Some((host.to_owned(), url.port_or_known_default()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_host_and_default_port() {
        let at = |u: &str| host_and_port(&url::Url::parse(u).unwrap());
        assert_eq!(
            at("ws://127.0.0.1:4010/v1"),
            Some(("127.0.0.1".into(), 4010))
        );
        assert_eq!(
            at("wss://api.openai.com/v1"),
            Some(("api.openai.com".into(), 443))
        );
        assert_eq!(at("http://[::1]/x"), Some(("::1".into(), 80)));
    }

    #[tokio::test]
    async fn the_tcp_dialer_reaches_a_listener_and_reports_a_closed_port() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(TcpDialer.dial("127.0.0.1", port).await.is_ok());
        drop(listener);
        assert!(TcpDialer.dial("127.0.0.1", port).await.is_err());
        assert!(TcpDialer.is_tcp());
    }
}
