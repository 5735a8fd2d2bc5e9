//! The `bts-rpc` client against real node endpoints: HTTP and WebSocket calls, named API
//! resolution, timeouts, refused connections, in-flight calls on a dropped connection.

mod common;
use bts_rpc::{ClientConfig, ClientError, HttpClient, WsClient};
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn http_client_calls_and_reports_errors() {
    let devnet = start(1).await;
    let http = HttpClient::new(ClientConfig::new(devnet.endpoints()[0].http_url())).unwrap();
    let chain_id = http.call("database", "get_chain_id", json!([])).await.unwrap();
    assert_eq!(chain_id, json!(devnet.chain_id().to_string()));
    let e = rpc_error(http.call("database", "nope", json!([])).await);
    assert_eq!(e.code, -32601);

    set_faults(&devnet, 0, json!({"latency_ms": 1500})).await;
    let mut cfg = ClientConfig::new(devnet.endpoints()[0].http_url());
    cfg.call_timeout = Duration::from_millis(200);
    let slow = HttpClient::new(cfg).unwrap();
    assert!(matches!(slow.call("database", "get_chain_id", json!([])).await, Err(ClientError::Timeout { .. })));

    set_faults(&devnet, 0, json!({"latency_ms": 0, "refuse": true})).await;
    assert!(matches!(http.call("database", "get_chain_id", json!([])).await, Err(ClientError::Connect { .. })));
    assert!(HttpClient::new(ClientConfig::new("ftp://x")).is_err());
}

#[tokio::test]
async fn ws_client_resolves_names_times_out_and_fails_in_flight_calls() {
    let devnet = start(1).await;
    let mut cfg = ClientConfig::new(devnet.endpoints()[0].ws_url());
    cfg.call_timeout = Duration::from_millis(500);
    let c = WsClient::connect(cfg).await.unwrap();
    assert_eq!(c.api_id("network_broadcast").await.unwrap(), 2);
    assert_eq!(c.api_id("history").await.unwrap(), 3);
    assert_eq!(c.api_id("network_broadcast").await.unwrap(), 2, "cached");

    set_faults(&devnet, 0, json!({"latency_ms": 2000})).await;
    assert!(matches!(c.call(0u64, "get_chain_id", json!([])).await, Err(ClientError::Timeout { .. })));
    set_faults(&devnet, 0, json!({"latency_ms": 0})).await;

    // A call in flight when the connection drops fails; it is not re-sent.
    set_faults(&devnet, 0, json!({"latency_ms": 300})).await;
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.call(0u64, "get_chain_id", json!([])).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    devnet.endpoints()[0].drop_connections();
    assert!(matches!(pending.await.unwrap(), Err(ClientError::Disconnected { .. })));

    // Unreachable node: connect fails with a clear error.
    let mut dead = ClientConfig::new("ws://127.0.0.1:1");
    dead.connect_timeout = Duration::from_millis(500);
    let err = WsClient::connect(dead).await.unwrap_err();
    assert!(err.to_string().contains("cannot connect to ws://127.0.0.1:1"), "{err}");
}
