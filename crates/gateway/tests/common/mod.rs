//! Shared helpers: a devnet (from the dev-dependency) with a gateway in front, on loopback.
#![allow(dead_code, unused_imports)]

use bts_devnet::{Devnet, DevnetConfig};
use bts_gateway::Gateway;
use bts_gateway::config::{GatewayConfig, HealthConfig, UpstreamConfig};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

pub struct Setup {
    pub devnet: Devnet,
    pub gateway: Gateway,
}

/// Fast health checks so tests observe transitions within a few seconds.
pub fn fast_health() -> HealthConfig {
    HealthConfig {
        interval_ms: 200,
        timeout_ms: 1000,
        rise: 2,
        fall: 3,
        max_head_age_secs: 4,
        max_lag_blocks: 3,
        lagging_blocks: 1,
    }
}

pub fn gateway_config(devnet: &Devnet) -> GatewayConfig {
    gateway_config_for(&devnet.ws_urls())
}

/// A gateway config in front of these node URLs (named node0, node1, …).
pub fn gateway_config_for(urls: &[String]) -> GatewayConfig {
    GatewayConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        chain_id: None,
        name: "test gateway".into(),
        workers: 0,
        busy_poll_us: bts_gateway::config::DEFAULT_BUSY_POLL_US,
        upstreams: urls
            .iter()
            .enumerate()
            .map(|(i, url)| UpstreamConfig { name: format!("node{i}"), url: url.clone(), weight: 100, ca_file: None })
            .collect(),
        health: fast_health(),
        limits: Default::default(),
        sessions: Default::default(),
        cache: Default::default(),
        broadcasts: Default::default(),
        admin: Default::default(),
        monitoring: Default::default(),
        tls: None,
    }
}

pub async fn devnet(nodes: usize) -> Devnet {
    let d = Devnet::start(DevnetConfig {
        nodes,
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

pub fn registrar_key() -> bts_protocol::PrivateKey {
    bts_protocol::PrivateKey::from_seed("bts-infra test registrar").unwrap()
}

pub async fn setup(nodes: usize) -> Setup {
    setup_with(nodes, |_| {}).await
}

pub async fn setup_with(nodes: usize, tweak: impl FnOnce(&mut GatewayConfig)) -> Setup {
    let devnet = devnet(nodes).await;
    let mut config = gateway_config(&devnet);
    tweak(&mut config);
    let gateway = Gateway::start(config, None).await.unwrap();
    assert!(gateway.wait_healthy(nodes, Duration::from_secs(10)).await, "all upstreams up");
    Setup { devnet, gateway }
}

/// Raw HTTP/1.1 request with `Connection: close`; returns (status, body).
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    http_from(None, addr, method, path, body).await
}

/// Same, from a chosen local address (127.0.0.x) to act as another client IP.
pub async fn http_from(
    from: Option<std::net::IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let r = bts_testkit::http(from, addr, method, path, body).await;
    (r.status, r.body)
}

pub use bts_testkit::connect_from;

pub async fn rpc(addr: SocketAddr, api: &str, method: &str, args: Value) -> Value {
    let body = serde_json::json!({"id": 1, "method": "call", "params": [api, method, args]}).to_string();
    let (status, body) = http(addr, "POST", "/", &body).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

pub async fn set_faults(devnet: &Devnet, node: usize, body: Value) {
    let admin: SocketAddr = devnet.admin_url().unwrap().trim_start_matches("http://").parse().unwrap();
    let (status, text) = http(admin, "PATCH", &format!("/nodes/{node}/faults"), &body.to_string()).await;
    assert_eq!(status, 200, "{text}");
}

/// The value of one series in the gateway's /metrics, named as exposed (`name` or
/// `name{label="value"}`); 0 while it is absent.
#[allow(dead_code)]
pub async fn metric(gateway: &Gateway, series: &str) -> f64 {
    let (_, metrics) = http(gateway.addr(), "GET", "/metrics", "").await;
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0.0)
}

/// Sessions moved to another upstream so far (`bts_gateway_session_moves_total{outcome="moved"}`).
#[allow(dead_code)]
pub async fn sessions_moved(gateway: &Gateway) -> f64 {
    metric(gateway, "bts_gateway_session_moves_total{outcome=\"moved\"}").await
}

/// The gateway's view of one upstream from /stats.json.
pub async fn upstream_stats(gateway: &Gateway, name: &str) -> Value {
    let (_, body) = http(gateway.addr(), "GET", "/stats.json", "").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    v["upstreams"].as_array().unwrap().iter().find(|u| u["name"] == name).cloned().unwrap()
}

/// Polls until the upstream shows `state` (or panics after `within`).
pub async fn wait_state(gateway: &Gateway, name: &str, state: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let s = upstream_stats(gateway, name).await;
        if s["state"] == state {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{name} never became {state}: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `node --test tests/js/<file>` with `env` (the wallet's bitsharesjs libraries, installed
/// by `npm ci` in tests/js) and asserts that its one test passed (4 min limit).
pub async fn run_node_test(file: &str, env: &[(&str, String)]) {
    let js_dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/js");
    assert!(js_dir.join("node_modules/bitsharesjs").exists(), "run `npm ci` in {} (.ci/run does)", js_dir.display());
    let mut cmd = tokio::process::Command::new("node");
    cmd.args(["--test", file]).current_dir(&js_dir).kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output())
        .await
        .expect("node test finishes in 240 s")
        .expect("node runs (apt install nodejs)");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("# pass 1"), "{text}");
}
