//! Node endpoints: each serves WebSocket and HTTP JSON-RPC on one port, like `witness_node`'s
//! `rpc-endpoint`, over the shared chain, and applies its own injected faults.

use crate::api::{self, Outcome, Session};
use crate::chain::{BlockApplied, Chain, Pending};
use crate::faults::{Faults, FaultsPatch};
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bts_protocol::{ChainId, SignedTransaction, TransactionId};
use bts_rpc::FcException;
use bts_rpc::wire::{self, Request, RpcError};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Largest request frame or body accepted, in bytes (the node's default websocket limit is
/// larger; the devnet only needs transactions, which are at most 2 KiB on chain).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// Block events an endpoint keeps for a session while it is stalled or lagging.
const MAX_QUEUED_EVENTS: usize = 4096;
/// How long an HTTP `broadcast_transaction_synchronous` waits for inclusion.
const SYNC_BROADCAST_TIMEOUT: Duration = Duration::from_secs(120);

/// State shared by all endpoints of one devnet.
pub struct Shared {
    pub(crate) chain: Mutex<Chain>,
    pub(crate) events: broadcast::Sender<Arc<BlockApplied>>,
    pub(crate) pushed: broadcast::Sender<Arc<SignedTransaction>>,
}

impl Shared {
    pub(crate) fn new(chain: Chain) -> Arc<Self> {
        let (events, _) = broadcast::channel(1024);
        let (pushed, _) = broadcast::channel(1024);
        Arc::new(Self { chain: Mutex::new(chain), events, pushed })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Chain> {
        // The chain is only mutated through methods that restore it on error.
        self.chain.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug, Default)]
struct FaultState {
    faults: Faults,
    /// Head shown while stalled.
    stalled_at: Option<u32>,
}

/// One node endpoint.
pub struct Endpoint {
    /// Position among the devnet's endpoints (0-based).
    pub index: usize,
    shared: Arc<Shared>,
    faults: Mutex<FaultState>,
    drop_all: watch::Sender<u64>,
    rng: AtomicU64,
    addr: Mutex<SocketAddr>,
    stop_listener: Mutex<Option<oneshot::Sender<()>>>,
}

impl Endpoint {
    pub(crate) fn new(index: usize, shared: Arc<Shared>, addr: SocketAddr) -> Arc<Self> {
        let seed = 0x9e37_79b9_7f4a_7c15 ^ (index as u64 + 1);
        Arc::new(Self {
            index,
            shared,
            faults: Mutex::new(FaultState::default()),
            drop_all: watch::channel(0).0,
            rng: AtomicU64::new(seed),
            addr: Mutex::new(addr),
            stop_listener: Mutex::new(None),
        })
    }

    fn fault_state(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The chain (locked).
    pub fn chain(&self) -> MutexGuard<'_, Chain> {
        self.shared.lock()
    }

    /// The address this endpoint listens on.
    pub fn addr(&self) -> SocketAddr {
        *self.addr.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `ws://` URL of this endpoint.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr())
    }

    /// `http://` URL of this endpoint.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Current faults.
    pub fn faults(&self) -> Faults {
        self.fault_state().faults.clone()
    }

    /// The head block number this endpoint shows, given the chain's real head.
    pub fn visible_head(&self, head: u32) -> u32 {
        let state = self.fault_state();
        state.stalled_at.map_or(head, |s| s.min(head)).saturating_sub(state.faults.lag)
    }

    /// The chain id this endpoint reports (a different one under the `wrong_chain_id` fault).
    pub fn reported_chain_id(&self, real: ChainId) -> String {
        if self.fault_state().faults.wrong_chain_id {
            hex::encode(Sha256::digest(real.as_bytes()))
        } else {
            real.to_string()
        }
    }

    /// Validates and applies a transaction, announcing it to pending-transaction subscribers.
    pub fn push_transaction(&self, tx: &SignedTransaction) -> Result<Pending, FcException> {
        let pending = self.chain().push_transaction(tx)?;
        let _ = self.shared.pushed.send(Arc::new(tx.clone()));
        Ok(pending)
    }

    /// Applies a fault patch; returns the new faults. Starting a stall freezes the current
    /// head; `refuse` closes the port and drops every connection.
    pub(crate) fn patch_faults(self: &Arc<Self>, patch: &FaultsPatch) -> Result<Faults, String> {
        let head = self.chain().head_block_num();
        let (faults, refuse_changed) = {
            let mut state = self.fault_state();
            let was_refusing = state.faults.refuse;
            let mut next = state.faults.clone();
            next.apply(patch)?;
            if next.stall && !state.faults.stall {
                state.stalled_at = Some(head);
            } else if !next.stall {
                state.stalled_at = None;
            }
            state.faults = next.clone();
            (next, was_refusing != state.faults.refuse)
        };
        if refuse_changed {
            if faults.refuse {
                self.stop_listening();
                self.drop_connections();
            } else {
                tokio::spawn(serve_endpoint(self.clone()));
            }
        }
        tracing::info!(endpoint = self.index, ?faults, "faults changed");
        Ok(faults)
    }

    /// Closes every open connection abruptly (no close frame), as a crashing node would.
    pub fn drop_connections(&self) {
        self.drop_all.send_modify(|g| *g += 1);
    }

    fn stop_listening(&self) {
        if let Some(stop) = self.stop_listener.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            let _ = stop.send(());
        }
    }

    fn latency(&self) -> Duration {
        Duration::from_millis(self.fault_state().faults.latency_ms)
    }

    /// Decides whether this call gets an injected error.
    fn inject_error(&self) -> bool {
        let rate = self.fault_state().faults.error_rate;
        if rate <= 0.0 {
            return false;
        }
        // xorshift64: cheap and good enough to spread injected errors.
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        ((x >> 11) as f64 / (1u64 << 53) as f64) < rate
    }
}

fn injected_error() -> RpcError {
    RpcError::plain(wire::INTERNAL_ERROR, "Internal error: injected fault (error_rate)")
}

/// Binds the endpoint's port and serves until told to stop (`refuse`) or the task is dropped.
pub(crate) async fn serve_endpoint(endpoint: Arc<Endpoint>) {
    let listener = match bind_with_retry(endpoint.addr()).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(endpoint = endpoint.index, addr = %endpoint.addr(), error = %e, "cannot listen");
            return;
        }
    };
    let _ = serve_on(endpoint, listener).await;
}

async fn bind_with_retry(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for _ in 0..50 {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("bind failed")))
}

/// Serves an already-bound listener (used at start so port 0 resolves before returning).
pub(crate) async fn serve_on(endpoint: Arc<Endpoint>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        *endpoint.addr.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = addr;
    }
    let (stop_tx, stop_rx) = oneshot::channel();
    *endpoint.stop_listener.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(stop_tx);
    let app = axum::Router::new().fallback(handle_request).with_state(endpoint.clone());
    tracing::info!(endpoint = endpoint.index, addr = %endpoint.addr(), "node endpoint listening");
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::select! {
        r = axum::serve(listener, app) => r,
        _ = stop_rx => {
            tracing::info!(endpoint = endpoint.index, "node endpoint stopped listening (refuse)");
            Ok(())
        }
    }
}

async fn handle_request(
    State(endpoint): State<Arc<Endpoint>>,
    method: Method,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    body: axum::body::Bytes,
) -> Response {
    if let Ok(ws) = ws {
        return ws
            .max_message_size(MAX_MESSAGE_BYTES)
            .read_buffer_size(bts_rpc::client::READ_BUFFER_BYTES)
            .on_upgrade(move |socket| websocket_session(endpoint, socket));
    }
    let mut response = if method == Method::POST {
        http_call(&endpoint, &body).await
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, "POST a JSON-RPC request, or open a WebSocket\n").into_response()
    };
    // witness_node closes the TCP connection after every HTTP response.
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn http_status(error: &RpcError) -> StatusCode {
    match error.code {
        wire::INTERNAL_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
        c if c <= wire::INVALID_REQUEST => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn http_call(endpoint: &Arc<Endpoint>, body: &[u8]) -> Response {
    if body.len() > MAX_MESSAGE_BYTES {
        let e = RpcError::plain(wire::INVALID_REQUEST, format!("request larger than {MAX_MESSAGE_BYTES} bytes"));
        return json_response(StatusCode::PAYLOAD_TOO_LARGE, wire::error_response(&Value::Null, true, &e));
    }
    let latency = endpoint.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let text = String::from_utf8_lossy(body);
    let request = match Request::parse(&text) {
        Ok(Some(r)) => r,
        // An answer to a call the server made: the node sends nothing back.
        Ok(None) => return StatusCode::NO_CONTENT.into_response(),
        Err(e) => return json_response(http_status(&e.error), e.to_json()),
    };
    let id = request.id.clone();
    let result = if endpoint.inject_error() {
        Err(injected_error())
    } else {
        let mut events = endpoint.shared.events.subscribe();
        let mut session = Session::new(true);
        match request.call().and_then(|call| api::dispatch(endpoint, &mut session, &call)) {
            Ok(Outcome::Value(v)) => Ok(v),
            Ok(Outcome::AwaitInclusion(txid)) => await_inclusion_http(endpoint, &mut events, txid).await,
            Err(e) => Err(e),
        }
    };
    let Some(id) = id else {
        return StatusCode::NO_CONTENT.into_response();
    };
    match result {
        Ok(v) => {
            let raw = serde_json::value::to_raw_value(&v).unwrap_or_default();
            json_response(StatusCode::OK, wire::result_response(&id, request.jsonrpc, &raw))
        }
        Err(e) => json_response(http_status(&e), wire::error_response(&id, request.jsonrpc, &e)),
    }
}

async fn await_inclusion_http(
    endpoint: &Endpoint,
    events: &mut broadcast::Receiver<Arc<BlockApplied>>,
    txid: TransactionId,
) -> Result<Value, RpcError> {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(ev) => {
                    if let Some(inc) = ev.included.iter().find(|i| i.id == txid) {
                        return Ok(inclusion_json(inc));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let chain = endpoint.chain();
                    if let Some((b, i)) = chain.inclusion(&txid) {
                        let trx = chain.block(b).and_then(|blk| blk.transactions.get(i).cloned());
                        return Ok(json!({"id": txid, "block_num": b, "trx_num": i, "trx": trx}));
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(RpcError::plain(wire::INTERNAL_ERROR, "devnet shutting down"));
                }
            }
        }
    };
    tokio::time::timeout(SYNC_BROADCAST_TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| Err(RpcError::plain(wire::INTERNAL_ERROR, "transaction not included in time")))
}

fn inclusion_json(inc: &crate::chain::Inclusion) -> Value {
    json!({"id": inc.id, "block_num": inc.block_num, "trx_num": inc.trx_num, "trx": inc.trx})
}

/// A pending `broadcast_transaction_synchronous` answer.
struct SyncWaiter {
    id: Value,
    jsonrpc: bool,
}

async fn websocket_session(endpoint: Arc<Endpoint>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        // Answers that queued up while the socket was busy go out in one write.
        let mut batch = Vec::new();
        while out_rx.recv_many(&mut batch, 64).await > 0 {
            let frames = batch.drain(..).map(|text| Message::Text(text.into()));
            if bts_rpc::client::send_batch(&mut sink, frames).await.is_err() {
                break;
            }
        }
    });
    let mut session = Session::new(false);
    let mut events = endpoint.shared.events.subscribe();
    let mut pushed = endpoint.shared.pushed.subscribe();
    let mut drop_rx = endpoint.drop_all.subscribe();
    let mut queue: VecDeque<Arc<BlockApplied>> = VecDeque::new();
    let mut sync_waiters: HashMap<TransactionId, Vec<SyncWaiter>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    // Calls held back by the latency fault, each until its own deadline: witness_node handles
    // every message of a connection in its own task, so one slow call does not hold up the
    // calls behind it (a gateway's shared connection carries many clients' calls).
    let mut delayed: VecDeque<(tokio::time::Instant, Utf8Bytes)> = VecDeque::new();
    let mut delay = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
    tracing::debug!(endpoint = endpoint.index, "websocket session opened");
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let latency = endpoint.latency();
                    if latency.is_zero() {
                        answer_text(&endpoint, &mut session, text.as_str(), &out_tx, &mut sync_waiters);
                    } else {
                        // Kept in deadline order (arrival order among equal delays). A drop while
                        // calls wait cuts them off, as a crash would.
                        let due = tokio::time::Instant::now() + latency;
                        let at = delayed.partition_point(|(d, _)| *d <= due);
                        delayed.insert(at, (due, text));
                        if at == 0 {
                            delay.as_mut().reset(due);
                        }
                    }
                }
                // witness_node reads a binary frame's payload as text.
                Some(Ok(Message::Binary(bytes))) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    answer_text(&endpoint, &mut session, &text, &out_tx, &mut sync_waiters);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            ev = events.recv() => match ev {
                Ok(ev) => {
                    queue.push_back(ev);
                    if queue.len() > MAX_QUEUED_EVENTS {
                        queue.pop_front();
                    }
                    deliver_events(&endpoint, &mut session, &mut queue, &mut sync_waiters, &out_tx);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(endpoint = endpoint.index, skipped = n, "session fell behind block events"),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            tx = pushed.recv() => {
                if let (Ok(tx), Some(cb)) = (tx, session.pending_callback.as_ref()) {
                    let _ = out_tx.send(wire::notice(cb, &json!([tx.as_ref()])));
                }
            }
            () = &mut delay, if !delayed.is_empty() => {
                let now = tokio::time::Instant::now();
                while delayed.front().is_some_and(|(due, _)| *due <= now) {
                    let Some((_, text)) = delayed.pop_front() else { break };
                    answer_text(&endpoint, &mut session, text.as_str(), &out_tx, &mut sync_waiters);
                }
                if let Some((due, _)) = delayed.front() {
                    delay.as_mut().reset(*due);
                }
            }
            _ = tick.tick() => deliver_events(&endpoint, &mut session, &mut queue, &mut sync_waiters, &out_tx),
            _ = drop_rx.changed() => {
                tracing::debug!(endpoint = endpoint.index, "dropping websocket session (fault injection)");
                writer.abort();
                return;
            }
        }
    }
    drop(out_tx);
    let _ = writer.await;
}

fn send_result(out: &mpsc::UnboundedSender<String>, id: &Value, jsonrpc: bool, v: Value) {
    let raw = serde_json::value::to_raw_value(&v).unwrap_or_default();
    let _ = out.send(wire::result_response(id, jsonrpc, &raw));
}

/// Answers one text frame; a `broadcast_transaction_synchronous` answer waits for its block
/// (in `sync_waiters`) unless the transaction is in one already.
fn answer_text(
    endpoint: &Endpoint,
    session: &mut Session,
    text: &str,
    out: &mpsc::UnboundedSender<String>,
    sync_waiters: &mut HashMap<TransactionId, Vec<SyncWaiter>>,
) {
    let Some((txid, waiter)) = answer_frame(endpoint, session, text, out) else { return };
    let included = {
        let chain = endpoint.chain();
        chain.inclusion(&txid).map(|(b, i)| {
            json!({"id": txid, "block_num": b, "trx_num": i, "trx": chain.block(b).and_then(|x| x.transactions.get(i).cloned())})
        })
    };
    match included {
        // Already in a block (possible only with a tiny block interval).
        Some(v) => send_result(out, &waiter.id, waiter.jsonrpc, v),
        None => sync_waiters.entry(txid).or_default().push(waiter),
    }
}

/// Answers one text frame; returns a sync-broadcast waiter when the answer must wait.
fn answer_frame(
    endpoint: &Endpoint,
    session: &mut Session,
    text: &str,
    out: &mpsc::UnboundedSender<String>,
) -> Option<(TransactionId, SyncWaiter)> {
    let request = match Request::parse(text) {
        Ok(Some(r)) => r,
        Ok(None) => return None,
        Err(e) => {
            // Malformed JSON: answer with the parse error; the socket stays open.
            let _ = out.send(e.to_json());
            return None;
        }
    };
    let outcome = if endpoint.inject_error() {
        Err(injected_error())
    } else {
        request.call().and_then(|call| api::dispatch(endpoint, session, &call))
    };
    let id = request.id?;
    match outcome {
        Ok(Outcome::Value(v)) => send_result(out, &id, request.jsonrpc, v),
        Ok(Outcome::AwaitInclusion(txid)) => return Some((txid, SyncWaiter { id, jsonrpc: request.jsonrpc })),
        Err(e) => {
            let _ = out.send(wire::error_response(&id, request.jsonrpc, &e));
        }
    }
    None
}

/// Sends the notices for every queued block this endpoint now shows.
fn deliver_events(
    endpoint: &Endpoint,
    session: &mut Session,
    queue: &mut VecDeque<Arc<BlockApplied>>,
    sync_waiters: &mut HashMap<TransactionId, Vec<SyncWaiter>>,
    out: &mpsc::UnboundedSender<String>,
) {
    if queue.is_empty() {
        return;
    }
    let chain = endpoint.chain();
    let visible = endpoint.visible_head(chain.head_block_num());
    while queue.front().is_some_and(|ev| ev.block_num <= visible) {
        let Some(ev) = queue.pop_front() else { break };
        if let Some(cb) = &session.block_callback {
            let _ = out.send(wire::notice(cb, &json!([ev.block_id])));
        }
        if let Some(cb) = &session.subscribe_callback {
            let objects: Vec<Value> = ev
                .changed
                .iter()
                .filter(|id| {
                    session.subscribed.contains(id)
                        || chain.object_owner(**id).is_some_and(|a| session.subscribed_accounts.contains(&a))
                })
                .filter_map(|id| {
                    if *id == bts_protocol::id::well_known::DYNAMIC_GLOBAL_PROPERTIES {
                        Some(api::dgp_view(&chain, ev.block_num))
                    } else {
                        chain.object_json(*id)
                    }
                })
                .collect();
            if !objects.is_empty() {
                let _ = out.send(wire::notice(cb, &json!([objects])));
            }
        }
        for inc in &ev.included {
            if let Some(cb) = session.inclusion_callbacks.remove(&inc.id) {
                let _ = out.send(wire::notice(&cb, &json!([inclusion_json(inc)])));
            }
            for waiter in sync_waiters.remove(&inc.id).unwrap_or_default() {
                send_result(out, &waiter.id, waiter.jsonrpc, inclusion_json(inc));
            }
        }
    }
}
