//! The web wallet's libraries (bitsharesjs-ws + bitsharesjs from npm) against the devnet:
//! connect, log in, resolve API ids, subscribe through ChainStore, and broadcast a transfer
//! built by TransactionBuilder. `.ci/run` installs them (`npm ci` in tests/js).

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

#[tokio::test]
async fn bitsharesjs_wallet_flow() {
    let js_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/js");
    assert!(
        js_dir.join("node_modules/bitsharesjs").exists(),
        "bitsharesjs is not installed: run `npm ci` in {} (.ci/run does this)",
        js_dir.display()
    );
    let devnet = start(1).await;
    let mut child = tokio::process::Command::new("node")
        .arg("--test")
        .arg("wallet.test.mjs")
        .current_dir(&js_dir)
        .env("BTS_WS_URL", devnet.endpoints()[0].ws_url())
        .env("BTS_CHAIN_ID", devnet.chain_id().to_string())
        .env("BTS_REGISTRAR_WIF", registrar_key().to_wif())
        .env("BTS_REGISTRAR_NAME", devnet.registrar_name())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node is installed");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        tokio::spawn(async move {
            let mut s = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut r, &mut s).await;
            s
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let status = match tokio::time::timeout(Duration::from_secs(120), child.wait()).await {
        Ok(s) => s.unwrap(),
        Err(_) => {
            let _ = child.kill().await;
            panic!("node test did not finish within 120 s:\n{}\n{}", out.await.unwrap(), err.await.unwrap());
        }
    };
    let (out, err) = (out.await.unwrap(), err.await.unwrap());
    assert!(status.success(), "bitsharesjs test failed:\n{out}\n{err}");
    assert!(out.contains("# pass 1"), "{out}");
}
