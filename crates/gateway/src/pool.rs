//! The upstream pool: each upstream's health, counters and data-path client, the health checker
//! that feeds the state machines, and selection.
//!
//! Selection reads the current upstream list through `ArcSwap` (no lock on the hot path): it
//! prefers `up` over `lagging`, skips `down`, drained and maintained upstreams, and picks the
//! least loaded (outstanding requests + sessions, divided by weight), ties broken by the
//! upstreams' latency EWMA.

use crate::config::{GatewayConfig, HealthConfig, UpstreamConfig};
use crate::health::{AdminState, Health, Observation, Reference, State, Transition, Verdict, judge};
use arc_swap::ArcSwap;
use bts_protocol::{BlockId, TimePointSec};
use bts_rpc::{ClientConfig, ConnectionState, WsClient};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Latencies of recent calls, for p50/p99 (the last 1024 samples).
#[derive(Debug, Default)]
struct LatencyWindow(VecDeque<Duration>);

impl LatencyWindow {
    const CAPACITY: usize = 1024;
    fn push(&mut self, d: Duration) {
        if self.0.len() == Self::CAPACITY {
            self.0.pop_front();
        }
        self.0.push_back(d);
    }
    fn percentile(&self, p: f64) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        let mut v: Vec<Duration> = self.0.iter().copied().collect();
        v.sort_unstable();
        let i = ((v.len() - 1) as f64 * p).round() as usize;
        v.get(i).copied()
    }
}

/// What sessions watch to learn that their upstream went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// False when the upstream is down, in maintenance or removed.
    pub usable: bool,
    /// Why it is not usable.
    pub reason: String,
}

/// One upstream node.
pub struct Upstream {
    /// Configured name.
    pub name: String,
    /// `ws://` URL.
    pub url: String,
    weight: AtomicU32,
    health: Mutex<Health>,
    last_observation: Mutex<Option<Observation>>,
    admin: Mutex<AdminState>,
    /// Requests sent and not yet answered.
    pub outstanding: AtomicU64,
    /// Client WebSocket sessions placed here.
    pub sessions: AtomicU64,
    /// Head block number at the last successful check (0 before one): what a session placed
    /// here has at least seen.
    head: AtomicU32,
    /// Last irreversible block at the last successful check.
    lib: AtomicU32,
    ewma_us: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    latencies: Mutex<LatencyWindow>,
    rate: Mutex<(Instant, u64, f64)>,
    availability: watch::Sender<Availability>,
    /// Shared connection for HTTP traffic (multiplexed by request id).
    pub data: WsClient,
    /// TLS client settings for a `wss://` upstream.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connection used by the health checker.
    probe: WsClient,
    chain_checked: Mutex<Option<(u64, String)>>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").field("name", &self.name).field("url", &self.url).finish()
    }
}

impl Upstream {
    /// One call over the upstream's gateway-wide client (`data`), with raw JSON in and out as on
    /// the HTTP path.
    pub(crate) async fn call_raw(
        &self,
        api: &str,
        method: &str,
        args: &str,
    ) -> Result<Box<RawValue>, bts_rpc::ClientError> {
        let protocol = |e: serde_json::Error| bts_rpc::ClientError::Protocol(e.to_string());
        let args: serde_json::Value = serde_json::from_str(args).map_err(protocol)?;
        let v = self.data.call(bts_rpc::wire::ApiRef::Name(api.to_owned()), method, args).await?;
        serde_json::value::to_raw_value(&v).map_err(protocol)
    }

    fn new(cfg: &UpstreamConfig, health: &HealthConfig) -> Arc<Self> {
        let url = cfg.ws_url();
        // validate() has loaded the same files, so an error here means they changed since;
        // the upstream then fails its checks with the TLS error instead of starting.
        let tls = cfg.tls().unwrap_or_else(|e| {
            tracing::error!(upstream = %cfg.name, error = %e, "TLS settings unusable");
            None
        });
        let mut probe_cfg = ClientConfig { tls: tls.clone(), ..ClientConfig::new(url.clone()) };
        probe_cfg.call_timeout = health.timeout();
        probe_cfg.connect_timeout = health.timeout();
        probe_cfg.reconnect_max = health.interval().max(Duration::from_millis(200));
        Arc::new(Self {
            name: cfg.name.clone(),
            url: url.clone(),
            weight: AtomicU32::new(cfg.weight),
            health: Mutex::new(Health::default()),
            last_observation: Mutex::new(None),
            admin: Mutex::new(AdminState::Enabled),
            outstanding: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            head: AtomicU32::new(0),
            lib: AtomicU32::new(0),
            ewma_us: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            latencies: Mutex::new(LatencyWindow::default()),
            rate: Mutex::new((Instant::now(), 0, 0.0)),
            availability: watch::channel(Availability { usable: false, reason: "not checked yet".into() }).0,
            data: WsClient::spawn(ClientConfig { tls: tls.clone(), ..ClientConfig::new(url) }),
            tls,
            probe: WsClient::spawn(probe_cfg),
            chain_checked: Mutex::new(None),
        })
    }

    /// Current operational state.
    pub fn state(&self) -> State {
        lock(&self.health).state
    }

    /// Operator-set state.
    pub fn admin_state(&self) -> AdminState {
        *lock(&self.admin)
    }

    /// Whether new sessions and requests may go here, and how preferred (0 best).
    fn tier(&self) -> Option<u8> {
        if self.admin_state() != AdminState::Enabled {
            return None;
        }
        match self.state() {
            State::Up => Some(0),
            State::Lagging => Some(1),
            State::Down | State::Unknown => None,
        }
    }

    /// Head block number at the last successful check (0 before one).
    pub fn head(&self) -> u32 {
        self.head.load(Ordering::Relaxed)
    }

    /// Last irreversible block number at the last successful check (0 before one).
    pub fn lib(&self) -> u32 {
        self.lib.load(Ordering::Relaxed)
    }

    /// Whether an existing session may stay here.
    pub fn availability(&self) -> watch::Receiver<Availability> {
        self.availability.subscribe()
    }

    fn publish_availability(&self) {
        let health = lock(&self.health).clone();
        let admin = self.admin_state();
        let next = match (admin, health.state) {
            (AdminState::Maintenance, _) => {
                Availability { usable: false, reason: format!("upstream {} in maintenance", self.name) }
            }
            (_, State::Down) => {
                Availability { usable: false, reason: format!("upstream {} down: {}", self.name, health.reason) }
            }
            _ => Availability { usable: true, reason: String::new() },
        };
        self.availability.send_if_modified(|cur| {
            // Only a change of usability matters to sessions; keep the first reason.
            if cur.usable != next.usable {
                *cur = next;
                true
            } else {
                false
            }
        });
    }

    /// Records one answered request.
    pub fn record_latency(&self, d: Duration, ok: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let us = d.as_micros().min(u128::from(u64::MAX)) as u64;
        let old = self.ewma_us.load(Ordering::Relaxed);
        // EWMA with alpha 1/8.
        let new = if old == 0 { us } else { old - old / 8 + us / 8 };
        self.ewma_us.store(new, Ordering::Relaxed);
        lock(&self.latencies).push(d);
    }

    fn load_score(&self) -> u64 {
        let load = self.outstanding.load(Ordering::Relaxed) + self.sessions.load(Ordering::Relaxed);
        (load + 1) * 1000 / u64::from(self.weight.load(Ordering::Relaxed).max(1))
    }

    /// Sets the operator state.
    pub fn set_admin_state(&self, state: AdminState) {
        *lock(&self.admin) = state;
        tracing::info!(upstream = %self.name, admin_state = ?state, "admin state changed");
        self.publish_availability();
    }

    async fn check(&self, expected_chain: Option<&str>, timeout: Duration) -> Result<(Observation, String), String> {
        // A connection that is (re)connecting gets the check's timeout to come up.
        let mut state = self.probe.state();
        let connected =
            tokio::time::timeout(timeout, state.wait_for(|s| matches!(s, ConnectionState::Connected { .. }))).await;
        let generation = match connected.ok().and_then(|r| r.ok()).map(|s| *s) {
            Some(ConnectionState::Connected { generation }) => generation,
            _ => return Err("no connection".into()),
        };
        let chain_id = {
            let cached = lock(&self.chain_checked).clone();
            match cached {
                Some((g, id)) if g == generation => id,
                _ => {
                    let v =
                        self.probe.call(0u64, "get_chain_id", json!([])).await.map_err(|e| short_error(&e, timeout))?;
                    let id = v.as_str().unwrap_or_default().to_owned();
                    *lock(&self.chain_checked) = Some((generation, id.clone()));
                    id
                }
            }
        };
        if expected_chain.is_some_and(|expected| chain_id != expected) {
            return Err(format!("wrong chain id {}…", &chain_id[..chain_id.len().min(12)]));
        }
        let started = Instant::now();
        let v = self.probe.call(0u64, "get_objects", json!([["2.1.0"]])).await.map_err(|e| short_error(&e, timeout))?;
        let latency = started.elapsed();
        let dgp = &v[0];
        let parse = || -> Option<Observation> {
            Some(Observation {
                head: u32::try_from(dgp["head_block_number"].as_u64()?).ok()?,
                head_id: dgp["head_block_id"].as_str()?.parse().ok()?,
                head_time: dgp["time"].as_str()?.parse().ok()?,
                lib: u32::try_from(dgp["last_irreversible_block_num"].as_u64()?).ok()?,
                latency,
            })
        };
        let obs = parse().ok_or_else(|| "malformed 2.1.0".to_owned())?;
        Ok((obs, chain_id))
    }
}

fn short_error(e: &bts_rpc::ClientError, timeout: Duration) -> String {
    match e {
        bts_rpc::ClientError::Timeout { .. } => format!("no answer within {timeout:?}"),
        bts_rpc::ClientError::Connect { .. } => "no connection".into(),
        bts_rpc::ClientError::Disconnected { .. } => "connection lost".into(),
        other => other.to_string(),
    }
}

/// Per-upstream figures for the stats page, `/stats.json` and metrics.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamStats {
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Weight.
    pub weight: u32,
    /// Operational state.
    pub state: State,
    /// Operator state.
    pub admin_state: AdminState,
    /// Why it is in its state.
    pub reason: String,
    /// Last check's result.
    pub last_check: String,
    /// Seconds in the current state.
    pub time_in_state_seconds: u64,
    /// Head block number.
    pub head_block_number: Option<u32>,
    /// Wall clock minus head time, seconds.
    pub head_age_seconds: Option<i64>,
    /// Blocks behind the best upstream.
    pub lag_blocks: Option<u32>,
    /// Last irreversible block.
    pub last_irreversible_block_num: Option<u32>,
    /// Blocks its last irreversible block is behind the best upstream's.
    pub lib_lag_blocks: Option<u32>,
    /// Median latency of recent requests and health checks, milliseconds.
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile latency, milliseconds.
    pub latency_p99_ms: Option<f64>,
    /// Client sessions placed here.
    pub connections: u64,
    /// Requests answered.
    pub requests: u64,
    /// Requests per second over the last check interval.
    pub requests_per_second: f64,
    /// Requests that failed.
    pub errors: u64,
}

/// The set of upstreams and its health checker.
pub struct UpstreamPool {
    upstreams: ArcSwap<Vec<Arc<Upstream>>>,
    health: ArcSwap<HealthConfig>,
    expected_chain: Mutex<Option<String>>,
    best_head: AtomicU32,
    transitions: watch::Sender<u64>,
}

impl UpstreamPool {
    /// Builds the pool (connections start in the background).
    pub fn new(config: &GatewayConfig) -> Arc<Self> {
        let ups = config.upstreams.iter().map(|u| Upstream::new(u, &config.health)).collect();
        Arc::new(Self {
            upstreams: ArcSwap::from_pointee(ups),
            health: ArcSwap::from_pointee(config.health.clone()),
            expected_chain: Mutex::new(config.chain_id.clone().map(|c| c.to_lowercase())),
            best_head: AtomicU32::new(0),
            transitions: watch::channel(0).0,
        })
    }

    /// The current upstreams.
    pub fn upstreams(&self) -> Arc<Vec<Arc<Upstream>>> {
        self.upstreams.load_full()
    }

    /// An upstream by name.
    pub fn get(&self, name: &str) -> Option<Arc<Upstream>> {
        self.upstreams.load().iter().find(|u| u.name == name).cloned()
    }

    /// The chain id upstreams must report (configured or learned).
    pub fn chain_id(&self) -> Option<String> {
        lock(&self.expected_chain).clone()
    }

    /// Highest head seen on a healthy upstream.
    pub fn best_head(&self) -> u32 {
        self.best_head.load(Ordering::Relaxed)
    }

    /// Changes whenever any upstream changes state (for waiting in tests and drains).
    pub fn transitions(&self) -> watch::Receiver<u64> {
        self.transitions.subscribe()
    }

    /// Picks an upstream for a new session or request, avoiding `exclude`.
    pub fn select(&self, exclude: Option<&str>) -> Option<Arc<Upstream>> {
        let ups = self.upstreams.load();
        ups.iter()
            .filter(|u| Some(u.name.as_str()) != exclude)
            .filter_map(|u| u.tier().map(|t| (t, u)))
            .min_by_key(|(tier, u)| (*tier, u.load_score(), u.ewma_us.load(Ordering::Relaxed)))
            .map(|(_, u)| u.clone())
    }

    /// Up to `n` healthy upstreams other than `exclude`, best first (broadcast fan-out).
    pub fn select_n(&self, n: usize, exclude: Option<&str>) -> Vec<Arc<Upstream>> {
        let ups = self.upstreams.load();
        let mut ranked: Vec<_> = ups
            .iter()
            .filter(|u| Some(u.name.as_str()) != exclude)
            .filter_map(|u| u.tier().map(|t| ((t, u.load_score(), u.ewma_us.load(Ordering::Relaxed)), u.clone())))
            .collect();
        ranked.sort_by_key(|(k, _)| *k);
        ranked.into_iter().take(n).map(|(_, u)| u).collect()
    }

    /// Picks an upstream for a moving session: like [`UpstreamPool::select`], but only among
    /// upstreams whose head is at least `min_head` (the client must never see the chain go
    /// back) and not named in `exclude`.
    pub fn select_for_move(&self, exclude: &[String], min_head: u32) -> Option<Arc<Upstream>> {
        let ups = self.upstreams.load();
        ups.iter()
            .filter(|u| !exclude.contains(&u.name) && u.head() >= min_head)
            .filter_map(|u| u.tier().map(|t| (t, u)))
            .min_by_key(|(tier, u)| (*tier, u.load_score(), u.ewma_us.load(Ordering::Relaxed)))
            .map(|(_, u)| u.clone())
    }

    /// Applies a reloaded configuration: keeps upstreams whose name and URL are unchanged
    /// (updating their weight), adds new ones, and removes the others (their existing sessions
    /// continue until they close; no new traffic goes there).
    pub fn reconcile(&self, config: &GatewayConfig) {
        self.health.store(Arc::new(config.health.clone()));
        if let Some(c) = &config.chain_id {
            *lock(&self.expected_chain) = Some(c.to_lowercase());
        }
        let current = self.upstreams.load_full();
        let next: Vec<Arc<Upstream>> = config
            .upstreams
            .iter()
            .map(|u| match current.iter().find(|c| c.name == u.name && c.url == u.ws_url()) {
                Some(existing) => {
                    existing.weight.store(u.weight, Ordering::Relaxed);
                    existing.clone()
                }
                None => {
                    tracing::info!(upstream = %u.name, url = %u.url, "upstream added");
                    Upstream::new(u, &config.health)
                }
            })
            .collect();
        for old in current.iter().filter(|c| !next.iter().any(|n| Arc::ptr_eq(n, c))) {
            tracing::info!(upstream = %old.name, "upstream removed; its sessions continue until they close");
        }
        self.upstreams.store(Arc::new(next));
    }

    /// Runs the health checker forever: every interval, checks all upstreams at once and judges
    /// them against each other.
    pub async fn run_health_checks(self: Arc<Self>) {
        loop {
            let cfg = self.health.load_full();
            let tick = tokio::time::sleep(cfg.interval());
            self.check_once(&cfg).await;
            tick.await;
        }
    }

    async fn check_once(&self, cfg: &HealthConfig) {
        let ups = self.upstreams.load_full();
        let expected = self.chain_id();
        let results = futures_util::future::join_all(ups.iter().map(|u| {
            let expected = expected.clone();
            async move {
                let r = tokio::time::timeout(cfg.timeout(), u.check(expected.as_deref(), cfg.timeout())).await;
                // Publish the head as soon as this probe answers: the round may still wait for a
                // slow or dead upstream's probe, and moving sessions read these.
                if let Ok(Ok((obs, _))) = &r {
                    u.head.store(obs.head, Ordering::Relaxed);
                    u.lib.store(obs.lib, Ordering::Relaxed);
                }
                r
            }
        }))
        .await;
        let results: Vec<Result<(Observation, String), String>> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|_| Err(format!("no answer within {:?}", cfg.timeout()))))
            .collect();
        // Learn the chain id by majority the first time any upstream answers.
        if expected.is_none() {
            let mut votes: HashMap<&str, usize> = HashMap::new();
            for (_, id) in results.iter().flatten() {
                *votes.entry(id.as_str()).or_default() += 1;
            }
            if let Some((id, _)) = votes.into_iter().max_by_key(|(_, n)| *n) {
                tracing::info!(chain_id = id, "learned the chain id from the upstreams");
                *lock(&self.expected_chain) = Some(id.to_owned());
                return; // judge from the next round, with the chain id known
            }
        }
        let observations: Vec<&Observation> = results.iter().flatten().map(|(o, _)| o).collect();
        let best = observations.iter().map(|o| o.head).max().unwrap_or(0);
        self.best_head.store(best, Ordering::Relaxed);
        let now = TimePointSec::now();
        let mut changed = false;
        for (u, result) in ups.iter().zip(&results) {
            let verdict = match result {
                Ok((obs, _)) => {
                    let at_height: Vec<BlockId> =
                        observations.iter().filter(|o| o.head == obs.head).map(|o| o.head_id).collect();
                    let reference = Reference { best_head: best, now, majority_id_at_height: majority(&at_height) };
                    lock(&u.latencies).push(obs.latency);
                    *lock(&u.last_observation) = Some(obs.clone());
                    u.head.store(obs.head, Ordering::Relaxed);
                    u.lib.store(obs.lib, Ordering::Relaxed);
                    judge(obs, &reference, cfg)
                }
                Err(reason) => Verdict::Bad(reason.clone()),
            };
            let transition = lock(&u.health).record(&verdict, cfg);
            if let Some(t) = transition {
                log_transition(&u.name, &t);
                metrics::counter!("bts_gateway_upstream_transitions_total", "upstream" => u.name.clone(), "to" => t.to.as_str()).increment(1);
                changed = true;
            }
            u.publish_availability();
            let mut rate = lock(&u.rate);
            let requests = u.requests.load(Ordering::Relaxed);
            let elapsed = rate.0.elapsed().as_secs_f64().max(0.001);
            *rate = (Instant::now(), requests, (requests - rate.1.min(requests)) as f64 / elapsed);
        }
        crate::metrics::record_pool(self);
        if changed {
            self.transitions.send_modify(|n| *n += 1);
        }
    }

    /// Figures for every upstream.
    pub fn stats(&self) -> Vec<UpstreamStats> {
        let best = self.best_head();
        let now = i64::from(TimePointSec::now().secs());
        let best_lib = self
            .upstreams
            .load()
            .iter()
            .filter_map(|u| lock(&u.last_observation).as_ref().map(|o| o.lib))
            .max()
            .unwrap_or(0);
        self.upstreams
            .load()
            .iter()
            .map(|u| {
                let health = lock(&u.health).clone();
                let obs = lock(&u.last_observation).clone();
                let lat = lock(&u.latencies);
                let ms = |d: Option<Duration>| d.map(|d| (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0);
                UpstreamStats {
                    name: u.name.clone(),
                    url: u.url.clone(),
                    weight: u.weight.load(Ordering::Relaxed),
                    state: health.state,
                    admin_state: u.admin_state(),
                    reason: health.reason.clone(),
                    last_check: health.last_result.clone(),
                    time_in_state_seconds: health.since.elapsed().as_secs(),
                    head_block_number: obs.as_ref().map(|o| o.head),
                    head_age_seconds: obs.as_ref().map(|o| now - i64::from(o.head_time.secs())),
                    lag_blocks: obs.as_ref().map(|o| best.saturating_sub(o.head)),
                    last_irreversible_block_num: obs.as_ref().map(|o| o.lib),
                    lib_lag_blocks: obs.as_ref().map(|o| best_lib.saturating_sub(o.lib)),
                    latency_p50_ms: ms(lat.percentile(0.5)),
                    latency_p99_ms: ms(lat.percentile(0.99)),
                    connections: u.sessions.load(Ordering::Relaxed),
                    requests: u.requests.load(Ordering::Relaxed),
                    requests_per_second: (lock(&u.rate).2 * 10.0).round() / 10.0,
                    errors: u.errors.load(Ordering::Relaxed),
                }
            })
            .collect()
    }
}

fn majority(ids: &[BlockId]) -> Option<BlockId> {
    let mut counts: HashMap<BlockId, usize> = HashMap::new();
    for id in ids {
        *counts.entry(*id).or_default() += 1;
    }
    let (id, n) = counts.iter().max_by_key(|(_, n)| **n)?;
    // Only a strict majority decides; a tie says nothing about who forked.
    (counts.len() > 1 && *n * 2 > ids.len()).then_some(*id)
}

fn log_transition(name: &str, t: &Transition) {
    match t.to {
        State::Down => tracing::warn!(upstream = name, from = t.from.as_str(), "{name} down: {}", t.reason),
        State::Lagging => tracing::warn!(upstream = name, from = t.from.as_str(), "{name} lagging: {}", t.reason),
        _ => tracing::info!(upstream = name, from = t.from.as_str(), "{name} {}: {}", t.to.as_str(), t.reason),
    }
}
