//! Network faults on the memory transport: latency with seeded jitter, a stall and a cut, on
//! every connection of one link (the server's connections to the mock AI, or the fake Twilio's
//! connections to the server).
//!
//! A connection of a faulty link is two memory pipes with a relay between them: the relay reads
//! each chunk as soon as one end writes it, stamps it with a delivery time, and writes it to the
//! other end at that time. Because the relay runs on the run's runtime and waits through tokio
//! time, a paused clock plays the faults in virtual time, and the same seed gives the same
//! delivery times, so two runs stay byte-identical.

use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::{Either, select};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use crate::ids::IdGen;

/// The most bytes one read of a relay takes: a chunk is delivered as one write.
const READ_CHUNK: usize = 16 * 1024;
/// The most chunks a relay holds in each direction before it stops reading, so that a peer that
/// never reads pushes back on the writer as a full TCP window would (at most 16 MiB).
const MAX_CHUNKS_IN_FLIGHT: usize = 1024;

/// What a faulty link does to its connections; every time counts from the scenario start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkFaults {
    /// One-way latency added in each direction.
    pub latency: Duration,
    /// Each chunk's latency varies uniformly within ± this, drawn from the seed.
    pub jitter: Duration,
    /// Nothing is delivered in either direction from `.0` for `.1`; what queued follows then.
    pub stall: Option<(Duration, Duration)>,
    /// Every connection open at this time is cut: both ends see the connection end.
    pub drop_at: Option<Duration>,
}

/// A link's faults with the scenario's start and seed, shared by the link's connections.
#[derive(Debug)]
pub struct FaultyLink {
    faults: LinkFaults,
    start: Instant,
    ids: IdGen,
    connections: AtomicU64,
}

impl FaultyLink {
    /// A link whose times count from `start` and whose jitter comes from `ids`.
    pub fn new(faults: LinkFaults, start: Instant, ids: IdGen) -> Arc<FaultyLink> {
        Arc::new(FaultyLink {
            faults,
            start,
            ids,
            connections: AtomicU64::new(0),
        })
    }

    /// Relays between `client` (the far end of the connecting side's pipe) and `server` (the far
    /// end of the listening side's pipe) on the current runtime until both directions end or the
    /// link drops.
    pub(super) fn spawn_relay(
        self: &Arc<Self>,
        client: DuplexStream,
        server: DuplexStream,
    ) -> io::Result<()> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("a faulty link needs a tokio runtime: {e}")))?;
        // Each connection draws from its own fork of the seed, so its jitter does not depend on
        // how much traffic the link's other connections carried before it.
        let index = self.connections.fetch_add(1, Ordering::Relaxed);
        let ids = self.ids.fork(&format!("connection-{index}"));
        let link = Arc::clone(self);
        runtime.spawn(async move { link.relay(client, server, &ids).await });
        Ok(())
    }

    /// The stall window as instants.
    fn stall(&self) -> Option<(Instant, Instant)> {
        self.faults
            .stall
            .map(|(at, length)| (self.start + at, self.start + at + length))
    }

    /// The schedule of one direction of a connection.
    fn schedule(&self, ids: IdGen) -> Schedule {
        Schedule {
            latency: self.faults.latency,
            jitter: self.faults.jitter,
            stall: self.stall(),
            ids,
            last: None,
        }
    }

    async fn relay(&self, client: DuplexStream, server: DuplexStream, ids: &IdGen) {
        let (client_read, client_write) = tokio::io::split(client);
        let (server_read, server_write) = tokio::io::split(server);
        let up = direction(client_read, server_write, self.schedule(ids.fork("up")));
        let down = direction(server_read, client_write, self.schedule(ids.fork("down")));
        let both = both_directions(up, down);
        match self.faults.drop_at.map(|at| self.start + at) {
            // Only the connections open at the drop are cut; one opened after it is left alone,
            // as a network that came back would.
            Some(cut) if cut > Instant::now() => {
                // Biased, as every select on the run's clock: an unbiased one draws its order
                // at random, and a seeded run must be the same bytes every time.
                tokio::select! {
                    biased;
                    () = both => {}
                    () = sleep_until(cut) => {}
                }
            }
            _ => both.await,
        }
        // Returning drops every half of both pipes: each end reads the end of the stream and
        // its writes fail, with no close frame or anything else sent, as after a network failure.
    }
}

/// How one direction of a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The sender closed; everything it sent was delivered and the receiver saw the end.
    Closed,
    /// The receiver was gone: what TCP would answer with a reset, which ends both directions.
    Reset,
}

/// Runs both directions; a reset in either ends both, as a TCP reset does.
async fn both_directions(up: impl Future<Output = Ended>, down: impl Future<Output = Ended>) {
    // A closed direction leaves the other one running, as a half-closed TCP connection does.
    let _ = match select(pin!(up), pin!(down)).await {
        Either::Left((Ended::Reset, _)) | Either::Right((Ended::Reset, _)) => Ended::Reset,
        Either::Left((Ended::Closed, other)) => other.await,
        Either::Right((Ended::Closed, other)) => other.await,
    };
}

/// One chunk on its way.
#[derive(Debug)]
struct Chunk {
    deliver_at: Instant,
    bytes: Vec<u8>,
}

/// Carries one direction: reads chunks as they are written and delivers each at its time.
async fn direction(
    from: ReadHalf<DuplexStream>,
    to: WriteHalf<DuplexStream>,
    schedule: Schedule,
) -> Ended {
    let stall = schedule.stall;
    let (queue, queued) = mpsc::channel(MAX_CHUNKS_IN_FLIGHT);
    let read = read_side(from, queue, schedule);
    let write = write_side(to, queued, stall);
    match select(pin!(read), pin!(write)).await {
        // The sender closed: what it sent is still delivered, then the receiver sees the end.
        Either::Left(((), write)) => write.await,
        // The writer can only end first when the receiver is gone.
        Either::Right((ended, _)) => ended,
    }
}

async fn read_side(
    mut from: ReadHalf<DuplexStream>,
    queue: mpsc::Sender<Chunk>,
    mut schedule: Schedule,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        // The room is reserved before reading, so a chunk is stamped when it was sent, not when
        // the queue had room for it.
        let Ok(permit) = queue.reserve().await else {
            return;
        };
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        permit.send(Chunk {
            deliver_at: schedule.deliver_at(Instant::now()),
            bytes: buf[..n].to_vec(),
        });
    }
}

async fn write_side(
    mut to: WriteHalf<DuplexStream>,
    mut queued: mpsc::Receiver<Chunk>,
    stall: Option<(Instant, Instant)>,
) -> Ended {
    while let Some(chunk) = queued.recv().await {
        sleep_until(chunk.deliver_at).await;
        if let Some((from, until)) = stall {
            let now = Instant::now();
            if now >= from && now < until {
                sleep_until(until).await;
            }
        }
        if to.write_all(&chunk.bytes).await.is_err() {
            return Ended::Reset;
        }
    }
    // A failed shutdown means the receiver is gone already; it sees the end either way.
    let _ = to.shutdown().await;
    Ended::Closed
}

/// When each chunk of one direction is delivered: the send time plus the latency and a seeded
/// jitter, never before it was sent and never before the chunk ahead of it.
#[derive(Debug)]
struct Schedule {
    latency: Duration,
    jitter: Duration,
    /// The stall window, which the writer applies on delivery.
    stall: Option<(Instant, Instant)>,
    ids: IdGen,
    last: Option<Instant>,
}

impl Schedule {
    fn deliver_at(&mut self, sent: Instant) -> Instant {
        let delay = self.latency_sample();
        let at = (sent + delay).max(self.last.unwrap_or(sent));
        self.last = Some(at);
        at
    }

    /// The latency plus a jitter drawn uniformly in whole milliseconds within ± the jitter, at
    /// least zero.
    fn latency_sample(&self) -> Duration {
        let jitter_ms = millis(self.jitter);
        if jitter_ms == 0 {
            return self.latency;
        }
        let span = jitter_ms.saturating_mul(2).saturating_add(1);
        let offset_ms = i128::from(self.ids.next_u64() % span) - i128::from(jitter_ms);
        let total_ms = i128::from(millis(self.latency)) + offset_ms;
        Duration::from_millis(u64::try_from(total_ms.max(0)).unwrap_or(u64::MAX))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::net::{MemoryNet, MemoryStream};

    const MS: Duration = Duration::from_millis(1);

    /// A connection through a link with `faults`, whose times count from `start`: the client's
    /// end and the server's end.
    async fn connection(
        faults: LinkFaults,
        start: Instant,
        seed: u64,
    ) -> (MemoryStream, MemoryStream) {
        let net = MemoryNet::new();
        let mut listener = net.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let port = listener.local_addr().port();
        let link = FaultyLink::new(faults, start, IdGen::new(seed));
        let client = net.with_link(port, &link).connect(port).unwrap();
        let (server, _) = listener.accept().await;
        (client, server)
    }

    /// Reads exactly `n` bytes and answers them with when they were complete.
    async fn read_n(stream: &mut MemoryStream, n: usize, start: Instant) -> (Vec<u8>, Duration) {
        let mut buf = vec![0u8; n];
        stream.read_exact(&mut buf).await.unwrap();
        (buf, Instant::now() - start)
    }

    #[tokio::test(start_paused = true)]
    async fn latency_shifts_delivery_by_exactly_the_latency_in_each_direction() {
        let start = Instant::now();
        let faults = LinkFaults {
            latency: 300 * MS,
            ..LinkFaults::default()
        };
        let (mut client, mut server) = connection(faults, start, 1).await;
        client.write_all(b"ping").await.unwrap();
        assert_eq!(
            read_n(&mut server, 4, start).await,
            (b"ping".to_vec(), 300 * MS)
        );
        tokio::time::sleep(100 * MS).await;
        server.write_all(b"pong").await.unwrap();
        assert_eq!(
            read_n(&mut client, 4, start).await,
            (b"pong".to_vec(), 700 * MS)
        );
    }

    /// Sends one byte every 10 ms over a link with 100 ms ± 80 ms and answers when each arrived.
    async fn arrivals(seed: u64) -> Vec<Duration> {
        let start = Instant::now();
        let faults = LinkFaults {
            latency: 100 * MS,
            jitter: 80 * MS,
            ..LinkFaults::default()
        };
        let (mut client, mut server) = connection(faults, start, seed).await;
        let sender = tokio::spawn(async move {
            for i in 0..50u8 {
                client.write_all(&[i]).await.unwrap();
                tokio::time::sleep(10 * MS).await;
            }
            client
        });
        let mut times = Vec::new();
        for i in 0..50u8 {
            let (byte, at) = read_n(&mut server, 1, start).await;
            assert_eq!(byte, vec![i], "bytes arrive in the order they were sent");
            times.push(at);
        }
        drop(sender.await.unwrap());
        times
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_is_seeded_bounded_and_never_reorders() {
        let first = arrivals(7).await;
        assert_eq!(
            first,
            arrivals(7).await,
            "the same seed gives the same times"
        );
        assert_ne!(first, arrivals(8).await, "another seed gives other times");
        assert!(first.windows(2).all(|w| w[0] <= w[1]), "{first:?}");
        for (i, at) in first.iter().enumerate() {
            let sent = 10 * MS * u32::try_from(i).unwrap();
            assert!(
                *at >= sent + 20 * MS,
                "chunk {i} at {at:?}: more than -80 ms"
            );
            // A chunk may wait behind a later draw of the one ahead of it, never past its
            // own upper bound plus that of the one ahead.
            assert!(
                *at <= sent + 180 * MS,
                "chunk {i} at {at:?}: more than +80 ms"
            );
        }
        let distinct: std::collections::BTreeSet<_> = first
            .iter()
            .zip(0u32..)
            .map(|(at, i)| *at - 10 * MS * i)
            .collect();
        assert!(distinct.len() > 10, "the delays vary: {distinct:?}");
    }

    #[test]
    fn a_jitter_larger_than_the_latency_never_delivers_before_the_send() {
        let mut schedule = Schedule {
            latency: 10 * MS,
            jitter: 500 * MS,
            stall: None,
            ids: IdGen::new(3),
            last: None,
        };
        let sent = Instant::now();
        let mut previous = sent;
        let mut at_send = 0;
        for _ in 0..200 {
            let at = schedule.deliver_at(sent);
            assert!(at >= previous && at <= sent + 510 * MS);
            at_send += usize::from(at == sent);
            previous = at;
        }
        assert!(at_send > 0, "a negative draw is clamped to the send time");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_holds_bytes_in_both_directions_until_its_end() {
        let start = Instant::now();
        let faults = LinkFaults {
            latency: 50 * MS,
            stall: Some((Duration::from_secs(1), Duration::from_secs(3))),
            ..LinkFaults::default()
        };
        let (mut client, mut server) = connection(faults, start, 1).await;
        client.write_all(b"a").await.unwrap();
        assert_eq!(read_n(&mut server, 1, start).await.1, 50 * MS);
        tokio::time::sleep_until(start + 1200 * MS).await;
        client.write_all(b"b").await.unwrap();
        server.write_all(b"c").await.unwrap();
        tokio::time::sleep(MS * 500).await;
        client.write_all(b"d").await.unwrap();
        assert_eq!(
            read_n(&mut server, 2, start).await,
            (b"bd".to_vec(), 4000 * MS)
        );
        assert_eq!(
            read_n(&mut client, 1, start).await,
            (b"c".to_vec(), 4000 * MS)
        );
        // After the stall the latency is back to normal.
        client.write_all(b"e").await.unwrap();
        assert_eq!(read_n(&mut server, 1, start).await.1, 4050 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_drop_ends_both_sides_and_spares_later_connections() {
        let start = Instant::now();
        let faults = LinkFaults {
            latency: 100 * MS,
            drop_at: Some(Duration::from_secs(2)),
            ..LinkFaults::default()
        };
        let net = MemoryNet::new();
        let mut listener = net.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let port = listener.local_addr().port();
        let faulty = net.with_link(port, &FaultyLink::new(faults, start, IdGen::new(1)));
        let mut client = faulty.connect(port).unwrap();
        let (mut server, _) = listener.accept().await;
        tokio::time::sleep_until(start + 1950 * MS).await;
        // Sent 50 ms before the cut with 100 ms of latency: lost with the connection.
        client.write_all(b"lost").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            server.read(&mut buf).await.unwrap(),
            0,
            "the server sees the end"
        );
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
        assert_eq!(
            client.read(&mut buf).await.unwrap(),
            0,
            "the client sees the end"
        );
        // As after a reset: the first write is accepted, the next one fails.
        client.write_all(b"x").await.unwrap();
        assert!(client.write_all(b"y").await.is_err());

        let mut later = faulty.connect(port).unwrap();
        let (mut accepted, _) = listener.accept().await;
        later.write_all(b"ok").await.unwrap();
        assert_eq!(
            read_n(&mut accepted, 2, start).await,
            (b"ok".to_vec(), 2100 * MS)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_close_is_delivered_after_the_bytes_ahead_of_it() {
        let start = Instant::now();
        let faults = LinkFaults {
            latency: 200 * MS,
            ..LinkFaults::default()
        };
        let (mut client, mut server) = connection(faults, start, 1).await;
        client.write_all(b"bye").await.unwrap();
        drop(client);
        let mut all = Vec::new();
        server.read_to_end(&mut all).await.unwrap();
        assert_eq!((all, Instant::now() - start), (b"bye".to_vec(), 200 * MS));
    }

    #[tokio::test(start_paused = true)]
    async fn connections_to_other_ports_and_from_other_handles_are_not_faulty() {
        let start = Instant::now();
        let net = MemoryNet::new();
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut slow = net.bind(any).unwrap();
        let mut other = net.bind(any).unwrap();
        let faults = LinkFaults {
            latency: Duration::from_secs(1),
            ..LinkFaults::default()
        };
        let link = FaultyLink::new(faults, start, IdGen::new(1));
        let faulty = net.with_link(slow.local_addr().port(), &link);
        // Through the link, to another port, and to the link's port from a handle without it.
        let cases = [
            (&faulty, true, 1000 * MS),
            (&faulty, false, Duration::ZERO),
            (&net, true, Duration::ZERO),
        ];
        for (net, to_slow, expected) in cases {
            let listener = if to_slow { &mut slow } else { &mut other };
            let sent = Instant::now();
            let mut client = net.connect(listener.local_addr().port()).unwrap();
            let (mut server, _) = listener.accept().await;
            client.write_all(b"x").await.unwrap();
            assert_eq!(read_n(&mut server, 1, sent).await.1, expected);
        }
    }
}
