//! The target side of a load run, on a runtime (and, if asked, a CPU) of its own: the mock AI
//! with its seeded thinking time, the reference server on loopback TCP or the address of an
//! external one, the tenants provisioned; or, for calibration, the raw echo target.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::watch;

use super::LoadError;
use super::echo;
use super::pin::pin_this_thread;
use crate::clock::SimClock;
use crate::ids::IdGen;
use crate::net::{HttpClient, Network};
use crate::realtime::{self, FirstAudioDelay, MockConfig, Reply, ReplyAudio, Retention, Script};
use crate::run::{Endpoints, ExternalTarget};
use crate::scenario::Plan;

/// What the calls are played against.
#[derive(Debug, Clone)]
pub enum TargetChoice {
    /// The bundled reference server on loopback TCP.
    Reference,
    /// A server at a URL (its target file says where the mock AI must listen).
    External(Box<ExternalTarget>),
}

/// How the mock AI answers at load.
#[derive(Debug, Clone, Copy)]
pub struct AiOptions {
    /// Thinking time before each reply's first audio.
    pub first_audio: Duration,
    /// Its jitter either way.
    pub jitter: Duration,
    /// Length of each spoken reply.
    pub reply: Duration,
    /// Audio generation speed over real time.
    pub pace: f64,
}

/// The running target side; dropping it stops everything on it.
pub struct TargetSide {
    rt: Runtime,
    stop: watch::Sender<bool>,
    /// Where the target is.
    pub endpoints: Option<Endpoints>,
    /// The echo target's URL (calibration).
    pub echo_url: Option<String>,
    /// A one-line description.
    pub description: String,
}

impl TargetSide {
    /// Stops the servers and the runtime (bounded).
    pub fn shutdown(self) {
        let _ = self.stop.send(true);
        self.rt.shutdown_timeout(Duration::from_secs(2));
    }
}

fn runtime(cpu: Option<usize>, threads: usize) -> Result<Runtime, LoadError> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.worker_threads(threads.max(1)).enable_all();
    if let Some(cpu) = cpu {
        b.on_thread_start(move || {
            if let Err(e) = pin_this_thread(cpu) {
                tracing::warn!("{e}");
            }
        });
    }
    b.build()
        .map_err(|e| LoadError::Harness(format!("cannot start the target runtime: {e}")))
}

/// Starts the mock AI and the target, and provisions every plan's tenants.
pub fn start_calls(
    choice: &TargetChoice,
    ai: AiOptions,
    plans: &[(Plan, u32)],
    seed: u64,
    cpu: Option<usize>,
) -> Result<TargetSide, LoadError> {
    // Unpinned, two workers let the server and the mock AI use a second core when there is one.
    let rt = runtime(cpu, if cpu.is_some() { 1 } else { 2 })?;
    let (stop, stop_rx) = watch::channel(false);
    let endpoints = rt.block_on(async {
        let ai_addr = match choice {
            TargetChoice::Reference => SocketAddr::from(([127, 0, 0, 1], 0)),
            TargetChoice::External(t) => t.ai_listen,
        };
        let ai_port = start_ai(ai_addr, ai, seed, stop_rx.clone()).await?;
        let endpoints = match choice {
            TargetChoice::Reference => {
                let (endpoints, _task) = crate::run::start_reference_over_tcp(ai_port, stop_rx)
                    .await
                    .map_err(|e| LoadError::Harness(e.to_string()))?;
                endpoints
            }
            TargetChoice::External(t) => t.endpoints.clone(),
        };
        let http = HttpClient::new(&Network::Tcp).with_timeout(Duration::from_secs(15));
        for (plan, _) in plans {
            crate::run::provision_tenants(plan, &endpoints, &http)
                .await
                .map_err(|e| LoadError::Harness(e.to_string()))?;
        }
        Ok::<_, LoadError>(endpoints)
    })?;
    let description = match choice {
        TargetChoice::Reference => format!("reference server (fixed) at {}", endpoints.base_url),
        TargetChoice::External(_) => format!("external server at {}", endpoints.base_url),
    };
    Ok(TargetSide {
        rt,
        stop,
        endpoints: Some(endpoints),
        echo_url: None,
        description,
    })
}

async fn start_ai(
    addr: SocketAddr,
    ai: AiOptions,
    seed: u64,
    stop: watch::Receiver<bool>,
) -> Result<u16, LoadError> {
    let listener = Network::Tcp
        .bind(addr)
        .await
        .map_err(|e| LoadError::Harness(format!("cannot start the mock AI on {addr}: {e}")))?;
    let port = listener.port();
    let mut mock = MockConfig::new(SimClock::start_default(), IdGen::new(seed).fork("ai"));
    mock.audio_pace = ai.pace;
    // Thousands of sessions: keep a few closed ones and no raw audio.
    mock.retention = Retention {
        max_sessions: Some(64),
        audio_cap_ms: 0,
        ..Retention::bounded()
    };
    mock.first_audio = Some(FirstAudioDelay {
        base: ai.first_audio,
        jitter: ai.jitter,
        seed,
    });
    let ms = u32::try_from(ai.reply.as_millis()).unwrap_or(u32::MAX);
    mock.script = Arc::new(Script {
        default_reply: Some(Reply::spoken("Okay.", ReplyAudio::Filler { ms })),
        ..Script::default()
    });
    tokio::spawn(async move {
        let mut stop = stop;
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(err) = realtime::run(listener, mock, shutdown).await {
            tracing::error!("mock AI stopped: {err}");
        }
    });
    Ok(port)
}

/// Starts the built-in raw echo target (or uses `url`).
pub fn start_echo(url: Option<String>, cpu: Option<usize>) -> Result<TargetSide, LoadError> {
    let rt = runtime(cpu, 1)?;
    let (stop, stop_rx) = watch::channel(false);
    let (echo_url, description) = match url {
        Some(url) => (url.clone(), format!("echo target at {url}")),
        None => {
            let addr = rt.block_on(async {
                let listener = echo::bind_echo(SocketAddr::from(([127, 0, 0, 1], 0)))
                    .await
                    .map_err(|e| {
                        LoadError::Harness(format!("cannot start the echo target: {e}"))
                    })?;
                let addr = listener
                    .local_addr()
                    .map_err(|e| LoadError::Harness(e.to_string()))?;
                tokio::spawn(echo::serve_echo(listener, stop_rx));
                Ok::<_, LoadError>(addr)
            })?;
            (
                format!("ws://{addr}/"),
                format!("built-in raw echo target at {addr}"),
            )
        }
    };
    Ok(TargetSide {
        rt,
        stop,
        endpoints: None,
        echo_url: Some(echo_url),
        description,
    })
}
