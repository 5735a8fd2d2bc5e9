//! Shared upstream connections for sessions that hold no state on the node.
//!
//! A session that has only made plain calls needs no node connection of its own: its calls go
//! over one connection per upstream and worker thread, shared with the other such sessions,
//! and each answer comes back to its session by id: the connection hands out its request ids
//! itself ([`Mux::alloc`]) and remembers whose each one is. Ids stay inside 32 bits, because fc
//! echoes larger ones as strings. Frames queued by several sessions go out in one write and the node reads them in one;
//! on loopback the per-message system calls are most of the cost, on both sides (BENCHMARKS.md).
//! The node also holds one connection per worker instead of one per client.
//!
//! HTTP requests use the same connections ([`call`]).
//!
//! A session leaves the shared connection for its own the moment it makes a call that creates
//! state on the node ([`needs_own_connection`]) and keeps that one; see [`crate::session`].

use crate::journal::JOURNALED;
use crate::policy::API_SETS;
use crate::pool::Upstream;
use crate::session::CALLBACK_METHODS;
use crate::session::Event;
use bts_rpc::ClientError;
use bts_rpc::wire::RpcError;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Whether a client frame (raw text) may make a call that creates or changes state on the
/// node's side of a connection (subscriptions, callbacks): the session gets its own connection
/// first. `get_full_accounts` subscribes only where a callback is set, so it stays shared. A
/// false positive (a name inside an argument) only costs an unneeded own connection.
pub(crate) fn needs_own_connection(text: &str) -> bool {
    // Every such method name has one of these in it (a test checks): one or two scans per
    // frame, with searchers built once, instead of one per name.
    static PRE: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 2]> =
        std::sync::LazyLock::new(|| [memchr::memmem::Finder::new("subscri"), memchr::memmem::Finder::new("callback")]);
    PRE.iter().any(|f| f.find(text.as_bytes()).is_some()) && stateful().any(|m| text.contains(m))
}

/// The methods [`needs_own_connection`] looks for.
fn stateful() -> impl Iterator<Item = &'static str> {
    JOURNALED.iter().chain(CALLBACK_METHODS).copied().filter(|m| *m != "get_full_accounts")
}

/// A shared connection without sessions for this long (checked every sixth of it) closes.
const IDLE: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Short critical sections that cannot leave the map inconsistent on a panic.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Who is waiting for what on a shared connection.
#[derive(Default)]
struct Routes {
    /// Session number → that session's event channel.
    sessions: HashMap<u32, mpsc::UnboundedSender<Event>>,
    /// Request id in flight → the session number it belongs to.
    pending: HashMap<u32, u32>,
    /// The next request id to hand out.
    next: u32,
}

/// Request ids below this are the connection's own (resolving the API sets when it opens).
const FIRST_ID: u32 = 1024;

/// One shared connection to an upstream.
pub(crate) struct Mux {
    /// Frames to send (the connection task batches what has queued up into one write).
    tx: mpsc::UnboundedSender<Message>,
    routes: Arc<Mutex<Routes>>,
    /// The node's API ids on this connection (resolved once, when it opened).
    pub(crate) api_ids: HashMap<String, u64>,
    alive: Arc<AtomicBool>,
}

/// A thread's shared connection to one upstream (none yet, or a closed one), and when opening
/// one last failed.
type Slot = Arc<tokio::sync::Mutex<(Option<Arc<Mux>>, Option<std::time::Instant>)>>;

/// After a failed attempt to open a shared connection, callers fail at once for this long
/// instead of queueing behind one connect timeout after another (a blackholed node).
const RETRY_AFTER: Duration = Duration::from_secs(1);

thread_local! {
    /// This worker thread's shared connections, by upstream name and URL (a reload may point a
    /// name elsewhere). The lock makes sessions placed at the same moment wait for one
    /// connection instead of each opening their own.
    static SHARED: RefCell<HashMap<String, Slot>> = RefCell::new(HashMap::new());
}

impl Mux {
    /// This thread's shared connection to `up`, opened when there is none (5 s limit each for
    /// connecting and for resolving the API sets).
    pub(crate) async fn get(up: &Upstream) -> Option<Arc<Mux>> {
        let key = format!("{} {}", up.name, up.url);
        let slot = SHARED.with(|m| m.borrow_mut().entry(key).or_default().clone());
        let mut current = slot.lock().await;
        if let Some(mux) = current.0.as_ref().filter(|x| x.alive.load(Ordering::Relaxed)) {
            return Some(mux.clone());
        }
        if current.1.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
            return None;
        }
        let Some((ws, api_ids)) = open(up).await else {
            current.1 = Some(std::time::Instant::now());
            return None;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let routes = Arc::new(Mutex::new(Routes { next: FIRST_ID, ..Routes::default() }));
        let mux = Arc::new(Mux { tx, routes, api_ids, alive: Arc::new(AtomicBool::new(true)) });
        tokio::spawn(run(ws, rx, mux.routes.clone(), mux.alive.clone(), up.name.clone()));
        tracing::debug!(upstream = %up.name, "shared upstream connection opened");
        *current = (Some(mux.clone()), None);
        Some(mux)
    }

    /// Routes answers for session `slot` to `events`.
    pub(crate) fn join(&self, slot: u32, events: mpsc::UnboundedSender<Event>) {
        lock(&self.routes).sessions.insert(slot, events);
    }

    /// Stops routing to session `slot`. A connection no session has used for [`IDLE`] closes.
    pub(crate) fn leave(&self, slot: u32) {
        lock(&self.routes).sessions.remove(&slot);
    }

    /// A request id on this connection for session `slot`, whose answer goes to that session.
    /// Ids run from [`FIRST_ID`] to `u32::MAX` and wrap, skipping any still in flight.
    pub(crate) fn alloc(&self, slot: u32) -> u32 {
        let mut routes = lock(&self.routes);
        loop {
            let id = routes.next;
            routes.next = if id == u32::MAX { FIRST_ID } else { id + 1 };
            if let std::collections::hash_map::Entry::Vacant(e) = routes.pending.entry(id) {
                e.insert(slot);
                return id;
            }
        }
    }

    /// Queues a frame; false when the connection is gone.
    pub(crate) fn send(&self, frame: Message) -> bool {
        self.alive.load(Ordering::Relaxed) && self.tx.send(frame).is_ok()
    }
}

/// Connects to `up` and resolves every API set once, so no session ever registers an API object
/// on the shared connection — whatever the policy allows now: a reload may allow more, and
/// sessions check the policy per call anyway. The node refuses the sets it does not enable.
async fn open(up: &Upstream) -> Option<(crate::session::UpstreamSocket, HashMap<String, u64>)> {
    let apis: Vec<&str> = API_SETS.iter().copied().filter(|a| *a != "database").collect();
    let connecting = bts_rpc::client::connect_websocket(up.url.as_str(), up.tls.as_ref());
    let mut ws = tokio::time::timeout(Duration::from_secs(5), connecting).await.ok()?.ok()?;
    let mut api_ids = HashMap::from([("database".to_owned(), 0), ("login".to_owned(), 1)]);
    // All asked at once: one round trip however many API sets there are.
    let asks = apis
        .iter()
        .enumerate()
        .map(|(i, api)| Message::text(format!("{{\"id\":{i},\"method\":\"call\",\"params\":[1,\"{api}\",[]]}}")))
        .collect::<Vec<_>>();
    bts_rpc::client::send_batch(&mut ws, asks).await.ok()?;
    let answers = async {
        let mut left = apis.len();
        while left > 0
            && let Some(Ok(m)) = ws.next().await
        {
            let Message::Text(t) = m else { continue };
            let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else { continue };
            let Some(api) = v["id"].as_u64().and_then(|i| apis.get(usize::try_from(i).ok()?)) else { continue };
            left -= 1;
            if let Some(id) = v["result"].as_u64() {
                api_ids.insert((*api).to_owned(), id);
            }
        }
        left == 0
    };
    tokio::time::timeout(Duration::from_secs(5), answers).await.unwrap_or(false).then_some(())?;
    Some((ws, api_ids))
}

/// Removes a one-call route when the call ends, however it ends (answered, timed out, dropped).
struct Route<'a> {
    mux: &'a Mux,
    slot: u32,
}

impl Drop for Route<'_> {
    fn drop(&mut self) {
        self.mux.leave(self.slot);
    }
}

/// One call for the HTTP path over this thread's shared connection to `up` — the connection
/// WebSocket sessions use, so an HTTP request never crosses to another thread or opens a
/// connection of its own. An API set the shared connection has no id for goes over the
/// upstream's own client instead (the node then answers with its error).
/// The answer's `result` comes back as the node's JSON text, checked to be one JSON value (so
/// it cannot add keys to the response it is placed in) but not rebuilt.
pub(crate) async fn call(up: &Upstream, api: &str, method: &str, args: &str) -> Result<Box<RawValue>, ClientError> {
    let lost = || ClientError::Disconnected { url: up.url.clone(), method: method.to_owned() };
    let Some(mux) = Mux::get(up).await else {
        return Err(ClientError::Connect { url: up.url.clone(), reason: "no shared connection".into() });
    };
    let Some(api_id) = mux.api_ids.get(api).copied() else {
        return up.call_raw(api, method, args).await;
    };
    let slot = crate::session::next_slot();
    let (tx, mut rx) = mpsc::unbounded_channel();
    mux.join(slot, tx);
    let _route = Route { mux: &mux, slot };
    let id = mux.alloc(slot);
    let frame = format!("{{\"id\":{id},\"method\":\"call\",\"params\":[{api_id},{},{args}]}}", Value::from(method));
    if !mux.send(Message::text(frame)) {
        return Err(lost());
    }
    #[derive(serde::Deserialize)]
    struct Answer<'a> {
        #[serde(borrow, default)]
        result: Option<&'a RawValue>,
        #[serde(default)]
        error: Option<RpcError>,
    }
    match rx.recv().await {
        Some(Event::Upstream(text)) => match serde_json::from_str::<Answer<'_>>(text.as_str()) {
            Ok(Answer { error: Some(e), .. }) => Err(ClientError::Rpc(e)),
            Ok(Answer { result, .. }) => Ok(result.unwrap_or(RawValue::NULL).to_owned()),
            Err(e) => Err(ClientError::Protocol(format!("unparsable answer from {}: {e}", up.name))),
        },
        _ => Err(lost()),
    }
}

/// The request id of an answer, read from the start fc always writes (`{"id":N,` — or
/// `{"id":"N",`, fc's form above 0xffffffff, which our ids never reach but a node may send).
fn answer_id(text: &str) -> Option<u32> {
    let rest = text.strip_prefix("{\"id\":")?;
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// The connection task: writes what sessions queued (in batches), routes answers.
async fn run(
    mut ws: crate::session::UpstreamSocket,
    mut rx: mpsc::UnboundedReceiver<Message>,
    routes: Arc<Mutex<Routes>>,
    alive: Arc<AtomicBool>,
    upstream: String,
) {
    let mut batch = Vec::new();
    // Checked now and then rather than a timer per loop turn: this loop runs once per message.
    let mut idle_check = tokio::time::interval(IDLE / 6);
    idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut empty_since: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            n = rx.recv_many(&mut batch, 256) => {
                if n == 0 {
                    break;
                }
                if bts_rpc::client::send_batch(&mut ws, batch.drain(..)).await.is_err() {
                    break;
                }
            }
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    crate::spin::frame_handled();
                    let id = answer_id(t.as_str());
                    let to = id.and_then(|id| {
                        let mut r = lock(&routes);
                        let slot = r.pending.remove(&id)?;
                        r.sessions.get(&slot).cloned()
                    });
                    if let Some(to) = to {
                        let _ = to.send(Event::Upstream(t));
                    } else if id.is_none() {
                        tracing::warn!(%upstream, "message without a request id on a shared connection dropped");
                    }
                }
                Some(Ok(Message::Ping(p))) => {
                    if ws.send(Message::Pong(p)).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            // No session for a while: close (the next session opens a new one).
            _ = idle_check.tick() => {
                if !lock(&routes).sessions.is_empty() {
                    empty_since = None;
                } else if empty_since.get_or_insert_with(std::time::Instant::now).elapsed() >= IDLE {
                    break;
                }
            }
        }
    }
    alive.store(false, Ordering::Relaxed);
    let sessions: Vec<_> = lock(&routes).sessions.drain().map(|(_, s)| s).collect();
    if !sessions.is_empty() {
        tracing::info!(%upstream, sessions = sessions.len(), "shared upstream connection lost");
    }
    for s in sessions {
        let _ = s.send(Event::UpstreamLost);
    }
    let _ = ws.close(None).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_ids_are_read_in_both_of_fcs_forms() {
        assert_eq!(answer_id(r#"{"id":3000000000,"jsonrpc":"2.0","result":1}"#), Some(3_000_000_000));
        assert_eq!(answer_id(r#"{"id":"4000000000","result":1}"#), Some(4_000_000_000));
        assert_eq!(answer_id(r#"{"id":"4294967297","result":1}"#), None);
        assert_eq!(answer_id(r#"{"method":"notice","params":[1,[]]}"#), None);
        assert_eq!(answer_id(r#"{"id":null,"error":{}}"#), None);
    }

    #[test]
    fn request_ids_stay_inside_32_bits_and_skip_ids_in_flight() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let routes = Arc::new(Mutex::new(Routes { next: u32::MAX - 1, ..Routes::default() }));
        lock(&routes).pending.insert(FIRST_ID, 9);
        let mux = Mux { tx, routes, api_ids: HashMap::new(), alive: Arc::new(AtomicBool::new(true)) };
        assert_eq!(mux.alloc(1), u32::MAX - 1);
        assert_eq!(mux.alloc(1), u32::MAX);
        assert_eq!(mux.alloc(2), FIRST_ID + 1, "wraps and skips the id still in flight");
        assert_eq!(lock(&mux.routes).pending.get(&(FIRST_ID + 1)), Some(&2));
    }

    #[test]
    fn stateful_calls_are_recognised_in_the_raw_frame() {
        assert!(needs_own_connection(r#"{"id":1,"method":"call","params":[0,"set_subscribe_callback",[5,true]]}"#));
        assert!(needs_own_connection(r#"{"id":1,"method":"set_subscribe_callback","params":[5,true]}"#));
        assert!(!needs_own_connection(r#"{"id":1,"method":"call","params":[0,"get_objects",[["2.1.0"]]]}"#));
        assert!(!needs_own_connection(r#"{"id":1,"method":"call","params":[0,"get_full_accounts",[["a"],false]]}"#));
        for m in stateful() {
            assert!(m.contains("subscri") || m.contains("callback"), "{m} escapes the pre-filter");
            assert!(needs_own_connection(&format!(r#"{{"id":1,"method":"call","params":[0,"{m}",[]]}}"#)), "{m}");
        }
        assert!(stateful().count() >= 8);
    }
}
