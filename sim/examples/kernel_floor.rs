//! The kernel's floor under `callsim load --calibrate`: what one TCP socket per call and one
//! `write` per 20 ms frame cost a generator thread on this machine, with no runtime, no
//! WebSocket codec and no JSON in the way.
//!
//! It opens `--calls` loopback connections to a raw byte echo on a thread of its own (pinned to
//! `--echo-cpu`), and on the main thread (pinned to `--client-cpu`) writes one pre-built masked
//! WebSocket text frame carrying callsim's calibration `media` message on each connection every
//! 20 ms, the calls' phases spread evenly over the 20 ms as a ramp leaves them, and reads the
//! echoes through epoll (mio). After `--warmup` seconds it measures `--secs` seconds and prints
//! the main thread's CPU time (`getrusage(RUSAGE_THREAD)`, user and system) per call-second:
//! the figure `callsim load` reports as `cpu_ms_per_call_second`.
//!
//! ```text
//! cargo run --release -p sim --example kernel_floor -- --calls 1000 --secs 10
//! ```
//!
//! `--burst` sends every call's frame in one wake-up per 20 ms instead (the fewest wake-ups
//! there can be); `--read-until-wouldblock` reads each ready socket until `EAGAIN`, as a
//! readiness-based runtime such as tokio does, instead of stopping after a short read.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use sim::load::health::thread_cpu;
use sim::load::pin::pin_this_thread;
use sim::load::wire::{StreamIds, media};

/// One frame of caller audio.
const FRAME: Duration = Duration::from_millis(20);
/// The read buffer, shared by every connection of a thread.
const READ_BUFFER: usize = 64 * 1024;
/// How often the echo thread looks at its stop flag when no data arrives.
const ECHO_POLL: Duration = Duration::from_millis(100);

/// Command line of the tool.
#[derive(Debug, Parser)]
#[command(about = "The kernel's CPU floor for callsim load's calibration traffic")]
struct Cli {
    /// Concurrent connections (calls).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    calls: u32,
    /// Seconds measured.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    secs: u64,
    /// Seconds run before measuring.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup: u64,
    /// CPU of the sending thread (the generator).
    #[arg(long, default_value_t = 0)]
    client_cpu: usize,
    /// CPU of the echo thread.
    #[arg(long, default_value_t = 1)]
    echo_cpu: usize,
    /// Every call's frame in one wake-up per 20 ms, instead of phases spread over the 20 ms.
    #[arg(long)]
    burst: bool,
    /// Read each ready socket until `EAGAIN` (as tokio does), not only until a short read.
    #[arg(long)]
    read_until_wouldblock: bool,
    /// The echo reads and drops every frame: what the writes alone cost.
    #[arg(long)]
    send_only: bool,
}

/// The calibration call's `media` message (`callsim load --calibrate`'s payload and sizes) in a
/// masked client text frame, as tungstenite writes it.
fn prebuilt_frame() -> Vec<u8> {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..sim::audio::FRAME_BYTES)
        .map(|i| 0xFF - (i % 32) as u8)
        .collect();
    let payload = base64::engine::general_purpose::STANDARD.encode(bytes);
    let ids = StreamIds {
        account_sid: format!("AC{:032x}", 0),
        call_sid: format!("CA{:032x}", 1),
        stream_sid: format!("MZ{:032x}", 2),
    };
    // A mid-call frame: four-digit sequence and chunk numbers.
    let text = media(&ids, 1002, 1001, &payload);
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81];
    match text.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The echo: every byte back as it came, on a thread of its own.
fn echo(
    listener: TcpListener,
    calls: usize,
    cpu: usize,
    send_back: bool,
    stop: Arc<AtomicBool>,
) -> Echo {
    let handle = thread::spawn(move || -> anyhow::Result<Duration> {
        pin_this_thread(cpu).map_err(anyhow::Error::msg)?;
        let mut poll = Poll::new()?;
        let mut conns = Vec::with_capacity(calls);
        for i in 0..calls {
            let (socket, _) = listener.accept().context("echo accept")?;
            conns.push(register(&poll, socket, i)?);
        }
        let mut events = Events::with_capacity(1024);
        let mut buf = vec![0u8; READ_BUFFER];
        while !stop.load(Ordering::Relaxed) {
            poll.poll(&mut events, Some(ECHO_POLL))?;
            for event in &events {
                let socket = &mut conns[event.token().0];
                loop {
                    match socket.read(&mut buf) {
                        Ok(0) => break,
                        // The peer reads all the time and the buffers are far larger than a
                        // few frames, so a blocking write-all never waits long.
                        Ok(n) if send_back => write_all(socket, &buf[..n], &stop)?,
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(thread_cpu())
    });
    Echo { handle }
}

struct Echo {
    handle: thread::JoinHandle<anyhow::Result<Duration>>,
}

/// Writes all of `bytes` on a nonblocking socket, spinning on `EAGAIN` (rare: see the callers)
/// until `stop` is set.
fn write_all(socket: &mut TcpStream, mut bytes: &[u8], stop: &AtomicBool) -> std::io::Result<()> {
    while !bytes.is_empty() && !stop.load(Ordering::Relaxed) {
        match socket.write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                thread::yield_now();
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The generator side's counters over the measured window.
#[derive(Default)]
struct Counters {
    frames_sent: u64,
    bytes_received: u64,
    wakeups: u64,
    short_writes: u64,
}

/// What one run measured.
struct Measured {
    counters: Counters,
    wall: Duration,
    user: Duration,
    sys: Duration,
    lateness: Histogram<u64>,
}

/// The calls in phase order: call `p` is due at `t0 + round * 20 ms + phase(p)`.
struct Schedule {
    t0: Instant,
    calls: usize,
    burst: bool,
    next: usize,
    round: u32,
}

impl Schedule {
    fn due(&self) -> Instant {
        let phase = if self.burst {
            Duration::ZERO
        } else {
            FRAME * u32::try_from(self.next).unwrap_or(u32::MAX)
                / u32::try_from(self.calls).unwrap_or(1)
        };
        self.t0 + FRAME * self.round + phase
    }

    fn advance(&mut self) {
        self.next += 1;
        if self.next == self.calls {
            self.next = 0;
            self.round += 1;
        }
    }
}

fn user_sys() -> (Duration, Duration) {
    use nix::sys::resource::{UsageWho, getrusage};
    let Ok(u) = getrusage(UsageWho::RUSAGE_THREAD) else {
        return (Duration::ZERO, Duration::ZERO);
    };
    let d = |tv: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(tv.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(tv.tv_usec()).unwrap_or(0))
    };
    (d(u.user_time()), d(u.system_time()))
}

/// The generator loop: sends what is due, reads what is ready, sleeps in epoll until the next
/// frame is due (epoll's timeout is whole milliseconds, like tokio's timer wheel). A wake-up
/// counts one pass of this loop.
fn generate(
    cli: &Cli,
    conns: &mut [TcpStream],
    poll: &mut Poll,
    stop: &AtomicBool,
) -> anyhow::Result<Measured> {
    let frame = prebuilt_frame();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_BUFFER];
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(cli.warmup);
    let end = measure_from + Duration::from_secs(cli.secs);
    let mut sched = Schedule {
        t0: start,
        calls: conns.len(),
        burst: cli.burst,
        next: 0,
        round: 0,
    };
    let mut c = Counters::default();
    let mut lateness = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut window: Option<(Instant, (Duration, Duration))> = None;
    loop {
        let now = Instant::now();
        if window.is_none() && now >= measure_from {
            c = Counters::default();
            lateness.reset();
            window = Some((now, user_sys()));
        }
        if now >= end {
            break;
        }
        c.wakeups += 1;
        // At most one frame per call before the reads, as an event loop is fair between its
        // timers and its sockets: a generator that falls behind must still read its echoes.
        let mut budget = conns.len();
        while budget > 0 && sched.due() <= now {
            budget -= 1;
            lateness.saturating_record(
                u64::try_from((now - sched.due()).as_micros()).unwrap_or(u64::MAX),
            );
            send(&mut conns[sched.next], &frame, stop, &mut c)
                .with_context(|| format!("write to connection {}", sched.next))?;
            c.frames_sent += 1;
            sched.advance();
        }
        // Zero when behind: epoll then only collects what is ready.
        let wait = sched.due().saturating_duration_since(Instant::now());
        poll.poll(&mut events, Some(wait))?;
        for event in &events {
            let i = event.token().0;
            c.bytes_received += drain(&mut conns[i], &mut buf, cli.read_until_wouldblock)
                .with_context(|| format!("read from connection {i}"))?;
        }
    }
    let (t, (user0, sys0)) = window.context("the measured window never started")?;
    let (user1, sys1) = user_sys();
    Ok(Measured {
        counters: c,
        wall: t.elapsed(),
        user: user1.saturating_sub(user0),
        sys: sys1.saturating_sub(sys0),
        lateness,
    })
}

/// Writes one frame, finishing a short write (counted) by spinning.
fn send(
    socket: &mut TcpStream,
    frame: &[u8],
    stop: &AtomicBool,
    c: &mut Counters,
) -> std::io::Result<()> {
    match socket.write(frame) {
        Ok(n) if n == frame.len() => Ok(()),
        Ok(n) => {
            c.short_writes += 1;
            write_all(socket, &frame[n..], stop)
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
            c.short_writes += 1;
            write_all(socket, frame, stop)
        }
        Err(e) => Err(e),
    }
}

/// Reads what a ready socket holds and answers the byte count.
fn drain(socket: &mut TcpStream, buf: &mut [u8], until_wouldblock: bool) -> anyhow::Result<u64> {
    let mut total = 0u64;
    loop {
        match socket.read(buf) {
            Ok(0) => bail!("the echo closed the connection"),
            Ok(n) => {
                total += n as u64;
                // Epoll is edge-triggered here: a short read drained the socket, and data
                // arriving later raises a new edge.
                if n < buf.len() && !until_wouldblock {
                    return Ok(total);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(total),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// One call's socket as both ends use it: `TCP_NODELAY` as callsim's, non-blocking, and
/// registered for reading under the call's index.
fn register(poll: &Poll, socket: std::net::TcpStream, i: usize) -> std::io::Result<TcpStream> {
    socket.set_nodelay(true)?;
    socket.set_nonblocking(true)?;
    let mut socket = TcpStream::from_std(socket);
    poll.registry()
        .register(&mut socket, Token(i), Interest::READABLE)?;
    Ok(socket)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let began = Instant::now();
    let calls = cli.calls as usize;
    let listener = TcpListener::bind("127.0.0.1:0").context("bind the echo")?;
    let addr: SocketAddr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let echo = echo(
        listener,
        calls,
        cli.echo_cpu,
        !cli.send_only,
        Arc::clone(&stop),
    );
    pin_this_thread(cli.client_cpu).map_err(anyhow::Error::msg)?;
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(calls);
    for i in 0..calls {
        let socket = std::net::TcpStream::connect(addr)
            .with_context(|| format!("connect call {i} (raise `ulimit -n`?)"))?;
        conns.push(register(&poll, socket, i)?);
    }
    let measured = generate(&cli, &mut conns, &mut poll, &stop);
    // The echo stops before the connections close, so that it never writes to a reset one.
    stop.store(true, Ordering::Relaxed);
    let echo_cpu = echo
        .handle
        .join()
        .map_err(|_| anyhow::anyhow!("the echo thread panicked"))??;
    drop(conns);
    report(&cli, &measured?, echo_cpu, began.elapsed());
    Ok(())
}

fn report(cli: &Cli, m: &Measured, echo_cpu: Duration, elapsed: Duration) {
    let frame_len = prebuilt_frame().len() as u64;
    let call_seconds = m.counters.frames_sent as f64 * FRAME.as_secs_f64();
    let per_cs = |d: Duration| d.as_secs_f64() * 1000.0 / call_seconds;
    let expected = f64::from(cli.calls) * m.wall.as_secs_f64() / FRAME.as_secs_f64();
    println!(
        "calls {} frame {frame_len} B {}{} reads {} | sent {} ({:.1} % of due) received {} ({:.1} %) \
         | wake-ups {:.0}/s short writes {} | lateness p99 {:.2} ms max {:.2} ms",
        cli.calls,
        if cli.burst { "burst" } else { "spread" },
        if cli.send_only { " send-only" } else { "" },
        if cli.read_until_wouldblock {
            "until-EAGAIN"
        } else {
            "until-short"
        },
        m.counters.frames_sent,
        100.0 * m.counters.frames_sent as f64 / expected,
        m.counters.bytes_received / frame_len,
        100.0 * (m.counters.bytes_received / frame_len) as f64
            / m.counters.frames_sent.max(1) as f64,
        m.counters.wakeups as f64 / m.wall.as_secs_f64(),
        m.counters.short_writes,
        m.lateness.value_at_quantile(0.99) as f64 / 1000.0,
        m.lateness.max() as f64 / 1000.0,
    );
    println!(
        "generator thread: {:.3} ms CPU per call-second (user {:.3} + sys {:.3}), {:.2} µs per frame, \
         CPU share {:.2}; echo thread CPU share {:.2} (whole run)",
        per_cs(m.user + m.sys),
        per_cs(m.user),
        per_cs(m.sys),
        (m.user + m.sys).as_secs_f64() * 1e6 / m.counters.frames_sent.max(1) as f64,
        (m.user + m.sys).as_secs_f64() / m.wall.as_secs_f64(),
        echo_cpu.as_secs_f64() / elapsed.as_secs_f64(),
    );
}
