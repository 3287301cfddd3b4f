//! One connection type and one listener type for both transports, so that the fakes' servers
//! and clients are written once: [`NetStream`] is a TCP socket or a memory pipe, and
//! [`NetListener`] is what `axum::serve` accepts them from.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::memory::{MemoryListener, MemoryStream};

/// A connection over either transport.
#[derive(Debug)]
pub enum NetStream {
    /// A loopback (or remote) TCP socket.
    Tcp(TcpStream),
    /// An in-process pipe.
    Memory(MemoryStream),
}

impl AsyncRead for NetStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            NetStream::Memory(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for NetStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            NetStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            NetStream::Memory(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            NetStream::Memory(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            NetStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            NetStream::Memory(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A listener over either transport.
#[derive(Debug)]
pub enum NetListener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A memory-network listener.
    Memory(MemoryListener),
}

impl NetListener {
    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            NetListener::Tcp(l) => l.local_addr(),
            NetListener::Memory(l) => Ok(l.local_addr()),
        }
    }

    /// Its port (0 when the OS cannot say, which only happens on a closed socket).
    pub fn port(&self) -> u16 {
        self.local_addr().map(|a| a.port()).unwrap_or_default()
    }
}

impl axum::serve::Listener for NetListener {
    type Io = NetStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (NetStream, SocketAddr) {
        match self {
            NetListener::Tcp(listener) => {
                // axum's own accept loop retries on errors such as running out of descriptors.
                let (tcp, peer) = axum::serve::Listener::accept(listener).await;
                // Nagle's algorithm would hold small frames back for an ACK; on a paused clock
                // that real-time wait lets virtual time jump.
                let _ = tcp.set_nodelay(true);
                (NetStream::Tcp(tcp), peer)
            }
            NetListener::Memory(listener) => {
                let (pipe, peer) = listener.accept().await;
                (NetStream::Memory(pipe), peer)
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        NetListener::local_addr(self)
    }
}
