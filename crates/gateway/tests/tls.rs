//! TLS on the gateway's listener with certificate files: a client trusting the test CA speaks
//! wss:// and https:// to it; replacing the files and reloading serves the new certificate to
//! new connections while an open WebSocket keeps working; bad files are refused with the key named.

mod common;
use common::*;
use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem: String,
}

fn ca() -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "bts-infra test CA");
    let cert = params.self_signed(&key).unwrap();
    Ca { der: cert.der().clone(), pem: cert.pem(), issuer: Issuer::new(params, key) }
}

/// Writes a leaf for localhost/127.0.0.1 signed by `ca` to `dir`; returns its DER.
fn write_leaf(ca: &Ca, dir: &Path, cn: &str) -> Vec<u8> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    cert.der().to_vec()
}

fn client_config(ca: &Ca) -> Arc<rustls::ClientConfig> {
    client_trusting(ca.der.clone())
}

fn client_trusting(root: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).unwrap();
    let mut c = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Resumed sessions report the certificate of the first handshake; every test handshake must
    // show what the gateway serves now.
    c.resumption = rustls::client::Resumption::disabled();
    Arc::new(c)
}

async fn tls_connect(
    config: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    tls_connect_as(config, addr, "localhost").await.expect("TLS handshake with the gateway")
}

async fn tls_connect_as(
    config: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    name: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tokio_rustls::TlsConnector::from(config.clone()).connect(ServerName::try_from(name.to_owned()).unwrap(), tcp).await
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bts-gw-tls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_and_https_with_certificate_files_and_hot_swap() {
    let ca = ca();
    let dir = temp("swap");
    let first = write_leaf(&ca, &dir, "first");
    let devnet = devnet(1).await;
    let mut config = gateway_config(&devnet);
    config.tls = Some(bts_gateway::config::TlsConfig {
        cert_file: Some(dir.join("cert.pem")),
        key_file: Some(dir.join("key.pem")),
        ..Default::default()
    });
    let config_path = dir.join("gateway.toml");
    std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();
    let gateway = bts_gateway::Gateway::start(config, Some(config_path)).await.unwrap();
    assert!(gateway.wait_healthy(1, Duration::from_secs(10)).await);
    struct Setup {
        devnet: bts_devnet::Devnet,
        gateway: bts_gateway::Gateway,
    }
    let setup = Setup { devnet, gateway };
    let addr = setup.gateway.addr();
    let client = client_config(&ca);

    // https: /health over TLS, ALPN http/1.1, the first certificate.
    let mut s = tls_connect(&client, addr).await;
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(s.get_ref().1.peer_certificates().unwrap()[0].as_ref(), &first[..]);
    s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    // wss: a JSON-RPC call through the gateway.
    let tls = tls_connect(&client, addr).await;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://localhost:{}/", addr.port()), tls).await.unwrap();
    let call =
        |id: u32| Message::text(format!(r#"{{"id":{id},"method":"call","params":["database","get_chain_id",[]]}}"#));
    ws.send(call(1)).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains(&setup.devnet.chain_id().to_string()), "{answer}");

    // New files + reload: new handshakes get the new certificate, the open socket keeps working.
    let second = write_leaf(&ca, &dir, "second");
    assert_ne!(first, second);
    // POST /admin/reload (like SIGHUP) re-reads the files at once.
    let (status, body) = http_tls(&client, addr, "POST", "/admin/reload").await;
    assert_eq!(status, 200, "{body}");
    let s = tls_connect(&client, addr).await;
    let served = s.get_ref().1.peer_certificates().unwrap()[0].as_ref().to_vec();
    assert_eq!(served, second, "the changed files were not picked up");
    ws.send(call(2)).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains(r#""id":2"#), "{answer}");

    // Changed files are also picked up without a reload (checked every 5 s).
    let third = write_leaf(&ca, &dir, "third");
    let mut served = Vec::new();
    for _ in 0..100 {
        let s = tls_connect(&client, addr).await;
        served = s.get_ref().1.peer_certificates().unwrap()[0].as_ref().to_vec();
        if served == third {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served, third, "the changed files were not picked up");

    // A broken key file: the reload is refused and the old certificate stays in use.
    std::fs::write(dir.join("key.pem"), "not a key").unwrap();
    let (status, body) = http_tls(&client, addr, "POST", "/admin/reload").await;
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("tls.key_file"), "{body}");
    tokio::time::sleep(Duration::from_secs(6)).await;
    let s = tls_connect(&client, addr).await;
    assert_eq!(s.get_ref().1.peer_certificates().unwrap()[0].as_ref(), &third[..]);
    // Plain HTTP on the TLS port gets no answer in the clear.
    let (status, _) = http(addr, "GET", "/health", "").await;
    assert_ne!(status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn http_tls(client: &Arc<rustls::ClientConfig>, addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    http_tls_as(client, addr, "localhost", method, path).await
}

#[tokio::test]
async fn unusable_tls_files_are_refused_at_start_with_the_key_named() {
    let ca = ca();
    let dir = temp("bad");
    write_leaf(&ca, &dir, "x");
    let devnet = devnet(1).await;
    let start = |cert: PathBuf, key: PathBuf| {
        let mut c = gateway_config(&devnet);
        c.tls =
            Some(bts_gateway::config::TlsConfig { cert_file: Some(cert), key_file: Some(key), ..Default::default() });
        bts_gateway::Gateway::start(c, None)
    };
    let e = start(dir.join("missing.pem"), dir.join("key.pem")).await.err().unwrap().to_string();
    assert!(e.starts_with("tls.cert_file: ") && e.contains("missing.pem"), "{e}");
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    let e = start(dir.join("cert.pem"), dir.join("empty.pem")).await.err().unwrap().to_string();
    assert!(e.starts_with("tls.key_file: "), "{e}");
    // A key that does not belong to the certificate.
    let other = KeyPair::generate().unwrap();
    std::fs::write(dir.join("other.pem"), other.serialize_pem()).unwrap();
    let e = start(dir.join("cert.pem"), dir.join("other.pem")).await.err().unwrap().to_string();
    assert!(e.starts_with("tls: ") && e.to_lowercase().contains("key"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_upstreams_are_verified_against_the_configured_ca() {
    // Gateway A terminates TLS in front of the devnet; gateway B uses A as a wss:// upstream.
    let ca = ca();
    let dir = temp("upstream");
    write_leaf(&ca, &dir, "upstream");
    std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
    let other = ca_pem_file(&dir, "other-ca.pem");
    let devnet = devnet(1).await;
    let mut a = gateway_config(&devnet);
    a.tls = Some(bts_gateway::config::TlsConfig {
        cert_file: Some(dir.join("cert.pem")),
        key_file: Some(dir.join("key.pem")),
        ..Default::default()
    });
    let a = bts_gateway::Gateway::start(a, None).await.unwrap();
    assert!(a.wait_healthy(1, Duration::from_secs(10)).await);

    let upstream = |ca_file: PathBuf| bts_gateway::config::UpstreamConfig {
        name: "tls0".into(),
        url: format!("wss://localhost:{}", a.addr().port()),
        weight: 100,
        ca_file: Some(ca_file),
    };
    let mut b = gateway_config(&devnet);
    b.upstreams = vec![upstream(dir.join("ca.pem"))];
    let b = bts_gateway::Gateway::start(b, None).await.unwrap();
    assert!(b.wait_healthy(1, Duration::from_secs(10)).await, "wss upstream with the right CA comes up");
    let answer = rpc(b.addr(), "database", "get_chain_id", serde_json::json!([])).await;
    assert_eq!(answer["result"], devnet.chain_id().to_string());

    // Another CA: the upstream's certificate is not trusted, so it never gets traffic.
    let mut c = gateway_config(&devnet);
    c.upstreams = vec![upstream(other)];
    let c = bts_gateway::Gateway::start(c, None).await.unwrap();
    assert!(!c.wait_healthy(1, Duration::from_secs(3)).await);
    let s = upstream_stats(&c, "tls0").await;
    assert_ne!(s["state"], "up", "{s}");

    // A CA file that is not PEM is refused with the key named.
    std::fs::write(dir.join("junk.pem"), "junk").unwrap();
    let mut d = gateway_config(&devnet);
    d.upstreams = vec![upstream(dir.join("junk.pem"))];
    let e = bts_gateway::Gateway::start(d, None).await.err().unwrap().to_string();
    assert!(e.contains("upstreams[0].ca_file") && e.contains("no CERTIFICATE"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn ca_pem_file(dir: &Path, name: &str) -> PathBuf {
    let other = ca();
    std::fs::write(dir.join(name), &other.pem).unwrap();
    dir.join(name)
}

// ---------------------------------------------------------------------------------------------
// ACME against Debian's pebble (a real RFC 8555 CA) on loopback, with pebble-challtestsrv as its
// DNS server (every name resolves to 127.0.0.1, so pebble's HTTP-01 check reaches the gateway's
// plain-HTTP listener).

/// A child process killed when the test ends, however it ends.
struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_listening(addr: SocketAddr, what: &str) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not start listening on {addr}");
}

struct Pebble {
    _dns: Proc,
    _ca: Proc,
    /// The ACME endpoint (directory at `/dir`).
    listen: SocketAddr,
    management: SocketAddr,
    /// The root that pebble's own HTTPS endpoints are signed by (for the gateway's ca_file).
    listener_ca: Ca,
    listener_ca_file: PathBuf,
}

impl Pebble {
    /// Starts pebble validating HTTP-01 on `http_port`.
    async fn start(dir: &Path, http_port: u16) -> Pebble {
        let dns = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let dns_proc = std::process::Command::new("pebble-challtestsrv")
            .args(["-dns01", &dns.to_string(), "-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{}", free_port()), "-defaultIPv6", ""])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv (apt install pebble)");
        let dns_proc = Proc(dns_proc);
        let listener_ca = ca();
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let cert = params.signed_by(&key, &listener_ca.issuer).unwrap();
        std::fs::write(dir.join("pebble-cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("pebble-key.pem"), key.serialize_pem()).unwrap();
        let listener_ca_file = dir.join("pebble-listener-ca.pem");
        std::fs::write(&listener_ca_file, &listener_ca.pem).unwrap();
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let management = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let config = serde_json::json!({"pebble": {
            "listenAddress": listen.to_string(),
            "managementListenAddress": management.to_string(),
            "certificate": dir.join("pebble-cert.pem"),
            "privateKey": dir.join("pebble-key.pem"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let ca_proc = std::process::Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .args(["-dnsserver", &dns.to_string()])
            // No random sleeps before validation, no spurious badNonce, fresh validations.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(std::fs::File::create(dir.join("pebble.log")).unwrap())
            .spawn()
            .expect("pebble (apt install pebble)");
        let ca_proc = Proc(ca_proc);
        wait_listening(listen, "pebble").await;
        wait_listening(management, "pebble management").await;
        Pebble { _dns: dns_proc, _ca: ca_proc, listen, management, listener_ca, listener_ca_file }
    }

    /// The root pebble issues certificates under (regenerated at every pebble start).
    async fn issuing_root(&self) -> CertificateDer<'static> {
        let client = client_config(&self.listener_ca);
        let (status, body) = http_tls(&client, self.management, "GET", "/roots/0").await;
        assert_eq!(status, 200, "{body}");
        let pem = body.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap();
        use rustls_pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(pem.as_bytes()).expect("pebble root PEM")
    }
}

/// A TCP relay in front of the CA that can refuse connections, to make the CA unreachable
/// without losing its state.
struct Relay {
    addr: SocketAddr,
    open: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let gate = open.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !gate.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Relay { addr, open, task }
    }

    fn set_open(&self, open: bool) {
        self.open.store(open, std::sync::atomic::Ordering::SeqCst);
    }
}

const DOMAIN: &str = "gateway.bts.test";

async fn stats(addr: SocketAddr, client: &Arc<rustls::ClientConfig>) -> serde_json::Value {
    let (status, resp) = http_tls_as(client, addr, DOMAIN, "GET", "/stats.json").await;
    assert_eq!(status, 200, "{resp}");
    serde_json::from_str(resp.split_once("\r\n\r\n").unwrap().1).unwrap()
}

async fn http_tls_as(
    client: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    name: &str,
    method: &str,
    path: &str,
) -> (u16, String) {
    let mut s = tls_connect_as(client, addr, name).await.expect("TLS handshake");
    s.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp).await;
    let status = resp.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, resp)
}

/// The certificate a fresh handshake gets.
async fn served(client: &Arc<rustls::ClientConfig>, addr: SocketAddr) -> Vec<u8> {
    let s = tls_connect_as(client, addr, DOMAIN).await.expect("TLS handshake with the gateway");
    s.get_ref().1.peer_certificates().unwrap()[0].as_ref().to_vec()
}

/// Polls `f` every 200 ms until it is true, for at most `secs` seconds.
async fn eventually(secs: u64, mut f: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..secs * 5 {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

fn acme_config(dir: &Path, http_port: u16, directory_port: u16, ca_file: PathBuf) -> bts_gateway::config::TlsConfig {
    bts_gateway::config::TlsConfig {
        http_listen: Some(SocketAddr::from(([127, 0, 0, 1], http_port))),
        acme: Some(bts_gateway::config::AcmeConfig {
            domains: vec![DOMAIN.into()],
            contact: vec!["mailto:ops@bts.test".into()],
            directory: format!("https://localhost:{directory_port}/dir"),
            state_dir: dir.join("acme"),
            ca_file: Some(ca_file),
            renew_before_days: 30,
            retry_min_seconds: 1,
            retry_max_seconds: 2,
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_certificate_from_pebble_renewal_outage_and_restart() {
    let dir = temp("acme");
    let http_port = free_port();
    let pebble = Pebble::start(&dir, http_port).await;
    let relay = Relay::start(pebble.listen).await;
    let devnet = devnet(1).await;
    let mut config = gateway_config(&devnet);
    config.tls = Some(acme_config(&dir, http_port, relay.addr.port(), pebble.listener_ca_file.clone()));
    let gateway = bts_gateway::Gateway::start(config.clone(), None).await.unwrap();
    let addr = gateway.addr();
    let store = gateway.state().tls.clone().unwrap();

    // The first certificate arrives through a real order (HTTP-01 answered on the plain port).
    assert!(eventually(60, async || !store.current_certificate().is_empty()).await, "no certificate from pebble");
    let first = store.current_certificate();
    let client = client_trusting(pebble.issuing_root().await);
    assert_eq!(served(&client, addr).await, first);

    // wss:// with it; this socket stays open through the renewals below.
    let tls = tls_connect_as(&client, addr, DOMAIN).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{DOMAIN}:{}/", addr.port()), tls).await.unwrap();
    let call =
        |id: u32| Message::text(format!(r#"{{"id":{id},"method":"call","params":["database","get_chain_id",[]]}}"#));
    ws.send(call(1)).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains(&devnet.chain_id().to_string()), "{answer}");

    // Persisted: account and key private, chain next to them.
    use std::os::unix::fs::PermissionsExt;
    for (file, mode) in [("account.json", 0o600), ("key.pem", 0o600)] {
        let m = std::fs::metadata(dir.join("acme").join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, mode, "{file}");
    }
    assert!(std::fs::read_to_string(dir.join("acme/cert.pem")).unwrap().matches("BEGIN CERTIFICATE").count() >= 2);

    // Stats and metrics show the certificate and the schedule.
    let s = stats(addr, &client).await;
    let not_after = s["tls"]["certificate_not_after"].as_i64().unwrap();
    assert_eq!(s["tls"]["source"], "acme");
    assert_eq!(s["tls"]["acme"]["consecutive_failures"], 0);
    assert!(s["tls"]["acme"]["last_success"].is_i64(), "{s}");
    assert!(s["tls"]["certificate_expires_in_seconds"].as_i64().unwrap() > 86_400, "{s}");
    let next = s["tls"]["acme"]["next_attempt"].as_i64().unwrap();
    assert!(next > s["tls"]["acme"]["last_success"].as_i64().unwrap() + 86_400 && next < not_after, "{s}");
    let (_, metrics) = http_tls_as(&client, addr, DOMAIN, "GET", "/metrics").await;
    let line = format!("bts_gateway_tls_certificate_expiry_timestamp_seconds {not_after}");
    assert!(metrics.contains(&line), "{line} not in /metrics");
    assert!(metrics.contains("bts_gateway_acme_attempts_total{result=\"ok\"} 1"), "{metrics}");
    let body = metrics.split_once("\r\n\r\n").unwrap().1;
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (apt install prometheus)");
    use std::io::Write as _;
    promtool.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !report.contains("error"), "promtool: {report}");
    let (_, page) = http_tls_as(&client, addr, DOMAIN, "GET", "/stats").await;
    assert!(page.contains("certificate expires in") && page.contains("next ACME attempt in"), "{page}");

    // The plain-HTTP listener redirects to https and answers only open challenges.
    let plain = SocketAddr::from(([127, 0, 0, 1], http_port));
    let r = bts_testkit::http(None, plain, "GET", "/stats?x=1", "").await;
    assert_eq!(r.status, 308, "{r:?}");
    assert!(r.head.contains(&format!("location: https://127.0.0.1:{}/stats?x=1", addr.port())), "{}", r.head);
    let r = bts_testkit::http(None, plain, "GET", "/.well-known/acme-challenge/nope", "").await;
    assert_eq!(r.status, 404);

    // Forced renewal: a new certificate for new handshakes, the open socket keeps working.
    let (status, body) = http_tls_as(&client, addr, DOMAIN, "POST", "/admin/acme/renew").await;
    assert_eq!(status, 202, "{body}");
    assert!(eventually(60, async || store.current_certificate() != first).await, "no renewal");
    let second = store.current_certificate();
    assert_eq!(served(&client, addr).await, second);
    ws.send(call(2)).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains(r#""id":2"#), "{answer}");

    // CA unreachable: attempts fail and are retried, the current certificate stays in use.
    relay.set_open(false);
    let (status, _) = http_tls_as(&client, addr, DOMAIN, "POST", "/admin/acme/renew").await;
    assert_eq!(status, 202);
    let failing = eventually(30, async || {
        let s = stats(addr, &client).await;
        s["tls"]["acme"]["consecutive_failures"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    let s = stats(addr, &client).await;
    assert!(failing, "no retries while the CA is unreachable: {s}");
    assert!(s["tls"]["acme"]["last_error"].is_string(), "{s}");
    assert_eq!(served(&client, addr).await, second, "the old certificate must stay in use");
    // Back online: the next retry succeeds without anyone asking.
    relay.set_open(true);
    assert!(eventually(60, async || store.current_certificate() != second).await, "no retry after the outage");
    let third = store.current_certificate();
    let s = stats(addr, &client).await;
    assert_eq!(s["tls"]["acme"]["consecutive_failures"], 0, "{s}");
    assert!(s["tls"]["acme"]["last_error"].is_null(), "{s}");
    ws.send(call(3)).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains(r#""id":3"#), "{answer}");
    drop(ws);

    // A restart serves the saved certificate at once and orders nothing.
    gateway.shutdown(Duration::from_secs(2)).await;
    let gateway = bts_gateway::Gateway::start(config, None).await.unwrap();
    let store = gateway.state().tls.clone().unwrap();
    assert_eq!(store.current_certificate(), third);
    assert_eq!(served(&client, gateway.addr()).await, third);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let s = stats(gateway.addr(), &client).await;
    assert!(s["tls"]["acme"]["last_attempt"].is_null(), "a restart must not order: {s}");
    drop(gateway);
    let _ = std::fs::remove_dir_all(&dir);
}
