//! Prometheus metrics. One recorder per process (the `metrics` facade is global); every name
//! starts with `bts_gateway_` and uses the same words as the stats page.

use crate::pool::UpstreamPool;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder on first use; `None` if another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => {
                describe();
                Some(h)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder unavailable; /metrics will be empty");
                None
            }
        })
        .as_ref()
}

/// HELP texts (promtool requires them).
fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_gauge!("bts_gateway_upstream_up", "1 when the upstream gets traffic (up or lagging, enabled), else 0");
    describe_gauge!(
        "bts_gateway_upstream_state",
        "1 for the upstream's current health state (unknown, up, lagging, down)"
    );
    describe_gauge!(
        "bts_gateway_upstream_head_block_number",
        "Head block number the upstream reported at the last check"
    );
    describe_gauge!(
        "bts_gateway_upstream_head_age_seconds",
        "Wall clock minus the upstream's head block time, seconds"
    );
    describe_gauge!("bts_gateway_upstream_lag_blocks", "Blocks the upstream's head is behind the best upstream");
    describe_gauge!(
        "bts_gateway_upstream_lib_lag_blocks",
        "Blocks the upstream's last irreversible block is behind the best upstream's"
    );
    describe_gauge!(
        "bts_gateway_upstream_latency_p50_seconds",
        "Median latency of recent requests and checks, seconds"
    );
    describe_gauge!(
        "bts_gateway_upstream_latency_p99_seconds",
        "99th percentile latency of recent requests and checks, seconds"
    );
    describe_gauge!("bts_gateway_upstream_connections", "Client WebSocket sessions placed on the upstream");
    describe_gauge!("bts_gateway_best_head_block_number", "Highest head block number among the upstreams");
    describe_gauge!("bts_gateway_connections", "Open client WebSocket connections");
    describe_counter!("bts_gateway_upstream_transitions_total", "Health state changes of the upstream, by new state");
    describe_counter!("bts_gateway_requests_total", "Client requests received, by transport (ws, http)");
    describe_counter!("bts_gateway_limit_rejections_total", "Requests or connections refused by a limit, by limit");
    describe_counter!("bts_gateway_cache_requests_total", "Cacheable requests, by outcome (hit, miss, coalesced)");
    describe_gauge!("bts_gateway_cache_bytes", "Bytes of answers in the response cache");
    describe_gauge!("bts_gateway_cache_entries", "Answers in the response cache");
    describe_counter!(
        "bts_gateway_inclusions_reported_total",
        "Broadcast inclusions the gateway reported itself (notice or synchronous answer) because the node would not"
    );
    describe_counter!(
        "bts_gateway_session_moves_total",
        "Client sessions whose upstream failed, by outcome (moved, closed)"
    );
    describe_gauge!(
        "bts_gateway_tls_certificate_expiry_timestamp_seconds",
        "notAfter of the served TLS certificate, seconds since the Unix epoch"
    );
    describe_counter!("bts_gateway_acme_attempts_total", "ACME certificate orders, by result (ok, error)");
    describe_counter!(
        "bts_gateway_busy_poll_windows_total",
        "Times a worker kept polling its sockets after a frame instead of sleeping (busy_poll_us)"
    );
    describe_counter!(
        "bts_gateway_busy_poll_contended_total",
        "Busy-polling windows shrunk because another thread wanted the worker's core"
    );
    describe_gauge!(
        "bts_gateway_acme_next_attempt_timestamp_seconds",
        "When the next ACME renewal attempt is due, seconds since the Unix epoch"
    );
}

/// Counts a session whose upstream failed: `moved` to another, or `closed`.
pub fn session_move(outcome: &'static str) {
    metrics::counter!("bts_gateway_session_moves_total", "outcome" => outcome).increment(1);
}

/// Counts a broadcast inclusion the gateway found and reported itself (after a move, or when a
/// fan-out copy reached the chain before the session's own call).
pub fn inclusion_reported() {
    metrics::counter!("bts_gateway_inclusions_reported_total").increment(1);
}

/// Records the served certificate's notAfter.
pub fn certificate_expiry(not_after: i64) {
    metrics::gauge!("bts_gateway_tls_certificate_expiry_timestamp_seconds").set(not_after as f64);
}

/// Counts an ACME order attempt (`ok` or `error`).
pub fn acme_attempt(result: &'static str) {
    metrics::counter!("bts_gateway_acme_attempts_total", "result" => result).increment(1);
}

/// When the next ACME attempt is due.
pub fn acme_next_attempt(at_unix: i64) {
    metrics::gauge!("bts_gateway_acme_next_attempt_timestamp_seconds").set(at_unix as f64);
}

/// The counters of one worker's busy polling (`crate::spin`), registered once per worker so
/// that counting costs no registry lookup on the spinner's path.
pub(crate) struct BusyPoll {
    /// Spin windows started.
    pub(crate) windows: metrics::Counter,
    /// Shrinks because another thread wanted the core.
    pub(crate) contended: metrics::Counter,
}

/// Registers this worker's busy-polling counters.
pub(crate) fn busy_poll() -> BusyPoll {
    BusyPoll {
        windows: metrics::counter!("bts_gateway_busy_poll_windows_total"),
        contended: metrics::counter!("bts_gateway_busy_poll_contended_total"),
    }
}

/// The exposition text for `/metrics`.
pub fn render() -> String {
    handle().map(PrometheusHandle::render).unwrap_or_default()
}

/// Sets the per-upstream gauges from the pool's current figures.
pub fn record_pool(pool: &UpstreamPool) {
    if handle().is_none() {
        return;
    }
    for s in pool.stats() {
        let name = s.name.clone();
        let up = matches!(s.state, crate::health::State::Up | crate::health::State::Lagging)
            && s.admin_state == crate::health::AdminState::Enabled;
        metrics::gauge!("bts_gateway_upstream_up", "upstream" => name.clone()).set(if up { 1.0 } else { 0.0 });
        for state in ["unknown", "up", "lagging", "down"] {
            let v = if s.state.as_str() == state { 1.0 } else { 0.0 };
            metrics::gauge!("bts_gateway_upstream_state", "upstream" => name.clone(), "state" => state).set(v);
        }
        if let Some(h) = s.head_block_number {
            metrics::gauge!("bts_gateway_upstream_head_block_number", "upstream" => name.clone()).set(f64::from(h));
        }
        if let Some(a) = s.head_age_seconds {
            metrics::gauge!("bts_gateway_upstream_head_age_seconds", "upstream" => name.clone()).set(a as f64);
        }
        if let Some(l) = s.lag_blocks {
            metrics::gauge!("bts_gateway_upstream_lag_blocks", "upstream" => name.clone()).set(f64::from(l));
        }
        if let Some(l) = s.lib_lag_blocks {
            metrics::gauge!("bts_gateway_upstream_lib_lag_blocks", "upstream" => name.clone()).set(f64::from(l));
        }
        if let Some(p) = s.latency_p50_ms {
            metrics::gauge!("bts_gateway_upstream_latency_p50_seconds", "upstream" => name.clone()).set(p / 1000.0);
        }
        if let Some(p) = s.latency_p99_ms {
            metrics::gauge!("bts_gateway_upstream_latency_p99_seconds", "upstream" => name.clone()).set(p / 1000.0);
        }
        metrics::gauge!("bts_gateway_upstream_connections", "upstream" => name.clone()).set(s.connections as f64);
    }
    metrics::gauge!("bts_gateway_best_head_block_number").set(f64::from(pool.best_head()));
}

/// Counts a limit violation (`limit` = message_size, connections, connections_per_ip, rate,
/// api_denied, method_denied, idle, parse_error).
pub fn limit_hit(limit: &'static str) {
    metrics::counter!("bts_gateway_limit_rejections_total", "limit" => limit).increment(1);
}

/// Counts a client request by transport (`ws` or `http`).
pub fn request(transport: &'static str) {
    metrics::counter!("bts_gateway_requests_total", "transport" => transport).increment(1);
}
