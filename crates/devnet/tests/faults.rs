//! Fault injection, observed by clients the way a gateway would see it.

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

async fn head(c: &bts_rpc::WsClient) -> u64 {
    c.call(0u64, "get_dynamic_global_properties", json!([])).await.unwrap()["head_block_number"].as_u64().unwrap()
}

#[tokio::test]
async fn stall_freezes_one_node_while_the_others_advance() {
    let devnet = start(2).await;
    let (a, b) = (client(&devnet, 0).await, client(&devnet, 1).await);
    let f = set_faults(&devnet, 1, json!({"stall": true})).await;
    assert_eq!(f["stall"], true);
    let frozen = head(&b).await;
    let start = head(&a).await;
    assert!(devnet.wait_for_block(start as u32 + 2, Duration::from_secs(10)).await);
    assert!(head(&a).await >= start + 2);
    assert_eq!(head(&b).await, frozen, "stalled node keeps showing the old head");
    assert_eq!(b.call(0u64, "get_block", json!([start + 2])).await.unwrap(), serde_json::Value::Null);
    set_faults(&devnet, 1, json!({"stall": false})).await;
    assert!(head(&b).await >= start + 2, "recovers at once");
}

#[tokio::test]
async fn lag_shows_the_chain_n_blocks_behind() {
    let devnet = start(2).await;
    assert!(devnet.wait_for_block(4, Duration::from_secs(15)).await);
    set_faults(&devnet, 1, json!({"lag": 3})).await;
    let (a, b) = (client(&devnet, 0).await, client(&devnet, 1).await);
    let (ha, hb) = (head(&a).await, head(&b).await);
    // A block may land between the two reads.
    assert!(ha - hb == 3 || ha - hb == 4, "head {ha} vs lagging {hb}");
}

#[tokio::test]
async fn latency_errors_and_wrong_chain_id() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let real = c.call(0u64, "get_chain_id", json!([])).await.unwrap();
    set_faults(&devnet, 0, json!({"wrong_chain_id": true})).await;
    let wrong = c.call(0u64, "get_chain_id", json!([])).await.unwrap();
    assert_ne!(wrong, real);
    assert_eq!(c.call(0u64, "get_chain_properties", json!([])).await.unwrap()["chain_id"], wrong);

    set_faults(&devnet, 0, json!({"wrong_chain_id": false, "error_rate": 1.0})).await;
    let e = rpc_error(c.call(0u64, "get_chain_id", json!([])).await);
    assert_eq!(e.code, -32603);

    set_faults(&devnet, 0, json!({"error_rate": 0.0, "latency_ms": 300})).await;
    let t = std::time::Instant::now();
    c.call(0u64, "get_chain_id", json!([])).await.unwrap();
    // Not a timing assertion on our speed: the injected delay is a lower bound by construction.
    assert!(t.elapsed() >= Duration::from_millis(300));
}

/// As in witness_node, each call on a connection waits out its own injected delay: a slow call
/// does not hold up the calls behind it.
#[tokio::test]
async fn a_delayed_call_does_not_hold_up_later_calls_on_the_same_connection() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let devnet = start(1).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(devnet.endpoints()[0].ws_url()).await.unwrap();
    let ask =
        |id: u64| Message::text(json!({"id": id, "method": "call", "params": [0, "get_chain_id", []]}).to_string());
    set_faults(&devnet, 0, json!({"latency_ms": 3000})).await;
    ws.send(ask(1)).await.unwrap();
    // The node has read call 1 (and started its delay) long before this.
    tokio::time::sleep(Duration::from_millis(500)).await;
    set_faults(&devnet, 0, json!({"latency_ms": 0})).await;
    ws.send(ask(2)).await.unwrap();
    let mut order = Vec::new();
    while order.len() < 2 {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(t) = m {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            assert_eq!(v["result"], json!(devnet.chain_id().to_string()));
            order.push(v["id"].as_u64().unwrap());
        }
    }
    assert_eq!(order, [2, 1], "the undelayed call is answered first");
}

#[tokio::test]
async fn drop_and_refuse_connections() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let mut state = c.state();
    let admin: std::net::SocketAddr = devnet.admin_url().unwrap().trim_start_matches("http://").parse().unwrap();
    let (status, _, _) = http(admin, "POST", "/nodes/0/drop", "").await;
    assert_eq!(status, 200);
    tokio::time::timeout(Duration::from_secs(5), state.wait_for(|s| *s == bts_rpc::ConnectionState::Disconnected))
        .await
        .unwrap()
        .unwrap();
    // The client reconnects by itself.
    tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| matches!(s, bts_rpc::ConnectionState::Connected { generation: 2 })),
    )
    .await
    .unwrap()
    .unwrap();

    set_faults(&devnet, 0, json!({"refuse": true})).await;
    let err = tokio::net::TcpStream::connect(node_addr(&devnet, 0)).await;
    assert!(err.is_err(), "port closed while refusing");
    set_faults(&devnet, 0, json!({"refuse": false})).await;
    let mut ok = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(node_addr(&devnet, 0)).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "listening again after refuse is cleared");
}

#[tokio::test]
async fn admin_api_rejects_bad_requests() {
    let devnet = start(1).await;
    let admin: std::net::SocketAddr = devnet.admin_url().unwrap().trim_start_matches("http://").parse().unwrap();
    let (status, _, body) = http(admin, "PATCH", "/nodes/5/faults", r#"{"stall":true}"#).await;
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = http(admin, "PATCH", "/nodes/0/faults", r#"{"explode":true}"#).await;
    assert_eq!(status, 400);
    assert!(body.contains("unknown field"), "{body}");
    let (status, _, body) = http(admin, "PATCH", "/nodes/0/faults", r#"{"error_rate":2}"#).await;
    assert_eq!(status, 400);
    assert!(body.contains("between 0 and 1"), "{body}");
    let (status, _, body) = http(admin, "GET", "/status", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"nodes\""));
    let (status, _, body) = http(admin, "DELETE", "/nodes/0/faults", "").await;
    assert_eq!(status, 200, "{body}");
}
