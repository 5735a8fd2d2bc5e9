//! Session failover end to end: a raw WebSocket client subscribed through the gateway keeps
//! its socket and its notices while the nodes behind it are refused, stalled or lag; a session
//! never sees the head go back; in-flight reads are re-sent and broadcasts fail explicitly.

mod common;
use bts_protocol::*;
use bts_rpc::client::{ClientConfig, WsClient};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

/// Everything the client receives, checked as it arrives: the socket must never close, and
/// the 2.1.0 head the client sees must never go back.
struct Client {
    sink: Sink,
    rx: mpsc::UnboundedReceiver<Value>,
    /// Highest 2.1.0 head seen in a notice.
    head: u64,
    /// Latest `balance` of object 2.5.0 seen in a notice.
    balance: Option<i64>,
    /// Block-applied notices (callback 8) received.
    blocks: u64,
    /// Answers by id.
    answers: std::collections::HashMap<String, Value>,
}

const SUBSCRIBE_CB: u64 = 7;
const BLOCK_CB: u64 = 8;

impl Client {
    async fn connect(gateway: &bts_gateway::Gateway) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}", gateway.addr())).await.unwrap();
        let (sink, mut stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(m) = stream.next().await {
                match m {
                    Ok(Message::Text(t)) => {
                        let _ = tx.send(serde_json::from_str(t.as_str()).unwrap());
                    }
                    Ok(Message::Close(f)) => {
                        let _ = tx.send(json!({"closed": format!("{f:?}")}));
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(json!({"closed": e.to_string()}));
                        return;
                    }
                }
            }
            let _ = tx.send(json!({"closed": "end of stream"}));
        });
        Client { sink, rx, head: 0, balance: None, blocks: 0, answers: Default::default() }
    }

    async fn send(&mut self, text: String) {
        self.sink.send(Message::text(text)).await.unwrap();
    }

    fn absorb(&mut self, v: Value) {
        assert!(v.get("closed").is_none(), "the client's socket was closed: {v}");
        if v["method"] == "notice" {
            let cb = v["params"][0].as_u64();
            if cb == Some(BLOCK_CB) {
                self.blocks += 1;
            }
            if cb == Some(SUBSCRIBE_CB) {
                for o in v["params"][1][0].as_array().into_iter().flatten() {
                    if o["id"] == "2.1.0" {
                        let h = o["head_block_number"].as_u64().unwrap();
                        assert!(h >= self.head, "the head went back from {} to {h}", self.head);
                        self.head = h;
                    }
                    if o["id"] == "2.5.0" {
                        self.balance = Some(amount_of(&o["balance"]));
                    }
                }
            }
        } else if let Some(id) = v.get("id") {
            self.answers.insert(id.to_string(), v);
        }
    }

    /// Reads until `done` holds (panics after `secs`).
    async fn until(&mut self, secs: u64, what: &str, done: impl Fn(&Client) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(v)) => self.absorb(v),
                Ok(None) => panic!("reader ended while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what} (head {}, balance {:?}, answers {:?})",
                    self.head,
                    self.balance,
                    self.answers.keys().collect::<Vec<_>>()
                ),
            }
        }
    }

    async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"id": id, "method": "call", "params": [0, method, params]}).to_string()).await;
        let key = id.to_string();
        self.until(15, method, |c| c.answers.contains_key(&key)).await;
        self.answers.remove(&key).unwrap()
    }
}

/// A session placed on node0 of a 2-node setup (node1 drained while it connects), with node1
/// up again afterwards.
async fn session_on_node0(s: &Setup) -> Client {
    http(s.gateway.addr(), "POST", "/admin/upstreams/node1/drain", "").await;
    let mut c = Client::connect(&s.gateway).await;
    c.call(1, "get_chain_id", json!([])).await;
    assert_eq!(session_node(&s.gateway, 2).await, 0);
    http(s.gateway.addr(), "POST", "/admin/upstreams/node1/enable", "").await;
    wait_state(&s.gateway, "node1", "up", Duration::from_secs(10)).await;
    c
}

/// The upstream the (only) session is on.
async fn session_node(gateway: &bts_gateway::Gateway, nodes: usize) -> usize {
    for _ in 0..50 {
        for i in 0..nodes {
            if upstream_stats(gateway, &format!("node{i}")).await["connections"] == 1 {
                return i;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the session is on no upstream");
}

/// Transfers `amount` from the registrar through `node` directly; returns the registrar's
/// core balance (object 2.5.0) once the transfer is in a block.
async fn transfer(devnet: &bts_devnet::Devnet, node: usize, amount: i64) -> i64 {
    let c = WsClient::connect(ClientConfig::new(devnet.endpoints()[node].ws_url())).await.unwrap();
    let tx = signed_transfer(&c, devnet, amount).await;
    c.call("network_broadcast", "broadcast_transaction_synchronous", json!([tx])).await.unwrap();
    let balance = c.call(0u64, "get_objects", json!([["2.5.0"]])).await.unwrap();
    assert_eq!(balance[0]["owner"], "1.2.17");
    amount_of(&balance[0]["balance"])
}

/// A transfer of `amount` from the registrar, signed, referencing the head `c` reports.
async fn signed_transfer(c: &WsClient, devnet: &bts_devnet::Devnet, amount: i64) -> SignedTransaction {
    let dgp = c.call(0u64, "get_dynamic_global_properties", json!([])).await.unwrap();
    let head: BlockId = dgp["head_block_id"].as_str().unwrap().parse().unwrap();
    let time: TimePointSec = dgp["time"].as_str().unwrap().parse().unwrap();
    let op = Operation::Transfer(TransferOperation {
        fee: Asset::core(2_000_000),
        from: AccountId::new(17),
        to: AccountId::new(6),
        amount: Asset::core(amount),
        memo: None,
        extensions: Extensions,
    });
    let mut tx = SignedTransaction::from(Transaction::new(
        TaposRef::from_block_id(&head),
        time.checked_add(60).unwrap(),
        vec![op],
    ));
    tx.sign(&registrar_key(), &devnet.chain_id()).unwrap();
    tx
}

/// Share amounts are JSON numbers or (when large) strings.
fn amount_of(v: &Value) -> i64 {
    v.as_i64().or_else(|| v.as_str()?.parse().ok()).unwrap_or_else(|| panic!("not an amount: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_session_survives_twenty_failovers_on_the_same_socket() {
    let s = setup(3).await;
    let mut c = Client::connect(&s.gateway).await;
    c.call(1, "set_subscribe_callback", json!([SUBSCRIBE_CB, false])).await;
    let objects = c.call(2, "get_objects", json!([["2.1.0", "2.5.0"]])).await;
    c.balance = Some(amount_of(&objects["result"][1]["balance"]));
    c.call(3, "set_block_applied_callback", json!([BLOCK_CB])).await;
    c.until(10, "a first 2.1.0 notice", |c| c.head > 0).await;

    let mut moves = Vec::new();
    for i in 0..20u64 {
        let from = session_node(&s.gateway, 3).await;
        let head_before = c.head;
        let blocks_before = c.blocks;
        // Every fifth failure is a stall (the node stays connected but falls behind), the
        // others a refusal (connections dropped, port closed).
        let stall = i % 5 == 4;
        set_faults(&s.devnet, from, if stall { json!({"stall": true}) } else { json!({"refuse": true}) }).await;
        // The registrar's balance changes while the session is moving.
        let expected = transfer(&s.devnet, (from + 1) % 3, 1 + i as i64).await;
        c.until(30, &format!("failover {i}: the new balance {expected} and a newer head"), |c| {
            c.balance == Some(expected) && c.head > head_before && c.blocks > blocks_before
        })
        .await;
        let to = session_node(&s.gateway, 3).await;
        assert_ne!(to, from, "failover {i}: the session did not move");
        moves.push((from, to));
        set_faults(&s.devnet, from, json!({"stall": false, "refuse": false})).await;
        wait_state(&s.gateway, &format!("node{from}"), "up", Duration::from_secs(20)).await;
    }
    // Still the same socket, still answering, still subscribed.
    let v = c.call(99, "get_chain_id", json!([])).await;
    assert_eq!(v["result"], s.devnet.chain_id().to_string());
    let head = c.head;
    c.until(10, "notices after the last move", |c| c.head > head).await;
    let moved = sessions_moved(&s.gateway).await;
    assert!(moved >= 20.0, "{moved} moves");
    assert_eq!(moves.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_moved_onto_a_lagging_node_never_sees_a_lower_head() {
    let s = setup(2).await;
    // Place the session on node0.
    http(s.gateway.addr(), "POST", "/admin/upstreams/node1/drain", "").await;
    let mut c = Client::connect(&s.gateway).await;
    c.call(1, "set_subscribe_callback", json!([SUBSCRIBE_CB, false])).await;
    c.call(2, "get_objects", json!([["2.1.0"]])).await;
    assert_eq!(session_node(&s.gateway, 2).await, 0);
    http(s.gateway.addr(), "POST", "/admin/upstreams/node1/enable", "").await;
    // node1 shows the chain 2 blocks behind: usable (lagging), but below what the client saw.
    set_faults(&s.devnet, 1, json!({"lag": 2})).await;
    wait_state(&s.gateway, "node1", "lagging", Duration::from_secs(10)).await;
    c.until(10, "2.1.0 notices", |c| c.head >= 3).await;
    let seen = c.head;
    set_faults(&s.devnet, 0, json!({"refuse": true})).await;
    // The move waits until node1 has caught up with what the client saw; every notice on the
    // way is checked by `absorb` (the head never goes back).
    c.until(20, "a head above the one seen before the failure", |c| c.head > seen).await;
    assert_eq!(session_node(&s.gateway, 2).await, 1);
    let v = c.call(3, "get_dynamic_global_properties", json!([])).await;
    assert!(v["result"]["head_block_number"].as_u64().unwrap() >= seen, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_reads_are_resent_and_in_flight_broadcasts_fail_explicitly() {
    let s = setup(2).await;
    let mut c = session_on_node0(&s).await;

    let tx = json!({"ref_block_num": 0, "ref_block_prefix": 0, "expiration": "2030-01-01T00:00:00",
        "operations": [], "extensions": [], "signatures": []});
    // Resolve network_broadcast on node0 first, so the next broadcast really reaches it.
    c.send(
        json!({"id": 49, "method": "call", "params": ["network_broadcast", "broadcast_transaction", [tx]]}).to_string(),
    )
    .await;
    c.until(10, "the first broadcast's answer", |c| c.answers.contains_key("49")).await;
    // node0 answers slowly; a broadcast and a read are in flight when it is refused.
    set_faults(&s.devnet, 0, json!({"latency_ms": 3000})).await;
    c.send(
        json!({"id": 50, "method": "call", "params": ["network_broadcast", "broadcast_transaction", [tx]]}).to_string(),
    )
    .await;
    c.send(json!({"id": 51, "method": "call", "params": [0, "get_chain_id", []]}).to_string()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    set_faults(&s.devnet, 0, json!({"refuse": true})).await;
    c.until(15, "both answers", |c| c.answers.contains_key("50") && c.answers.contains_key("51")).await;
    let read = &c.answers["51"];
    assert_eq!(read["result"], s.devnet.chain_id().to_string(), "{read}");
    let broadcast = &c.answers["50"];
    assert_eq!(broadcast["error"]["code"], -32000, "{broadcast}");
    let message = broadcast["error"]["message"].as_str().unwrap();
    assert!(message.contains("may or may not have been applied"), "{message}");
    assert_eq!(session_node(&s.gateway, 2).await, 1);
    // The named API (network_broadcast) was re-resolved on node1: the session still uses it.
    c.send(
        json!({"id": 52, "method": "call", "params": ["network_broadcast", "broadcast_transaction", [tx]]}).to_string(),
    )
    .await;
    c.until(10, "a node answer on the moved session", |c| c.answers.contains_key("52")).await;
    assert!(c.answers["52"]["error"]["message"].is_string(), "{}", c.answers["52"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_beyond_the_journal_bound_is_closed_with_a_reason() {
    let s = setup_with(2, |c| c.sessions.max_subscribed_objects = 1).await;
    http(s.gateway.addr(), "POST", "/admin/upstreams/node1/drain", "").await;
    let mut c = Client::connect(&s.gateway).await;
    c.call(1, "set_subscribe_callback", json!([SUBSCRIBE_CB, false])).await;
    c.call(2, "get_objects", json!([["2.1.0", "1.2.17"]])).await;
    http(s.gateway.addr(), "POST", "/admin/upstreams/node1/enable", "").await;
    set_faults(&s.devnet, 0, json!({"refuse": true})).await;
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let v = c.rx.recv().await.unwrap();
            if let Some(reason) = v.get("closed") {
                return reason.to_string();
            }
        }
    })
    .await
    .expect("a close frame");
    assert!(closed.contains("1012") || closed.contains("Restart"), "{closed}");
    assert!(closed.contains("exceed the limits"), "{closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitsharesjs_chainstore_keeps_its_socket_across_failovers() {
    let s = setup(3).await;
    run_node_test(
        "failover.test.mjs",
        &[
            ("BTS_WS_URL", format!("ws://{}", s.gateway.addr())),
            ("BTS_GATEWAY_HTTP", format!("http://{}", s.gateway.addr())),
            ("BTS_DEVNET_ADMIN", s.devnet.admin_url().unwrap()),
            ("BTS_NODES", "3".into()),
            ("BTS_FAILOVERS", "6".into()),
            ("BTS_REGISTRAR_WIF", registrar_key().to_wif()),
            ("BTS_REGISTRAR_NAME", s.devnet.registrar_name()),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_with_callback_gets_its_notice_exactly_once_across_a_move() {
    let s = setup(2).await;
    let mut c = session_on_node0(&s).await;

    let direct = WsClient::connect(ClientConfig::new(s.devnet.endpoints()[1].ws_url())).await.unwrap();
    let tx = signed_transfer(&direct, &s.devnet, 4242).await;
    let tx_id = tx.transaction.id().to_string();
    // Accepted by node0; node0 is refused before the next block includes it.
    c.send(json!({"id": 5, "method": "call", "params": ["network_broadcast", "broadcast_transaction_with_callback", [77, tx]]}).to_string()).await;
    c.until(10, "the broadcast's answer", |c| c.answers.contains_key("5")).await;
    assert!(c.answers["5"]["error"].is_null(), "{}", c.answers["5"]);
    set_faults(&s.devnet, 0, json!({"refuse": true})).await;

    // Exactly one notice on callback 77, in the node's shape, within a few blocks.
    let mut notices = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while let Ok(Some(v)) = tokio::time::timeout_at(deadline, c.rx.recv()).await {
        assert!(v.get("closed").is_none(), "{v}");
        if v["method"] == "notice" && v["params"][0] == 77 {
            notices.push(v);
        }
    }
    assert_eq!(notices.len(), 1, "{notices:?}");
    let n = &notices[0]["params"][1][0];
    assert_eq!(n["id"], tx_id.as_str(), "{n}");
    assert!(n["block_num"].as_u64().unwrap() > 0 && n["trx_num"].is_u64(), "{n}");
    assert_eq!(n["trx"]["signatures"], json!(tx.signatures), "{n}");
    assert_eq!(session_node(&s.gateway, 2).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_fan_out_and_a_duplicate_gets_the_nodes_answer() {
    let s = setup_with(2, |c| c.broadcasts.fanout = 2).await;
    let direct = WsClient::connect(ClientConfig::new(s.devnet.endpoints()[0].ws_url())).await.unwrap();
    let balance = async || {
        let b = direct.call(0u64, "get_objects", json!([["2.5.0"]])).await.unwrap();
        amount_of(&b[0]["balance"])
    };

    // First, how the devnet answers a duplicate (witness_node: duplicate_transaction 3030001,
    // "duplicate transaction: Transaction '<id>' is already in the database").
    let tx = signed_transfer(&direct, &s.devnet, 11).await;
    direct.call("network_broadcast", "broadcast_transaction", json!([tx])).await.unwrap();
    let again = direct.call("network_broadcast", "broadcast_transaction", json!([tx])).await.unwrap_err().to_string();
    assert!(again.contains("duplicate transaction") && again.contains("is already in the database"), "{again}");

    // HTTP: sent to both upstreams; one accepts, the other finds a duplicate; the client gets
    // the acceptance, and the chain applies it once.
    assert!(s.devnet.wait_for_block(s.devnet.head_block_num() + 1, Duration::from_secs(5)).await);
    let requests = async || {
        let mut n = Vec::new();
        for u in ["node0", "node1"] {
            n.push(upstream_stats(&s.gateway, u).await["requests"].as_u64().unwrap());
        }
        n
    };
    let before_requests = requests().await;
    let before = balance().await;
    let tx = signed_transfer(&direct, &s.devnet, 1000).await;
    let v = rpc(s.gateway.addr(), "network_broadcast", "broadcast_transaction_synchronous", json!([tx])).await;
    assert!(v["result"]["block_num"].as_u64().is_some(), "{v}");
    let after_requests = requests().await;
    assert!(
        after_requests.iter().zip(&before_requests).all(|(a, b)| a > b),
        "{before_requests:?} → {after_requests:?}"
    );
    assert_eq!(balance().await, before - 1000 - 2_000_000, "applied exactly once");
    // The same transaction again: every node has it, so the client gets the node's duplicate error.
    let v = rpc(s.gateway.addr(), "network_broadcast", "broadcast_transaction", json!([tx])).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("duplicate transaction"), "{v}");

    // WebSocket: the session's upstream answers (and sends the one notice); the other gets a copy.
    // Both orders are forced with injected latency: the copy late (the session's node accepts
    // and notifies), and the copy first (the session's node then finds a duplicate, and the
    // gateway answers as an acceptance and reports the inclusion itself).
    let mut c = Client::connect(&s.gateway).await;
    c.call(1, "get_chain_id", json!([])).await;
    let on = session_node(&s.gateway, 2).await;
    let other = 1 - on;
    let count_notices = async |c: &mut Client, cb: u64| {
        let mut notices = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
        while let Ok(Some(v)) = tokio::time::timeout_at(deadline, c.rx.recv()).await {
            if v["method"] == "notice" && v["params"][0] == cb {
                notices.push(v["params"][1][0].clone());
            }
        }
        notices
    };
    for (round, slow) in [(0u64, other), (1, on)] {
        set_faults(&s.devnet, slow, json!({"latency_ms": 400})).await;
        let other_name = format!("node{other}");
        let other_before = upstream_stats(&s.gateway, &other_name).await["requests"].as_u64().unwrap();
        let before = balance().await;
        let tx = signed_transfer(&direct, &s.devnet, 2000 + round as i64).await;
        let (id, cb) = (9 + round, 55 + round);
        c.send(json!({"id": id, "method": "call", "params": ["network_broadcast", "broadcast_transaction_with_callback", [cb, tx]]}).to_string()).await;
        c.until(10, "the broadcast's answer", |c| c.answers.contains_key(&id.to_string())).await;
        let answer = &c.answers[&id.to_string()];
        assert!(answer["error"].is_null() && answer["result"].is_null(), "round {round}: {answer}");
        let notices = count_notices(&mut c, cb).await;
        assert_eq!(notices.len(), 1, "round {round}: {notices:?}");
        assert_eq!(notices[0]["trx"]["signatures"], json!(tx.signatures), "round {round}");
        assert!(notices[0]["block_num"].as_u64().is_some(), "round {round}: {notices:?}");
        assert_eq!(notices[0]["id"], tx.transaction.id().to_string(), "round {round}");
        assert!(upstream_stats(&s.gateway, &other_name).await["requests"].as_u64().unwrap() > other_before);
        assert_eq!(balance().await, before - 2000 - round as i64 - 2_000_000, "round {round}: applied once");
        set_faults(&s.devnet, slow, json!({"latency_ms": 0})).await;
    }

    // The copy first, for the other two variants: `broadcast_transaction` is answered `null`,
    // `broadcast_transaction_synchronous` with the inclusion once the gateway has found it.
    set_faults(&s.devnet, on, json!({"latency_ms": 400})).await;
    let before = balance().await;
    let plain = signed_transfer(&direct, &s.devnet, 3000).await;
    c.send(
        json!({"id": 30, "method": "call", "params": ["network_broadcast", "broadcast_transaction", [plain]]})
            .to_string(),
    )
    .await;
    let sync = signed_transfer(&direct, &s.devnet, 3001).await;
    c.send(json!({"id": 31, "method": "call", "params": ["network_broadcast", "broadcast_transaction_synchronous", [sync]]}).to_string()).await;
    c.until(10, "both answers", |c| c.answers.contains_key("30") && c.answers.contains_key("31")).await;
    assert_eq!(c.answers["30"], json!({"id": 30, "result": null}));
    let r = &c.answers["31"]["result"];
    assert_eq!(r["id"], sync.transaction.id().to_string(), "{}", c.answers["31"]);
    let block = direct.call(0u64, "get_block", json!([r["block_num"]])).await.unwrap();
    assert_eq!(block["transactions"][r["trx_num"].as_u64().unwrap() as usize], r["trx"]);
    assert_eq!(r["trx"]["signatures"], json!(sync.signatures));
    assert_eq!(balance().await, before - 6001 - 4_000_000, "each applied once");
    set_faults(&s.devnet, on, json!({"latency_ms": 0})).await;
    let (_, metrics) = http(s.gateway.addr(), "GET", "/metrics", "").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("bts_gateway_inclusions_reported_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

/// An `account_update` (tag 6, no hand-written struct in the protocol crate) by the registrar
/// that sets its memo key to the key derived from `seed`, with the fee the node asks for.
async fn signed_account_update(c: &WsClient, devnet: &bts_devnet::Devnet, seed: &str) -> (SignedTransaction, String) {
    let dgp = c.call(0u64, "get_dynamic_global_properties", json!([])).await.unwrap();
    let head: BlockId = dgp["head_block_id"].as_str().unwrap().parse().unwrap();
    let time: TimePointSec = dgp["time"].as_str().unwrap().parse().unwrap();
    let memo_key = PrivateKey::from_seed(seed).unwrap().public_key(AddressPrefix::BTS).to_string();
    let account = c.call(0u64, "get_objects", json!([["1.2.17"]])).await.unwrap();
    let mut options = account[0]["options"].clone();
    options["memo_key"] = json!(memo_key);
    let mut op = Operation::from_json(&json!([6, {
        "fee": {"amount": 0, "asset_id": "1.3.0"},
        "account": "1.2.17",
        "new_options": options,
        "extensions": {}
    }]))
    .unwrap();
    let fees = c.call(0u64, "get_required_fees", json!([[op], "1.3.0"])).await.unwrap();
    op.set_fee(Asset::core(amount_of(&fees[0]["amount"])));
    let mut tx = SignedTransaction::from(Transaction::new(
        TaposRef::from_block_id(&head),
        time.checked_add(60).unwrap(),
        vec![op],
    ));
    tx.sign(&registrar_key(), &devnet.chain_id()).unwrap();
    (tx, memo_key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inclusion_of_a_non_transfer_broadcast_is_reported_after_a_fan_out_duplicate() {
    let s = setup_with(2, |c| c.broadcasts.fanout = 2).await;
    let direct = WsClient::connect(ClientConfig::new(s.devnet.endpoints()[0].ws_url())).await.unwrap();
    let memo_key = async || {
        let a = direct.call(0u64, "get_objects", json!([["1.2.17"]])).await.unwrap();
        a[0]["options"]["memo_key"].as_str().unwrap().to_owned()
    };
    let mut c = Client::connect(&s.gateway).await;
    c.call(1, "get_chain_id", json!([])).await;
    let on = session_node(&s.gateway, 2).await;
    // The session's node is slow, so the fan-out copy reaches the chain first and the session's
    // node answers "duplicate transaction": only the gateway can report the inclusion.
    set_faults(&s.devnet, on, json!({"latency_ms": 400})).await;

    let (sync, key) = signed_account_update(&direct, &s.devnet, "inclusion-sync").await;
    c.send(json!({"id": 40, "method": "call", "params": ["network_broadcast", "broadcast_transaction_synchronous", [sync]]}).to_string()).await;
    c.until(10, "the synchronous answer", |c| c.answers.contains_key("40")).await;
    let r = &c.answers["40"]["result"];
    assert_eq!(r["id"], sync.transaction.id().to_string(), "{}", c.answers["40"]);
    let block = direct.call(0u64, "get_block", json!([r["block_num"]])).await.unwrap();
    assert_eq!(block["transactions"][r["trx_num"].as_u64().unwrap() as usize], r["trx"]);
    assert_eq!(r["trx"]["operations"][0][0], 6);
    assert_eq!(memo_key().await, key, "the account_update was applied");

    let (with_cb, key) = signed_account_update(&direct, &s.devnet, "inclusion-callback").await;
    c.send(json!({"id": 41, "method": "call", "params": ["network_broadcast", "broadcast_transaction_with_callback", [88, with_cb]]}).to_string()).await;
    c.until(10, "the callback broadcast's answer", |c| c.answers.contains_key("41")).await;
    assert_eq!(c.answers["41"], json!({"id": 41, "result": null}));
    let mut notices = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while let Ok(Some(v)) = tokio::time::timeout_at(deadline, c.rx.recv()).await {
        if v["method"] == "notice" && v["params"][0] == 88 {
            notices.push(v["params"][1][0].clone());
        }
    }
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["id"], with_cb.transaction.id().to_string());
    assert_eq!(notices[0]["trx"]["signatures"], json!(with_cb.signatures));
    assert_eq!(memo_key().await, key);
    set_faults(&s.devnet, on, json!({"latency_ms": 0})).await;
}
