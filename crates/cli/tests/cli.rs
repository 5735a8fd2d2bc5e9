//! End-to-end tests of the `bts-infra key` and `tx` commands: the real binary, real stdin,
//! exit codes and one-line errors as an operator sees them.

use bts_protocol::{AddressPrefix, KeyRole, PrivateKey};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const NATHAN_WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
const NATHAN_PUB: &str = "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV";

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bts-infra");
    if let Some(input) = stdin {
        // The command may exit (on a usage error) before reading stdin: a broken pipe is fine.
        if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Asserts exit code 2 and exactly one stderr line containing `needle`, and no panic.
fn assert_one_line_error(o: &Output, needle: &str) {
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "expected one line, got: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
}

fn vector(index: usize) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/protocol.json");
    let dir = std::env::var_os("BTS_SHARED_DIR").map(|d| PathBuf::from(d).join("vectors/protocol.json"));
    let text = std::fs::read_to_string(dir.unwrap_or(path)).expect("shared/vectors/protocol.json");
    serde_json::from_str::<Value>(&text).unwrap()["transactions"][index].clone()
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bts-infra-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn key_new_prints_a_matching_pair() {
    let o = run(&["key", "new", "--prefix", "TEST", "--json"], None);
    assert!(o.status.success());
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let key = PrivateKey::from_wif(v["wif"].as_str().unwrap()).unwrap();
    assert_eq!(key.public_key(AddressPrefix::TEST).to_string(), v["public_key"].as_str().unwrap());
    let o = run(&["key", "new"], None);
    let text = stdout(&o);
    assert!(
        text.lines().any(|l| l.starts_with("wif: 5")) && text.lines().any(|l| l.starts_with("public_key: BTS")),
        "{text}"
    );
}

#[test]
fn key_pub_from_argument_and_stdin() {
    let o = run(&["key", "pub", NATHAN_WIF], None);
    assert_eq!(stdout(&o).trim(), NATHAN_PUB);
    let o = run(&["key", "pub"], Some(&format!("{NATHAN_WIF}\n")));
    assert_eq!(stdout(&o).trim(), NATHAN_PUB);
    let o = run(&["key", "pub", "-", "--prefix", "TEST"], Some(NATHAN_WIF));
    assert_eq!(stdout(&o).trim(), NATHAN_PUB.replacen("BTS", "TEST", 1));
}

#[test]
fn key_pub_bad_input_is_one_line_exit_2_and_never_echoes_the_secret() {
    let broken = NATHAN_WIF.replacen('K', "k", 1);
    let o = run(&["key", "pub", &broken], None);
    assert_one_line_error(&o, "invalid WIF private key");
    assert!(!String::from_utf8_lossy(&o.stderr).contains(&broken));
    assert_one_line_error(&run(&["key", "pub", NATHAN_WIF, "--prefix", "bts"], None), "invalid address prefix \"bts\"");
    assert_one_line_error(&run(&["key", "pub"], Some("  \n")), "got nothing");
}

#[test]
fn key_from_password_matches_the_wallet_rule() {
    let o = run(&["key", "from-password", "alice", "P5secret", "--json"], None);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    for role in KeyRole::ALL {
        let expected = PrivateKey::from_seed(&format!("alice{role}P5secret")).unwrap();
        assert_eq!(v[role.as_str()]["wif"], expected.to_wif());
        assert_eq!(v[role.as_str()]["public_key"], expected.public_key(AddressPrefix::BTS).to_string());
    }
    let o = run(&["key", "from-password", "alice", "-", "--role", "memo"], Some("P5secret\n"));
    let memo = PrivateKey::from_seed("alicememoP5secret").unwrap().public_key(AddressPrefix::BTS);
    assert!(stdout(&o).contains(&format!("memo_public_key: {memo}")), "{}", stdout(&o));
    assert_one_line_error(&run(&["key", "from-password", "a", "b", "--role", "posting"], None), "posting");
}

#[test]
fn tx_inspect_matches_every_vector() {
    for i in 0..2 {
        let t = vector(i);
        let o = run(&["tx", "inspect", "--chain-id", t["chain_id"].as_str().unwrap()], Some(&t["tx_json"].to_string()));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["unsigned_hex"], t["unsigned_hex"]);
        assert_eq!(v["digest"], t["digest_hex"]);
        assert_eq!(v["tx_id"], t["tx_id"]);
        assert_eq!(v["operations"][0]["name"], "account_create");
    }
}

#[test]
fn tx_sign_then_verify_round_trip() {
    let t = vector(1);
    let wif_file = temp_file("registrar.wif", &format!("# registrar\n{NATHAN_WIF}\n"));
    let o = run(
        &["tx", "sign", "--chain-id", "mainnet", "--wif-file", wif_file.to_str().unwrap()],
        Some(&t["tx_json"].to_string()),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let signed: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(signed["signatures"], serde_json::json!([t["signature_hex"]]));
    let o = run(&["tx", "verify", "--chain-id", "mainnet"], Some(&signed.to_string()));
    assert_eq!(stdout(&o).trim(), NATHAN_PUB);
    // Under another chain id the same signature recovers some other key.
    let o = run(&["tx", "verify", "--chain-id", "testnet"], Some(&signed.to_string()));
    assert!(o.status.success());
    assert_ne!(stdout(&o).trim(), NATHAN_PUB);
}

#[test]
fn tx_bad_input_gives_one_line_errors() {
    let t = vector(1);
    let tx = t["tx_json"].to_string();
    assert_one_line_error(&run(&["tx", "inspect"], Some("{bad")), "invalid transaction JSON");
    assert_one_line_error(&run(&["tx", "inspect", "--chain-id", "12"], Some(&tx)), "64 hex characters");
    assert_one_line_error(&run(&["tx", "inspect", "--chain-id", "zz"], Some(&tx)), "invalid chain id hex");
    assert_one_line_error(
        &run(&["tx", "inspect"], Some(&tx.replace("BTS", "TEST"))),
        "invalid public key prefix \"TEST\", expected \"BTS\"",
    );
    assert_one_line_error(
        &run(&["tx", "inspect"], Some(&tx.replace("[5,", "[1,"))),
        "limit_order_create.seller: missing member of limit_order_create_operation",
    );
    assert_one_line_error(&run(&["tx", "verify", "--chain-id", "mainnet"], Some(&tx)), "no signatures");
    let missing = temp_file("x", "").with_file_name("does-not-exist.wif");
    assert_one_line_error(
        &run(&["tx", "sign", "--chain-id", "mainnet", "--wif-file", missing.to_str().unwrap()], Some(&tx)),
        "reading --wif-file",
    );
    let empty = temp_file("empty.wif", "\n# nothing\n");
    assert_one_line_error(
        &run(&["tx", "sign", "--chain-id", "mainnet", "--wif-file", empty.to_str().unwrap()], Some(&tx)),
        "holds no WIF key",
    );
}

#[test]
fn tx_verify_rejects_a_non_canonical_signature() {
    let t = vector(1);
    let mut signed = t["tx_json"].clone();
    // Flip r's top bit: the signature is no longer canonical (and the node would refuse it).
    let mut sig = hex::decode(t["signature_hex"].as_str().unwrap()).unwrap();
    sig[1] |= 0x80;
    signed["signatures"] = serde_json::json!([hex::encode(sig)]);
    assert_one_line_error(
        &run(&["tx", "verify", "--chain-id", "mainnet"], Some(&signed.to_string())),
        "signature is not canonical",
    );
    signed["signatures"] = serde_json::json!(["00"]);
    assert_one_line_error(&run(&["tx", "verify", "--chain-id", "mainnet"], Some(&signed.to_string())), "signature hex");
}

#[test]
fn help_explains_every_command() {
    let o = run(&["--help"], None);
    assert!(o.status.success());
    let text = stdout(&o);
    for cmd in ["key", "tx"] {
        assert!(text.contains(cmd), "{text}");
    }
    let o = run(&["tx", "sign", "--help"], None);
    assert!(stdout(&o).contains("--wif-file"));
    let o = run(&["bogus"], None);
    assert_one_line_error(&o, "unrecognized subcommand");
}

/// Starts a long-running subcommand and reads its banner up to the registrar WIF line.
fn spawn_service(args: &[&str]) -> (std::process::Child, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.contains("registrar WIF");
        banner.push(line);
        if done {
            break;
        }
    }
    (child, banner)
}

/// `bts-infra devnet` with `nodes` nodes, 1 s blocks, every port chosen by the OS.
fn spawn_devnet(nodes: &str) -> (std::process::Child, Vec<String>) {
    let any = "127.0.0.1:0";
    spawn_service(&["devnet", "--nodes", nodes, "--block-interval", "1", "--listen", any, "--admin-listen", any])
}

#[test]
fn devnet_prints_its_urls_serves_and_stops_on_sigterm() {
    use std::io::Read;
    let (mut child, banner) = spawn_devnet("2");
    let text = banner.join("\n");
    let chain_id = banner[0].strip_prefix("devnet chain id: ").unwrap().to_owned();
    let url = banner[1].split_whitespace().nth(2).unwrap().trim_start_matches("ws://").to_owned();
    assert!(banner[2].starts_with("node 1: ws://127.0.0.1:"), "{text}");
    assert!(text.contains("admin API: http://127.0.0.1:") && text.contains("registrar: faucet (1.2.17)"), "{text}");
    let wif = banner.last().unwrap().rsplit(' ').next().unwrap();
    assert!(PrivateKey::from_wif(wif).is_ok());

    // Plain HTTP JSON-RPC against node 0.
    let mut s = std::net::TcpStream::connect(&url).unwrap();
    let body = r#"{"id":1,"method":"call","params":["database","get_chain_id",[]]}"#;
    write!(s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains(&chain_id), "{resp}");

    // SIGTERM: it shuts down cleanly.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains("shutting down"), "{err}");
}

#[test]
fn devnet_rejects_bad_settings_naming_them() {
    assert_one_line_error(&run(&["devnet", "--nodes", "1", "--fault", "3:stall"], None), "there is no node 3");
    assert_one_line_error(&run(&["devnet", "--fault", "0:explode"], None), "unknown fault \"explode\"");
    assert_one_line_error(
        &run(&["devnet", "--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0"], None),
        "admin_listen",
    );
    assert_one_line_error(
        &run(&["devnet", "--block-interval", "0", "--listen", "127.0.0.1:0", "--no-admin"], None),
        "block_interval",
    );
}

#[test]
fn up_starts_devnet_gateway_and_faucet_and_serves_through_the_gateway() {
    use std::io::Read;
    let (mut child, banner) = spawn_service(&[
        "up",
        "--listen",
        "127.0.0.1:0",
        "--faucet-listen",
        "127.0.0.1:0",
        "--devnet-listen",
        "127.0.0.1:0",
        "--devnet-admin-listen",
        "127.0.0.1:0",
        "--block-interval",
        "1",
    ]);
    let text = banner.join("\n");
    assert!(banner[0].starts_with("bts-infra is up"), "{text}");
    let gateway = banner[1].split_whitespace().nth(1).unwrap().trim_start_matches("ws://").to_owned();
    assert!(text.contains(&format!("stats:     http://{gateway}/stats")), "{text}");
    assert!(text.contains("node2:") && text.contains("registrar: faucet (1.2.17)"), "{text}");

    let mut s = std::net::TcpStream::connect(&gateway).unwrap();
    let body = r#"{"id":1,"method":"call","params":["database","get_dynamic_global_properties",[]]}"#;
    write!(s, "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200") && resp.contains("head_block_number"), "{resp}");

    // The faucet registers an account (through the gateway) and the gateway then serves it.
    let faucet_line = banner.iter().find(|l| l.trim_start().starts_with("faucet:")).unwrap_or_else(|| panic!("{text}"));
    let faucet = faucet_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1/accounts");
    let key = "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV";
    let body =
        format!(r#"{{"account":{{"name":"up-user-1","owner_key":"{key}","active_key":"{key}","memo_key":"{key}"}}}}"#);
    let mut s = std::net::TcpStream::connect(faucet).unwrap();
    write!(s, "POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 201") && resp.contains(r#""name":"up-user-1""#), "{resp}");
    let mut s = std::net::TcpStream::connect(&gateway).unwrap();
    let body = r#"{"id":1,"method":"call","params":["database","get_account_by_name",["up-user-1"]]}"#;
    write!(s, "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.contains(r#""registrar":"1.2.17""#), "{resp}");

    let _ = Command::new("kill").arg(child.id().to_string()).status();
    assert!(child.wait().unwrap().success());
}

#[test]
fn gateway_config_is_checked_with_the_key_named() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/gateway.example.toml");
    let o = run(&["gateway", "--config", example.to_str().unwrap(), "--check-config"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("ok (3 upstreams)"));
    let o = run(&["gateway", "--config", example.to_str().unwrap(), "--print-config"], None);
    assert!(stdout(&o).contains("max_head_age_secs = 15"), "{}", stdout(&o));
    let bad = temp_file(
        "bad-gateway.toml",
        "[[upstreams]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1\"\n[limits]\nburst_per_ip = 0\n",
    );
    assert_one_line_error(
        &run(&["gateway", "--config", bad.to_str().unwrap()], None),
        "limits.requests_per_second_per_ip",
    );
    let typo =
        temp_file("typo-gateway.toml", "[[upstreams]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1\"\n[healt]\nrise = 1\n");
    assert_one_line_error(
        &run(&["gateway", "--config", typo.to_str().unwrap(), "--check-config"], None),
        "unknown field `healt`",
    );
    let acme = temp_file(
        "acme-gateway.toml",
        "[[upstreams]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1\"\n[tls.acme]\ndomains = [\"api.example.com\"]\nstate_dir = \"/tmp/x\"\n",
    );
    assert_one_line_error(
        &run(&["gateway", "--config", acme.to_str().unwrap(), "--check-config"], None),
        "tls.http_listen",
    );
}

#[test]
fn bench_loads_a_node_over_websocket_and_http_and_refuses_other_hosts() {
    let (mut child, banner) = spawn_devnet("1");
    let ws = banner[1].split_whitespace().nth(2).unwrap().to_owned();
    let http = ws.replace("ws://", "http://");
    for url in [&ws, &http] {
        let o =
            run(&["bench", "--url", url, "--connections", "3", "--messages", "20", "--timeout", "60", "--json"], None);
        assert!(o.status.success(), "{url}: {}", String::from_utf8_lossy(&o.stderr));
        let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!((r["completed"].as_u64(), r["failed"].as_u64()), (Some(60), Some(0)), "{url}: {r}");
        assert!(r["p99_ms"].as_f64().unwrap() > 0.0, "{r}");
    }
    // Paced: 2 connections × 6 calls at one per 50 ms cannot take less than 5 intervals, however
    // fast the machine (a lower bound only: sleeps never end early).
    for url in [&ws, &http] {
        let o = run(
            &["bench", "--url", url, "--connections", "2", "--messages", "6", "--interval-ms", "50", "--json"],
            None,
        );
        let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!((r["completed"].as_u64(), r["failed"].as_u64()), (Some(12), Some(0)), "{url}: {r}");
        assert!(r["seconds"].as_f64().unwrap() >= 0.25, "{url}: not paced: {r}");
    }
    // A call the node refuses counts as failed, not answered.
    let o = run(
        &["bench", "--url", &http, "--connections", "1", "--messages", "5", "--method", "no_such_method", "--json"],
        None,
    );
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((r["completed"].as_u64(), r["failed"].as_u64()), (Some(0), Some(5)), "{r}");
    let o = run(&["bench", "--url", "http://10.0.0.1:8090", "--connections", "1", "--messages", "1"], None);
    assert_one_line_error(&o, "only ws:// or http:// targets on 127.0.0.0/8");
    let _ = child.kill();
    let _ = child.wait();
}
