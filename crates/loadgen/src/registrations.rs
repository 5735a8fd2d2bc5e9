//! Registration load: N account registrations with C in flight, either through a faucet's
//! `POST /api/v1/accounts` (what wallets do) or — the baseline — signed `account_create`
//! transactions broadcast straight to the node with `broadcast_transaction_synchronous` (the
//! chain's own limit for the same work). Loopback targets only; every run is bounded in count
//! and time.

use crate::{LoadError, is_loopback};
use bts_protocol::{
    AccountCreateExtensions, AccountCreateOperation, AccountOptions, AddressPrefix, Asset, Authority, ChainId,
    Operation, PrivateKey, SignedTransaction, TaposRef, Transaction,
};
use bts_rpc::client::{ClientConfig, WsClient};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Results of a registration run.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationReport {
    /// `faucet` or `direct`.
    pub mode: &'static str,
    /// Registrations attempted.
    pub attempted: usize,
    /// Registrations that succeeded (HTTP 201, or a block number from the node).
    pub registered: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Successful registrations per second.
    pub registrations_per_second: f64,
    /// Median latency of one registration, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// First failure seen, if any.
    pub first_error: Option<String>,
}

fn name_for(run: &str, i: usize) -> String {
    format!("bench-{run}-{i}")
}

/// Seed keys are deterministic and cheap; the registered accounts are throwaway.
fn key_for(name: &str) -> Result<bts_protocol::PublicKey, String> {
    PrivateKey::from_seed(name).map(|k| k.public_key(AddressPrefix::BTS)).map_err(|e| e.to_string())
}

fn summarize(
    mode: &'static str,
    attempted: usize,
    mut latencies: Vec<Duration>,
    seconds: f64,
    first_error: Option<String>,
) -> RegistrationReport {
    latencies.sort();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    RegistrationReport {
        mode,
        attempted,
        registered: latencies.len(),
        seconds,
        registrations_per_second: latencies.len() as f64 / seconds.max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        first_error,
    }
}

/// Runs `count` tasks over `concurrency` workers; each returns its latency or an error.
async fn drive<F, Fut>(
    mode: &'static str,
    count: usize,
    concurrency: usize,
    timeout: Duration,
    one: F,
) -> RegistrationReport
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let one = Arc::new(one);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + timeout;
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (one, next) = (one.clone(), next.clone());
            tokio::spawn(async move {
                let mut ok = Vec::new();
                let mut err = None;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count || Instant::now() >= deadline {
                        break;
                    }
                    let t = Instant::now();
                    match tokio::time::timeout_at(deadline.into(), one(i)).await {
                        Ok(Ok(())) => ok.push(t.elapsed()),
                        Ok(Err(e)) => {
                            err.get_or_insert(e);
                        }
                        Err(_) => {
                            err.get_or_insert_with(|| "time limit reached".to_owned());
                        }
                    }
                }
                (ok, err)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut first_error = None;
    for w in workers {
        if let Ok((ok, err)) = w.await {
            latencies.extend(ok);
            if first_error.is_none() {
                first_error = err;
            }
        }
    }
    summarize(mode, count, latencies, started.elapsed().as_secs_f64(), first_error)
}

/// Registers `count` accounts through the faucet at `faucet_url` (`http://127.0.0.1:PORT`).
pub async fn through_faucet(
    faucet_url: &str,
    run: &str,
    count: usize,
    concurrency: usize,
    timeout: Duration,
) -> Result<RegistrationReport, LoadError> {
    if !is_loopback(faucet_url) {
        return Err(LoadError::NotLoopback(faucet_url.to_owned()));
    }
    let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let uri = format!("{}/api/v1/accounts", faucet_url.trim_end_matches('/'));
    let run = run.to_owned();
    Ok(drive("faucet", count, concurrency, timeout, move |i| {
        let (client, uri) = (client.clone(), uri.clone());
        let name = name_for(&run, i);
        async move {
            let key = key_for(&name)?.to_string();
            let body = json!({"account": {"name": name, "owner_key": key, "active_key": key, "memo_key": key}});
            let req = hyper::Request::post(&uri)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .map_err(|e| e.to_string())?;
            let resp = client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            if status.as_u16() == 201 { Ok(()) } else { Err(format!("{status}: {}", String::from_utf8_lossy(&bytes))) }
        }
    })
    .await)
}

/// The baseline: the same registrations signed here and broadcast straight to the node at
/// `node_url` (`ws://127.0.0.1:PORT`), one fee lookup, head lookup and synchronous broadcast each.
pub async fn direct(
    node_url: &str,
    registrar: &str,
    key: PrivateKey,
    run: &str,
    count: usize,
    concurrency: usize,
    timeout: Duration,
) -> Result<RegistrationReport, LoadError> {
    if !is_loopback(node_url) {
        return Err(LoadError::NotLoopback(node_url.to_owned()));
    }
    let connect =
        |e: bts_rpc::client::ClientError| LoadError::Connect { url: node_url.to_owned(), reason: e.to_string() };
    let client = WsClient::connect(ClientConfig::new(node_url)).await.map_err(connect)?;
    let chain_id: ChainId = client
        .call("database", "get_chain_id", json!([]))
        .await
        .map_err(connect)?
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| LoadError::Connect { url: node_url.to_owned(), reason: "no chain id".into() })?;
    let account = client.call("database", "get_account_by_name", json!([registrar])).await.map_err(connect)?;
    let registrar_id = account["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| LoadError::Connect { url: node_url.to_owned(), reason: format!("no account {registrar}") })?;
    let run = run.to_owned();
    let key = Arc::new(key);
    Ok(drive("direct", count, concurrency, timeout, move |i| {
        let (client, key) = (client.clone(), key.clone());
        let name = name_for(&run, i);
        async move {
            let k = key_for(&name)?;
            let mut op = AccountCreateOperation {
                fee: Asset::core(0),
                registrar: registrar_id,
                referrer: registrar_id,
                referrer_percent: 5000,
                name,
                owner: Authority::single_key(k),
                active: Authority::single_key(k),
                options: AccountOptions::new_account(k),
                extensions: AccountCreateExtensions::default(),
            };
            let fees = client
                .call("database", "get_required_fees", json!([[Operation::AccountCreate(op.clone())], "1.3.0"]))
                .await
                .map_err(|e| e.to_string())?;
            op.fee = serde_json::from_value(fees[0].clone()).map_err(|e| e.to_string())?;
            let dgp =
                client.call("database", "get_dynamic_global_properties", json!([])).await.map_err(|e| e.to_string())?;
            let head = dgp["head_block_id"].as_str().and_then(|s| s.parse().ok()).ok_or("no head")?;
            let time: bts_protocol::TimePointSec =
                dgp["time"].as_str().and_then(|s| s.parse().ok()).ok_or("no time")?;
            let mut tx = SignedTransaction::from(Transaction::new(
                TaposRef::from_block_id(&head),
                time.checked_add(120).ok_or("time overflow")?,
                vec![Operation::AccountCreate(op)],
            ));
            tx.sign(&key, &chain_id).map_err(|e| e.to_string())?;
            client
                .call("network_broadcast", "broadcast_transaction_synchronous", json!([tx]))
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await)
}
