//! Session benchmarks for the gateway's failover (Gateway II): how long a subscribed session
//! goes without notices when its node dies, and how much memory an idle subscribed session
//! costs the gateway. Loopback targets only, bounded in count and time.

use crate::{LoadError, is_loopback};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type Http = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

const SUBSCRIBE_CB: u64 = 7;

fn check(url: &str) -> Result<(), LoadError> {
    if is_loopback(url) { Ok(()) } else { Err(LoadError::NotLoopback(url.to_owned())) }
}

fn failed(url: &str, reason: impl std::fmt::Display) -> LoadError {
    LoadError::Connect { url: url.to_owned(), reason: reason.to_string() }
}

async fn http_json(client: &Http, method: &str, url: &str, body: Option<Value>) -> Result<Value, LoadError> {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.map(|b| b.to_string()).unwrap_or_default())))
        .map_err(|e| failed(url, e))?;
    let resp = client.request(req).await.map_err(|e| failed(url, e))?;
    let bytes = resp.into_body().collect().await.map_err(|e| failed(url, e))?.to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| failed(url, e))
}

/// Opens a session and subscribes it to 2.1.0 (waits for both answers).
async fn subscribed_session(url: &str) -> Result<Ws, LoadError> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| failed(url, e))?;
    for (id, frame) in [
        (1, json!({"id": 1, "method": "call", "params": [0, "set_subscribe_callback", [SUBSCRIBE_CB, false]]})),
        (2, json!({"id": 2, "method": "call", "params": [0, "get_objects", [["2.1.0"]]]})),
    ] {
        ws.send(Message::text(frame.to_string())).await.map_err(|e| failed(url, e))?;
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
                .await
                .map_err(|_| failed(url, "no answer within 10 s"))?;
            match m {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["id"] == id {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                other => return Err(failed(url, format!("session ended: {other:?}"))),
            }
        }
    }
    Ok(ws)
}

/// What [`failover`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverReport {
    /// Failovers attempted.
    pub failovers: usize,
    /// Failovers after which a notice arrived on the same socket.
    pub moved: usize,
    /// Node refused → first notice on the moved session, median, ms.
    pub p50_ms: f64,
    /// The same, 99th percentile.
    pub p99_ms: f64,
    /// The same, worst.
    pub max_ms: f64,
}

/// Kills (refuses) the node serving one subscribed session `count` times and times how long
/// the session goes without a notice. `gateway` is `ws://…`, `admin` the devnet admin URL;
/// the session's node is read from the gateway's `/stats.json`.
pub async fn failover(gateway: &str, admin: &str, count: usize) -> Result<FailoverReport, LoadError> {
    check(gateway)?;
    check(admin)?;
    let http_base = gateway.replacen("ws://", "http://", 1);
    let client: Http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut ws = subscribed_session(gateway).await?;
    let stats = |client: Http, base: String| async move {
        http_json(&client, "GET", &format!("{base}/stats.json"), None).await.map(|s| s["upstreams"].clone())
    };
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let ups = stats(client.clone(), http_base.clone()).await?;
        let Some(node) = ups.as_array().into_iter().flatten().position(|u| u["connections"].as_u64() > Some(0)) else {
            break;
        };
        let faults = format!("{}/nodes/{node}/faults", admin.trim_end_matches('/'));
        // Skip notices already on their way, then refuse the node.
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(5), ws.next()).await {}
        // Timed from before the refusal is requested: the gateway may finish moving the
        // session before the admin call returns, so this includes that call (an upper bound).
        let killed = Instant::now();
        http_json(&client, "PATCH", &faults, Some(json!({"refuse": true}))).await?;
        let notice = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(Ok(m)) = ws.next().await {
                match m {
                    Message::Text(t) if t.as_str().contains("\"notice\"") => return true,
                    Message::Close(_) => return false,
                    _ => {}
                }
            }
            false
        })
        .await;
        if notice == Ok(true) {
            times.push(killed.elapsed());
        }
        http_json(&client, "PATCH", &faults, Some(json!({"refuse": false}))).await?;
        // Wait (bounded) until the node is back up, so every failover starts from a full pool.
        let name = format!("node{node}");
        for _ in 0..100 {
            let ups = stats(client.clone(), http_base.clone()).await?;
            if ups.as_array().into_iter().flatten().any(|u| u["name"] == name.as_str() && u["state"] == "up") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if notice != Ok(true) {
            break;
        }
    }
    let moved = times.len();
    times.sort_unstable();
    let pct = |p: f64| {
        times.get(((moved.saturating_sub(1)) as f64 * p).round() as usize).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(FailoverReport { failovers: count, moved, p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: pct(1.0) })
}

/// What [`idle_sessions`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct SessionsReport {
    /// Subscribed sessions held open.
    pub sessions: usize,
    /// Resident memory of the measured process before, KiB.
    pub rss_before_kib: u64,
    /// … with the sessions open and idle, KiB.
    pub rss_after_kib: u64,
    /// (after − before) / sessions.
    pub kib_per_session: f64,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Opens `count` sessions subscribed to 2.1.0 (64 at a time), lets them idle for `settle`,
/// and reports the resident memory of process `pid` (the gateway) before and after.
pub async fn idle_sessions(url: &str, pid: u32, count: usize, settle: Duration) -> Result<SessionsReport, LoadError> {
    check(url)?;
    let rss_before_kib = rss_kib(pid).ok_or_else(|| failed(url, format!("no /proc/{pid}/status")))?;
    let mut readers = Vec::with_capacity(count);
    let mut opened = 0;
    while opened < count {
        let batch = (count - opened).min(64);
        let sessions = futures_util::future::join_all((0..batch).map(|_| subscribed_session(url))).await;
        for ws in sessions {
            let mut ws = ws?;
            // Keep reading, so notices never pile up in socket buffers.
            readers.push(tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }));
        }
        opened += batch;
    }
    tokio::time::sleep(settle).await;
    let rss_after_kib = rss_kib(pid).ok_or_else(|| failed(url, format!("no /proc/{pid}/status")))?;
    for r in readers {
        r.abort();
    }
    Ok(SessionsReport {
        sessions: count,
        rss_before_kib,
        rss_after_kib,
        kib_per_session: rss_after_kib.saturating_sub(rss_before_kib) as f64 / count.max(1) as f64,
    })
}
