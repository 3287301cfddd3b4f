//! Loopback ports for callsim's fakes when the server under test is a process that listens on
//! port 0: they stay bound while the server starts, so the kernel cannot hand the server one of
//! them (it did, once in a run under load: callsim then failed to bind its REST fake).

use std::net::TcpListener;

/// Ports held bound until [`Reserved::release`].
pub(crate) struct Reserved {
    _held: Vec<TcpListener>,
}

impl Reserved {
    /// `n` distinct free loopback ports, held.
    pub(crate) fn new(n: usize) -> (Vec<u16>, Reserved) {
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
            .collect();
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().expect("a bound address").port())
            .collect();
        (ports, Reserved { _held: listeners })
    }

    /// Frees the ports for callsim to bind, once the server has its own.
    pub(crate) fn release(self) {}
}
