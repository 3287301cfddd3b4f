//! The run loop: starts calls at the configured rate up to each step's concurrency, refills
//! the slots of calls that end, closes a ladder step or an interval row on time, and on the
//! last step, the run's bounds or Ctrl-C tells every call to hang up and waits (bounded) for
//! them.

use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::config::{LoadConfig, Shape};
use super::driver::{self, CallEnv, FRAME};
use super::echo;
use super::health::{GeneratorHealth, thread_cpu};
use super::metrics::{Metric, Metrics};
use super::plan::Templates;
use super::recorder::Recorder;
use super::report::IntervalRow;

/// How often the loop looks at the clock.
const TICK: Duration = Duration::from_millis(5);

/// What the calls talk to.
#[derive(Debug, Clone)]
pub enum Driver {
    /// A call server, through the fake Twilio.
    Calls(Arc<CallEnv>),
    /// A raw echo target at this `ws://` URL.
    Echo(String),
}

/// One ladder step (or the fixed shape's only step) as measured.
#[derive(Debug)]
pub struct StepOutcome {
    /// Concurrency aimed for.
    pub target: u64,
    /// Its wall time.
    pub wall: Duration,
    /// What was measured.
    pub metrics: Metrics,
    /// The generator's health over it.
    pub health: GeneratorHealth,
}

/// Everything the loop measured.
#[derive(Debug)]
pub struct Outcome {
    /// The steps in order.
    pub steps: Vec<StepOutcome>,
    /// The interval rows.
    pub intervals: Vec<IntervalRow>,
    /// Ctrl-C ended the run.
    pub interrupted: bool,
}

struct Loop<'a> {
    cfg: &'a LoadConfig,
    driver: Driver,
    templates: Arc<Templates>,
    recorder: Arc<Recorder>,
    active: Arc<AtomicU64>,
    hang_up: watch::Sender<bool>,
    started: u64,
    no_more_since: Option<Instant>,
    shard: u64,
    t_start: Instant,
    step_start: Instant,
    step_cpu: Duration,
    steps: Vec<StepOutcome>,
    intervals: Vec<IntervalRow>,
    progress: bool,
}

/// Runs the whole schedule on the current (generator) thread.
pub async fn run(
    cfg: &LoadConfig,
    driver: Driver,
    templates: Arc<Templates>,
    recorder: Arc<Recorder>,
    mut interrupt: watch::Receiver<bool>,
    progress: bool,
) -> Outcome {
    let now = Instant::now();
    let (hang_up, _) = watch::channel(false);
    let mut l = Loop {
        cfg,
        driver,
        templates,
        recorder,
        active: Arc::new(AtomicU64::new(0)),
        hang_up,
        started: 0,
        no_more_since: None,
        shard: cfg.shard.map_or(1, |s| s.index),
        t_start: now,
        step_start: now,
        step_cpu: thread_cpu(),
        steps: Vec::new(),
        intervals: Vec::new(),
        progress: progress && std::io::stderr().is_terminal(),
    };
    let targets = cfg.step_targets();
    let gap = Duration::from_secs_f64(1.0 / cfg.shard_rate());
    let mut next_start = now;
    let mut next_row = now + cfg.interval;
    let mut step = 0usize;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = interrupt.changed() => { interrupted = true; break; }
        }
        let now = Instant::now();
        if now >= next_row {
            l.row(now);
            next_row += cfg.interval;
        }
        match &cfg.shape {
            Shape::Ladder { step: len, .. } if now >= l.step_start + *len => {
                l.close_step(targets[step], now);
                step += 1;
                if step == targets.len() {
                    break;
                }
            }
            Shape::Fixed { .. } if l.fixed_done(now) => break,
            _ => {}
        }
        // No burst after a pause: the rate counts from now at the earliest.
        next_start = next_start.max(now - gap);
        while l.active.load(Ordering::Relaxed) < targets[step]
            && next_start <= now
            && l.may_start(now)
        {
            l.start_call();
            next_start += gap;
        }
    }
    l.finish(interrupted, &targets, step).await;
    Outcome {
        steps: l.steps,
        intervals: l.intervals,
        interrupted,
    }
}

impl Loop<'_> {
    /// Whether the bounds allow another call.
    fn may_start(&self, now: Instant) -> bool {
        if self.cfg.max_calls.is_some_and(|max| self.started >= max) {
            return false;
        }
        if let Some(d) = self.cfg.duration {
            return now < self.t_start + d;
        }
        match self.cfg.shape {
            // Without a duration each slot of a fixed shape is played once.
            Shape::Fixed { .. } => self.started < self.cfg.step_targets()[0],
            Shape::Ladder { .. } => true,
        }
    }

    /// A fixed shape is done when no call may start and none is active, or when the last call
    /// started has had its full length and the drain bound on top.
    fn fixed_done(&mut self, now: Instant) -> bool {
        if self.may_start(now) {
            return false;
        }
        let since = *self.no_more_since.get_or_insert(now);
        let longest = self
            .cfg
            .hold
            .unwrap_or_else(|| FRAME * self.templates.longest_frames());
        self.active.load(Ordering::Relaxed) == 0 || now >= since + longest + self.cfg.drain
    }

    fn start_call(&mut self) {
        let n = self.started + (self.shard - 1) * (1 << 40);
        self.started += 1;
        self.active.fetch_add(1, Ordering::Relaxed);
        self.recorder.count(|c| c.started += 1);
        let template = self.templates.pick(n);
        let frames = match self.cfg.hold {
            Some(hold) => (hold.as_millis() / FRAME.as_millis()) as u64,
            None => template.frames.len() as u64,
        };
        let recorder = Arc::clone(&self.recorder);
        let active = Arc::clone(&self.active);
        let stop = self.hang_up.subscribe();
        let driver = self.driver.clone();
        tokio::spawn(async move {
            let outcome = match &driver {
                Driver::Calls(env) => driver::drive(env, &template, n, frames, stop).await,
                Driver::Echo(url) => {
                    echo::drive_echo(url, &recorder, &template, n, frames, stop).await
                }
            };
            recorder.count(|c| match outcome {
                Ok(()) => c.completed += 1,
                Err(cause) => *c.failed.entry(cause).or_default() += 1,
            });
            active.fetch_sub(1, Ordering::Relaxed);
        });
    }

    fn row(&mut self, now: Instant) {
        let m = self.recorder.take_interval();
        let active = self.active.load(Ordering::Relaxed);
        let t_s = (now - self.t_start).as_secs_f64();
        let row = IntervalRow::new(self.shard, t_s, active, &m);
        if self.progress {
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r{t_s:7.1}s  active {active:6}  started {:5}/s  turn p95 {:7.1} ms  lateness p99 {:5.2} ms  failed {}   ",
                row.counts.started,
                row.turn_p95_ms,
                row.lateness_p99_ms,
                row.counts.failed_total()
            );
            let _ = err.flush();
        }
        self.intervals.push(row);
    }

    fn close_step(&mut self, target: u64, now: Instant) {
        let metrics = self.recorder.take_step();
        let cpu = thread_cpu();
        let wall = now - self.step_start;
        let lateness = metrics.summary(Metric::FrameLateness);
        let call_seconds = metrics.counts.frames_sent as f64 * FRAME.as_secs_f64();
        let health = GeneratorHealth::judge(
            self.shard,
            lateness.p99,
            lateness.max,
            cpu.saturating_sub(self.step_cpu),
            wall,
            call_seconds,
            self.cfg.health,
        );
        self.steps.push(StepOutcome {
            target,
            wall,
            metrics,
            health,
        });
        self.step_start = now;
        self.step_cpu = cpu;
    }

    /// Hangs up every call, waits for them within the drain bound and closes the last step
    /// (a fixed shape's only step, or the step Ctrl-C cut short) with what they recorded.
    async fn finish(&mut self, interrupted: bool, targets: &[u64], step: usize) {
        let _ = self.hang_up.send(true);
        let deadline = Instant::now() + self.cfg.drain;
        while self.active.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let now = Instant::now();
        if self.progress {
            eprintln!();
        }
        let open_step = step < targets.len();
        if open_step {
            self.close_step(targets[step], now);
        } else if let Some(last) = self.steps.last_mut() {
            // What calls hung up at the end recorded belongs to the last step.
            last.metrics.add(&self.recorder.take_step());
        }
        let tail = self.recorder.take_interval();
        if tail.counts != Default::default() || interrupted {
            let active = self.active.load(Ordering::Relaxed);
            let t_s = (now - self.t_start).as_secs_f64();
            self.intervals
                .push(IntervalRow::new(self.shard, t_s, active, &tail));
        }
    }
}
