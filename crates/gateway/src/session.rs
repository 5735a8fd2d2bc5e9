//! A client WebSocket session, proxied message by message.
//!
//! The gateway terminates the client's socket and talks to the session's upstream through the
//! worker thread's shared connection ([`crate::mux`]) until the session makes a call that
//! creates state on the node; from then on through a connection of its own. Each client frame's envelope is parsed (id, API, method) while its arguments stay
//! raw JSON; `login` and the API-id calls are answered locally with the session's own API ids,
//! which are mapped to the upstream's; request ids and callback ids are rewritten to the
//! session's own numbers and mapped back on the way out. That mapping is what lets failover
//! move the session to another upstream without the client noticing: when the upstream goes
//! down, is put in maintenance or its connection drops, [`Session::move_upstream`] connects to a
//! healthy upstream whose head is at least what the client has seen, replays the session's
//! [`Journal`], pushes the current versions of its subscribed objects as a notice, re-sends the
//! reads that were in flight and fails the broadcasts that were (never a silent resend).
//! With `[sessions] failover = false`, or when no upstream qualifies, the client gets a close
//! frame with the reason instead.

use crate::GatewayState;
use crate::journal::{JOURNALED, Journal};
use crate::mux::Mux;
use crate::policy::API_SETS;
use crate::pool::Upstream;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bts_rpc::FcException;
use bts_rpc::client::send_batch;
use bts_rpc::wire::{self, ApiRef, Request, RpcError};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as UpMessage;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Session numbers: the upper 32 bits of every id a session sends upstream, so that answers on
/// a shared connection find their session.
static NEXT_SLOT: AtomicU32 = AtomicU32::new(1);

/// A fresh session number (also used for one-off HTTP calls on a shared connection).
pub(crate) fn next_slot() -> u32 {
    NEXT_SLOT.fetch_add(1, Ordering::Relaxed)
}

/// What reaches a session besides its sockets' frames.
pub enum Event {
    /// A coalesced cache answer (or the order to fetch after all).
    Filled(crate::cache::Filled),
    /// A frame from the shared upstream connection, for this session.
    Upstream(Utf8Bytes),
    /// The shared upstream connection closed.
    UpstreamLost,
}

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
pub(crate) const CALLBACK_METHODS: &[&str] = &[
    "set_subscribe_callback",
    "subscribe_to_market",
    "broadcast_transaction_with_callback",
    "set_pending_transaction_callback",
    "set_block_applied_callback",
];

/// A client call sent upstream and not answered yet.
struct Pending {
    /// The client's id as JSON text (`None`: a notification, no answer goes back).
    id: Option<Box<str>>,
    jsonrpc: bool,
    started: Instant,
    /// Index of the call's API in `local_apis`, to re-resolve it on another upstream.
    api: usize,
    /// `"method",[args]` as sent (with the gateway's callback id), to re-send after a move.
    tail: Box<str>,
    /// Broadcasts are never re-sent: the first node may have applied them.
    resendable: bool,
    /// The answer's objects become subscribed (auto-subscribing read).
    learn: bool,
    /// The answer may carry 2.1.0 (`head_block_number`), which the client then has seen.
    shows_head: bool,
    /// This call leads a cache flight: its answer completes it.
    cache: Option<(Arc<str>, crate::cache::Rule)>,
    /// For a broadcast whose copies went to other upstreams too (`broadcasts.fanout`): the head
    /// the session had seen when it was sent. A "duplicate transaction" answer then means a copy
    /// got there first (not a client error), and the copy's block comes after this head.
    fanned: Option<u32>,
}

/// The `head_block_number` in a 2.1.0 object inside `text`, if any.
fn head_in(text: &str) -> Option<u32> {
    const KEY: &str = "\"head_block_number\":";
    let at = text.find(KEY)? + KEY.len();
    let digits = text[at..].trim_start();
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

enum InFlight {
    Client(Pending),
    /// A login-API call resolving this API name to the upstream's id.
    Resolve(String),
    /// A journal call replayed after a move; its answer is not for the client.
    Replay,
    /// The `get_objects` re-read after a move; its answer goes to the client as a notice.
    Refresh,
    /// `get_block` of this block, searched for awaited broadcasts the node will not report.
    Scan(u32),
}

/// A broadcast whose inclusion the client still expects to hear of.
struct Awaited {
    /// How the client hears of it.
    deliver: Deliver,
    /// Transaction id (hex), for the notice.
    tx_id: String,
    /// The signatures, which identify it inside a block.
    signatures: Value,
    /// Its expiration (`2026-…T…`): past it, no block can include it.
    expiration: String,
    /// The node answered the broadcast (before, it is an in-flight call).
    accepted: bool,
    /// The gateway must find the inclusion itself because the node will not report it: the
    /// session moved after the node accepted it, or the node had it already from a fan-out copy.
    search: bool,
    /// The next block to search for it: it can only be in a block after the head seen when it
    /// was sent.
    next_block: u32,
}

/// How an awaited broadcast's inclusion reaches the client.
enum Deliver {
    /// As a notice on this (gateway) callback id: `broadcast_transaction_with_callback`.
    Notice(u64),
    /// As the answer to this call: `broadcast_transaction_synchronous`.
    Answer { id: Option<Box<str>>, jsonrpc: bool },
}

/// How a frame names its API: a session-local id, or a name.
enum ApiSel<'a> {
    Local(u64),
    Named(&'a str),
}

/// A call waiting for its API's upstream id.
enum Queued {
    /// A new client call.
    Fresh { id: Option<Box<str>>, jsonrpc: bool, method: String, args: Box<str> },
    /// An in-flight call being re-sent after a move.
    Resend(Pending),
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
    /// Gateway callback id → the client's, as the node would write it in a notice.
    callbacks: HashMap<u64, Box<str>>,
    next_id: u64,
    journal: Journal,
    /// Broadcasts whose inclusion the client has not heard of yet.
    awaited: Vec<Awaited>,
    /// A `get_block` searching for [`Awaited`] broadcasts is on its way.
    scanning: bool,
    /// Where coalesced cache answers and shared-connection frames for this session arrive.
    inbox: tokio::sync::mpsc::UnboundedSender<Event>,
    /// This session's number (see [`NEXT_SLOT`]).
    slot: u32,
    /// The shared connection the session talks through while it has no connection of its own.
    shared: Option<Arc<Mux>>,
    /// Shared connections to leave when the session ends (answers may still be on their way
    /// from one the session no longer sends on).
    joined: Vec<Arc<Mux>>,
    /// The highest head of any upstream this session has been answered from: a move never
    /// goes to an upstream below it.
    seen_head: u32,
    /// The client called `login.logout`: API sets are refused until it logs in again.
    logged_out: bool,
}

pub(crate) type UpstreamSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What one turn of the session loop decided.
enum Turn {
    Continue,
    /// End the session, with this frame to the client if any.
    End(Option<Message>),
    /// The upstream is unusable for this reason: move the session or close it.
    Move(String),
    /// This client frame needs a connection of the session's own: open it, then handle it.
    Detach(axum::extract::ws::Utf8Bytes),
}

/// The next frame from the session's own upstream connection; never, while it has none.
async fn next_frame(
    up: &mut Option<UpstreamSocket>,
) -> Option<Result<UpMessage, tokio_tungstenite::tungstenite::Error>> {
    match up {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

/// A method name quoted so that the node reads it back unchanged (fc's parser has its own
/// escape rules; see [`bts_rpc::fc`]).
fn node_str(s: &str) -> String {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return out;
    }
    bts_rpc::fc::Variant::String(s.to_owned()).to_node_input()
}

fn fresh_api_ids() -> HashMap<String, u64> {
    HashMap::from([("database".into(), 0), ("login".into(), 1)])
}

fn close(code: u16, reason: &str) -> Message {
    // Close reasons are limited to 123 bytes.
    let mut reason = reason.to_owned();
    while reason.len() > 123 {
        reason.pop();
    }
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// Opens a session connection to `up` (5 s limit).
async fn connect(up: &Upstream) -> Option<UpstreamSocket> {
    let connecting = bts_rpc::client::connect_websocket(up.url.as_str(), up.tls.as_ref());
    match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Ok(Ok(ws)) => Some(ws),
        _ => {
            tracing::warn!(upstream = %up.name, "cannot open a session connection to the upstream");
            None
        }
    }
}

/// The head block number a freshly connected upstream reports (2 s limit).
async fn head_of(ws: &mut UpstreamSocket) -> Option<u32> {
    let ask = r#"{"id":0,"method":"call","params":[0,"get_dynamic_global_properties",[]]}"#;
    ws.send(UpMessage::text(ask)).await.ok()?;
    let answer = async {
        while let Some(Ok(m)) = ws.next().await {
            if let UpMessage::Text(t) = m
                && let Ok(v) = serde_json::from_str::<Value>(t.as_str())
                && v["id"] == 0
            {
                return v["result"]["head_block_number"].as_u64().and_then(|h| u32::try_from(h).ok());
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(2), answer).await.ok().flatten()
}

/// Runs a session until either side closes. `ip` is the client's address.
pub async fn run(state: Arc<GatewayState>, mut client: WebSocket, ip: IpAddr) {
    // Neither socket is split: writes happen between the loop's waits, never during one, so
    // the split halves' lock would be pure overhead on every message.
    // Place the session: try the best upstream, then one more. Without node-side state yet,
    // it talks through the thread's shared connection to that upstream.
    let share = state.config.load().sessions.share_connections;
    let (inbox, mut events) = tokio::sync::mpsc::unbounded_channel();
    let slot = next_slot();
    let mut connected = None;
    let mut tried: Option<String> = None;
    for _ in 0..2 {
        let Some(up) = state.pool.select(tried.as_deref()) else { break };
        if share {
            match Mux::get(&up).await {
                Some(mux) => {
                    connected = Some((up, None, Some(mux)));
                    break;
                }
                None => {
                    tracing::warn!(upstream = %up.name, "cannot open a shared connection to the upstream");
                    tried = Some(up.name.clone());
                    continue;
                }
            }
        }
        match connect(&up).await {
            Some(ws) => {
                connected = Some((up, Some(ws), None));
                break;
            }
            None => tried = Some(up.name.clone()),
        }
    }
    let Some((upstream, mut up, shared)) = connected else {
        let _ = client.send(close(CLOSE_TRY_AGAIN, "no healthy upstream")).await;
        return;
    };
    upstream.sessions.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(upstream = %upstream.name, %ip, shared = shared.is_some(), "session placed");

    let mut session = Session {
        awaited: Vec::new(),
        scanning: false,
        inbox,
        slot,
        upstream_api_ids: shared.as_ref().map_or_else(fresh_api_ids, |m| m.api_ids.clone()),
        joined: shared.iter().cloned().collect(),
        shared,
        state: state.clone(),
        ip,
        seen_head: upstream.head(),
        upstream,
        to_upstream: Vec::new(),
        to_client: Vec::new(),
        requests_counter: metrics::counter!("bts_gateway_requests_total", "transport" => "ws"),
        local_apis: vec!["database".into(), "login".into()],
        resolving: HashMap::new(),
        in_flight: HashMap::new(),
        callbacks: HashMap::new(),
        next_id: 1,
        journal: Journal::default(),
        logged_out: false,
    };
    if let Some(mux) = &session.shared {
        mux.join(slot, session.inbox.clone());
    }
    let mut availability = session.upstream.availability();
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
        let mut turn = Turn::Continue;
        if !session.to_upstream.is_empty() {
            let mut ok = true;
            if let Some(ws) = up.as_mut() {
                ok = send_batch(ws, session.to_upstream.drain(..)).await.is_ok();
            } else if let Some(mux) = &session.shared {
                for m in session.to_upstream.drain(..) {
                    ok &= mux.send(m);
                }
            }
            if !ok {
                turn = Turn::Move(format!("upstream {} connection lost", session.upstream.name));
            }
        }
        if !session.to_client.is_empty() && send_batch(&mut client, session.to_client.drain(..)).await.is_err() {
            break None;
        }
        if matches!(turn, Turn::Continue) {
            turn = tokio::select! {
                frame = client.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        last_heard = Instant::now();
                        crate::spin::frame_handled();
                        if session.shared.is_some() && crate::mux::needs_own_connection(text.as_str()) {
                            Turn::Detach(text)
                        } else {
                            session.on_client_text(text.as_str());
                            Turn::Continue
                        }
                    }
                    // witness_node reads a binary frame's payload as text; so does the gateway.
                    Some(Ok(Message::Binary(bytes))) => {
                        last_heard = Instant::now();
                        crate::spin::frame_handled();
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        if session.shared.is_some() && crate::mux::needs_own_connection(&text) {
                            Turn::Detach(text.into())
                        } else {
                            session.on_client_text(&text);
                            Turn::Continue
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => Turn::End(None),
                    Some(Ok(_)) => {
                        last_heard = Instant::now();
                        Turn::Continue
                    }
                    Some(Err(e)) => {
                        let text = e.to_string();
                        if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
                            crate::metrics::limit_hit("message_size");
                            Turn::End(Some(close(CLOSE_TOO_BIG, &format!("message larger than {} bytes", limits.max_message_bytes))))
                        } else {
                            Turn::End(None)
                        }
                    }
                },
                Some(event) = events.recv() => match event {
                    Event::Filled(f) => {
                        session.on_filled(f);
                        Turn::Continue
                    }
                    Event::Upstream(text) => {
                        // Counted for busy polling where it arrived (the shared connection's task).
                        session.on_upstream_text(text.as_str());
                        Turn::Continue
                    }
                    Event::UpstreamLost if session.shared.is_some() => {
                        Turn::Move(format!("upstream {} connection lost", session.upstream.name))
                    }
                    Event::UpstreamLost => Turn::Continue,
                },
                msg = next_frame(&mut up) => match msg {
                    Some(Ok(UpMessage::Text(text))) => {
                        crate::spin::frame_handled();
                        session.on_upstream_text(text.as_str());
                        Turn::Continue
                    }
                    Some(Ok(UpMessage::Ping(p))) => {
                        session.to_upstream.push(UpMessage::Pong(p));
                        Turn::Continue
                    }
                    Some(Ok(UpMessage::Close(_))) | None | Some(Err(_)) => {
                        Turn::Move(format!("upstream {} connection lost", session.upstream.name))
                    }
                    Some(Ok(_)) => Turn::Continue,
                },
                _ = housekeeping.tick() => {
                    let a = availability.borrow().clone();
                    if *shutdown.borrow() {
                        Turn::End(Some(close(CLOSE_GOING_AWAY, "gateway shutting down")))
                    } else if !a.usable {
                        Turn::Move(a.reason)
                    } else if last_heard.elapsed() > idle {
                        crate::metrics::limit_hit("idle");
                        Turn::End(Some(close(CLOSE_GOING_AWAY, "idle timeout")))
                    } else {
                        session.advance_scan();
                        if ping_every.is_some_and(|every| last_ping.elapsed() >= every) {
                            last_ping = Instant::now();
                            session.to_client.push(Message::Ping(Vec::new().into()));
                        }
                        Turn::Continue
                    }
                }
            };
        }
        match turn {
            Turn::Continue => {}
            Turn::End(frame) => break frame,
            Turn::Move(reason) => match session.move_upstream(&reason).await {
                Ok(ws) => {
                    // The old connection (if the session had its own) is dropped (closed) here.
                    up = ws;
                    availability = session.upstream.availability();
                }
                Err(frame) => break Some(frame),
            },
            Turn::Detach(text) => match connect(&session.upstream).await {
                Some(ws) => {
                    session.detach();
                    up = Some(ws);
                    session.on_client_text(text.as_str());
                }
                None => {
                    // The upstream refuses a new connection; a stateful call cannot go over the
                    // shared one. The client reconnects and is placed elsewhere.
                    let why = format!("upstream {} refused a session connection", session.upstream.name);
                    break Some(close(CLOSE_TRY_AGAIN, &why));
                }
            },
        }
    };
    if let Some(frame) = &end {
        tracing::debug!(upstream = %session.upstream.name, %ip, ?frame, "closing client session");
    }
    let _ = send_batch(&mut client, session.to_client.drain(..).chain(end)).await;
    let _ = client.close().await;
    if let Some(mut ws) = up {
        let _ = ws.close(None).await;
    }
    for mux in &session.joined {
        mux.leave(session.slot);
    }
    session.end_cache_flights();
    session.release_upstream();
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
            return self.on_call(id, call.jsonrpc, api, &call.method, call.args.get());
        }
        let request = match Request::parse(text) {
            Ok(Some(r)) => r,
            // An answer to a call the server made: the node sends nothing back either.
            Ok(None) => return,
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
                self.on_call(id.as_deref(), request.jsonrpc, api, &call.method, &call.args_text());
            }
            Err(e) => self.reply_error(id.as_deref(), request.jsonrpc, e),
        }
    }

    /// One call, its arguments as JSON text the node reads as the client meant them.
    fn on_call(&mut self, id: Option<&str>, jsonrpc: bool, api: ApiSel<'_>, method: &str, args: &str) {
        let known_index = match &api {
            ApiSel::Local(n) => usize::try_from(*n).ok(),
            ApiSel::Named(name) => self.local_apis.iter().position(|a| a == name),
        };
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
        // A named API is added to the session's list once, so that in-flight calls can name it
        // by index after a move.
        let new_name = known_index.is_none().then(|| api.to_owned());
        if let Err(e) = policy {
            return self.reply_error(id, jsonrpc, e);
        }
        if is_login {
            // The login API as a node without an api-access file answers it, here and at once
            // (wallets time `login`): every connection starts logged in.
            match method {
                "login" => {
                    return match wire::login_result(args) {
                        Ok(r) => {
                            self.logged_out = false;
                            self.reply_result(id, jsonrpc, r)
                        }
                        Err(e) => self.reply_error(id, jsonrpc, e),
                    };
                }
                "logout" => {
                    self.logged_out = true;
                    return self.reply_result(id, jsonrpc, "false");
                }
                "get_available_api_sets" if self.logged_out => return self.reply_result(id, jsonrpc, "[]"),
                "get_config" if self.logged_out => {
                    let e = FcException::assert("is_allowed", "Access denied, please login").into_error();
                    return self.reply_error(id, jsonrpc, e);
                }
                m if self.logged_out && API_SETS.contains(&m) => {
                    let e = FcException::assert("is_allowed", "Access denied").into_error();
                    return self.reply_error(id, jsonrpc, e);
                }
                _ => {}
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
        if api == "database"
            && self.state.cache.enabled()
            && let Some((key, rule)) = crate::cache::classify(method, args)
        {
            return self.cached_call(key, rule, id, jsonrpc, method, args);
        }
        if let Some(upstream_api) = upstream_api {
            let api_index = match (known_index, new_name) {
                (Some(i), _) => i,
                (None, Some(name)) => self.api_index(&name),
                (None, None) => 0,
            };
            self.forward(api_index, upstream_api, id, jsonrpc, method, args);
        } else if let Some(api) = unresolved {
            let queued =
                Queued::Fresh { id: id.map(Into::into), jsonrpc, method: method.to_owned(), args: args.into() };
            self.resolve_then_send(api, queued);
        }
    }

    /// A cacheable `database` call: answered from memory, joined to an identical call in
    /// flight, or sent upstream as the one that fills the cache.
    fn cached_call(
        &mut self,
        key: Arc<str>,
        rule: crate::cache::Rule,
        id: Option<&str>,
        jsonrpc: bool,
        method: &str,
        args: &str,
    ) {
        use crate::cache::{Lookup, Waiter};
        let waiter = || Waiter::Session {
            inbox: self.inbox.clone(),
            id: id.map(Into::into),
            jsonrpc,
            tail: format!("{},{args}", node_str(method)).into_boxed_str(),
        };
        match self.state.cache.lookup(&key, waiter) {
            Lookup::Hit(result) => self.reply_result(id, jsonrpc, &result),
            Lookup::Follow => {}
            Lookup::Lead => {
                let tail = format!("{},{args}", node_str(method)).into_boxed_str();
                let call = Pending {
                    id: id.map(Into::into),
                    jsonrpc,
                    started: Instant::now(),
                    api: 0,
                    tail,
                    resendable: true,
                    learn: false,
                    shows_head: false,
                    cache: Some((key, rule)),
                    fanned: None,
                };
                self.send_call(0, call);
            }
        }
    }

    /// A coalesced answer arrived (or the call must be sent after all).
    fn on_filled(&mut self, f: crate::cache::Filled) {
        use crate::cache::Outcome;
        let rpc = if f.jsonrpc { ",\"jsonrpc\":\"2.0\"" } else { "" };
        match f.outcome {
            Outcome::Result(r) => self.reply_result(f.id.as_deref(), f.jsonrpc, &r),
            Outcome::Error(e) => {
                if let Some(id) = f.id.as_deref() {
                    self.to_client.push(Message::Text(format!("{{\"id\":{id}{rpc},\"error\":{e}}}").into()));
                }
            }
            Outcome::Retry => {
                let call = Pending {
                    id: f.id,
                    jsonrpc: f.jsonrpc,
                    started: Instant::now(),
                    api: 0,
                    tail: f.tail,
                    resendable: true,
                    learn: false,
                    shows_head: false,
                    cache: None,
                    fanned: None,
                };
                self.send_call(0, call);
            }
        }
    }

    /// The API's index in `local_apis` (added when first named).
    fn api_index(&mut self, api: &str) -> usize {
        match self.local_apis.iter().position(|a| a == api) {
            Some(i) => i,
            None => {
                self.local_apis.push(api.to_owned());
                self.local_apis.len() - 1
            }
        }
    }

    fn resolve_then_send(&mut self, api: String, queued: Queued) {
        let first = !self.resolving.contains_key(&api);
        self.resolving.entry(api.clone()).or_default().push(queued);
        if first {
            self.send_resolve(api);
        }
    }

    fn send_resolve(&mut self, api: String) {
        let id = self.take_id();
        let frame = format!("{{\"id\":{id},\"method\":\"call\",\"params\":[1,{},[]]}}", node_str(&api));
        self.in_flight.insert(id, InFlight::Resolve(api));
        self.to_upstream.push(UpMessage::text(frame));
    }

    /// The id for a request to the upstream: handed out by the shared connection while the
    /// session uses one, else the session's own.
    fn take_id(&mut self) -> u64 {
        match &self.shared {
            Some(mux) => u64::from(mux.alloc(self.slot)),
            None => self.own_id(),
        }
    }

    /// The session's next own id (requests on its own connection, and its callback ids): inside
    /// 32 bits, because fc writes larger integers back as strings; it wraps, skipping ids
    /// still in flight (answers from a shared connection the session just left may be).
    fn own_id(&mut self) -> u64 {
        loop {
            let id = self.next_id;
            self.next_id = if id >= u64::from(u32::MAX) { 1 } else { id + 1 };
            if !self.in_flight.contains_key(&id) && !self.callbacks.contains_key(&id) {
                return id;
            }
        }
    }

    fn forward(
        &mut self,
        api: usize,
        upstream_api: u64,
        client_id: Option<&str>,
        jsonrpc: bool,
        method: &str,
        args: &str,
    ) {
        let mut rebuilt: Option<String> = None;
        if CALLBACK_METHODS.contains(&method) {
            // Replace the client's callback id with ours (stable across moves); notices are
            // mapped back. The node reads the callback id as a uint64 (`"7"`, `7.0` and `true`
            // all work) and writes it back as one: so does the gateway. One it cannot read as
            // a number goes to the node unchanged, which refuses the call.
            let parts = serde_json::from_str::<Vec<&RawValue>>(args).unwrap_or_default();
            let client_cb = parts.first().and_then(|first| bts_rpc::fc::parse(first.get()).ok()?.as_uint64().ok());
            if let Some(client_cb) = client_cb {
                let cb = self.own_id();
                self.callbacks.insert(cb, bts_rpc::fc::Variant::Uint64(client_cb).to_fc_json().into_boxed_str());
                let mut text = format!("[{cb}");
                for p in &parts[1..] {
                    text.push(',');
                    text.push_str(p.get());
                }
                text.push(']');
                rebuilt = Some(text);
            }
        }
        let args = rebuilt.as_deref().unwrap_or(args);
        let learn = self.journal.learns(method, args);
        if JOURNALED.contains(&method) {
            self.journal.record(method, args);
        }
        if method == "broadcast_transaction_with_callback"
            && let Ok((callback, tx)) = serde_json::from_str::<(u64, &RawValue)>(args)
        {
            // A malformed transaction is refused by the node, which then sends no notice either.
            let _ = self.await_inclusion(tx, Deliver::Notice(callback), self.seen_head, false);
        }
        let fanned =
            (method.starts_with("broadcast_transaction") && self.fan_out(method, args)).then_some(self.seen_head);
        let call = Pending {
            id: client_id.map(Into::into),
            jsonrpc,
            started: Instant::now(),
            api,
            tail: format!("{},{args}", node_str(method)).into_boxed_str(),
            resendable: !method.starts_with("broadcast_"),
            learn,
            shows_head: method == "get_dynamic_global_properties"
                || (method == "get_objects" && args.contains("\"2.1.0\"")),
            cache: None,
            fanned,
        };
        self.send_call(upstream_api, call);
    }

    fn send_call(&mut self, upstream_api: u64, call: Pending) {
        let id = self.take_id();
        let frame = format!("{{\"id\":{id},\"method\":\"call\",\"params\":[{upstream_api},{}]}}", call.tail);
        self.in_flight.insert(id, InFlight::Client(call));
        self.upstream.outstanding.fetch_add(1, Ordering::Relaxed);
        self.to_upstream.push(UpMessage::text(frame));
    }

    /// Sends a gateway-internal `database` call (answer handled by `kind`).
    fn send_internal(&mut self, kind: InFlight, method: &str, args: &str) {
        let id = self.take_id();
        let frame = format!("{{\"id\":{id},\"method\":\"call\",\"params\":[0,{},{args}]}}", Value::from(method));
        self.in_flight.insert(id, kind);
        self.to_upstream.push(UpMessage::text(frame));
    }

    /// Calls that lead a cache flight will never be answered now: their followers fetch
    /// for themselves.
    fn end_cache_flights(&self) {
        for f in self.in_flight.values() {
            if let InFlight::Client(Pending { cache: Some((key, rule)), .. }) = f {
                self.state.cache.complete(key, *rule, crate::cache::Outcome::Retry, 0);
            }
        }
    }

    /// Gives back this session's share of its upstream's counters.
    fn release_upstream(&self) {
        let unanswered = self.in_flight.values().filter(|f| matches!(f, InFlight::Client(_))).count() as u64;
        let up = &self.upstream;
        up.outstanding.fetch_sub(unanswered.min(up.outstanding.load(Ordering::Relaxed)), Ordering::Relaxed);
        up.sessions.fetch_sub(1, Ordering::Relaxed);
    }

    /// Moves the session to another upstream after `reason` made the current one unusable, or
    /// returns the close frame for the client when it cannot be moved.
    async fn move_upstream(&mut self, reason: &str) -> Result<Option<UpstreamSocket>, Message> {
        let cfg = self.state.config.load().sessions.clone();
        let from = self.upstream.name.clone();
        let refuse = |code: u16, why: String| {
            crate::metrics::session_move("closed");
            tracing::info!(upstream = %from, reason, why, "session closed instead of moved");
            close(code, &why)
        };
        if !cfg.failover {
            return Err(refuse(CLOSE_UPSTREAM_GONE, reason.to_owned()));
        }
        if self.journal.objects() > cfg.max_subscribed_objects || self.journal.bytes() > cfg.max_journal_bytes {
            let why = format!(
                "{reason}; session not moved: {} subscribed objects / {} journal bytes exceed the limits",
                self.journal.objects(),
                self.journal.bytes()
            );
            return Err(refuse(CLOSE_UPSTREAM_GONE, why));
        }
        let started = Instant::now();
        let deadline = started + Duration::from_millis(cfg.failover_wait_ms);
        // Unreachable upstreams stay excluded; ones still behind the client are re-checked
        // after a pause (a lagging node catches up).
        let mut unreachable: Vec<String> = Vec::new();
        let mut behind: Vec<String> = Vec::new();
        // A session without node-side state moves to the next upstream's shared connection.
        let shared = self.shared.is_some() && cfg.share_connections;
        let (next, ws, mux) = loop {
            let skip: Vec<String> = unreachable.iter().chain(&behind).cloned().collect();
            if let Some(up) = self.state.pool.select_for_move(&skip, 0) {
                if shared {
                    if up.head() < self.seen_head {
                        behind.push(up.name.clone());
                    } else if let Some(mux) = Mux::get(&up).await {
                        break (up, None, Some(mux));
                    } else {
                        unreachable.push(up.name.clone());
                    }
                } else {
                    match connect(&up).await {
                        // The pool's head is from the last check; when it is older than what the
                        // client has seen, ask the node itself.
                        Some(mut ws) => {
                            if up.head() >= self.seen_head || head_of(&mut ws).await >= Some(self.seen_head) {
                                break (up, Some(ws), None);
                            }
                            behind.push(up.name.clone());
                        }
                        None => unreachable.push(up.name.clone()),
                    }
                }
            } else if Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                behind.clear();
            }
            if Instant::now() >= deadline {
                let why = format!("{reason}; no healthy upstream at or above block {}", self.seen_head);
                return Err(refuse(CLOSE_TRY_AGAIN, why));
            }
        };
        // Counters move with the session.
        self.release_upstream();
        next.sessions.fetch_add(1, Ordering::Relaxed);
        self.upstream = next;
        self.seen_head = self.seen_head.max(self.upstream.head());
        // Calls in flight anywhere are re-sent below: stop hearing from old shared connections.
        for old in self.joined.drain(..) {
            old.leave(self.slot);
        }
        self.upstream_api_ids = mux.as_ref().map_or_else(fresh_api_ids, |m| m.api_ids.clone());
        if let Some(m) = &mux {
            m.join(self.slot, self.inbox.clone());
            self.joined.push(m.clone());
        }
        self.shared = mux;
        self.to_upstream.clear();
        let in_flight = std::mem::take(&mut self.in_flight);

        // 1. The node-side state, then 2. the current versions of the subscribed objects.
        for (method, args) in self.journal.replay() {
            self.send_internal(InFlight::Replay, method, &args);
        }
        if let Some(args) = self.journal.refresh() {
            self.send_internal(InFlight::Refresh, "get_objects", &args);
        }
        // 3. APIs still being resolved, with their queued calls.
        let apis: Vec<String> = self.resolving.keys().cloned().collect();
        for api in apis {
            self.send_resolve(api);
        }
        // 4. Calls in flight, in their original order: reads again, broadcasts failed.
        let mut calls: Vec<(u64, Pending)> = in_flight
            .into_iter()
            .filter_map(|(id, f)| match f {
                InFlight::Client(p) => Some((id, p)),
                _ => None,
            })
            .collect();
        calls.sort_by_key(|(id, _)| *id);
        let (mut resent, mut failed_broadcasts) = (0, 0);
        for (_, call) in calls {
            if !call.resendable {
                failed_broadcasts += 1;
                let error = RpcError::plain(
                    -32000,
                    format!(
                        "upstream {from} failed while this broadcast was in flight ({reason}); it may or may not \
                         have been applied: look the transaction up before sending it again"
                    ),
                );
                self.reply_error(call.id.as_deref(), call.jsonrpc, error);
                continue;
            }
            resent += 1;
            let api = self.local_apis.get(call.api).cloned().unwrap_or_else(|| "database".into());
            match self.upstream_api_ids.get(&api).copied() {
                Some(upstream_api) => self.send_call(upstream_api, call),
                None => self.resolve_then_send(api, Queued::Resend(call)),
            }
        }
        // Broadcasts with callback the old node accepted: their notice will not come from the
        // new node (it already knows the transaction), so the gateway finds the inclusion.
        self.awaited.retain(|a| a.accepted);
        for a in &mut self.awaited {
            a.search = true;
        }
        self.scanning = false;
        self.advance_scan();
        crate::metrics::session_move("moved");
        tracing::info!(
            from = %from, to = %self.upstream.name, reason, resent, failed_broadcasts,
            replayed = self.journal.replay().len(), objects = self.journal.objects(),
            took_ms = started.elapsed().as_millis() as u64, shared = self.shared.is_some(), "session moved"
        );
        Ok(ws)
    }

    /// Leaves the shared connection for the session's own, just opened to the same upstream.
    /// API ids are resolved again there; resolutions still on their way over the shared
    /// connection are asked again (their answers would carry the shared connection's ids).
    fn detach(&mut self) {
        self.shared = None;
        self.upstream_api_ids = fresh_api_ids();
        self.in_flight.retain(|_, f| !matches!(f, InFlight::Resolve(_)));
        let apis: Vec<String> = self.resolving.keys().cloned().collect();
        for api in apis {
            self.send_resolve(api);
        }
        tracing::debug!(upstream = %self.upstream.name, ip = %self.ip, "session left the shared connection");
    }

    fn on_upstream_text(&mut self, text: &str) {
        let Some(msg) = UpstreamFrame::parse(text) else {
            tracing::warn!(upstream = %self.upstream.name, "unparsable message from upstream dropped");
            return;
        };
        if msg.method.as_deref() == Some("notice") {
            let Some(params) = msg.params else { return };
            let Ok((wire::EchoedId(cb), payload)) = serde_json::from_str::<(wire::EchoedId, &RawValue)>(params.get())
            else {
                return;
            };
            if !self.awaited.is_empty() {
                self.awaited.retain(|a| !matches!(a.deliver, Deliver::Notice(c) if c == cb));
            }
            if let Some(client_cb) = self.callbacks.get(&cb) {
                let text = format!("{{\"method\":\"notice\",\"params\":[{client_cb},{}]}}", payload.get());
                self.to_client.push(Message::Text(text.into()));
                if let Some(h) = head_in(payload.get()) {
                    self.seen_head = self.seen_head.max(h);
                }
            }
            return;
        }
        let Some(wire::EchoedId(id)) = msg.id else { return };
        self.seen_head = self.seen_head.max(self.upstream.head());
        match self.in_flight.remove(&id) {
            Some(InFlight::Client(call)) => {
                self.upstream.outstanding.fetch_sub(1, Ordering::Relaxed);
                self.upstream.record_latency(call.started.elapsed(), msg.error.is_none());
                let mut error = msg.error;
                let mut result = msg.result;
                if let Some(sent_at) = call.fanned
                    && error.is_some_and(|e| crate::is_duplicate_text(e.get()))
                {
                    // A fan-out copy reached the chain first: for the client this broadcast
                    // was accepted, and the gateway reports the inclusion the node will not.
                    error = None;
                    result = None;
                    if self.take_over_inclusion(&call, sent_at) {
                        return;
                    }
                }
                if !self.awaited.is_empty() && call.tail.starts_with("\"broadcast_transaction_with_callback\"") {
                    self.settle_awaited(&call.tail, error.is_none());
                }
                if let Some((key, rule)) = &call.cache {
                    use crate::cache::Outcome;
                    let outcome = match (result, error) {
                        (Some(r), _) => Outcome::Result(r.get().into()),
                        (None, Some(e)) => Outcome::Error(e.get().into()),
                        (None, None) => Outcome::Result("null".into()),
                    };
                    self.state.cache.complete(key, *rule, outcome, self.upstream.lib());
                }
                if let Some(r) = result {
                    if call.learn {
                        self.journal.learn(r);
                    }
                    if call.shows_head
                        && let Some(h) = head_in(r.get())
                    {
                        self.seen_head = self.seen_head.max(h);
                    }
                }
                let Some(id_text) = call.id else { return };
                let rpc = if call.jsonrpc { ",\"jsonrpc\":\"2.0\"" } else { "" };
                let text = match (result, error) {
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
                        self.upstream_api_ids.insert(api.clone(), upstream_api);
                        for q in waiting {
                            match q {
                                Queued::Fresh { id, jsonrpc, method, args } => {
                                    let index = self.api_index(&api);
                                    self.forward(index, upstream_api, id.as_deref(), jsonrpc, &method, &args);
                                }
                                Queued::Resend(call) => self.send_call(upstream_api, call),
                            }
                        }
                    }
                    None => {
                        let error: RpcError = msg
                            .error
                            .and_then(|e| serde_json::from_str(e.get()).ok())
                            .unwrap_or_else(|| FcException::assert("is_allowed", "Access denied").into_error());
                        for q in waiting {
                            let (id, jsonrpc) = match &q {
                                Queued::Fresh { id, jsonrpc, .. } => (id.as_deref(), *jsonrpc),
                                Queued::Resend(call) => (call.id.as_deref(), call.jsonrpc),
                            };
                            self.reply_error(id, jsonrpc, error.clone());
                        }
                    }
                }
            }
            Some(InFlight::Replay) => {
                if let Some(e) = msg.error {
                    tracing::warn!(upstream = %self.upstream.name, error = e.get(), "journal replay call refused");
                }
            }
            Some(InFlight::Refresh) => self.push_refreshed(msg.result),
            Some(InFlight::Scan(block)) => self.on_scanned(block, msg.result),
            None => {}
        }
    }

    /// With `broadcasts.fanout` > 1, also sends the transaction (plain `broadcast_transaction`,
    /// so no second notice can exist) to other healthy upstreams; only the session's upstream
    /// answers the client. Returns whether any copy went out.
    fn fan_out(&self, method: &str, args: &str) -> bool {
        let n = self.state.config.load().broadcasts.fanout;
        if n <= 1 {
            return false;
        }
        let index = usize::from(method == "broadcast_transaction_with_callback");
        let Some(tx) = serde_json::from_str::<Vec<Value>>(args)
            .ok()
            .and_then(|mut a| (a.len() > index).then(|| a.swap_remove(index)))
        else {
            return false;
        };
        let others = self.state.pool.select_n(n - 1, Some(&self.upstream.name));
        let fanned = !others.is_empty();
        for up in others {
            let tx = tx.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let r = up
                    .data
                    .call(ApiRef::Name("network_broadcast".into()), "broadcast_transaction", Value::Array(vec![tx]))
                    .await;
                up.record_latency(started.elapsed(), matches!(r, Ok(_) | Err(bts_rpc::client::ClientError::Rpc(_))));
                if let Err(e) = r {
                    tracing::debug!(upstream = %up.name, error = %e, "fan-out copy of a broadcast refused");
                }
            });
        }
        fanned
    }

    /// Notes a broadcast (`tx` as sent when the session had seen head `seen`) whose inclusion
    /// the client expects to hear of; `search`: already accepted, and only the gateway can
    /// report it. Returns false when `tx` is not a transaction.
    fn await_inclusion(&mut self, tx: &RawValue, deliver: Deliver, seen: u32, search: bool) -> bool {
        let Ok(parsed) = serde_json::from_str::<bts_protocol::SignedTransaction>(tx.get()) else { return false };
        let Ok(json) = serde_json::from_str::<Value>(tx.get()) else { return false };
        self.awaited.push(Awaited {
            deliver,
            tx_id: parsed.transaction.id().to_string(),
            signatures: json["signatures"].clone(),
            expiration: json["expiration"].as_str().unwrap_or_default().to_owned(),
            accepted: search,
            search,
            next_block: seen.saturating_add(1),
        });
        true
    }

    /// The node answered a fanned-out broadcast with "duplicate transaction": the gateway takes
    /// over reporting its inclusion (in a block after `sent_at`, the head seen when it was sent —
    /// not the head now: the copy's block may already exist). Returns true when the client's
    /// answer waits for the inclusion (`broadcast_transaction_synchronous`), false when it is
    /// answered now (`null`).
    fn take_over_inclusion(&mut self, call: &Pending, sent_at: u32) -> bool {
        let Some((method, args)) = call.tail.split_once(',') else { return false };
        tracing::info!(upstream = %self.upstream.name, method, "broadcast already known from a fan-out copy; the gateway reports its inclusion");
        match method {
            "\"broadcast_transaction_with_callback\"" => {
                let callback = serde_json::from_str::<(u64, &RawValue)>(args).ok().map(|(cb, _)| cb);
                for a in &mut self.awaited {
                    if matches!(a.deliver, Deliver::Notice(cb) if Some(cb) == callback) {
                        a.accepted = true;
                        a.search = true;
                    }
                }
                self.advance_scan();
                false
            }
            "\"broadcast_transaction_synchronous\"" => {
                let Ok((tx,)) = serde_json::from_str::<(&RawValue,)>(args) else { return false };
                let deliver = Deliver::Answer { id: call.id.clone(), jsonrpc: call.jsonrpc };
                if !self.await_inclusion(tx, deliver, sent_at, true) {
                    return false;
                }
                self.advance_scan();
                true
            }
            _ => false,
        }
    }

    /// The node answered a broadcast with callback: accepted, or refused (no notice will come).
    fn settle_awaited(&mut self, tail: &str, accepted: bool) {
        let callback = tail
            .split_once(",[")
            .and_then(|(_, rest)| rest.split(',').next())
            .and_then(|cb| cb.trim().parse::<u64>().ok());
        let Some(callback) = callback else { return };
        let ours = |a: &Awaited| matches!(a.deliver, Deliver::Notice(cb) if cb == callback);
        if accepted {
            if let Some(a) = self.awaited.iter_mut().find(|a| ours(a)) {
                a.accepted = true;
            }
        } else {
            self.awaited.retain(|a| !ours(a));
        }
    }

    /// Asks for the earliest block some searched-for broadcast still needs, unless a search
    /// is on its way.
    fn advance_scan(&mut self) {
        if self.scanning {
            return;
        }
        if let Some(block) = self.awaited.iter().filter(|a| a.search).map(|a| a.next_block).min() {
            self.scanning = true;
            self.send_internal(InFlight::Scan(block), "get_block", &format!("[{block}]"));
        }
    }

    /// Searches a block for awaited broadcasts; reports those found as the node would have.
    fn on_scanned(&mut self, block: u32, result: Option<&RawValue>) {
        self.scanning = false;
        let Some(b) = result.and_then(|r| serde_json::from_str::<Value>(r.get()).ok()).filter(|b| b.is_object()) else {
            // Not produced yet: ask again at the next tick.
            return;
        };
        let txs = b["transactions"].as_array().cloned().unwrap_or_default();
        let time = b["timestamp"].as_str().unwrap_or_default().to_owned();
        let mut found = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            let wanted = |a: &Awaited| a.search && a.next_block <= block && tx["signatures"] == a.signatures;
            if let Some(pos) = self.awaited.iter().position(wanted) {
                found.push((self.awaited.remove(pos), i, tx.clone()));
            }
        }
        for (a, trx_num, trx) in found {
            let inclusion = serde_json::json!({"id": a.tx_id, "block_num": block, "trx_num": trx_num, "trx": trx});
            match a.deliver {
                Deliver::Notice(cb) => {
                    if let Some(client_cb) = self.callbacks.get(&cb) {
                        let text = format!("{{\"method\":\"notice\",\"params\":[{client_cb},[{inclusion}]]}}");
                        self.to_client.push(Message::Text(text.into()));
                    }
                }
                Deliver::Answer { id, jsonrpc } => self.reply_result(id.as_deref(), jsonrpc, &inclusion.to_string()),
            }
            crate::metrics::inclusion_reported();
            tracing::info!(tx = %a.tx_id, block, "broadcast inclusion reported by the gateway");
        }
        for a in &mut self.awaited {
            if a.search && a.next_block == block {
                a.next_block = block + 1;
            }
        }
        // ISO timestamps compare as text: a block past the expiration cannot include it.
        let (expired, live): (Vec<_>, Vec<_>) = std::mem::take(&mut self.awaited)
            .into_iter()
            .partition(|a| !a.expiration.is_empty() && time.as_str() > a.expiration.as_str());
        self.awaited = live;
        for a in expired {
            tracing::info!(tx = %a.tx_id, "awaited broadcast expired without inclusion");
            if let Deliver::Answer { id, jsonrpc } = a.deliver {
                let why = format!("transaction {} expired without being included in a block", a.tx_id);
                self.reply_error(id.as_deref(), jsonrpc, RpcError::plain(-32000, why));
            }
        }
        self.advance_scan();
    }

    /// Sends the re-read subscribed objects to the client as one notice on its subscribe
    /// callback, the shape a node uses for changed objects (`[cb, [[obj, …]]]`).
    fn push_refreshed(&mut self, result: Option<&RawValue>) {
        let Some(client_cb) = self.journal.subscribe_callback().and_then(|cb| self.callbacks.get(&cb)) else {
            return;
        };
        let Some(objects) = result.and_then(|r| serde_json::from_str::<Vec<&RawValue>>(r.get()).ok()) else {
            return;
        };
        let present: Vec<&str> = objects.iter().map(|o| o.get()).filter(|o| *o != "null").collect();
        if present.is_empty() {
            return;
        }
        let text = format!("{{\"method\":\"notice\",\"params\":[{client_cb},[[{}]]]}}", present.join(","));
        if let Some(h) = head_in(&text) {
            self.seen_head = self.seen_head.max(h);
        }
        self.to_client.push(Message::Text(text.into()));
    }
}

/// One frame from a node, as the session reads it: an answer (`id` with `result` or `error`) or
/// a notice (`method: "notice"`, `params: [callback, payload]`).
#[derive(Deserialize)]
pub struct UpstreamFrame<'a> {
    /// The request id; fc writes ids above 0xffffffff as strings (ours stay below; both read).
    #[serde(default)]
    pub id: Option<wire::EchoedId>,
    /// The result, unparsed.
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    /// The error, unparsed.
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
    /// `notice` for subscription callbacks.
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    /// The notice's `[callback, payload]`.
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
}

impl<'a> UpstreamFrame<'a> {
    /// Reads a frame; `None` for text that is not a JSON object of this shape (logged and
    /// dropped by the session).
    pub fn parse(text: &'a str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// A notice's callback id and payload.
    pub fn notice(&self) -> Option<(u64, &'a RawValue)> {
        if self.method.as_deref() != Some("notice") {
            return None;
        }
        serde_json::from_str::<(wire::EchoedId, &RawValue)>(self.params?.get())
            .ok()
            .map(|(wire::EchoedId(cb), p)| (cb, p))
    }
}
