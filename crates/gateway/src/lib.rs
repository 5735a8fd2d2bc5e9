//! The bts-infra gateway: one WebSocket/HTTP endpoint in front of N BitShares nodes.
//!
//! - [`config`]: the TOML configuration and its validation.
//! - [`health`]: the per-upstream state machine (up / lagging / down, rise/fall).
//! - [`pool`]: upstreams, the health checker, selection.
//! - [`session`]: client WebSocket sessions proxied message by message.
//! - [`server`]: the routes — sessions, HTTP JSON-RPC, `/health`, `/stats`, `/metrics`, admin.
//! - `workers`: one single-threaded runtime per core serving the accepted connections.
//! - `mux`: upstream connections shared by sessions that hold no state on the node.
//! - `spin`: adaptive busy polling of a worker after a frame (`busy_poll_us`).
//!
//! A frame's path, all on one worker thread: client socket → [`server`] (limits) →
//! [`session::run`] (envelope, API ids, allowlist, id/callback rewrite) → the shared upstream
//! connection (or the session's own, once it subscribed) → node, and back.

// Handlers return `Response` in `Err` positions (axum style); they are not hot error paths.
#![allow(clippy::result_large_err)]

pub mod acme;
pub mod agent;
pub mod cache;
pub mod config;
pub mod health;
pub mod journal;
pub mod metrics;
mod mux;
pub mod outputs;
pub mod policy;
pub mod pool;
pub mod server;
pub mod session;
mod spin;
pub mod tls;
mod workers;

use arc_swap::ArcSwap;
use config::GatewayConfig;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use pool::UpstreamPool;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub use config::ConfigError;

/// State shared by every handler and session.
pub struct GatewayState {
    /// Current configuration (swapped on reload).
    pub config: ArcSwap<GatewayConfig>,
    /// Where the configuration was loaded from, for reloads.
    pub config_path: Option<PathBuf>,
    /// The upstreams.
    pub pool: Arc<UpstreamPool>,
    /// Answers that cannot change (chain constants, irreversible blocks).
    pub cache: cache::Cache,
    /// Per-IP request rate limiter (rebuilt when the limits change).
    pub limiter: ArcSwap<DefaultKeyedRateLimiter<IpAddr>>,
    /// Open client WebSocket connections.
    pub total_connections: AtomicUsize,
    /// Open client WebSocket connections per IP.
    pub per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// When the gateway started.
    pub started: Instant,
    /// The listener's certificate when TLS is on.
    pub tls: Option<Arc<tls::CertStore>>,
    /// The ACME client when the certificate comes from ACME.
    pub acme: Option<Arc<acme::Acme>>,
    /// True once a shutdown began (no new sessions, `/health` answers 503).
    pub draining: AtomicBool,
    /// Flipped to close every session (shutdown).
    pub shutdown: watch::Sender<bool>,
}

fn limiter(limits: &config::LimitsConfig) -> DefaultKeyedRateLimiter<IpAddr> {
    let rate = NonZeroU32::new(limits.requests_per_second_per_ip).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limits.burst_per_ip).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
}

/// Whether a node's error (as JSON text) is `duplicate_transaction` (3030001): the node already
/// has the transaction, e.g. from a fan-out copy.
fn is_duplicate_text(error: &str) -> bool {
    error.contains("3030001") || error.contains("duplicate transaction")
}

/// The error a rate-limited request gets, in the node's shape.
pub fn rate_limited_error(state: &GatewayState) -> bts_rpc::RpcError {
    let l = &state.config.load().limits;
    bts_rpc::RpcError::plain(
        -32000,
        format!(
            "rate limit exceeded: more than {} requests/s (burst {}) from this IP",
            l.requests_per_second_per_ip, l.burst_per_ip
        ),
    )
}

/// Re-reads the configuration file and applies it (upstreams, health, limits). `listen`
/// changes need a restart and are refused here.
pub fn reload_from_file(state: &GatewayState) -> Result<(), String> {
    let Some(path) = &state.config_path else {
        return Err("this gateway was not started from a config file".into());
    };
    let next = GatewayConfig::load(path).map_err(|e| e.to_string())?;
    apply_config(state, next)
}

/// Applies a new configuration without dropping client connections.
pub fn apply_config(state: &GatewayState, next: GatewayConfig) -> Result<(), String> {
    next.validate().map_err(|e| e.to_string())?;
    let current = state.config.load_full();
    if next.listen != current.listen {
        return Err(format!("listen changed ({} → {}): restart the gateway to move it", current.listen, next.listen));
    }
    if next.workers != current.workers {
        return Err(format!(
            "workers changed ({} → {}): restart the gateway to apply it",
            current.workers, next.workers
        ));
    }
    if next.busy_poll_us != current.busy_poll_us {
        return Err(format!(
            "busy_poll_us changed ({} → {}): restart the gateway to apply it",
            current.busy_poll_us, next.busy_poll_us
        ));
    }
    if next.tls != current.tls {
        return Err("tls changed: restart the gateway to turn TLS on or off or to use other files".into());
    }
    if let Some(store) = &state.tls {
        store.reload().map_err(|e| e.to_string())?;
    }
    if next.limits != current.limits {
        state.limiter.store(Arc::new(limiter(&next.limits)));
    }
    if next.cache != current.cache {
        state.cache.set_max_bytes(next.cache.max_bytes);
    }
    state.pool.reconcile(&next);
    state.config.store(Arc::new(next));
    tracing::info!("configuration reloaded");
    Ok(())
}

/// A running gateway.
pub struct Gateway {
    state: Arc<GatewayState>,
    addr: SocketAddr,
    agent_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The accept loop (main runtime).
    server: Option<tokio::task::JoinHandle<()>>,
    stop_accepting: Option<tokio::sync::oneshot::Sender<()>>,
    /// The threads that serve client connections.
    workers: Option<workers::Workers>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(s) = &self.server {
            s.abort();
        }
        self.state.shutdown.send_replace(true);
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The ACME state directory or CA file is unusable.
    #[error(transparent)]
    Acme(#[from] acme::AcmeError),
}

impl Gateway {
    /// Validates the configuration, binds the listener and starts health checks.
    pub async fn start(config: GatewayConfig, config_path: Option<PathBuf>) -> Result<Gateway, StartError> {
        config.validate()?;
        crate::metrics::handle();
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().unwrap_or(config.listen);
        let (tls, acme) = match &config.tls {
            Some(t) => match (t.files(), &t.acme) {
                (Some((cert, key)), _) => (Some(tls::CertStore::open(cert, key)?), None),
                (None, Some(a)) => {
                    let store = tls::CertStore::managed();
                    (Some(store.clone()), Some(acme::Acme::new(a.clone(), store)?))
                }
                (None, None) => (None, None),
            },
            None => (None, None),
        };
        let http_listener = match config.tls.as_ref().and_then(|t| t.http_listen) {
            Some(http) => {
                let l = tokio::net::TcpListener::bind(http)
                    .await
                    .map_err(|source| StartError::Bind { addr: http, source })?;
                Some(l)
            }
            None => None,
        };
        let tls_config = tls.as_ref().map(tls::CertStore::server_config).transpose()?;
        let pool = UpstreamPool::new(&config);
        let state = Arc::new(GatewayState {
            tls: tls.clone(),
            acme: acme.clone(),
            limiter: ArcSwap::from_pointee(limiter(&config.limits)),
            cache: cache::Cache::new(config.cache.max_bytes),
            config: ArcSwap::from_pointee(config),
            config_path,
            pool: pool.clone(),
            total_connections: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            started: Instant::now(),
            draining: AtomicBool::new(false),
            shutdown: watch::channel(false).0,
        });
        let mut tasks = vec![tokio::spawn(pool.clone().run_health_checks())];
        if let Some(store) = tls {
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    store.reload_if_changed();
                }
            }));
        }
        let mut http_addr = None;
        if let Some(listener) = http_listener {
            http_addr = listener.local_addr().ok();
            tracing::info!(addr = ?http_addr, "plain-HTTP listener (ACME challenges, redirect to https) listening");
            let router = acme::http_router(acme.clone(), addr.port());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "plain-HTTP listener failed");
                }
            }));
        }
        if let Some(acme) = acme {
            tasks.push(tokio::spawn(acme.run()));
        }
        let mut agent_addr = None;
        if let Some(agent) = state.config.load().monitoring.agent_check_listen {
            let listener = tokio::net::TcpListener::bind(agent)
                .await
                .map_err(|source| StartError::Bind { addr: agent, source })?;
            agent_addr = listener.local_addr().ok();
            tracing::info!(addr = ?agent_addr, "HAProxy agent-check responder listening");
            tasks.push(tokio::spawn(crate::agent::serve(listener, pool.clone())));
        }
        let limiter_state = state.clone();
        tasks.push(tokio::spawn(async move {
            // Forget idle IPs so the limiter's table stays bounded.
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let l = limiter_state.limiter.load();
                l.retain_recent();
                l.shrink_to_fit();
            }
        }));
        let n_workers = workers::count(state.config.load().workers);
        let (dispatcher, workers) =
            workers::Workers::start(n_workers, server::router(state.clone()), tls_config, state.clone())
                .map_err(|source| StartError::Bind { addr, source })?;
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((tcp, peer)) => dispatcher.dispatch(tcp, peer),
                        Err(e) => {
                            // Out of descriptors and the like: back off instead of spinning.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                    _ = &mut stop_rx => break,
                }
            }
        });
        tracing::info!(%addr, workers = n_workers, busy_poll_us = state.config.load().busy_poll_us, "gateway listening");
        Ok(Gateway {
            state,
            addr,
            agent_addr,
            http_addr,
            tasks,
            server: Some(server),
            stop_accepting: Some(stop_tx),
            workers: Some(workers),
        })
    }

    /// The listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The agent-check responder's address, when `monitoring.agent_check_listen` is set.
    pub fn agent_check_addr(&self) -> Option<SocketAddr> {
        self.agent_addr
    }

    /// The plain-HTTP listener's address, when `tls.http_listen` is set.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Shared state (pool, config, counters).
    pub fn state(&self) -> &Arc<GatewayState> {
        &self.state
    }

    /// Re-reads the config file (SIGHUP).
    pub fn reload(&self) -> Result<(), String> {
        reload_from_file(&self.state)
    }

    /// Waits until at least `n` upstreams are healthy, or `timeout` passes.
    pub async fn wait_healthy(&self, n: usize, timeout: Duration) -> bool {
        let mut changes = self.state.pool.transitions();
        let wait = async {
            loop {
                let healthy =
                    self.state.pool.upstreams().iter().filter(|u| matches!(u.state(), health::State::Up)).count();
                if healthy >= n {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_millis(200), changes.changed()).await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// Graceful stop: refuse new work, close sessions with 1001 "going away", let in-flight
    /// HTTP requests finish, and give up after `deadline`.
    pub async fn shutdown(mut self, deadline: Duration) {
        self.state.draining.store(true, Ordering::Relaxed);
        self.state.shutdown.send_replace(true);
        if let Some(stop) = self.stop_accepting.take() {
            let _ = stop.send(());
        }
        // The accept loop ends at once (its listener closes); then the workers drain.
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(workers) = self.workers.take() {
            workers.shutdown(deadline).await;
        }
        // Background tasks own the other listeners (plain HTTP, agent-check): once they have
        // ended, their ports are free for a restart.
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
    }
}
