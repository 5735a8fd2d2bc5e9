//! Notices: object subscriptions, block-applied callbacks, broadcast-with-callback.

mod common;
use bts_protocol::*;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

async fn next_notice(rx: &mut tokio::sync::broadcast::Receiver<bts_rpc::Notice>, callback: u64) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = rx.recv().await.unwrap();
            if n.callback == json!(callback) {
                return n.args;
            }
        }
    })
    .await
    .expect("notice within 10 s")
}

#[tokio::test]
async fn subscribed_objects_and_blocks_are_pushed() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let mut notices = c.notices();
    c.call(0u64, "set_subscribe_callback", json!([101, false])).await.unwrap();
    c.call(0u64, "get_objects", json!([["2.1.0"]])).await.unwrap();
    let first = next_notice(&mut notices, 101).await;
    let second = next_notice(&mut notices, 101).await;
    // The observed shape: params [101, [[{2.1.0}]]]
    assert_eq!(first[0][0]["id"], "2.1.0");
    assert!(second[0][0]["head_block_number"].as_u64() > first[0][0]["head_block_number"].as_u64());

    c.call(0u64, "set_block_applied_callback", json!([102])).await.unwrap();
    let block = next_notice(&mut notices, 102).await;
    let id: BlockId = block[0].as_str().unwrap().parse().unwrap();
    assert!(id.block_num() >= 1);

    // Account subscriptions: the registrar's balance changes after a transfer.
    c.call(0u64, "get_full_accounts", json!([["faucet"], true])).await.unwrap();
    let tx = signed(
        build_tx(&c, vec![transfer(REGISTRAR, AccountId::new(6), 5, 2_000_000)]).await,
        &[&registrar_key()],
        &devnet.chain_id(),
    );
    c.call("network_broadcast", "broadcast_transaction", json!([tx])).await.unwrap();
    let changed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = next_notice(&mut notices, 101).await;
            if n[0].as_array().unwrap().iter().any(|o| o["id"] == "2.5.0") {
                return n;
            }
        }
    })
    .await
    .unwrap();
    let balance = changed[0].as_array().unwrap().iter().find(|o| o["id"] == "2.5.0").unwrap();
    assert_eq!(balance["owner"], "1.2.17");

    c.call(0u64, "cancel_all_subscriptions", json!([])).await.unwrap();
}

#[tokio::test]
async fn broadcast_with_callback_notifies_on_inclusion() {
    let devnet = start(1).await;
    let c = client(&devnet, 0).await;
    let mut notices = c.notices();
    let tx = signed(
        build_tx(&c, vec![transfer(REGISTRAR, AccountId::new(6), 5, 2_000_000)]).await,
        &[&registrar_key()],
        &devnet.chain_id(),
    );
    let r = c.call("network_broadcast", "broadcast_transaction_with_callback", json!([77, tx])).await.unwrap();
    assert_eq!(r, Value::Null);
    let n = next_notice(&mut notices, 77).await;
    assert_eq!(n[0]["id"], tx.transaction.id().to_string());
    assert!(n[0]["block_num"].as_u64().unwrap() >= 1);
    assert_eq!(n[0]["trx"]["signatures"], json!(tx.signatures));
}

#[tokio::test]
async fn callbacks_are_refused_over_http() {
    let devnet = start(1).await;
    let (status, _, body) = http(
        node_addr(&devnet, 0),
        "POST",
        "/",
        r#"{"id":1,"method":"call","params":[0,"set_subscribe_callback",[1,false]]}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("callbacks need a WebSocket connection"), "{body}");
}
