//! The response cache against a real devnet: constants and irreversible blocks are served from
//! memory with the node's exact answer, reversible or missing blocks never are, and identical
//! requests in flight together reach the node once.

mod common;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws(gateway: &bts_gateway::Gateway) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}", gateway.addr())).await.unwrap().0
}

async fn ask(ws: &mut Ws, id: u64, method: &str, params: Value) -> Value {
    ws.send(Message::text(json!({"id": id, "method": "call", "params": [0, method, params]}).to_string()))
        .await
        .unwrap();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("answer").unwrap().unwrap();
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"] == id {
                return v;
            }
        }
    }
}

async fn cache_stats(gateway: &bts_gateway::Gateway) -> Value {
    let (_, body) = http(gateway.addr(), "GET", "/stats.json", "").await;
    serde_json::from_str::<Value>(&body).unwrap()["cache"].clone()
}

/// The node's own answer, straight from the devnet.
async fn direct(devnet: &bts_devnet::Devnet, method: &str, params: Value) -> Value {
    let c = bts_rpc::client::WsClient::connect(bts_rpc::client::ClientConfig::new(devnet.endpoints()[0].ws_url()))
        .await
        .unwrap();
    c.call(0u64, method, params).await.unwrap()
}

/// Waits until the chain's last irreversible block is at least `n`, as the gateway sees it on
/// every upstream; returns (head, lib).
async fn wait_lib(gateway: &bts_gateway::Gateway, n: u64) -> (u64, u64) {
    for _ in 0..100 {
        let dgp = rpc(gateway.addr(), "database", "get_dynamic_global_properties", json!([])).await["result"].clone();
        let (head, lib) =
            (dgp["head_block_number"].as_u64().unwrap(), dgp["last_irreversible_block_num"].as_u64().unwrap());
        // The gateway stores a block once the upstream that answered shows it irreversible; its
        // view of every upstream must have caught up with the node's answer first.
        let (_, stats) = http(gateway.addr(), "GET", "/stats.json", "").await;
        let stats: Value = serde_json::from_str(&stats).unwrap();
        let seen = stats["upstreams"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["last_irreversible_block_num"].as_u64() >= Some(lib));
        if lib >= n && head > lib && seen {
            return (head, lib);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the last irreversible block did not reach {n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constants_and_irreversible_blocks_are_cached_reversible_and_missing_never() {
    let s = setup(2).await;
    let (head, lib) = wait_lib(&s.gateway, 2).await;
    let mut c = ws(&s.gateway).await;
    let hits = |v: &Value| v["hits"].as_u64().unwrap();

    // Constants: the second ask is a hit with the node's exact answer.
    let first = ask(&mut c, 1, "get_chain_properties", json!([])).await;
    let before = cache_stats(&s.gateway).await;
    let second = ask(&mut c, 2, "get_chain_properties", json!([])).await;
    assert_eq!(first["result"], second["result"]);
    assert_eq!(second["result"], direct(&s.devnet, "get_chain_properties", json!([])).await);
    assert_eq!(hits(&cache_stats(&s.gateway).await), hits(&before) + 1);

    // An irreversible block: cached, equal to the node's, also over HTTP.
    for method in ["get_block", "get_block_header"] {
        ask(&mut c, 3, method, json!([lib])).await;
        let before = cache_stats(&s.gateway).await;
        let cached = ask(&mut c, 4, method, json!([lib])).await;
        let over_http = rpc(s.gateway.addr(), "database", method, json!([lib])).await;
        assert_eq!(hits(&cache_stats(&s.gateway).await), hits(&before) + 2, "{method}");
        assert_eq!(cached["result"], direct(&s.devnet, method, json!([lib])).await, "{method}");
        assert_eq!(over_http["result"], cached["result"]);
    }

    // The head block is reversible: answered, never stored, so never a hit.
    let entries = cache_stats(&s.gateway).await["entries"].as_u64().unwrap();
    let before = cache_stats(&s.gateway).await;
    for id in 10..13 {
        let v = ask(&mut c, id, "get_block", json!([head])).await;
        assert!(v["result"].is_object(), "{v}");
    }
    let after = cache_stats(&s.gateway).await;
    assert_eq!(hits(&after), hits(&before), "a reversible block came from the cache");
    assert_eq!(after["entries"].as_u64().unwrap(), entries);
    // A block that does not exist yet (null) is not stored either.
    let future = head + 1000;
    assert!(ask(&mut c, 20, "get_block", json!([future])).await["result"].is_null());
    assert!(ask(&mut c, 21, "get_block", json!([future])).await["result"].is_null());
    assert_eq!(hits(&cache_stats(&s.gateway).await), hits(&after));
    // Reads that subscribe are never cached.
    for id in 30..32 {
        ask(&mut c, id, "get_objects", json!([["2.1.0"]])).await;
    }
    assert_eq!(hits(&cache_stats(&s.gateway).await), hits(&after));

    let (_, page) = http(s.gateway.addr(), "GET", "/stats", "").await;
    assert!(page.contains("hit ratio"), "{page}");
    let (_, metrics) = http(s.gateway.addr(), "GET", "/metrics", "").await;
    assert!(metrics.contains("bts_gateway_cache_requests_total{outcome=\"hit\"}"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_requests_in_flight_together_reach_the_node_once() {
    let s = setup(1).await;
    let (_, lib) = wait_lib(&s.gateway, 2).await;
    let mut lead = ws(&s.gateway).await;
    let mut other = ws(&s.gateway).await;
    // Both sessions placed (a first answer) before the node slows down.
    ask(&mut lead, 100, "get_dynamic_global_properties", json!([])).await;
    ask(&mut other, 100, "get_dynamic_global_properties", json!([])).await;
    // A slow node, so that the requests overlap.
    set_faults(&s.devnet, 0, json!({"latency_ms": 600})).await;
    let before = cache_stats(&s.gateway).await;
    let addr = s.gateway.addr();
    let (a, b, https) = tokio::join!(
        ask(&mut lead, 1, "get_block", json!([lib - 1])),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ask(&mut other, 2, "get_block", json!([lib - 1])).await
        },
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let calls = (0..8).map(|_| rpc(addr, "database", "get_block", json!([lib - 1])));
            futures_util::future::join_all(calls).await
        }
    );
    assert!(a["result"].is_object(), "{a}");
    assert_eq!(a["result"], b["result"]);
    for h in &https {
        assert_eq!(h["result"], a["result"]);
    }
    let after = cache_stats(&s.gateway).await;
    let delta = |k: &str| after[k].as_u64().unwrap() - before[k].as_u64().unwrap();
    assert_eq!(delta("misses"), 1, "one upstream call: {after}");
    assert_eq!(delta("coalesced"), 9, "{after}");
}

#[tokio::test]
async fn a_zero_byte_cache_is_off() {
    let s = setup_with(1, |c| c.cache.max_bytes = 0).await;
    for _ in 0..3 {
        rpc(s.gateway.addr(), "database", "get_chain_id", json!([])).await;
    }
    let c = cache_stats(&s.gateway).await;
    assert_eq!((c["hits"].as_u64(), c["misses"].as_u64()), (Some(0), Some(0)), "{c}");
}
