//! Answers that cannot change, served from memory: the chain's constants and irreversible
//! blocks and transactions (`../shared/reference/gateway.md` §8).
//!
//! - `get_chain_id`, `get_config`, `get_chain_properties` — forever.
//! - `get_block`, `get_block_header` of block N, `get_transaction` in block N — once N is at or
//!   below the last irreversible block of the upstream that answered. A reversible block is
//!   never stored (the answer is passed on, not kept).
//!
//! Nothing that subscribes or carries a callback is cacheable by construction (only the
//! methods above are). The store is an LRU bounded by bytes. Identical requests that arrive
//! while the first is still on its way upstream wait for its answer instead of sending their
//! own ("coalescing"); if the first fails without an answer, they are told to fetch themselves.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// When an answer may be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Constant for the chain.
    Forever,
    /// Final once this block is irreversible.
    Irreversible(u32),
}

/// What a coalesced request receives when the first one finishes.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The `result` JSON.
    Result(Arc<str>),
    /// The node's `error` JSON (the same call would fail the same way).
    Error(Arc<str>),
    /// The first request got no answer (its session ended): send your own.
    Retry,
}

/// A coalesced WebSocket request, delivered to its session's inbox.
#[derive(Debug)]
pub struct Filled {
    /// The client's id as JSON text.
    pub id: Option<Box<str>>,
    /// Whether the client sent `"jsonrpc":"2.0"`.
    pub jsonrpc: bool,
    /// `"method",[args]`, to send it after all on [`Outcome::Retry`].
    pub tail: Box<str>,
    /// What the first request got.
    pub outcome: Outcome,
}

/// Someone waiting for an in-flight identical request.
#[derive(Debug)]
pub enum Waiter {
    /// An HTTP request task.
    Http(oneshot::Sender<Outcome>),
    /// A WebSocket session (answer goes to its inbox).
    Session {
        /// The session's inbox.
        inbox: mpsc::UnboundedSender<crate::session::Event>,
        /// The client's id as JSON text.
        id: Option<Box<str>>,
        /// `"jsonrpc":"2.0"`.
        jsonrpc: bool,
        /// `"method",[args]`.
        tail: Box<str>,
    },
}

/// The result of looking a request up.
#[derive(Debug)]
pub enum Lookup {
    /// Stored: the `result` JSON.
    Hit(Arc<str>),
    /// Not stored and nobody is fetching it: fetch it, then call [`Cache::complete`].
    Lead,
    /// Someone is fetching it; the waiter was registered.
    Follow,
}

/// The cacheability of a call: its key and rule, or `None`.
pub fn classify(method: &str, args: &str) -> Option<(Arc<str>, Rule)> {
    let rule = match method {
        "get_chain_id" | "get_config" | "get_chain_properties" => Rule::Forever,
        "get_block" | "get_block_header" | "get_transaction" => {
            // The first argument is the block number.
            let first = args.strip_prefix('[')?.split([',', ']']).next()?.trim();
            Rule::Irreversible(first.parse().ok()?)
        }
        _ => return None,
    };
    Some((format!("{method}\u{0}{args}").into(), rule))
}

#[derive(Default)]
struct Inner {
    map: HashMap<Arc<str>, (Arc<str>, u64)>,
    /// Recency order: tick → key.
    order: BTreeMap<u64, Arc<str>>,
    tick: u64,
    bytes: usize,
    flights: HashMap<Arc<str>, Vec<Waiter>>,
}

/// The response cache shared by every session and HTTP request.
pub struct Cache {
    inner: Mutex<Inner>,
    max_bytes: std::sync::atomic::AtomicUsize,
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
}

/// Cache figures for `/stats.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CacheStats {
    /// Answers served from memory.
    pub hits: u64,
    /// Cacheable requests sent upstream.
    pub misses: u64,
    /// Requests that waited for an identical one in flight.
    pub coalesced: u64,
    /// hits / (hits + misses + coalesced), 0 when idle.
    pub hit_ratio: f64,
    /// Stored answers.
    pub entries: usize,
    /// Bytes of keys and answers stored.
    pub bytes: usize,
    /// The bound (`cache.max_bytes`); 0 = off.
    pub max_bytes: usize,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Cache {
    /// An empty cache holding at most `max_bytes` (0 disables it).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_bytes: max_bytes.into(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
        }
    }

    /// Whether caching is on.
    pub fn enabled(&self) -> bool {
        self.max_bytes.load(Ordering::Relaxed) > 0
    }

    /// Changes the bound (reload); shrinking evicts at once.
    pub fn set_max_bytes(&self, max: usize) {
        self.max_bytes.store(max, Ordering::Relaxed);
        let mut inner = lock(&self.inner);
        Self::evict(&mut inner, max);
    }

    /// Looks `key` up; on a miss with a request already in flight, registers `waiter`.
    pub fn lookup(&self, key: &Arc<str>, waiter: impl FnOnce() -> Waiter) -> Lookup {
        let mut inner = lock(&self.inner);
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((value, old)) = inner.map.get_mut(key) {
            let (value, old) = (value.clone(), std::mem::replace(old, tick));
            inner.order.remove(&old);
            inner.order.insert(tick, key.clone());
            self.hits.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("bts_gateway_cache_requests_total", "outcome" => "hit").increment(1);
            return Lookup::Hit(value);
        }
        if let Some(waiters) = inner.flights.get_mut(key) {
            waiters.push(waiter());
            self.coalesced.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("bts_gateway_cache_requests_total", "outcome" => "coalesced").increment(1);
            return Lookup::Follow;
        }
        inner.flights.insert(key.clone(), Vec::new());
        self.misses.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("bts_gateway_cache_requests_total", "outcome" => "miss").increment(1);
        Lookup::Lead
    }

    /// Ends the flight for `key`: stores a result when `rule` allows it (`lib` = the answering
    /// upstream's last irreversible block) and hands the outcome to everyone who waited.
    pub fn complete(&self, key: &Arc<str>, rule: Rule, outcome: Outcome, lib: u32) {
        let mut inner = lock(&self.inner);
        let waiters = inner.flights.remove(key).unwrap_or_default();
        if let Outcome::Result(value) = &outcome {
            let storable = match rule {
                Rule::Forever => true,
                Rule::Irreversible(block) => block <= lib,
            };
            // A missing block (`null`) may exist later: not stored.
            let max = self.max_bytes.load(Ordering::Relaxed);
            let size = key.len() + value.len();
            if storable && &**value != "null" && size <= max / 4 && !inner.map.contains_key(key) {
                inner.tick += 1;
                let tick = inner.tick;
                inner.map.insert(key.clone(), (value.clone(), tick));
                inner.order.insert(tick, key.clone());
                inner.bytes += size;
                Self::evict(&mut inner, max);
            }
        }
        metrics::gauge!("bts_gateway_cache_bytes").set(inner.bytes as f64);
        metrics::gauge!("bts_gateway_cache_entries").set(inner.map.len() as f64);
        drop(inner);
        for w in waiters {
            match w {
                Waiter::Http(tx) => {
                    let _ = tx.send(outcome.clone());
                }
                Waiter::Session { inbox, id, jsonrpc, tail } => {
                    let _ = inbox.send(crate::session::Event::Filled(Filled {
                        id,
                        jsonrpc,
                        tail,
                        outcome: outcome.clone(),
                    }));
                }
            }
        }
    }

    fn evict(inner: &mut Inner, max: usize) {
        while inner.bytes > max {
            let Some((_, key)) = inner.order.pop_first() else { break };
            if let Some((value, _)) = inner.map.remove(&key) {
                inner.bytes -= key.len() + value.len();
            }
        }
    }

    /// Figures for the stats page.
    pub fn stats(&self) -> CacheStats {
        let inner = lock(&self.inner);
        let (hits, misses, coalesced) = (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
            self.coalesced.load(Ordering::Relaxed),
        );
        let total = hits + misses + coalesced;
        CacheStats {
            hits,
            misses,
            coalesced,
            hit_ratio: if total == 0 { 0.0 } else { (hits as f64 / total as f64 * 1000.0).round() / 1000.0 },
            entries: inner.map.len(),
            bytes: inner.bytes,
            max_bytes: self.max_bytes.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_constant_and_irreversible_answers_are_classified() {
        assert_eq!(classify("get_chain_id", "[]").unwrap().1, Rule::Forever);
        assert_eq!(classify("get_block", "[42]").unwrap().1, Rule::Irreversible(42));
        assert_eq!(classify("get_transaction", "[7,0]").unwrap().1, Rule::Irreversible(7));
        assert!(classify("get_objects", r#"[["2.1.0"]]"#).is_none());
        assert!(classify("get_block", r#"["x"]"#).is_none());
        assert!(classify("set_subscribe_callback", "[1,true]").is_none());
    }

    #[test]
    fn reversible_blocks_are_passed_on_not_stored_and_the_lru_is_bounded() {
        let cache = Cache::new(4000);
        let (k, rule) = classify("get_block", "[10]").unwrap();
        assert!(matches!(cache.lookup(&k, || unreachable!()), Lookup::Lead));
        let (tx, mut rx) = oneshot::channel();
        assert!(matches!(cache.lookup(&k, || Waiter::Http(tx)), Lookup::Follow));
        // LIB 9: block 10 is reversible — the waiter gets it, the cache does not keep it.
        cache.complete(&k, rule, Outcome::Result("{\"b\":10}".into()), 9);
        assert!(matches!(rx.try_recv(), Ok(Outcome::Result(v)) if &*v == "{\"b\":10}"));
        assert!(matches!(cache.lookup(&k, || unreachable!()), Lookup::Lead));
        cache.complete(&k, rule, Outcome::Result("{\"b\":10}".into()), 10);
        assert!(matches!(cache.lookup(&k, || unreachable!()), Lookup::Hit(_)));
        // Fill past the bound: the least recently used go first, the bound holds.
        for n in 11..200u32 {
            let (k, rule) = classify("get_block", &format!("[{n}]")).unwrap();
            let _ = cache.lookup(&k, || unreachable!());
            cache.complete(&k, rule, Outcome::Result("x".repeat(100).into()), 1000);
        }
        let s = cache.stats();
        assert!(s.bytes <= 4000 && s.entries > 10, "{s:?}");
        assert!(matches!(cache.lookup(&k, || Waiter::Http(oneshot::channel().0)), Lookup::Lead), "block 10 evicted");
        // A failed lead tells the followers to fetch themselves.
        let (tx, mut rx) = oneshot::channel();
        assert!(matches!(cache.lookup(&k, || Waiter::Http(tx)), Lookup::Follow));
        cache.complete(&k, rule, Outcome::Retry, 1000);
        assert!(matches!(rx.try_recv(), Ok(Outcome::Retry)));
    }
}
