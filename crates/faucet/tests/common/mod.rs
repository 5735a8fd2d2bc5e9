//! Shared helpers: a devnet (1-second blocks) and a faucet in front of it, on loopback, with a
//! real SQLite file (or a PostgreSQL URL) as the store.
#![allow(dead_code)]

use bts_devnet::{Devnet, DevnetConfig};
use bts_faucet::{Faucet, FaucetConfig};
use bts_protocol::{AddressPrefix, KeyRole, PrivateKey};
use bts_testkit::HttpResponse;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub fn registrar_key() -> PrivateKey {
    PrivateKey::from_seed("faucet test registrar").unwrap()
}

pub async fn devnet() -> Devnet {
    // RUST_LOG=bts_faucet=debug shows the faucet's log in failing tests.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into()))
        .with_test_writer()
        .try_init();
    let d = Devnet::start(DevnetConfig {
        nodes: 1,
        block_interval: 1,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        registrar_key: Some(registrar_key()),
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    assert!(d.wait_for_block(1, Duration::from_secs(10)).await);
    d
}

/// A fresh directory under the system temp dir, unique per test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bts-faucet-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Test defaults: loopback listener on a free port, the devnet's first node, a SQLite file,
/// no per-IP or global limits (tests that check limits set them).
pub fn config(devnet: &Devnet, dir: &std::path::Path) -> FaucetConfig {
    let mut c = FaucetConfig::new("faucet");
    c.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.node = devnet.endpoints()[0].ws_url();
    c.chain_id = Some(devnet.chain_id().to_string());
    c.store = format!("sqlite://{}", dir.join("faucet.db").display());
    c.limits.ip_cooldown_seconds = 0;
    c.limits.ip_daily_cap = 0;
    c.limits.global_per_minute = 0;
    c.timing.recovery_interval_seconds = 1;
    c.funds.check_interval_seconds = 1;
    c.timing.upgrade_scan_interval_seconds = 1;
    c
}

pub async fn faucet(config: FaucetConfig) -> Faucet {
    Faucet::start(config, registrar_key()).await.unwrap()
}

/// The three keys the web wallet derives from name + password (protocol.md §1.3).
pub fn wallet_keys(name: &str, password: &str) -> [String; 3] {
    [KeyRole::Owner, KeyRole::Active, KeyRole::Memo]
        .map(|role| PrivateKey::from_password(name, role, password).unwrap().public_key(AddressPrefix::BTS).to_string())
}

/// The body the wallet posts.
pub fn wallet_body(name: &str, referrer: Option<&str>) -> String {
    let [owner, active, memo] = wallet_keys(name, "correct horse battery staple");
    json!({"account": {"name": name, "owner_key": owner, "active_key": active, "memo_key": memo,
        "refcode": null, "referrer": referrer}})
    .to_string()
}

pub async fn post(faucet: &Faucet, path: &str, body: &str) -> HttpResponse {
    bts_testkit::http(None, faucet.addr(), "POST", path, body).await
}

pub async fn post_from(faucet: &Faucet, from: IpAddr, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    bts_testkit::http_with_headers(Some(from), faucet.addr(), "POST", "/api/v1/accounts", headers, body).await
}

pub async fn get(faucet: &Faucet, path: &str) -> HttpResponse {
    bts_testkit::http(None, faucet.addr(), "GET", path, "").await
}

pub fn json_body(r: &HttpResponse) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// `error.base[0]` of a refusal.
pub fn error_message(r: &HttpResponse) -> String {
    json_body(r)["error"]["base"][0].as_str().unwrap_or_else(|| panic!("no error.base[0]: {}", r.body)).to_owned()
}

/// One call to the node over HTTP JSON-RPC.
pub async fn node_call(devnet: &Devnet, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": ["database", method, params]});
    let r = bts_testkit::http(None, devnet.endpoints()[0].addr(), "POST", "/", &body.to_string()).await;
    let v: Value = serde_json::from_str(&r.body).unwrap();
    v["result"].clone()
}

pub async fn account(devnet: &Devnet, name: &str) -> Value {
    node_call(devnet, "get_account_by_name", json!([name])).await
}

/// Polls the store until `name` has a row in `state` (15 s limit).
pub async fn wait_for_state(faucet: &Faucet, name: &str, state: &str) -> bts_faucet::store::Registration {
    for _ in 0..150 {
        let rows = faucet.registrar().store().by_name(name).await.unwrap();
        if let Some(r) = rows.iter().find(|r| r.state.as_str() == state) {
            return r.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} never reached {state}: {:?}", faucet.registrar().store().by_name(name).await.unwrap());
}

/// account_create operations for `name` in the registrar's history.
pub async fn creations_of(devnet: &Devnet, name: &str) -> usize {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call",
        "params": ["history", "get_account_history", ["faucet", "1.11.0", 100, "1.11.0"]]});
    let r = bts_testkit::http(None, devnet.endpoints()[0].addr(), "POST", "/", &body.to_string()).await;
    let v: Value = serde_json::from_str(&r.body).unwrap();
    v["result"]
        .as_array()
        .unwrap_or_else(|| panic!("history: {v}"))
        .iter()
        .filter(|h| h["op"][0] == 5 && h["op"][1]["name"] == name)
        .count()
}
