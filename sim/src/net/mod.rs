//! The transport seam: everything in callsim that opens or accepts a connection goes through a
//! [`Network`], which is real TCP or the in-process [`MemoryNet`].
//!
//! - `memory`: the memory network (pipes, listeners, deterministic ports).
//! - `faults`: [`FaultyLink`], latency, jitter, a stall and a cut on a link's memory connections.
//! - `stream`: [`NetStream`] and [`NetListener`], one connection and one listener type for both.
//! - `http`: [`HttpClient`], the HTTP client the fakes and the runner use.
//! - `ws`: [`ws_connect`], a WebSocket client over either transport.
//!
//! External targets are always driven over TCP. In-process runs use memory by default and TCP
//! with `--transport tcp`; the same HTTP and WebSocket bytes cross either.

mod faults;
mod http;
mod memory;
mod stream;
mod wake_gate;
mod ws;

use std::io;
use std::net::SocketAddr;

pub use faults::{FaultyLink, LinkFaults};
pub use http::{HttpClient, HttpError, HttpResponse, MAX_BODY, RequestBuilder};
pub use memory::{MemoryListener, MemoryNet, MemoryStream};
pub use stream::{NetListener, NetStream};
pub use wake_gate::WakeGated;
pub use ws::{NetWebSocket, WS_READ_BUFFER, ws_connect};

/// Which transport an in-process run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Transport {
    /// In-process pipes: no kernel, deterministic by construction (the default in-process).
    #[default]
    Memory,
    /// Real loopback sockets.
    Tcp,
}

impl Transport {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Memory => "memory",
            Transport::Tcp => "tcp",
        }
    }
}

/// Where connections go: real TCP, or one in-process memory network.
#[derive(Debug, Clone)]
pub enum Network {
    /// The kernel's sockets.
    Tcp,
    /// In-process pipes.
    Memory(MemoryNet),
}

impl Network {
    /// A fresh network of the given transport.
    pub fn new(transport: Transport) -> Network {
        match transport {
            Transport::Tcp => Network::Tcp,
            Transport::Memory => Network::Memory(MemoryNet::new()),
        }
    }

    /// The transport it is.
    pub fn transport(&self) -> Transport {
        match self {
            Network::Tcp => Transport::Tcp,
            Network::Memory(_) => Transport::Memory,
        }
    }

    /// A network whose connections to `port` go through `link`; `None` over TCP, whose
    /// connections callsim cannot delay or cut.
    pub fn with_link(&self, port: u16, link: &std::sync::Arc<FaultyLink>) -> Option<Network> {
        match self {
            Network::Tcp => None,
            Network::Memory(net) => Some(Network::Memory(net.with_link(port, link))),
        }
    }

    /// Listens on `addr` (port 0: any free port).
    pub async fn bind(&self, addr: SocketAddr) -> io::Result<NetListener> {
        match self {
            Network::Tcp => tokio::net::TcpListener::bind(addr)
                .await
                .map(NetListener::Tcp),
            Network::Memory(net) => net.bind(addr).map(NetListener::Memory),
        }
    }

    /// Connects to `host:port`. The memory network has one host, so it only looks at the port.
    pub async fn connect(&self, host: &str, port: u16) -> io::Result<NetStream> {
        match self {
            Network::Tcp => {
                let tcp = tokio::net::TcpStream::connect((host, port)).await?;
                // Small frames must not wait for an ACK (see `NetListener::accept`).
                tcp.set_nodelay(true)?;
                Ok(NetStream::Tcp(tcp))
            }
            Network::Memory(net) => net.connect(port).map(NetStream::Memory),
        }
    }
}
