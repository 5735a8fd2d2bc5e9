//! The conformance suite against the devnet: every answer as witness_node 7.0.2 gave it (the
//! record in `golden/`), the known differences aside. With `BTS_CONFORMANCE_URL` set the same
//! suite runs against that URL instead (a real node: `nathan` on the dev key, funded and upgraded).

use bts_devnet::{Devnet, DevnetConfig};
use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_devnet_answers_as_witness_node_7_0_2() {
    let devnet;
    let url = match std::env::var("BTS_CONFORMANCE_URL") {
        Ok(url) => url,
        Err(_) => {
            devnet = Devnet::start(DevnetConfig {
                nodes: 1,
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
            devnet.ws_urls()[0].clone()
        }
    };
    let target = bts_conformance::Target::dev(&url).unwrap();
    let observed = bts_conformance::observe(&target).await.unwrap();
    let golden = bts_conformance::parse_golden(bts_conformance::GOLDEN).unwrap();
    let report = bts_conformance::compare(&golden, &observed, bts_conformance::KNOWN_DIFFERENCES);
    let (passed, failed, exempt) = report.counts();
    assert!(failed == 0 && report.missing.is_empty(), "{url} differs from witness_node 7.0.2:\n{}", report.render());
    assert!(passed > 250 && exempt == bts_conformance::KNOWN_DIFFERENCES.len(), "{passed} passed, {exempt} exempt");
}
