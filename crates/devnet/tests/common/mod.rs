//! Helpers for devnet integration tests: start a devnet on loopback, build and sign
//! transactions, raw HTTP against the node and admin ports.
#![allow(dead_code)]

use bts_devnet::{Devnet, DevnetConfig};
use bts_protocol::*;
use bts_rpc::{ClientConfig, WsClient};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

/// A devnet with 1-second blocks on free loopback ports.
pub async fn start(nodes: usize) -> Devnet {
    start_with(DevnetConfig { nodes, ..config() }).await
}

/// The test defaults: loopback, port 0, 1 s blocks, a fixed registrar key.
pub fn config() -> DevnetConfig {
    DevnetConfig {
        nodes: 1,
        block_interval: 1,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        registrar_key: Some(registrar_key()),
        ..DevnetConfig::default()
    }
}

pub async fn start_with(config: DevnetConfig) -> Devnet {
    let devnet = Devnet::start(config).await.expect("devnet starts");
    assert!(devnet.wait_for_block(1, Duration::from_secs(10)).await, "first block");
    devnet
}

pub fn registrar_key() -> PrivateKey {
    PrivateKey::from_seed("bts-infra test registrar").unwrap()
}

pub const REGISTRAR: AccountId = AccountId::new(17);

pub async fn client(devnet: &Devnet, node: usize) -> WsClient {
    WsClient::connect(ClientConfig::new(devnet.endpoints()[node].ws_url())).await.expect("connect")
}

/// A transaction referencing the current head, expiring in 60 s.
pub async fn build_tx(client: &WsClient, ops: Vec<Operation>) -> Transaction {
    let dgp = client.call(0u64, "get_dynamic_global_properties", json!([])).await.unwrap();
    let head: BlockId = dgp["head_block_id"].as_str().unwrap().parse().unwrap();
    let time: TimePointSec = dgp["time"].as_str().unwrap().parse().unwrap();
    Transaction::new(TaposRef::from_block_id(&head), time.checked_add(60).unwrap(), ops)
}

pub fn signed(tx: Transaction, keys: &[&PrivateKey], chain_id: &ChainId) -> SignedTransaction {
    let mut s = SignedTransaction::from(tx);
    for k in keys {
        s.sign(k, chain_id).unwrap();
    }
    s
}

pub fn transfer(from: AccountId, to: AccountId, amount: i64, fee: i64) -> Operation {
    Operation::Transfer(TransferOperation {
        fee: Asset::core(fee),
        from,
        to,
        amount: Asset::core(amount),
        memo: None,
        extensions: Extensions,
    })
}

pub fn account_create(name: &str, key: PublicKey, fee: i64) -> Operation {
    Operation::AccountCreate(AccountCreateOperation {
        fee: Asset::core(fee),
        registrar: REGISTRAR,
        referrer: REGISTRAR,
        referrer_percent: 5000,
        name: name.into(),
        owner: Authority::single_key(key),
        active: Authority::single_key(key),
        options: AccountOptions::new_account(key),
        extensions: AccountCreateExtensions::default(),
    })
}

/// The fee the node asks for `op`.
pub async fn fee_for(client: &WsClient, op: &Operation) -> i64 {
    let fees = client.call(0u64, "get_required_fees", json!([[op], "1.3.0"])).await.unwrap();
    fees[0]["amount"].as_i64().unwrap()
}

pub fn with_fee(mut op: Operation, fee: i64) -> Operation {
    op.set_fee(Asset::core(fee));
    op
}

/// Raw HTTP/1.1 exchange; returns (status, headers lowercased, body).
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let r = bts_testkit::http(None, addr, method, path, body).await;
    (r.status, r.head, r.body)
}

/// PATCH faults through the admin API.
pub async fn set_faults(devnet: &Devnet, node: usize, body: Value) -> Value {
    let admin: SocketAddr = devnet.admin_url().unwrap().trim_start_matches("http://").parse().unwrap();
    let (status, _, body) = http(admin, "PATCH", &format!("/nodes/{node}/faults"), &body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

pub fn node_addr(devnet: &Devnet, node: usize) -> SocketAddr {
    devnet.endpoints()[node].addr()
}

/// The error message of a failed call.
pub fn rpc_error(result: Result<Value, bts_rpc::ClientError>) -> bts_rpc::RpcError {
    match result {
        Err(bts_rpc::ClientError::Rpc(e)) => e,
        other => panic!("expected a node error, got {other:?}"),
    }
}
