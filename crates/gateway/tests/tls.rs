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
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der.clone()).unwrap();
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
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(config.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the gateway")
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
    config.tls =
        Some(bts_gateway::config::TlsConfig { cert_file: dir.join("cert.pem"), key_file: dir.join("key.pem") });
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
    let mut s = tls_connect(client, addr).await;
    s.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp).await;
    let status = resp.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, resp)
}

#[tokio::test]
async fn unusable_tls_files_are_refused_at_start_with_the_key_named() {
    let ca = ca();
    let dir = temp("bad");
    write_leaf(&ca, &dir, "x");
    let devnet = devnet(1).await;
    let start = |cert: PathBuf, key: PathBuf| {
        let mut c = gateway_config(&devnet);
        c.tls = Some(bts_gateway::config::TlsConfig { cert_file: cert, key_file: key });
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
    a.tls = Some(bts_gateway::config::TlsConfig { cert_file: dir.join("cert.pem"), key_file: dir.join("key.pem") });
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
