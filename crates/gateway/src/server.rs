//! The client listener: WebSocket sessions, HTTP JSON-RPC, health/stats/metrics pages and the
//! admin endpoints, all on one port.

use crate::GatewayState;
use crate::health::AdminState;
use askama::Template;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use bts_rpc::wire::{self, ApiRef, Request, RpcError};
use bts_rpc::{ClientError, FcException};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The router for the client listener.
pub fn router(state: Arc<GatewayState>) -> axum::Router {
    // Every admin route is behind one guard: loopback, or the admin token.
    let admin = axum::Router::new()
        .route("/admin/upstreams/{name}/{action}", post(admin_upstream))
        .route("/admin/reload", post(admin_reload))
        .route("/admin/acme/renew", post(admin_acme_renew))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admin_guard));
    axum::Router::new()
        .route("/health", get(health))
        .route("/stats", get(stats_page))
        .route("/stats.json", get(stats_json))
        .route("/metrics", get(metrics))
        .merge(admin)
        .fallback(rpc_entry)
        .with_state(state)
}

/// Decrements the connection counters when a WebSocket session ends.
struct ConnectionGuard {
    state: Arc<GatewayState>,
    ip: IpAddr,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.state.total_connections.fetch_sub(1, Ordering::Relaxed);
        let mut per_ip = self.state.per_ip.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        metrics::gauge!("bts_gateway_connections").decrement(1.0);
    }
}

fn json_error(status: StatusCode, id: Option<&Value>, error: &RpcError) -> Response {
    json_error_rpc(status, id, true, error)
}

fn json_error_rpc(status: StatusCode, id: Option<&Value>, jsonrpc: bool, error: &RpcError) -> Response {
    let body = wire::error_response(id.unwrap_or(&Value::Null), jsonrpc, error);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The node's HTTP status for an error answer: 500 for an internal error, 400 for protocol
/// errors (codes -32600 and below), 200 for the rest (execution errors are answers too).
fn node_status(code: i64) -> StatusCode {
    match code {
        wire::INTERNAL_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
        c if c <= wire::INVALID_REQUEST => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

async fn rpc_entry(
    State(state): State<Arc<GatewayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    body: axum::body::Bytes,
) -> Response {
    let ip = peer.ip();
    let limits = state.config.load().limits.clone();
    if let Ok(ws) = ws {
        if state.draining.load(Ordering::Relaxed) {
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                &RpcError::plain(-32000, "gateway shutting down"),
            );
        }
        if state.pool.select(None).is_none() {
            return json_error(StatusCode::SERVICE_UNAVAILABLE, None, &RpcError::plain(-32000, "no healthy upstream"));
        }
        {
            let mut per_ip = state.per_ip.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if state.total_connections.load(Ordering::Relaxed) >= limits.max_connections {
                crate::metrics::limit_hit("connections");
                let e = RpcError::plain(-32000, format!("too many connections (limit {})", limits.max_connections));
                return json_error(StatusCode::SERVICE_UNAVAILABLE, None, &e);
            }
            let n = per_ip.entry(ip).or_default();
            if *n >= limits.max_connections_per_ip {
                crate::metrics::limit_hit("connections_per_ip");
                let e = RpcError::plain(
                    -32000,
                    format!("too many connections from {ip} (limit {})", limits.max_connections_per_ip),
                );
                return json_error(StatusCode::TOO_MANY_REQUESTS, None, &e);
            }
            *n += 1;
            state.total_connections.fetch_add(1, Ordering::Relaxed);
            metrics::gauge!("bts_gateway_connections").increment(1.0);
        }
        let guard = ConnectionGuard { state: state.clone(), ip };
        return ws
            .max_message_size(limits.max_message_bytes)
            .max_frame_size(limits.max_message_bytes)
            .read_buffer_size(bts_rpc::client::READ_BUFFER_BYTES)
            .on_upgrade(move |socket| async move {
                crate::session::run(state.clone(), socket, ip).await;
                drop(guard);
            });
    }
    // An HTTP request is a frame like a WebSocket message (busy polling: crate::spin).
    crate::spin::frame_handled();
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "POST a JSON-RPC request or open a WebSocket; see /stats and /health\n",
        )
            .into_response();
    }
    http_call(&state, ip, &body, &limits).await
}

/// Whether a call may be repeated on another upstream after a connection failure or timeout:
/// everything except broadcasts (never re-sent blindly).
fn idempotent(api: &str, method: &str) -> bool {
    api != "network_broadcast" && !method.starts_with("broadcast")
}

/// Sends one call to a healthy upstream over its shared connection, retrying an idempotent one
/// once elsewhere; returns the outcome and the answering upstream's last irreversible block.
async fn forward_http(
    state: &GatewayState,
    api: &str,
    method: &str,
    args: &str,
    limits: &crate::config::LimitsConfig,
) -> (Result<Box<RawValue>, RpcError>, u32) {
    let retry = idempotent(api, method);
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    // Over this worker thread's shared connection (as WebSocket sessions), or the upstream's
    // gateway-wide client when sharing is off.
    let share = state.config.load().sessions.share_connections;
    let mut excluded: Option<String> = None;
    for attempt in 0..2 {
        let Some(up) = state.pool.select(excluded.as_deref()) else {
            return (Err(RpcError::plain(-32000, "no healthy upstream")), 0);
        };
        up.outstanding.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let call = async {
            if share { crate::mux::call(&up, api, method, args).await } else { up.call_raw(api, method, args).await }
        };
        let r = tokio::time::timeout(timeout, call).await;
        up.outstanding.fetch_sub(1, Ordering::Relaxed);
        match r {
            Ok(Ok(v)) => {
                up.record_latency(started.elapsed(), true);
                return (Ok(v), up.lib());
            }
            Ok(Err(ClientError::Rpc(e))) => {
                up.record_latency(started.elapsed(), true);
                return (Err(e), up.lib());
            }
            Ok(Err(e)) if !retry || attempt == 1 => {
                up.record_latency(started.elapsed(), false);
                return (Err(RpcError::plain(-32000, format!("upstream {} failed: {e}", up.name))), 0);
            }
            Err(_) if !retry || attempt == 1 => {
                up.record_latency(started.elapsed(), false);
                let e = RpcError::plain(-32000, format!("upstream {} did not answer within {timeout:?}", up.name));
                return (Err(e), 0);
            }
            _ => {
                up.record_latency(started.elapsed(), false);
                tracing::debug!(upstream = %up.name, "retrying an idempotent request on another upstream");
                excluded = Some(up.name.clone());
            }
        }
    }
    (Err(RpcError::plain(-32000, "no healthy upstream")), 0)
}

/// A result held as JSON text (the node's own or the cache's), checked to be one JSON value.
fn raw(text: &str) -> Result<Box<RawValue>, RpcError> {
    RawValue::from_string(text.to_owned()).map_err(|_| RpcError::parse_error())
}

/// Whether a node error says it already has the transaction.
fn is_duplicate(e: &RpcError) -> bool {
    serde_json::to_string(e).is_ok_and(|t| crate::is_duplicate_text(&t))
}

/// Sends a broadcast to `n` healthy upstreams at once; the client gets the first acceptance,
/// else a non-duplicate error if any, else the duplicate error (the chain already had it).
async fn fan_out_http(
    state: &GatewayState,
    method: &str,
    args: Value,
    n: usize,
    limits: &crate::config::LimitsConfig,
) -> Result<Value, RpcError> {
    let ups = state.pool.select_n(n, None);
    if ups.is_empty() {
        return Err(RpcError::plain(-32000, "no healthy upstream"));
    }
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    let sends = ups.iter().map(|up| {
        let args = args.clone();
        async move {
            up.outstanding.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let r = tokio::time::timeout(timeout, up.data.call(ApiRef::Name("network_broadcast".into()), method, args))
                .await;
            up.outstanding.fetch_sub(1, Ordering::Relaxed);
            up.record_latency(started.elapsed(), matches!(r, Ok(Ok(_)) | Ok(Err(ClientError::Rpc(_)))));
            match r {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(ClientError::Rpc(e))) => Err(e),
                Ok(Err(e)) => Err(RpcError::plain(-32000, format!("upstream {} failed: {e}", up.name))),
                Err(_) => {
                    Err(RpcError::plain(-32000, format!("upstream {} did not answer within {timeout:?}", up.name)))
                }
            }
        }
    });
    let results = futures_util::future::join_all(sends).await;
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => return Ok(v),
            Err(e) => errors.push(e),
        }
    }
    let first_real = errors.iter().position(|e| !is_duplicate(e)).unwrap_or(0);
    Err(errors.swap_remove(first_real))
}

async fn http_call(
    state: &Arc<GatewayState>,
    ip: IpAddr,
    body: &[u8],
    limits: &crate::config::LimitsConfig,
) -> Response {
    crate::metrics::request("http");
    if body.len() > limits.max_message_bytes {
        crate::metrics::limit_hit("message_size");
        let e =
            RpcError::plain(wire::INVALID_REQUEST, format!("request larger than {} bytes", limits.max_message_bytes));
        return json_error(StatusCode::PAYLOAD_TOO_LARGE, None, &e);
    }
    if state.limiter.load().check_key(&ip).is_err() {
        crate::metrics::limit_hit("rate");
        return json_error(StatusCode::TOO_MANY_REQUESTS, None, &crate::rate_limited_error(state));
    }
    let text = String::from_utf8_lossy(body);
    let request = match Request::parse(&text) {
        Ok(Some(r)) => r,
        // An answer to a call the server made: the node sends nothing back.
        Ok(None) => return StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            crate::metrics::limit_hit("parse_error");
            return (node_status(e.error.code), [(header::CONTENT_TYPE, "application/json")], e.to_json())
                .into_response();
        }
    };
    let id = request.id.clone();
    let jsonrpc = request.jsonrpc;
    let result = async {
        let call = request.call()?;
        // Over HTTP every request is a fresh session: only ids 0 (database) and 1 (login) exist.
        let api = match &call.api {
            ApiRef::Id(0) => "database".to_owned(),
            ApiRef::Id(1) => "login".to_owned(),
            ApiRef::Id(_) => return Err(FcException::assert("_local_apis.size() > api_id", "").into_error()),
            ApiRef::Name(n) => n.clone(),
        };
        let args = call.args_text();
        if api == "login" && call.method == "login" {
            return raw(wire::login_result(&args)?);
        }
        if api == "login" && call.method == "logout" {
            return raw("false");
        }
        crate::policy::check_call(limits, &api, &call.method)?;
        if api == "login" && crate::policy::API_SETS.contains(&call.method.as_str()) {
            // A fresh connection has database (0) and login (1); the next set asked for gets 2.
            return raw(if call.method == "database" { "0" } else { "2" });
        }
        let fanout = state.config.load().broadcasts.fanout;
        if fanout > 1
            && api == "network_broadcast"
            && matches!(call.method.as_str(), "broadcast_transaction" | "broadcast_transaction_synchronous")
        {
            let v = fan_out_http(state, &call.method, call.args_value(), fanout, limits).await?;
            return serde_json::value::to_raw_value(&v).map_err(|_| RpcError::parse_error());
        }
        let cacheable =
            (api == "database" && state.cache.enabled()).then(|| crate::cache::classify(&call.method, &args)).flatten();
        let Some((key, rule)) = cacheable else {
            return forward_http(state, &api, &call.method, &args, limits).await.0;
        };
        use crate::cache::{Lookup, Outcome, Waiter};
        let (tx, rx) = tokio::sync::oneshot::channel();
        let lead = match state.cache.lookup(&key, || Waiter::Http(tx)) {
            Lookup::Hit(v) => return raw(&v),
            Lookup::Lead => true,
            Lookup::Follow => {
                let waited = tokio::time::timeout(Duration::from_millis(limits.request_timeout_ms), rx).await;
                match waited {
                    Ok(Ok(Outcome::Result(v))) => return raw(&v),
                    Ok(Ok(Outcome::Error(e))) => {
                        return Err(serde_json::from_str(&e).unwrap_or_else(|_| RpcError::plain(-32000, e.to_string())));
                    }
                    // The first request got nothing (or took too long): ask ourselves.
                    _ => false,
                }
            }
        };
        let (result, lib) = forward_http(state, &api, &call.method, &args, limits).await;
        if lead {
            let outcome = match &result {
                Ok(v) => Outcome::Result(v.get().into()),
                Err(_) => Outcome::Retry,
            };
            state.cache.complete(&key, rule, outcome, lib);
        }
        result
    }
    .await;
    let Some(id) = id else {
        return StatusCode::NO_CONTENT.into_response();
    };
    match result {
        Ok(v) => {
            ([(header::CONTENT_TYPE, "application/json")], wire::result_response(&id, jsonrpc, &v)).into_response()
        }
        Err(e) => {
            let status = match e.code {
                -32000 if e.message.contains("no healthy upstream") => StatusCode::SERVICE_UNAVAILABLE,
                -32000 => StatusCode::BAD_GATEWAY,
                c => node_status(c),
            };
            json_error_rpc(status, Some(&id), jsonrpc, &e)
        }
    }
}

/// The data shown by `/stats`, `/stats.json` and `/health?detailed`.
pub fn stats_snapshot(state: &GatewayState) -> Value {
    let upstreams = state.pool.stats();
    let healthy = upstreams
        .iter()
        .filter(|u| {
            matches!(u.state, crate::health::State::Up | crate::health::State::Lagging)
                && u.admin_state == AdminState::Enabled
        })
        .count();
    json!({
        "name": state.config.load().name,
        "chain_id": state.pool.chain_id(),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "best_head_block_number": state.pool.best_head(),
        "healthy_upstreams": healthy,
        "connections": state.total_connections.load(Ordering::Relaxed),
        "requests": upstreams.iter().map(|u| u.requests).sum::<u64>(),
        "requests_per_second": (upstreams.iter().map(|u| u.requests_per_second).sum::<f64>() * 10.0).round() / 10.0,
        "errors": upstreams.iter().map(|u| u.errors).sum::<u64>(),
        "upstreams": upstreams,
        "tls": tls_snapshot(state),
        "cache": state.cache.stats(),
    })
}

/// The served certificate and the ACME client's state; `null` without TLS.
fn tls_snapshot(state: &GatewayState) -> Value {
    let Some(store) = &state.tls else { return Value::Null };
    let info = store.info();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    json!({
        "source": info.source,
        "certificate_not_after": (info.not_after > 0).then_some(info.not_after),
        "certificate_expires_in_seconds": (info.not_after > 0).then(|| info.not_after - now),
        "certificate_serial": (!info.serial.is_empty()).then(|| info.serial.clone()),
        "acme": state.acme.as_ref().map(|a| a.status()),
    })
}

async fn stats_json(State(state): State<Arc<GatewayState>>) -> Response {
    axum::Json(stats_snapshot(&state)).into_response()
}

/// One table row of the stats page.
struct Row {
    name: String,
    url: String,
    state: String,
    admin_state: String,
    head: String,
    head_age: String,
    lag: String,
    latency_p50: String,
    latency_p99: String,
    connections: u64,
    requests_per_second: f64,
    errors: u64,
    last_check: String,
    time_in_state: String,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    name: String,
    chain_id: String,
    uptime: String,
    best_head: u32,
    healthy: usize,
    total: usize,
    connections: usize,
    requests: u64,
    requests_per_second: f64,
    errors: u64,
    rows: Vec<Row>,
    /// One line about the served certificate; empty without TLS.
    certificate: String,
    /// One line about the response cache.
    cache: String,
}

/// "expires 2027-02-21 (in 89 d) · acme · next renewal in 59 d · last error: …".
fn certificate_line(state: &GatewayState) -> String {
    let Some(store) = &state.tls else { return String::new() };
    let info = store.info();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut line = if info.not_after > 0 {
        format!("certificate expires in {} d ({})", (info.not_after - now) / 86_400, info.source)
    } else {
        format!("no certificate yet ({})", info.source)
    };
    if let Some(acme) = &state.acme {
        let st = acme.status();
        if st.renewing {
            line.push_str(" · renewing now");
        } else if let Some(next) = st.next_attempt {
            line.push_str(&format!(" · next ACME attempt in {}", human_seconds(next - now)));
        }
        if let Some(e) = st.last_error {
            line.push_str(&format!(" · last attempt failed ({} in a row): {e}", st.consecutive_failures));
        }
    }
    line
}

fn human_seconds(s: i64) -> String {
    match s.max(0) {
        s if s >= 86_400 => format!("{} d", s / 86_400),
        s if s >= 3_600 => format!("{} h", s / 3_600),
        s => format!("{s} s"),
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>, unit: &str) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v}{unit}"))
}

async fn stats_page(State(state): State<Arc<GatewayState>>) -> Response {
    let snap = state.pool.stats();
    let rows: Vec<Row> = snap
        .iter()
        .map(|u| Row {
            name: u.name.clone(),
            url: u.url.clone(),
            state: u.state.as_str().to_owned(),
            admin_state: format!("{:?}", u.admin_state).to_lowercase(),
            head: opt(u.head_block_number, ""),
            head_age: opt(u.head_age_seconds, " s"),
            lag: opt(u.lag_blocks, ""),
            latency_p50: opt(u.latency_p50_ms, " ms"),
            latency_p99: opt(u.latency_p99_ms, " ms"),
            connections: u.connections,
            requests_per_second: u.requests_per_second,
            errors: u.errors,
            last_check: u.last_check.clone(),
            time_in_state: format!("{} s", u.time_in_state_seconds),
        })
        .collect();
    let page = StatsPage {
        name: state.config.load().name.clone(),
        chain_id: state.pool.chain_id().unwrap_or_else(|| "(learning)".into()),
        uptime: format!("{} s", state.started.elapsed().as_secs()),
        best_head: state.pool.best_head(),
        healthy: rows
            .iter()
            .filter(|r| (r.state == "up" || r.state == "lagging") && r.admin_state == "enabled")
            .count(),
        total: rows.len(),
        connections: state.total_connections.load(Ordering::Relaxed),
        requests: snap.iter().map(|u| u.requests).sum(),
        requests_per_second: (snap.iter().map(|u| u.requests_per_second).sum::<f64>() * 10.0).round() / 10.0,
        errors: snap.iter().map(|u| u.errors).sum(),
        rows,
        certificate: certificate_line(&state),
        cache: {
            let c = state.cache.stats();
            if c.max_bytes == 0 {
                "cache off".into()
            } else {
                format!(
                    "cache: {} hits, {} misses, {} coalesced (hit ratio {:.1} %) · {} entries, {} of {} KiB",
                    c.hits,
                    c.misses,
                    c.coalesced,
                    c.hit_ratio * 100.0,
                    c.entries,
                    c.bytes / 1024,
                    c.max_bytes / 1024
                )
            }
        },
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("stats page: {e}")).into_response(),
    }
}

async fn health(State(state): State<Arc<GatewayState>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let snap = stats_snapshot(&state);
    let healthy = snap["healthy_upstreams"].as_u64().unwrap_or(0) > 0 && !state.draining.load(Ordering::Relaxed);
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    if q.contains_key("detailed") {
        return (status, axum::Json(snap)).into_response();
    }
    (status, if healthy { "ok\n" } else { "no healthy upstream\n" }).into_response()
}

async fn metrics() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::metrics::render()).into_response()
}

fn admin_allowed(state: &GatewayState, peer: &SocketAddr, headers: &HeaderMap) -> bool {
    if peer.ip().is_loopback() {
        return true;
    }
    let token = state.config.load().admin.token.clone();
    match (token, headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())) {
        (Some(t), Some(h)) => h.strip_prefix("Bearer ").is_some_and(|given| given == t),
        _ => false,
    }
}

async fn admin_guard(
    State(state): State<Arc<GatewayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !admin_allowed(&state, &peer, &headers) {
        return admin_error(StatusCode::FORBIDDEN, "admin is allowed from loopback or with the admin token");
    }
    next.run(request).await
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

async fn admin_upstream(
    State(state): State<Arc<GatewayState>>,
    Path((name, action)): Path<(String, String)>,
) -> Response {
    let Some(up) = state.pool.get(&name) else {
        return admin_error(StatusCode::NOT_FOUND, format!("no upstream named {name}"));
    };
    let next = match action.as_str() {
        "drain" => AdminState::Drain,
        "maintenance" => AdminState::Maintenance,
        "enable" => AdminState::Enabled,
        other => {
            return admin_error(
                StatusCode::NOT_FOUND,
                format!("unknown action {other}: use drain, maintenance or enable"),
            );
        }
    };
    up.set_admin_state(next);
    axum::Json(json!({"upstream": name, "admin_state": next})).into_response()
}

async fn admin_acme_renew(State(state): State<Arc<GatewayState>>) -> Response {
    match &state.acme {
        Some(acme) => {
            acme.renew_now();
            (StatusCode::ACCEPTED, axum::Json(json!({"renewal": "requested"}))).into_response()
        }
        None => admin_error(StatusCode::NOT_FOUND, "this gateway does not use ACME ([tls.acme] is not set)"),
    }
}

async fn admin_reload(State(state): State<Arc<GatewayState>>) -> Response {
    match crate::reload_from_file(&state) {
        Ok(()) => axum::Json(json!({"reloaded": true})).into_response(),
        Err(e) => admin_error(StatusCode::BAD_REQUEST, e),
    }
}
