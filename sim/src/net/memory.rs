//! The memory network: in-process byte pipes between the parts of an in-process run.
//!
//! Every connection is a [`tokio::io::duplex`] pair, so the bytes of each HTTP request and
//! WebSocket frame still go through hyper, axum and tungstenite exactly as over TCP, but nothing
//! is ever in flight outside the runtime: a write wakes the reader on the same runtime, and when
//! the paused clock sees every task idle, no byte can still be on its way. That is what makes
//! virtual time deterministic by construction (see ARCHITECTURE.md).
//!
//! Addresses look like loopback TCP addresses (`127.0.0.1:30001`) so URLs, logs and reports read
//! the same under both transports; the host is ignored and the port names the listener.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::mpsc;

use super::faults::FaultyLink;

/// Bytes a pipe holds in each direction before a writer waits for the reader: large enough for
/// any single WebSocket frame callsim sends, small enough that a stalled reader pushes back.
const PIPE_CAPACITY: usize = 256 * 1024;
/// The first port the memory network hands out for port 0, far from the ports a user would pick.
const FIRST_PORT: u16 = 30_000;

/// A connection as a listener receives it: the server's end and the client's address.
type Incoming = (MemoryStream, SocketAddr);

/// One end of a memory pipe, closing as a TCP socket does.
///
/// A duplex pipe fails a write at once when the other end is gone. TCP does not: the first write
/// after the peer closed is accepted by the kernel (the peer answers it with a reset), and only
/// later writes fail. Servers behave differently under the two (a reconnect right away, or
/// after a back-off), so the pipe accepts, and drops, that first write too.
#[derive(Debug)]
pub struct MemoryStream {
    pipe: DuplexStream,
    reset_pending: bool,
}

impl MemoryStream {
    fn new(pipe: DuplexStream) -> MemoryStream {
        MemoryStream {
            pipe,
            reset_pending: true,
        }
    }
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().pipe).poll_read(cx, buf)
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.pipe).poll_write(cx, buf) {
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe && this.reset_pending => {
                this.reset_pending = false;
                Poll::Ready(Ok(buf.len()))
            }
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().pipe).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().pipe).poll_shutdown(cx)
    }
}

#[derive(Debug, Default)]
struct Registry {
    listeners: HashMap<u16, mpsc::UnboundedSender<Incoming>>,
    next_port: u16,
    next_client_port: u16,
}

/// One in-process network; clones share it. Each in-process run has its own, so runs on
/// parallel threads never see each other's listeners.
///
/// A handle may also carry faulty links by destination port ([`MemoryNet::with_link`]): the
/// connections it opens to such a port go through the link's relay. The faults belong to the
/// handle, not to the network, so one party's connections to a port can be faulty while
/// another's to the same port are not.
#[derive(Debug, Clone, Default)]
pub struct MemoryNet {
    registry: Arc<Mutex<Registry>>,
    links: BTreeMap<u16, Arc<FaultyLink>>,
}

impl MemoryNet {
    /// A network with no listener.
    pub fn new() -> MemoryNet {
        MemoryNet::default()
    }

    /// A handle on the same network whose connections to `port` go through `link`.
    #[must_use]
    pub fn with_link(&self, port: u16, link: &Arc<FaultyLink>) -> MemoryNet {
        let mut net = self.clone();
        net.links.insert(port, Arc::clone(link));
        net
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic while the registry was locked left it consistent (every change is one insert
        // or remove), so a poisoned lock is still usable.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Listens on `addr`'s port, or on a fresh port when it is 0.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<MemoryListener> {
        let mut registry = self.lock();
        let port = if addr.port() == 0 {
            let mut port = registry.next_port.max(FIRST_PORT);
            while registry.listeners.contains_key(&port) {
                port = port.checked_add(1).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::AddrInUse, "memory network out of ports")
                })?;
            }
            registry.next_port = port.saturating_add(1);
            port
        } else if registry.listeners.contains_key(&addr.port()) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("memory port {} is taken", addr.port()),
            ));
        } else {
            addr.port()
        };
        let (tx, rx) = mpsc::unbounded_channel();
        registry.listeners.insert(port, tx);
        Ok(MemoryListener {
            incoming: rx,
            local: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            net: self.clone(),
        })
    }

    /// Opens a pipe to the listener on `port`; refused as TCP would be when nothing listens.
    pub fn connect(&self, port: u16) -> io::Result<MemoryStream> {
        let mut registry = self.lock();
        let Some(listener) = registry.listeners.get(&port).cloned() else {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("nothing listens on memory port {port}"),
            ));
        };
        registry.next_client_port = registry.next_client_port.wrapping_add(1);
        let peer = SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            50_000 + registry.next_client_port % 10_000,
        ));
        drop(registry);
        let (client, server) = match self.links.get(&port) {
            None => tokio::io::duplex(PIPE_CAPACITY),
            Some(link) => {
                // Two pipes with the link's relay between their far ends.
                let (client, client_far) = tokio::io::duplex(PIPE_CAPACITY);
                let (server_far, server) = tokio::io::duplex(PIPE_CAPACITY);
                link.spawn_relay(client_far, server_far)?;
                (client, server)
            }
        };
        listener
            .send((MemoryStream::new(server), peer))
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("the listener on memory port {port} has closed"),
                )
            })?;
        Ok(MemoryStream::new(client))
    }

    fn unbind(&self, port: u16) {
        self.lock().listeners.remove(&port);
    }
}

/// A listener on the memory network; it stops listening when dropped.
#[derive(Debug)]
pub struct MemoryListener {
    incoming: mpsc::UnboundedReceiver<Incoming>,
    local: SocketAddr,
    net: MemoryNet,
}

impl MemoryListener {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next connection; pending forever once the network is gone, as a listener with no
    /// more clients would be.
    pub async fn accept(&mut self) -> Incoming {
        match self.incoming.recv().await {
            Some(incoming) => incoming,
            None => std::future::pending().await,
        }
    }
}

impl Drop for MemoryListener {
    fn drop(&mut self) {
        self.net.unbind(self.local.port());
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_pipe_carries_bytes_both_ways_and_a_closed_listener_refuses() {
        let net = MemoryNet::new();
        let mut listener = net.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let port = listener.local_addr().port();
        assert!(port >= FIRST_PORT);
        let mut client = net.connect(port).unwrap();
        let (mut server, peer) = listener.accept().await;
        assert_eq!(peer.ip(), Ipv4Addr::LOCALHOST);
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        server.write_all(b"pong").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");

        let taken = net.bind(SocketAddr::from(([127, 0, 0, 1], port)));
        assert_eq!(taken.unwrap_err().kind(), io::ErrorKind::AddrInUse);
        drop(listener);
        let refused = net.connect(port).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(
            net.connect(9).unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
    }

    #[tokio::test]
    async fn like_tcp_the_first_write_after_the_peer_closed_is_accepted_and_later_ones_fail() {
        let net = MemoryNet::new();
        let mut listener = net.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let mut client = net.connect(listener.local_addr().port()).unwrap();
        let (server, _) = listener.accept().await;
        drop(server);
        client.write_all(b"accepted, then reset").await.unwrap();
        let err = client.write_all(b"refused").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let mut buf = [0u8; 1];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0, "end of stream");
    }

    #[tokio::test]
    async fn fresh_ports_are_handed_out_in_order_so_runs_are_reproducible() {
        let first = MemoryNet::new();
        let second = MemoryNet::new();
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let a: Vec<u16> = (0..3)
            .map(|_| first.bind(any).unwrap().local_addr().port())
            .collect();
        let b: Vec<u16> = (0..3)
            .map(|_| second.bind(any).unwrap().local_addr().port())
            .collect();
        assert_eq!(a, b);
        assert_eq!(a, vec![FIRST_PORT, FIRST_PORT + 1, FIRST_PORT + 2]);
    }
}
