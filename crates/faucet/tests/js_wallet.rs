//! The web wallet's own libraries (bitsharesjs + bitsharesjs-ws from npm, `tests/js/`) create an
//! account through the faucet exactly as bitshares-ui does and find it through the gateway.
//! `.ci/run` installs them (`npm ci` in tests/js).

mod common;
use bts_gateway::Gateway;
use bts_gateway::config::{GatewayConfig, UpstreamConfig};
use common::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitsharesjs_wallet_registers_through_the_faucet() {
    let js_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/js");
    assert!(
        js_dir.join("node_modules/bitsharesjs").exists(),
        "bitsharesjs is not installed: run `npm ci` in {} (.ci/run does this)",
        js_dir.display()
    );
    let devnet = devnet().await;
    let gateway = Gateway::start(
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            chain_id: Some(devnet.chain_id().to_string()),
            name: "faucet test gateway".into(),
            workers: 0,
            busy_poll_us: bts_gateway::config::DEFAULT_BUSY_POLL_US,
            upstreams: vec![UpstreamConfig {
                name: "node0".into(),
                url: devnet.endpoints()[0].ws_url(),
                weight: 100,
                ca_file: None,
            }],
            health: Default::default(),
            limits: Default::default(),
            sessions: Default::default(),
            cache: Default::default(),
            broadcasts: Default::default(),
            admin: Default::default(),
            monitoring: Default::default(),
            tls: None,
        },
        None,
    )
    .await
    .unwrap();
    assert!(gateway.wait_healthy(1, Duration::from_secs(10)).await);
    let dir = temp_dir("js-wallet");
    let mut c = config(&devnet, &dir);
    c.node = format!("ws://{}", gateway.addr()); // the faucet talks to the chain through the gateway
    let faucet = faucet(c).await;
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg("--test")
            .arg("faucet.test.mjs")
            .current_dir(&js_dir)
            .env("BTS_FAUCET_ADDRESS", format!("http://{}/onboarding", faucet.addr()))
            .env("BTS_WS_URL", format!("ws://{}", gateway.addr()))
            .env("BTS_CHAIN_ID", devnet.chain_id().to_string())
            .env("BTS_REGISTRAR_NAME", "faucet")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the node test finishes within 120 s")
    .expect("node is installed");
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "bitsharesjs faucet test failed:\n{out}\n{err}");
    assert!(out.contains("# pass 1"), "{out}");
    faucet.shutdown(Duration::from_secs(2)).await;
    gateway.shutdown(Duration::from_secs(2)).await;
}
