//! The gateway in front of a real devnet with injected faults: health transitions, placement,
//! close frames, limits, wallet compatibility, observability, reload.

mod common;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws(gateway: &bts_gateway::Gateway) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}", gateway.addr())).await.unwrap().0
}

/// Sends a frame and returns the next text answer (skipping notices and pings).
async fn ask(ws: &mut Ws, text: &str) -> Value {
    ws.send(Message::text(text.to_owned())).await.unwrap();
    loop {
        let m =
            tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("answer in time").unwrap().unwrap();
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v.get("method").is_none() {
                return v;
            }
        }
    }
}

async fn expect_close(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("close in time");
        match m {
            Some(Ok(Message::Close(Some(f)))) => return (f.code, f.reason.to_string()),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn stalled_upstream_goes_down_gets_no_traffic_and_comes_back() {
    let s = setup(3).await;
    set_faults(&s.devnet, 0, json!({"stall": true})).await;
    let down = wait_state(&s.gateway, "node0", "down", Duration::from_secs(15)).await;
    let reason = down["reason"].as_str().unwrap();
    assert!(reason.contains("lag") || reason.contains("head age"), "{reason}");

    let before = upstream_stats(&s.gateway, "node0").await["requests"].as_u64().unwrap();
    for _ in 0..20 {
        let v = rpc(s.gateway.addr(), "database", "get_chain_id", json!([])).await;
        assert_eq!(v["result"], s.devnet.chain_id().to_string());
    }
    let mut sessions = Vec::new();
    for _ in 0..4 {
        let mut c = ws(&s.gateway).await;
        ask(&mut c, r#"{"id":1,"method":"call","params":[0,"get_chain_id",[]]}"#).await;
        sessions.push(c);
    }
    let node0 = upstream_stats(&s.gateway, "node0").await;
    assert_eq!(node0["requests"].as_u64().unwrap(), before, "no request reached the down upstream");
    assert_eq!(node0["connections"], 0, "no session placed on the down upstream");

    set_faults(&s.devnet, 0, json!({"stall": false})).await;
    let up = wait_state(&s.gateway, "node0", "up", Duration::from_secs(15)).await;
    assert_eq!(up["lag_blocks"], 0);
}

#[tokio::test]
async fn with_failover_off_sessions_on_a_failed_upstream_get_a_close_frame_and_reconnect() {
    let s = setup_with(2, |c| c.sessions.failover = false).await;
    // Steer the session to node0 by draining node1 for a moment.
    let (status, _) = http(s.gateway.addr(), "POST", "/admin/upstreams/node1/drain", "").await;
    assert_eq!(status, 200);
    let mut c = ws(&s.gateway).await;
    let v = ask(&mut c, r#"{"id":"a","method":"call","params":[1,"login",["",""]]}"#).await;
    assert_eq!(v, json!({"id": "a", "result": true}));
    assert_eq!(upstream_stats(&s.gateway, "node0").await["connections"], 1);
    http(s.gateway.addr(), "POST", "/admin/upstreams/node1/enable", "").await;

    set_faults(&s.devnet, 0, json!({"stall": true})).await;
    let (code, reason) = expect_close(&mut c).await;
    assert_eq!(u16::from(code), 1012);
    assert!(reason.starts_with("upstream node0 down:"), "{reason}");

    let mut again = ws(&s.gateway).await;
    let v = ask(&mut again, r#"{"id":1,"method":"get_chain_id","params":[]}"#).await;
    assert_eq!(v["result"], s.devnet.chain_id().to_string());
    assert_eq!(upstream_stats(&s.gateway, "node1").await["connections"], 1);
}

#[tokio::test]
async fn lagging_and_wrong_chain_upstreams() {
    let s = setup_with(3, |_| {}).await;
    set_faults(&s.devnet, 2, json!({"wrong_chain_id": true})).await;
    // The chain id is checked once per connection: drop node2's so the probe reconnects.
    s.devnet.endpoints()[2].drop_connections();
    let down = wait_state(&s.gateway, "node2", "down", Duration::from_secs(15)).await;
    assert!(down["reason"].as_str().unwrap().starts_with("wrong chain id"), "{down}");
    let before = upstream_stats(&s.gateway, "node2").await["requests"].as_u64().unwrap();
    for _ in 0..10 {
        rpc(s.gateway.addr(), "database", "get_dynamic_global_properties", json!([])).await;
    }
    assert_eq!(upstream_stats(&s.gateway, "node2").await["requests"].as_u64().unwrap(), before);

    assert!(s.devnet.wait_for_block(6, Duration::from_secs(15)).await);
    set_faults(&s.devnet, 1, json!({"lag": 2})).await;
    let lagging = wait_state(&s.gateway, "node1", "lagging", Duration::from_secs(10)).await;
    assert!(lagging["reason"].as_str().unwrap().contains("lag 2 blocks"), "{lagging}");
    set_faults(&s.devnet, 1, json!({"lag": 5})).await;
    wait_state(&s.gateway, "node1", "down", Duration::from_secs(10)).await;
}

#[tokio::test]
async fn messages_are_proxied_with_local_api_ids_and_node_errors() {
    let s = setup(1).await;
    let mut c = ws(&s.gateway).await;
    assert_eq!(ask(&mut c, r#"{"id":1,"method":"call","params":[1,"database",[]]}"#).await["result"], 0);
    assert_eq!(ask(&mut c, r#"{"id":2,"method":"call","params":[1,"history",[]]}"#).await["result"], 2);
    assert_eq!(ask(&mut c, r#"{"id":3,"method":"call","params":[1,"network_broadcast",[]]}"#).await["result"], 3);
    // Local id 3 maps to the upstream's network_broadcast id: an unknown method there proves it.
    let v = ask(&mut c, r#"{"id":4,"method":"call","params":[3,"no_such",[]]}"#).await;
    assert_eq!(v["error"]["code"], -32601);
    let v =
        ask(&mut c, r#"{"id":5,"method":"call","params":[2,"get_account_history",["1.2.17","1.11.0",10,"1.11.0"]]}"#)
            .await;
    assert!(v["result"].is_array(), "{v}");
    let v = ask(&mut c, r#"{"id":6,"method":"call","params":[1,"network_node",[]]}"#).await;
    assert_eq!(v["error"]["message"], "Execution error: Assert Exception: is_allowed: Access denied");
    let v = ask(&mut c, r#"{"id":7,"method":"call","params":[9,"get_chain_id",[]]}"#).await;
    assert_eq!(v["error"]["code"], 10);
    let v = ask(&mut c, "{not json").await;
    assert_eq!((v["id"].clone(), v["error"]["code"].clone()), (Value::Null, json!(-32700)));
    let v = ask(&mut c, r#"{"id":"x","jsonrpc":"2.0","method":"get_objects","params":[["2.1.0"]]}"#).await;
    assert_eq!(v["id"], "x");
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["result"][0]["id"], "2.1.0");

    // Callback ids are the client's own, whatever the gateway uses upstream.
    ask(&mut c, r#"{"id":8,"method":"call","params":[0,"set_block_applied_callback",[4242]]}"#).await;
    let notice = loop {
        let m = tokio::time::timeout(Duration::from_secs(10), c.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["method"] == "notice" {
                break v;
            }
        }
    };
    assert_eq!(notice["params"][0], 4242);
}

#[tokio::test]
async fn limits_reject_the_abuser_and_spare_everyone_else() {
    let s = setup_with(1, |c| {
        c.limits.requests_per_second_per_ip = 5;
        c.limits.burst_per_ip = 5;
        c.limits.max_connections_per_ip = 2;
        c.limits.max_message_bytes = 4096;
    })
    .await;
    let addr = s.gateway.addr();
    let abuser: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let bystander: std::net::IpAddr = "127.0.0.3".parse().unwrap();
    let body = r#"{"id":1,"method":"call","params":["database","get_chain_id",[]]}"#;
    let mut limited = 0;
    for _ in 0..20 {
        let (status, text) = http_from(Some(abuser), addr, "POST", "/", body).await;
        if status == 429 {
            assert!(text.contains("rate limit exceeded"), "{text}");
            limited += 1;
        }
    }
    assert!(limited >= 10, "only {limited} of 20 flood requests were limited");
    let (status, _) = http_from(Some(bystander), addr, "POST", "/", body).await;
    assert_eq!(status, 200, "another IP is unaffected");

    // Oversized frame: close 1009, and the gateway keeps serving.
    let mut c = ws(&s.gateway).await;
    let big = format!(r#"{{"id":1,"method":"get_objects","params":[["{}"]]}}"#, "x".repeat(8000));
    c.send(Message::text(big)).await.unwrap();
    let (code, _) = expect_close(&mut c).await;
    assert_eq!(u16::from(code), 1009);

    // Connections per IP.
    let url = format!("ws://{addr}");
    let open = |ip: std::net::IpAddr| {
        let url = url.clone();
        async move {
            let stream = connect_from(Some(ip), addr).await;
            tokio_tungstenite::client_async(url, stream).await
        }
    };
    let a = open(bystander).await.unwrap();
    let b = open(bystander).await.unwrap();
    match open(bystander).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 429),
        other => panic!("third connection from one IP should get 429, got {:?}", other.map(|_| ())),
    }
    drop((a, b));
}

#[tokio::test]
async fn health_metrics_and_stats_json() {
    let s = setup(2).await;
    let (status, body) = http(s.gateway.addr(), "GET", "/health", "").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (_, body) = http(s.gateway.addr(), "GET", "/health?detailed", "").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["healthy_upstreams"], 2);
    rpc(s.gateway.addr(), "database", "get_chain_id", json!([])).await;

    let (status, metrics) = http(s.gateway.addr(), "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    for name in [
        "bts_gateway_upstream_up",
        "bts_gateway_upstream_head_block_number",
        "bts_gateway_upstream_lag_blocks",
        "bts_gateway_requests_total",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics:\n{metrics}");
    }
    // promtool (Debian's prometheus package) validates the exposition format.
    let dir = std::env::temp_dir().join(format!("bts-gw-metrics-{}", std::process::id()));
    std::fs::write(&dir, &metrics).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("promtool check metrics < {}", dir.display()))
        .output()
        .expect("promtool runs (apt install prometheus; .ci/run does)");
    let _ = std::fs::remove_file(&dir);
    let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !report.contains("error"), "promtool: {report}");

    for i in 0..2 {
        set_faults(&s.devnet, i, json!({"refuse": true})).await;
    }
    wait_state(&s.gateway, "node0", "down", Duration::from_secs(15)).await;
    wait_state(&s.gateway, "node1", "down", Duration::from_secs(15)).await;
    let (status, _) = http(s.gateway.addr(), "GET", "/health", "").await;
    assert_eq!(status, 503);
    let body = r#"{"id":1,"method":"get_dynamic_global_properties","params":[]}"#;
    let (status, body) = http(s.gateway.addr(), "POST", "/", body).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no healthy upstream"));
    // Constants already in the cache are still answered.
    let (status, body) = http(s.gateway.addr(), "POST", "/", r#"{"id":2,"method":"get_chain_id","params":[]}"#).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn stats_page_renders_in_headless_chromium() {
    let s = setup(2).await;
    http(s.gateway.addr(), "POST", "/admin/upstreams/node1/maintenance", "").await;
    let dir = std::env::temp_dir().join(format!("bts-gw-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("stats.png");
    let url = format!("http://{}/stats", s.gateway.addr());
    // tokio::process: the gateway answers chromium on this same test runtime.
    let chromium = async |extra: &[&str]| {
        let mut cmd = tokio::process::Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,500",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(extra)
        .arg(&url);
        cmd.kill_on_drop(true);
        tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .expect("chromium finishes in 60 s")
            .expect("chromium runs (apt install chromium; .ci/run does)")
    };
    let dom = chromium(&["--dump-dom"]).await;
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains(r#"data-upstream="node0""#) && dom.contains(r#"data-upstream="node1""#), "{dom}");
    assert!(dom.contains(r#"<tr class="up" data-upstream="node0">"#), "{dom}");
    assert!(dom.contains("maintenance"), "{dom}");
    assert!(dom.contains(r#"id="healthy">1/2"#), "{dom}");
    let out = chromium(&[&format!("--screenshot={}", shot.display())]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 2000, "screenshot is a real image");
    // Keep a copy for people to look at (target/ is not committed).
    let keep = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stats.png");
    let _ = std::fs::copy(&shot, &keep);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn reload_changes_upstreams_and_limits_without_dropping_clients() {
    let devnet = devnet(3).await;
    let dir = std::env::temp_dir().join(format!("bts-gw-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    let mut config = gateway_config(&devnet);
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let gateway =
        bts_gateway::Gateway::start(bts_gateway::config::GatewayConfig::load(&path).unwrap(), Some(path.clone()))
            .await
            .unwrap();
    assert!(gateway.wait_healthy(3, Duration::from_secs(10)).await);
    let mut c = ws(&gateway).await;
    ask(&mut c, r#"{"id":1,"method":"get_chain_id","params":[]}"#).await;

    config.upstreams.truncate(2);
    config.limits.burst_per_ip = 7;
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let (status, body) = http(gateway.addr(), "POST", "/admin/reload", "").await;
    assert_eq!(status, 200, "{body}");
    let (_, stats) = http(gateway.addr(), "GET", "/stats.json", "").await;
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["upstreams"].as_array().unwrap().len(), 2);
    assert_eq!(gateway.state().config.load().limits.burst_per_ip, 7);
    let v = ask(&mut c, r#"{"id":2,"method":"get_chain_id","params":[]}"#).await;
    assert_eq!(v["result"], devnet.chain_id().to_string(), "the open session survived the reload");

    std::fs::write(&path, "[[upstreams]]\nname = \"a\"\nurl = \"ws://x\"\n[health]\nfall = 0\n").unwrap();
    let (status, body) = http(gateway.addr(), "POST", "/admin/reload", "").await;
    assert_eq!(status, 400);
    assert!(body.contains("health.fall"), "{body}");
    assert_eq!(gateway.state().pool.upstreams().len(), 2, "a bad file changes nothing");

    // Thread settings are fixed at start: a reload that changes one is refused, naming it.
    config.busy_poll_us = 0;
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let (status, body) = http(gateway.addr(), "POST", "/admin/reload", "").await;
    assert_eq!(status, 400);
    assert!(body.contains("busy_poll_us") && body.contains("restart"), "{body}");
    assert_eq!(gateway.state().config.load().busy_poll_us, bts_gateway::config::DEFAULT_BUSY_POLL_US);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bitsharesjs_through_the_gateway() {
    let s = setup(2).await;
    run_node_test(
        "wallet.test.mjs",
        &[
            ("BTS_WS_URL", format!("ws://{}", s.gateway.addr())),
            ("BTS_CHAIN_ID", s.devnet.chain_id().to_string()),
            ("BTS_REGISTRAR_WIF", registrar_key().to_wif()),
            ("BTS_REGISTRAR_NAME", s.devnet.registrar_name()),
        ],
    )
    .await;
}

#[tokio::test]
async fn shutdown_closes_sessions_with_going_away_and_stops_listening() {
    let s = setup(1).await;
    let addr = s.gateway.addr();
    let mut c = ws(&s.gateway).await;
    ask(&mut c, r#"{"id":1,"method":"get_chain_id","params":[]}"#).await;
    let Setup { devnet, gateway } = s;
    let stopping = tokio::spawn(gateway.shutdown(Duration::from_secs(5)));
    let (code, reason) = expect_close(&mut c).await;
    assert_eq!((u16::from(code), reason.as_str()), (1001, "gateway shutting down"));
    drop(c);
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("drained within the deadline").unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed");
    drop(devnet);
}

#[tokio::test]
async fn http_upstream_urls_and_lib_lag_are_reported() {
    let s = setup_with(2, |c| {
        for u in &mut c.upstreams {
            u.url = u.url.replacen("ws://", "http://", 1);
        }
    })
    .await;
    let node0 = upstream_stats(&s.gateway, "node0").await;
    assert!(node0["url"].as_str().unwrap().starts_with("ws://"), "{node0}");
    assert!(node0["lib_lag_blocks"].is_u64(), "{node0}");
}
