//! A devnet with a data dir continues its chain after a restart.

mod common;
use bts_protocol::*;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn restart_continues_the_chain() {
    let dir = std::env::temp_dir().join(format!("bts-devnet-persist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = bts_devnet::DevnetConfig { data_dir: Some(dir.clone()), registrar_key: None, ..config() };
    let devnet = start_with(cfg.clone()).await;
    let key = devnet.registrar_key().clone();
    let chain_id = devnet.chain_id();
    let c = client(&devnet, 0).await;
    let user = PrivateKey::from_seed("persisted user").unwrap().public_key(AddressPrefix::BTS);
    let op = account_create("persisted-1", user, 0);
    let fee = fee_for(&c, &op).await;
    let tx = signed(build_tx(&c, vec![with_fee(op, fee)]).await, &[&key], &chain_id);
    c.call("network_broadcast", "broadcast_transaction_synchronous", json!([tx])).await.unwrap();
    let head_before = devnet.head_block_num();
    drop(c);
    devnet.shutdown();
    assert!(dir.join("registrar.wif").exists(), "generated key kept for the next start");

    let devnet = start_with(cfg).await;
    assert_eq!(devnet.chain_id(), chain_id);
    assert_eq!(devnet.registrar_key().secret_bytes(), key.secret_bytes());
    assert!(devnet.head_block_num() >= head_before);
    let c = client(&devnet, 0).await;
    let acct = c.call(0u64, "get_account_by_name", json!(["persisted-1"])).await.unwrap();
    assert_eq!(acct["id"], "1.2.18");
    assert!(devnet.wait_for_block(head_before + 2, Duration::from_secs(10)).await, "keeps producing");
    devnet.shutdown();

    // A different registrar key for the stored chain is refused with the setting named.
    let wrong = bts_devnet::DevnetConfig {
        data_dir: Some(dir.clone()),
        registrar_key: Some(PrivateKey::from_seed("other").unwrap()),
        ..config()
    };
    let err = bts_devnet::Devnet::start(wrong).await.err().expect("refused");
    assert!(err.to_string().contains("registrar_key"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
