//! The runtime and the wall-clock guard around everything one scenario does: a fresh tokio
//! runtime per scenario (with a paused clock for in-process virtual time) on a thread of its own,
//! and a wall-clock limit so that no single file can hang the run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError, mpsc};
use std::time::Duration;

use super::artifacts::{PanicRecord, RunArtifacts};
use super::cpu::CpuTime;
use super::error::HarnessError;
use super::runner::run_plan;
use super::target::{Target, Transport};
use crate::capture::Capture;
use crate::scenario::plan::{ClockMode, Plan};

/// Why guarded work produced no result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GuardError {
    /// It ran past the wall-clock limit.
    #[error(
        "scenario exceeded the wall-clock limit of {}s (a component never yielded); raise it \
         with --wall-limit if the scenario is meant to be this slow",
        .0.as_secs()
    )]
    WallClock(Duration),
    /// Its thread panicked.
    #[error("the scenario thread panicked (this is a callsim bug)")]
    Panic,
    /// No thread could be started for it.
    #[error("cannot start a thread: {0}")]
    Thread(String),
}

/// Runs `work` in its own thread and waits at most `limit` for it.
///
/// A thread that overruns is left to finish on its own (threads cannot be cancelled); its result
/// is dropped.
pub fn guarded<T: Send + 'static>(
    name: String,
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, GuardError> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        // The receiver may be gone after a timeout; nothing is left to tell then.
        let _ = tx.send(work());
    });
    if let Err(e) = spawned {
        return Err(GuardError::Thread(e.to_string()));
    }
    match rx.recv_timeout(limit) {
        Ok(result) => Ok(result),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(GuardError::WallClock(limit)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(GuardError::Panic),
    }
}

fn runtime_for(plan: &Plan, target: &Target) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    if target.transport() == Transport::Memory {
        // Nothing of an in-process run over memory pipes touches a socket, a signal or a child
        // process, so the runtime needs only its timer: without the I/O and process drivers a
        // park is not an `epoll_wait` and an orphan reap, which the paused clock does at every
        // 20 ms frame.
        builder.enable_time();
    } else {
        builder.enable_all();
    }
    if plan.clock == ClockMode::Virtual && matches!(target, Target::InProcess { .. }) {
        // One paused clock for the server, the mock AI and the fake Twilio: they all run on this
        // runtime, so virtual time is consistent and advances only when every task is idle.
        builder.start_paused(true);
        // Over memory pipes nothing is ever in flight outside the runtime, so when every task
        // is idle the clock may jump. Over loopback TCP it may not be: just before the runtime
        // parks (and the paused clock jumps to the next timer), give the kernel a moment to
        // deliver data still in flight. Under CPU contention Linux defers TCP delivery to
        // ksoftirqd, and data that lands after the jump is seen at a later virtual time. This
        // narrows that race; only the memory transport closes it.
        if target.transport() == Transport::Tcp {
            builder.on_thread_park(std::thread::yield_now);
        }
    }
    builder.build()
}

/// Why a guarded run produced no artifacts.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The run itself failed.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// The guard stopped waiting for it.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// No runtime could be built.
    #[error("cannot start a tokio runtime: {0}")]
    Runtime(String),
}

/// Threads that run scenarios are named with this prefix; the panic hook records what panics on
/// them instead of printing it, so a panicking task of the server under test becomes a finding of
/// its scenario (a tokio task's panic would otherwise only end that task, silently).
const SCENARIO_THREAD: &str = "callsim-scenario-";

/// Panics seen on scenario threads, by thread name: (tokio time of the panic, message).
type PanicsByThread = HashMap<String, Vec<(tokio::time::Instant, String)>>;

static PANICS: Mutex<Option<PanicsByThread>> = Mutex::new(None);

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let Some(name) = thread.name().filter(|n| n.starts_with(SCENARIO_THREAD)) else {
                previous(info);
                return;
            };
            let payload = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            let at = info
                .location()
                .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                .unwrap_or_default();
            let mut panics = PANICS.lock().unwrap_or_else(PoisonError::into_inner);
            panics
                .get_or_insert_with(HashMap::new)
                .entry(name.to_string())
                .or_default()
                .push((tokio::time::Instant::now(), format!("{payload}{at}")));
        }));
    });
}

/// The panics recorded on the named thread, forgotten once taken.
fn take_panics(thread: &str, started: tokio::time::Instant) -> Vec<PanicRecord> {
    let mut panics = PANICS.lock().unwrap_or_else(PoisonError::into_inner);
    panics
        .as_mut()
        .and_then(|m| m.remove(thread))
        .unwrap_or_default()
        .into_iter()
        .map(|(at, message)| PanicRecord {
            at_ms: u64::try_from(at.saturating_duration_since(started).as_millis())
                .unwrap_or(u64::MAX),
            message,
        })
        .collect()
}

/// Runs a plan on a fresh runtime in its own thread, bounded by a wall-clock limit. Panics of
/// tasks on that runtime are recorded in the artifacts.
pub fn execute(
    plan: &Plan,
    target: &Target,
    wall_limit: Duration,
    capture: &Capture,
) -> Result<(RunArtifacts, CpuTime), ExecuteError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    install_panic_hook();
    let plan_for_thread = plan.clone();
    let target = target.clone();
    let capture = capture.clone();
    let thread = format!(
        "{SCENARIO_THREAD}{}-{}",
        NEXT.fetch_add(1, Ordering::Relaxed),
        plan.name
    );
    let name = thread.clone();
    guarded(thread, wall_limit, move || {
        let cpu_before = CpuTime::of_this_thread();
        let rt = runtime_for(&plan_for_thread, &target)
            .map_err(|e| ExecuteError::Runtime(e.to_string()))?;
        let (result, started) = rt.block_on(async {
            let started = tokio::time::Instant::now();
            (run_plan(&plan_for_thread, &target, &capture).await, started)
        });
        let mut art = result?;
        art.panics = take_panics(&name, started);
        // Everything of the scenario ran on this thread's runtime: the fakes, the mock AI and
        // an in-process server.
        Ok((art, CpuTime::of_this_thread().since(cpu_before)))
    })?
}
