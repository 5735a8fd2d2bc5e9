//! A client WebSocket session, proxied message by message.
//!
//! The gateway terminates the client's socket and holds its own connection to the session's
//! upstream. Each client frame's envelope is parsed (id, API, method) while its arguments stay
//! raw JSON; `login` and the API-id calls are answered locally with the session's own API ids,
//! which are mapped to the upstream's; request ids and callback ids are rewritten to the
//! session's own numbers and mapped back on the way out. That mapping is what lets a later
//! failover move the session to another upstream without the client noticing. Until then, when
//! the upstream goes down, the client gets close code 1012 with the reason, and reconnects.

use crate::GatewayState;
use crate::policy::API_SETS;
use crate::pool::Upstream;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bts_rpc::FcException;
use bts_rpc::wire::{self, ApiRef, Request, RpcError};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as UpMessage;

/// Close code sent when the upstream goes away: "Service Restart", reconnect now.
pub const CLOSE_UPSTREAM_GONE: u16 = 1012;
/// Close code for "try again later" (no healthy upstream).
pub const CLOSE_TRY_AGAIN: u16 = 1013;
/// Close code for an oversized message.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for the gateway shutting down or an idle client.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// How often a session checks its upstream's health, shutdown, idleness and pings.
const HOUSEKEEPING: Duration = Duration::from_millis(250);

/// Methods whose first argument is a callback id (bitsharesjs-ws `ChainWebSocket`).
const CALLBACK_METHODS: &[&str] = &[
    "set_subscribe_callback",
    "subscribe_to_market",
    "broadcast_transaction_with_callback",
    "set_pending_transaction_callback",
    "set_block_applied_callback",
];

enum InFlight {
    /// A client request: the client's id as JSON text.
    Client { id: Option<Box<str>>, jsonrpc: bool, started: Instant },
    /// A login-API call resolving this API name to the upstream's id.
    Resolve(String),
}

/// How a frame names its API: a session-local id, or a name.
enum ApiSel<'a> {
    Local(u64),
    Named(&'a str),
}

/// A request waiting for its API's upstream id.
struct Queued {
    id: Option<Box<str>>,
    jsonrpc: bool,
    method: String,
    args: Box<RawValue>,
}

/// A client session's proxy state.
struct Session {
    state: Arc<GatewayState>,
    ip: IpAddr,
    upstream: Arc<Upstream>,
    /// Frames for the upstream, flushed by the session loop after each event.
    to_upstream: Vec<UpMessage>,
    /// Frames for the client, flushed likewise.
    to_client: Vec<Message>,
    /// Cached counter handle: looking a labelled metric up per message is measurable.
    requests_counter: metrics::Counter,
    local_apis: Vec<String>,
    upstream_api_ids: HashMap<String, u64>,
    resolving: HashMap<String, Vec<Queued>>,
    in_flight: HashMap<u64, InFlight>,
    callbacks: HashMap<u64, Value>,
    next_id: u64,
}

fn close(code: u16, reason: &str) -> Message {
    // Close reasons are limited to 123 bytes.
    let mut reason = reason.to_owned();
    while reason.len() > 123 {
        reason.pop();
    }
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// Runs a session until either side closes. `ip` is the client's address.
pub async fn run(state: Arc<GatewayState>, socket: WebSocket, ip: IpAddr) {
    let (mut client_sink, mut client_stream) = socket.split();
    // Place the session: try the best upstream, then one more.
    let mut connected = None;
    let mut tried: Option<String> = None;
    for _ in 0..2 {
        let Some(up) = state.pool.select(tried.as_deref()) else { break };
        match tokio::time::timeout(
            Duration::from_secs(5),
            bts_rpc::client::connect_websocket(up.url.as_str(), up.tls.as_ref()),
        )
        .await
        {
            Ok(Ok(ws)) => {
                connected = Some((up, ws));
                break;
            }
            _ => {
                tracing::warn!(upstream = %up.name, "cannot open a session connection to the upstream");
                tried = Some(up.name.clone());
            }
        }
    }
    let Some((upstream, upstream_ws)) = connected else {
        let _ = client_sink.send(close(CLOSE_TRY_AGAIN, "no healthy upstream")).await;
        return;
    };
    upstream.sessions.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(upstream = %upstream.name, %ip, "session placed");
    let (mut up_sink, mut up_stream) = upstream_ws.split();

    let mut session = Session {
        state: state.clone(),
        ip,
        upstream: upstream.clone(),
        to_upstream: Vec::new(),
        to_client: Vec::new(),
        requests_counter: metrics::counter!("bts_gateway_requests_total", "transport" => "ws"),
        local_apis: vec!["database".into(), "login".into()],
        upstream_api_ids: HashMap::from([("database".into(), 0), ("login".into(), 1)]),
        resolving: HashMap::new(),
        in_flight: HashMap::new(),
        callbacks: HashMap::new(),
        next_id: 1,
    };
    let availability = upstream.availability();
    let shutdown = state.shutdown.subscribe();
    let limits = state.config.load().limits.clone();
    let idle = Duration::from_secs(limits.idle_timeout_secs.max(1));
    let mut last_heard = Instant::now();
    let ping_every = (limits.ping_interval_secs > 0).then(|| Duration::from_secs(limits.ping_interval_secs));
    let mut last_ping = Instant::now();
    // One housekeeping timer instead of a select branch per watch channel and timer: branch
    // futures are rebuilt on every loop turn, and a message's turn should cost as little as
    // possible. Upstream failure and shutdown are therefore noticed within this period.
    let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
    housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let end: Option<Message> = loop {
        // Write what the last event produced; a failed write ends the session.
        if !session.to_upstream.is_empty() {
            let mut ok = true;
            for m in session.to_upstream.drain(..) {
                ok &= up_sink.feed(m).await.is_ok();
            }
            if !ok || up_sink.flush().await.is_err() {
                break Some(close(CLOSE_UPSTREAM_GONE, &format!("upstream {} connection lost", upstream.name)));
            }
        }
        if !session.to_client.is_empty() {
            let mut ok = true;
            for m in session.to_client.drain(..) {
                ok &= client_sink.feed(m).await.is_ok();
            }
            if !ok || client_sink.flush().await.is_err() {
                break None;
            }
        }
        tokio::select! {
            frame = client_stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    session.on_client_text(text.as_str());
                }
                Some(Ok(Message::Binary(_))) => {
                    last_heard = Instant::now();
                    session.reply_error(None, true, RpcError::plain(wire::INVALID_REQUEST, "binary frames are not supported"));
                }
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Ok(_)) => last_heard = Instant::now(),
                Some(Err(e)) => {
                    let text = e.to_string();
                    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
                        crate::metrics::limit_hit("message_size");
                        break Some(close(CLOSE_TOO_BIG, &format!("message larger than {} bytes", limits.max_message_bytes)));
                    }
                    break None;
                }
            },
            msg = up_stream.next() => match msg {
                Some(Ok(UpMessage::Text(text))) => session.on_upstream_text(text.as_str()),
                Some(Ok(UpMessage::Ping(p))) => session.to_upstream.push(UpMessage::Pong(p)),
                Some(Ok(UpMessage::Close(_))) | None | Some(Err(_)) => {
                    break Some(close(CLOSE_UPSTREAM_GONE, &format!("upstream {} connection lost", upstream.name)));
                }
                Some(Ok(_)) => {}
            },
            _ = housekeeping.tick() => {
                if *shutdown.borrow() {
                    break Some(close(CLOSE_GOING_AWAY, "gateway shutting down"));
                }
                let a = availability.borrow().clone();
                if !a.usable {
                    break Some(close(CLOSE_UPSTREAM_GONE, &a.reason));
                }
                if last_heard.elapsed() > idle {
                    crate::metrics::limit_hit("idle");
                    break Some(close(CLOSE_GOING_AWAY, "idle timeout"));
                }
                if ping_every.is_some_and(|every| last_ping.elapsed() >= every) {
                    last_ping = Instant::now();
                    session.to_client.push(Message::Ping(Vec::new().into()));
                }
            }
        }
    };
    for m in session.to_client.drain(..) {
        let _ = client_sink.feed(m).await;
    }
    if let Some(frame) = end {
        tracing::debug!(upstream = %upstream.name, %ip, ?frame, "closing client session");
        let _ = client_sink.feed(frame).await;
    }
    let _ = client_sink.flush().await;
    let _ = client_sink.close().await;
    let _ = up_sink.close().await;
    let unanswered = session.in_flight.values().filter(|f| matches!(f, InFlight::Client { .. })).count() as u64;
    upstream.outstanding.fetch_sub(unanswered.min(upstream.outstanding.load(Ordering::Relaxed)), Ordering::Relaxed);
    upstream.sessions.fetch_sub(1, Ordering::Relaxed);
}

impl Session {
    /// Sends an error answer; `id` is the client's id as JSON text (`None` → `null`).
    fn reply_error(&mut self, id: Option<&str>, jsonrpc: bool, error: RpcError) {
        let error = serde_json::to_string(&error).unwrap_or_else(|_| "null".into());
        let rpc = if jsonrpc { ",\"jsonrpc\":\"2.0\"" } else { "" };
        let text = format!("{{\"id\":{}{rpc},\"error\":{error}}}", id.unwrap_or("null"));
        self.to_client.push(Message::Text(text.into()));
    }

    /// Sends a result; notifications (no id) get none.
    fn reply_result(&mut self, id: Option<&str>, jsonrpc: bool, result: &str) {
        if let Some(id) = id {
            let rpc = if jsonrpc { ",\"jsonrpc\":\"2.0\"" } else { "" };
            self.to_client.push(Message::Text(format!("{{\"id\":{id}{rpc},\"result\":{result}}}").into()));
        }
    }

    fn on_client_text(&mut self, text: &str) {
        self.requests_counter.increment(1);
        // Fast path: one borrowed parse. Anything unusual goes through the full parser, which
        // gives the node's exact error.
        if let Some(call) = wire::BorrowedCall::parse(text) {
            let id = call.id.map(RawValue::get);
            if self.state.limiter.load().check_key(&self.ip).is_err() {
                crate::metrics::limit_hit("rate");
                return self.reply_error(id, call.jsonrpc, crate::rate_limited_error(&self.state));
            }
            let api = match &call.api {
                wire::BorrowedApi::Id(n) => ApiSel::Local(*n),
                wire::BorrowedApi::Name(name) => ApiSel::Named(name.as_ref()),
            };
            return self.on_call(id, call.jsonrpc, api, &call.method, call.args);
        }
        let request = match Request::parse(text) {
            Ok(r) => r,
            Err(e) => {
                crate::metrics::limit_hit("parse_error");
                self.to_client.push(Message::Text(e.to_json().into()));
                return;
            }
        };
        let id = request.id.as_ref().map(Value::to_string);
        if self.state.limiter.load().check_key(&self.ip).is_err() {
            crate::metrics::limit_hit("rate");
            return self.reply_error(id.as_deref(), request.jsonrpc, crate::rate_limited_error(&self.state));
        }
        match request.call() {
            Ok(call) => {
                let api = match &call.api {
                    ApiRef::Id(n) => ApiSel::Local(*n),
                    ApiRef::Name(name) => ApiSel::Named(name.as_str()),
                };
                self.on_call(id.as_deref(), request.jsonrpc, api, &call.method, &call.args);
            }
            Err(e) => self.reply_error(id.as_deref(), request.jsonrpc, e),
        }
    }

    fn on_call(&mut self, id: Option<&str>, jsonrpc: bool, api: ApiSel<'_>, method: &str, args: &RawValue) {
        let api: &str = match api {
            ApiSel::Local(n) => match self.local_apis.get(usize::try_from(n).unwrap_or(usize::MAX)) {
                Some(name) => name,
                None => {
                    let e = FcException::assert("_local_apis.size() > api_id", "").into_error();
                    return self.reply_error(id, jsonrpc, e);
                }
            },
            ApiSel::Named(name) => name,
        };
        // Decide everything that needs the API name while it is borrowed, so the per-message
        // path does not copy it; only a first use of an unresolved API takes an owned name.
        let policy = crate::policy::check_call(&self.state.config.load().limits, api, method);
        let is_login = api == "login";
        let upstream_api = self.upstream_api_ids.get(api).copied();
        let unresolved = upstream_api.is_none().then(|| api.to_owned());
        if let Err(e) = policy {
            return self.reply_error(id, jsonrpc, e);
        }
        if is_login {
            if method == "login" {
                // Every connection is logged in already; answered here, at once (wallets time this).
                return self.reply_result(id, jsonrpc, "true");
            }
            if API_SETS.contains(&method) {
                let local = match self.local_apis.iter().position(|a| a == method) {
                    Some(i) => i,
                    None => {
                        self.local_apis.push(method.to_owned());
                        self.local_apis.len() - 1
                    }
                };
                return self.reply_result(id, jsonrpc, &local.to_string());
            }
        }
        if let Some(upstream_api) = upstream_api {
            self.forward(upstream_api, id, jsonrpc, method, args);
        } else if let Some(api) = unresolved {
            let queued = Queued { id: id.map(Into::into), jsonrpc, method: method.to_owned(), args: args.to_owned() };
            self.resolve_then_forward(api, queued);
        }
    }

    fn resolve_then_forward(&mut self, api: String, queued: Queued) {
        let first = !self.resolving.contains_key(&api);
        self.resolving.entry(api.clone()).or_default().push(queued);
        if first {
            let id = self.take_id();
            self.in_flight.insert(id, InFlight::Resolve(api.clone()));
            let frame = format!("{{\"id\":{id},\"method\":\"call\",\"params\":[1,{},[]]}}", Value::String(api));
            self.to_upstream.push(UpMessage::text(frame));
        }
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn forward(&mut self, upstream_api: u64, client_id: Option<&str>, jsonrpc: bool, method: &str, args: &RawValue) {
        let id = self.take_id();
        let mut rebuilt: Option<String> = None;
        if CALLBACK_METHODS.contains(&method) {
            // Replace the client's callback id with ours; notices are mapped back.
            let parts = serde_json::from_str::<Vec<&RawValue>>(args.get()).unwrap_or_default();
            if let Some(first) = parts.first() {
                let client_cb: Value = serde_json::from_str(first.get()).unwrap_or(Value::Null);
                self.callbacks.insert(id, client_cb);
                let mut text = format!("[{id}");
                for p in &parts[1..] {
                    text.push(',');
                    text.push_str(p.get());
                }
                text.push(']');
                rebuilt = Some(text);
            }
        }
        let args = rebuilt.as_deref().unwrap_or(args.get());
        let method = Value::from(method);
        let frame = format!("{{\"id\":{id},\"method\":\"call\",\"params\":[{upstream_api},{method},{args}]}}");
        self.in_flight.insert(id, InFlight::Client { id: client_id.map(Into::into), jsonrpc, started: Instant::now() });
        self.upstream.outstanding.fetch_add(1, Ordering::Relaxed);
        self.to_upstream.push(UpMessage::text(frame));
    }

    fn on_upstream_text(&mut self, text: &str) {
        #[derive(Deserialize)]
        struct Up<'a> {
            #[serde(default)]
            id: Option<u64>,
            #[serde(borrow, default)]
            result: Option<&'a RawValue>,
            #[serde(borrow, default)]
            error: Option<&'a RawValue>,
            #[serde(borrow, default)]
            method: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            params: Option<&'a RawValue>,
        }
        let Ok(msg) = serde_json::from_str::<Up<'_>>(text) else {
            tracing::warn!(upstream = %self.upstream.name, "unparsable message from upstream dropped");
            return;
        };
        if msg.method.as_deref() == Some("notice") {
            let Some(params) = msg.params else { return };
            let Ok((cb, payload)) = serde_json::from_str::<(u64, &RawValue)>(params.get()) else { return };
            if let Some(client_cb) = self.callbacks.get(&cb) {
                let text = format!("{{\"method\":\"notice\",\"params\":[{client_cb},{}]}}", payload.get());
                self.to_client.push(Message::Text(text.into()));
            }
            return;
        }
        let Some(id) = msg.id else { return };
        match self.in_flight.remove(&id) {
            Some(InFlight::Client { id: client_id, jsonrpc, started }) => {
                self.upstream.outstanding.fetch_sub(1, Ordering::Relaxed);
                self.upstream.record_latency(started.elapsed(), msg.error.is_none());
                let Some(id_text) = client_id else { return };
                let rpc = if jsonrpc { ",\"jsonrpc\":\"2.0\"" } else { "" };
                let text = match (msg.result, msg.error) {
                    (Some(r), _) => format!("{{\"id\":{id_text}{rpc},\"result\":{}}}", r.get()),
                    (None, Some(e)) => format!("{{\"id\":{id_text}{rpc},\"error\":{}}}", e.get()),
                    (None, None) => format!("{{\"id\":{id_text}{rpc},\"result\":null}}"),
                };
                self.to_client.push(Message::Text(text.into()));
            }
            Some(InFlight::Resolve(api)) => {
                let waiting = self.resolving.remove(&api).unwrap_or_default();
                let upstream_id = msg.result.and_then(|r| r.get().parse::<u64>().ok());
                match upstream_id {
                    Some(upstream_api) => {
                        self.upstream_api_ids.insert(api, upstream_api);
                        for q in waiting {
                            self.forward(upstream_api, q.id.as_deref(), q.jsonrpc, &q.method, &q.args);
                        }
                    }
                    None => {
                        let error: RpcError = msg
                            .error
                            .and_then(|e| serde_json::from_str(e.get()).ok())
                            .unwrap_or_else(|| FcException::assert("is_allowed", "Access denied").into_error());
                        for q in waiting {
                            self.reply_error(q.id.as_deref(), q.jsonrpc, error.clone());
                        }
                    }
                }
            }
            None => {}
        }
    }
}
