//! Shared upstream connections: sessions without node-side state talk through one connection
//! per upstream and worker thread; each still gets exactly its own answers; the first stateful
//! call gives a session its own connection; shared sessions move when their node fails.

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

/// The answer to `id`, collecting notices on the way (panics on a close or after 15 s).
async fn answer(ws: &mut Ws, id: u64, notices: &mut Vec<Value>) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(15), ws.next()).await.expect("an answer in time");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["id"] == id {
                    return v;
                }
                if v["method"] == "notice" {
                    notices.push(v);
                }
            }
            Some(Ok(Message::Close(f))) => panic!("session closed: {f:?}"),
            Some(Ok(_)) => {}
            other => panic!("session ended: {other:?}"),
        }
    }
}

async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> Value {
    ws.send(Message::text(json!({"id": id, "method": "call", "params": [0, method, params]}).to_string()))
        .await
        .unwrap();
    answer(ws, id, &mut Vec::new()).await
}

/// Established TCP connections to `port` on this machine (their client ends), from /proc.
fn connections_to(port: u16) -> usize {
    let mut n = 0;
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote_port = f.get(2).and_then(|r| r.rsplit(':').next()).and_then(|p| u16::from_str_radix(p, 16).ok());
            if remote_port == Some(port) && f.get(3) == Some(&"01") {
                n += 1;
            }
        }
    }
    n
}

fn node_port(devnet: &bts_devnet::Devnet, i: usize) -> u16 {
    devnet.endpoints()[i].ws_url().rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap()
}

/// Opens `n` sessions and has each ask, interleaved, for a different account object: an answer
/// routed to the wrong session would carry the wrong object.
async fn many_sessions_each_get_their_own_answers(gateway: &bts_gateway::Gateway, n: usize) -> Vec<Ws> {
    let mut sessions = Vec::new();
    for _ in 0..n {
        sessions.push(ws(gateway).await);
    }
    for round in 0..3u64 {
        for (i, s) in sessions.iter_mut().enumerate() {
            let id = round * 100 + i as u64;
            let object = format!("1.2.{}", i % 18);
            s.send(Message::text(
                json!({"id": id, "method": "call", "params": [0, "get_objects", [[object]]]}).to_string(),
            ))
            .await
            .unwrap();
        }
        for (i, s) in sessions.iter_mut().enumerate() {
            let id = round * 100 + i as u64;
            let v = answer(s, id, &mut Vec::new()).await;
            assert_eq!(v["result"][0]["id"], format!("1.2.{}", i % 18), "session {i} round {round}: {v}");
        }
    }
    sessions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_sessions_share_upstream_connections_and_each_gets_its_own_answers() {
    let s = setup(1).await;
    let port = node_port(&s.devnet, 0);
    let before = connections_to(port);
    let _sessions = many_sessions_each_get_their_own_answers(&s.gateway, 12).await;
    // One shared connection per worker thread (2 here), not one per session.
    let shared = connections_to(port) - before;
    assert!(shared <= 2, "{shared} new node connections for 12 stateless sessions");

    // The same with sharing off: a connection per session (which shows the count above sees
    // the sessions' connections at all).
    let own = setup_with(1, |c| c.sessions.share_connections = false).await;
    let port = node_port(&own.devnet, 0);
    let before = connections_to(port);
    let _sessions = many_sessions_each_get_their_own_answers(&own.gateway, 12).await;
    assert!(connections_to(port) - before >= 12, "sharing off: every session has its own connection");
}

/// With the default adaptive busy polling, sessions (shared and own) and HTTP calls are
/// answered as without it, a run of back-to-back calls makes a worker spin (counted in
/// /metrics), and the workers go back to sleep when the traffic stops: their CPU time then
/// stands almost still, where a spinning worker would add up to a second per second. (nextest
/// runs each test in a process of its own, so the worker threads counted are this test's
/// gateway's.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_polling_serves_sessions_and_sleeps_when_idle() {
    let s = setup(1).await;
    assert_eq!(s.gateway.state().config.load().busy_poll_us, bts_gateway::config::DEFAULT_BUSY_POLL_US);
    let _sessions = many_sessions_each_get_their_own_answers(&s.gateway, 6).await;
    let mut c = ws(&s.gateway).await;
    let v = call(&mut c, 1, "set_subscribe_callback", json!([7, false])).await;
    assert_eq!(v["result"], Value::Null, "{v}");
    let v = call(&mut c, 2, "get_objects", json!([["2.1.0"]])).await;
    assert_eq!(v["result"][0]["id"], "2.1.0", "{v}");
    let http = rpc(s.gateway.addr(), "database", "get_chain_id", json!([])).await;
    assert!(http["result"].is_string(), "{http}");
    // Back-to-back calls on one session: the worker sees frames less than 200 µs apart, so its
    // window opens (counted when a spin starts, before any contention can shrink it). Batches
    // until it has, bounded: a loaded test machine stretches gaps, it does not remove them all.
    let mut windows = 0.0;
    for batch in 0..20u64 {
        for i in 0..500 {
            call(&mut c, 100 + batch * 500 + i, "get_chain_id", json!([])).await;
        }
        windows = metric(&s.gateway, "bts_gateway_busy_poll_windows_total").await;
        if windows > 0.0 {
            break;
        }
    }
    assert!(windows > 0.0, "the worker never spun over 10000 back-to-back calls");
    // Idle: the gateway's worker threads use (almost) no CPU over 1.5 s; one spinning worker
    // would use most of those 1.5 s, even sharing the CPUs with the rest of the suite.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = worker_cpu_ticks();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let used = worker_cpu_ticks() - before;
    assert!(used < 30, "gateway workers used {used} ticks (1/100 s) of CPU while idle: one keeps spinning");
}

/// User + system CPU ticks of this process's gateway worker threads, from /proc.
fn worker_cpu_ticks() -> u64 {
    let mut ticks = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("gateway-worker") {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // After "pid (comm) ", utime and stime are the 12th and 13th fields.
        let f: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
        ticks += f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    }
    ticks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_gets_its_own_connection_when_it_subscribes() {
    let s = setup(1).await;
    let port = node_port(&s.devnet, 0);
    let mut other = ws(&s.gateway).await;
    call(&mut other, 1, "get_dynamic_global_properties", json!([])).await;
    let mut c = ws(&s.gateway).await;
    let dgp = call(&mut c, 1, "get_dynamic_global_properties", json!([])).await;
    let head = dgp["result"]["head_block_number"].as_u64().unwrap();
    let before = connections_to(port);

    // Stateful: the session moves to a connection of its own, where the node keeps its
    // subscription and sends notices.
    let v = call(&mut c, 2, "set_subscribe_callback", json!([7, false])).await;
    assert_eq!(v["result"], Value::Null, "{v}");
    assert_eq!(connections_to(port), before + 1, "one new connection, for this session");
    let v = call(&mut c, 3, "get_objects", json!([["2.1.0"]])).await;
    assert_eq!(v["result"][0]["id"], "2.1.0");
    let mut notices = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut newer = false;
    while !newer {
        assert!(tokio::time::Instant::now() < deadline, "no 2.1.0 notice after subscribing: {notices:?}");
        let v = call(&mut c, 10 + notices.len() as u64, "get_chain_id", json!([])).await;
        assert!(v["result"].is_string());
        let _ = tokio::time::timeout(Duration::from_millis(500), answer(&mut c, u64::MAX, &mut notices)).await;
        newer = notices.iter().any(|n| {
            n["params"][0] == 7
                && n["params"][1][0]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|o| o["id"] == "2.1.0" && o["head_block_number"].as_u64().is_some_and(|h| h > head))
        });
    }
    // The other session still shares, and still gets only its own answers (no notices).
    let v = call(&mut other, 2, "get_objects", json!([["1.2.17"]])).await;
    assert_eq!(v["result"][0]["id"], "1.2.17");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_sessions_move_when_their_node_fails() {
    let s = setup(2).await;
    let mut sessions = Vec::new();
    for i in 0..6u64 {
        let mut c = ws(&s.gateway).await;
        call(&mut c, 1, "get_objects", json!([[format!("1.2.{i}")]])).await;
        sessions.push(c);
    }
    let on0 = upstream_stats(&s.gateway, "node0").await["connections"].as_u64().unwrap();
    assert!(on0 > 0, "the sessions were spread over both nodes");
    set_faults(&s.devnet, 0, json!({"refuse": true})).await;
    wait_state(&s.gateway, "node0", "down", Duration::from_secs(15)).await;
    // Every session, on node0 or not, keeps its socket and gets its own answers.
    for (i, c) in sessions.iter_mut().enumerate() {
        let v = call(c, 2, "get_objects", json!([[format!("1.2.{i}")]])).await;
        assert_eq!(v["result"][0]["id"], format!("1.2.{i}"), "{v}");
    }
    assert_eq!(upstream_stats(&s.gateway, "node0").await["connections"], 0);
    let moved = sessions_moved(&s.gateway).await;
    assert!(moved >= on0 as f64, "{on0} sessions were on node0, {moved} moved");
}

/// An HTTP request's `result` is the node's JSON text itself (checked, not rebuilt): the same
/// bytes as the node's own HTTP answer, over the shared connection, from the cache, and with
/// sharing off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_results_are_the_nodes_json_text() {
    let bodies = [
        // Not cached: forwarded to the node.
        r#"{"id":7,"jsonrpc":"2.0","method":"call","params":[0,"get_objects",[["1.2.0","2.0.0","1.3.0"]]]}"#,
        r#"{"id":"x","jsonrpc":"2.0","method":"call","params":["database","get_account_by_name",["init0"]]}"#,
        // Cached after the first answer (asked twice below).
        r#"{"id":8,"jsonrpc":"2.0","method":"call","params":[0,"get_chain_properties",[]]}"#,
    ];
    for share in [true, false] {
        let s = setup_with(1, |c| c.sessions.share_connections = share).await;
        let node: std::net::SocketAddr = s.devnet.endpoints()[0].addr();
        for body in bodies {
            let (status, direct) = http(node, "POST", "/", body).await;
            assert_eq!(status, 200, "{direct}");
            for _ in 0..2 {
                let (status, through) = http(s.gateway.addr(), "POST", "/", body).await;
                assert_eq!(status, 200, "{through}");
                assert_eq!(through, direct, "share_connections = {share}");
            }
        }
    }
}
