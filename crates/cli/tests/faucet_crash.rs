//! Crash safety of `bts-infra faucet`: the process is killed with SIGKILL right after it durably
//! wrote each state (`BTS_FAUCET_CRASH_AFTER` makes it stop there and wait to be killed), then
//! restarted on the same SQLite file. Every registration must end irreversible, on chain once,
//! with one row in the store — none lost, none twice.

use bts_devnet::{Devnet, DevnetConfig};
use bts_protocol::{AddressPrefix, PrivateKey};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn registrar_key() -> PrivateKey {
    PrivateKey::from_seed("crash test registrar").unwrap()
}

/// Starts the faucet; returns the child and its listen address (parsed from its first line).
fn start_faucet(config: &Path, crash_after: Option<&str>) -> (Child, SocketAddr, std::sync::mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bts-infra"));
    cmd.args(["faucet", "--config"])
        .arg(config)
        .env("BTS_FAUCET_WIF", registrar_key().to_wif())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(state) = crash_after {
        cmd.env("BTS_FAUCET_CRASH_AFTER", state);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("faucet: http://")
        .and_then(|s| s.strip_suffix("/api/v1/accounts"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    // Keep draining stdout (a closed pipe would kill the faucet at its next println).
    std::thread::spawn(move || for _ in stdout.lines().map_while(Result::ok) {});
    // Stream stderr lines to the test (the crash point is announced there).
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, addr, rx)
}

fn wait_for_line(rx: &std::sync::mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let hit = line.contains(needle);
            seen.push(line);
            if hit {
                return seen;
            }
        }
    }
    panic!("never saw {needle:?} in the faucet's log:\n{}", seen.join("\n"));
}

fn wallet_body(name: &str) -> String {
    let key = |seed: &str| PrivateKey::from_seed(seed).unwrap().public_key(AddressPrefix::BTS).to_string();
    json!({"account": {"name": name, "owner_key": key(&format!("{name}owner")), "active_key": key(&format!("{name}active")),
        "memo_key": key(&format!("{name}memo")), "refcode": null, "referrer": null}})
    .to_string()
}

async fn node_call(devnet: &Devnet, api: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": [api, method, params]});
    let r = bts_testkit::http(None, devnet.endpoints()[0].addr(), "POST", "/", &body.to_string()).await;
    serde_json::from_str::<Value>(&r.body).unwrap()["result"].clone()
}

async fn registrations(addr: SocketAddr, name: &str) -> Vec<Value> {
    let r = bts_testkit::http(None, addr, "GET", &format!("/admin/registrations/{name}"), "").await;
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("{name}: {} {}", r.head, r.body));
    v["registrations"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faucet_killed_after_each_state_finishes_every_registration_exactly_once() {
    let devnet = Devnet::start(DevnetConfig {
        nodes: 1,
        block_interval: 1,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_listen: None,
        registrar_key: Some(registrar_key()),
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("bts-faucet-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("faucet.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nnode = \"{}\"\nstore = \"sqlite://{}\"\n[registrar]\nname = \"faucet\"\n\
             [limits]\nip_cooldown_seconds = 0\nip_daily_cap = 0\n[timing]\nrecovery_interval_seconds = 1\n",
            devnet.endpoints()[0].ws_url(),
            dir.join("faucet.db").display()
        ),
    )
    .unwrap();

    for state in ["received", "signed", "broadcast", "included"] {
        let name = format!("crash-{state}-1");
        eprintln!("crash after {state}");
        let (mut child, addr, log) = start_faucet(&config, Some(state));
        let body = wallet_body(&name);
        // The client's connection dies with the process; its answer does not matter here.
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "POST /api/v1/accounts HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tokio::io::AsyncWriteExt::write_all(&mut client, request.as_bytes()).await.unwrap();
        wait_for_line(&log, "crash point reached");
        let rows = registrations(addr, &name).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["state"], state, "the state was written before the crash point: {rows:?}");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        drop(client);

        // Restart without the crash point: recovery finishes the registration.
        let (mut child, addr, _log) = start_faucet(&config, None);
        let deadline = Instant::now() + Duration::from_secs(40);
        let row = loop {
            let rows = registrations(addr, &name).await;
            assert_eq!(rows.len(), 1, "never a second row: {rows:?}");
            if rows[0]["state"] == "irreversible" {
                break rows[0].clone();
            }
            assert!(Instant::now() < deadline, "{name} not finished after restart: {rows:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        // Chain and store agree.
        let account = node_call(&devnet, "database", "get_account_by_name", json!([name])).await;
        assert_eq!(account["id"], row["account_id"], "{account} vs {row}");
        assert_eq!(account["owner"]["key_auths"][0][0], row["owner_key"]);
        assert_eq!(account["registrar"], "1.2.17");
        let history =
            node_call(&devnet, "history", "get_account_history", json!(["faucet", "1.11.0", 100, "1.11.0"])).await;
        let creations = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["op"][0] == 5 && h["op"][1]["name"] == name.as_str())
            .count();
        assert_eq!(creations, 1, "{name} registered {creations} times");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // The operator's referral table reads the same store.
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["faucet", "stats", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let faucet_row = table.lines().find(|l| l.starts_with("faucet ")).unwrap_or_else(|| panic!("{table}"));
    assert_eq!(faucet_row.split_whitespace().collect::<Vec<_>>(), ["faucet", "4", "0"], "{table}");
    assert!(table.contains("rows irreversible: 4"), "{table}");
    let _ = std::fs::remove_dir_all(&dir);
}
