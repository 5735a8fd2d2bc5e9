//! The conformance suite through the gateway: a client of the gateway gets every answer as
//! witness_node 7.0.2 gave it (the record in bts-conformance), on WebSocket and HTTP, ids,
//! errors, notices and broadcasts included — here with the devnet behind it (two nodes, shared
//! connections on, the default). With `BTS_CONFORMANCE_UPSTREAMS=ws://a,ws://b` the gateway is
//! put in front of those nodes instead (real witness_nodes with `nathan` funded on the dev key).

mod common;

use bts_devnet::{Devnet, DevnetConfig};
use bts_gateway::Gateway;
use bts_gateway::config::UpstreamConfig;
use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_gateway_clients_get_witness_node_answers() {
    let devnet;
    let upstreams: Vec<String> = match std::env::var("BTS_CONFORMANCE_UPSTREAMS") {
        Ok(list) => list.split(',').map(str::to_owned).collect(),
        Err(_) => {
            devnet = Devnet::start(DevnetConfig {
                nodes: 2,
                block_interval: 1,
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                admin_listen: None,
                registrar_name: "nathan".into(),
                registrar_key: Some(bts_protocol::PrivateKey::from_wif(bts_conformance::DEV_WIF).unwrap()),
                ..DevnetConfig::default()
            })
            .await
            .unwrap();
            assert!(devnet.wait_for_block(2, Duration::from_secs(10)).await);
            devnet.ws_urls()
        }
    };
    let mut config = common::gateway_config_for(&upstreams);
    // The suite sends a few hundred requests in well under a minute.
    config.limits.requests_per_second_per_ip = 1000;
    config.limits.burst_per_ip = 1000;
    config.upstreams = upstreams
        .iter()
        .enumerate()
        .map(|(i, url)| UpstreamConfig { name: format!("node{i}"), url: url.clone(), weight: 100, ca_file: None })
        .collect();
    let gateway = Gateway::start(config, None).await.unwrap();
    assert!(gateway.wait_healthy(upstreams.len(), Duration::from_secs(15)).await, "all upstreams up");
    let target = bts_conformance::Target::dev(format!("ws://{}", gateway.addr())).unwrap();
    let observed = bts_conformance::observe(&target).await.unwrap();
    let golden = bts_conformance::parse_golden(bts_conformance::GOLDEN).unwrap();
    let report = bts_conformance::compare(&golden, &observed, bts_conformance::KNOWN_DIFFERENCES);
    let (passed, failed, _) = report.counts();
    assert!(
        failed == 0 && report.missing.is_empty(),
        "the gateway differs from witness_node 7.0.2:\n{}",
        report.render()
    );
    assert!(passed > 250, "{passed} passed");
    gateway.shutdown(Duration::from_secs(5)).await;
}
