//! A bounded load generator: N WebSocket connections (`ws://`) or N keep-alive HTTP/1.1
//! connections (`http://`, one JSON-RPC POST at a time), each sending M calls one after another
//! (back to back, or paced: one call per interval), with a total time limit. Loopback targets only, so a benchmark can never load a machine that
//! is not ours.

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `ws://127.0.0.1:port` or `http://127.0.0.1:port` (loopback only).
    pub url: String,
    /// Concurrent connections.
    pub connections: usize,
    /// Calls per connection, sent one after another.
    pub messages_per_connection: usize,
    /// The `database` method called.
    pub method: String,
    /// Its arguments, a JSON array (`[]`, `[42]`).
    pub params: String,
    /// Give up after this long overall.
    pub timeout: Duration,
    /// Pacing: a connection starts a call at most once per interval (zero: back to back). Light
    /// steady traffic, to measure what a proxy costs when it is not saturated.
    pub interval: Duration,
}

/// Waits, when pacing, until `interval` after the previous call started.
async fn pace(interval: Duration, previous: Option<Instant>) {
    if let Some(p) = previous.filter(|_| !interval.is_zero()) {
        tokio::time::sleep_until((p + interval).into()).await;
    }
}

/// Results of a run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Connections opened.
    pub connections: usize,
    /// Calls answered.
    pub completed: usize,
    /// Calls that failed or were not answered in time.
    pub failed: usize,
    /// Wall-clock seconds of the measured phase.
    pub seconds: f64,
    /// Answered calls per second.
    pub messages_per_second: f64,
    /// Median call latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile call latency, milliseconds.
    pub p99_ms: f64,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The target is not on loopback.
    #[error("refusing to load {0}: only ws:// or http:// targets on 127.0.0.0/8 or [::1] are allowed")]
    NotLoopback(String),
    /// Connections could not be opened.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// Target.
        url: String,
        /// Why.
        reason: String,
    },
}

pub mod registrations;
pub mod sessions;

fn is_loopback(url: &str) -> bool {
    let rest = url.strip_prefix("ws://").or_else(|| url.strip_prefix("http://")).unwrap_or("");
    let host = rest.split('/').next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Runs the load and reports throughput and latency percentiles.
pub async fn run(config: &LoadConfig) -> Result<LoadReport, LoadError> {
    if !is_loopback(&config.url) {
        return Err(LoadError::NotLoopback(config.url.clone()));
    }
    if config.url.starts_with("http://") {
        return run_http(config).await;
    }
    // Open every connection first so the measured phase is only request traffic.
    let mut sockets = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        let ws_config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(config.url.as_str(), Some(ws_config), true)
            .await
            .map_err(|e| LoadError::Connect { url: config.url.clone(), reason: e.to_string() })?;
        sockets.push(ws);
    }
    let deadline = Instant::now() + config.timeout;
    let started = Instant::now();
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            let method = config.method.clone();
            let params = config.params.clone();
            let (n, interval) = (config.messages_per_connection, config.interval);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(n);
                let mut failed = 0;
                let mut previous = None;
                for i in 0..n {
                    let frame = format!("{{\"id\":{i},\"method\":\"call\",\"params\":[0,\"{method}\",{params}]}}");
                    pace(interval, previous).await;
                    let sent = Instant::now();
                    previous = Some(sent);
                    if Instant::now() >= deadline || ws.send(Message::text(frame)).await.is_err() {
                        failed += n - i;
                        break;
                    }
                    let answered = loop {
                        match tokio::time::timeout_at(deadline.into(), ws.next()).await {
                            Ok(Some(Ok(Message::Text(t)))) if t.as_str().contains("\"result\"") => break true,
                            Ok(Some(Ok(Message::Text(_)))) => break false,
                            Ok(Some(Ok(_))) => continue,
                            _ => break false,
                        }
                    };
                    if answered {
                        latencies.push(sent.elapsed());
                    } else {
                        failed += 1;
                    }
                }
                let _ = ws.close(None).await;
                (latencies, failed)
            })
        })
        .collect();
    Ok(report(config.connections, started, tasks).await)
}

/// Collects the connections' latencies into a report.
async fn report(
    connections: usize,
    started: Instant,
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
) -> LoadReport {
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        if let Ok((l, f)) = t.await {
            all.extend(l);
            failed += f;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len().saturating_sub(1)) as f64 * p).round() as usize).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    LoadReport {
        connections,
        completed: all.len(),
        failed,
        seconds,
        messages_per_second: all.len() as f64 / seconds.max(1e-9),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    }
}

/// One HTTP/1.1 client connection (loopback, TCP_NODELAY).
async fn http_connect(
    authority: &str,
) -> Result<hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>, String> {
    let tcp = tokio::net::TcpStream::connect(authority).await.map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

/// The HTTP variant: per client, one JSON-RPC POST at a time over a keep-alive HTTP/1.1
/// connection; when the server closes it after a response (a BitShares node does, every time),
/// the client connects again and that connect counts in the call's latency, as it would for a
/// real client.
async fn run_http(config: &LoadConfig) -> Result<LoadReport, LoadError> {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let authority = config.url.trim_start_matches("http://").split('/').next().unwrap_or("").to_owned();
    let mut senders = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        let sender =
            http_connect(&authority).await.map_err(|reason| LoadError::Connect { url: config.url.clone(), reason })?;
        senders.push(Some(sender));
    }
    let deadline = Instant::now() + config.timeout;
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let (method, params, n) = (config.method.clone(), config.params.clone(), config.messages_per_connection);
            let (authority, interval) = (authority.clone(), config.interval);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(n);
                let mut failed = 0;
                let mut previous = None;
                for i in 0..n {
                    let body = format!("{{\"id\":{i},\"method\":\"call\",\"params\":[0,\"{method}\",{params}]}}");
                    pace(interval, previous).await;
                    let sent = Instant::now();
                    previous = Some(sent);
                    let Ok(request) = hyper::Request::post("/")
                        .header(hyper::header::HOST, &authority)
                        .header(hyper::header::CONTENT_TYPE, "application/json")
                        .body(Full::new(Bytes::from(body)))
                    else {
                        failed += 1;
                        continue;
                    };
                    let call = async {
                        let mut s = match sender.take() {
                            Some(mut s) => match s.ready().await {
                                Ok(()) => s,
                                Err(_) => http_connect(&authority).await.ok()?,
                            },
                            None => http_connect(&authority).await.ok()?,
                        };
                        let response = s.send_request(request).await.ok()?;
                        let ok = response.status().is_success();
                        let body = response.into_body().collect().await.ok()?.to_bytes();
                        sender = Some(s);
                        Some(ok && body.windows(8).any(|w| w == b"\"result\""))
                    };
                    match tokio::time::timeout_at(deadline.into(), call).await {
                        Ok(Some(true)) => latencies.push(sent.elapsed()),
                        Ok(Some(false)) => failed += 1,
                        // Cannot connect, or out of time: the rest of this client's calls fail.
                        _ => {
                            failed += n - i;
                            break;
                        }
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    Ok(report(config.connections, started, tasks).await)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_loopback_targets() {
        assert!(super::is_loopback("ws://127.0.0.1:8090"));
        assert!(super::is_loopback("ws://127.0.0.2:80/x"));
        assert!(super::is_loopback("ws://[::1]:8090"));
        assert!(super::is_loopback("ws://localhost:1"));
        assert!(!super::is_loopback("ws://10.0.0.1:8090"));
        assert!(!super::is_loopback("ws://example.com:8090"));
        assert!(!super::is_loopback("wss://127.0.0.1:1"));
    }
}
