//! Monitoring outputs against real consumers: the agent-check responder with Debian's HAProxy
//! using `agent-check` against it (`.ci/run` installs haproxy).

mod common;
use common::*;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn agent(addr: SocketAddr, send: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(send.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await.unwrap().unwrap();
    out
}

/// `show stat` over HAProxy's admin socket: (server name, status) of backend `be`.
async fn haproxy_status(socket: &std::path::Path) -> Vec<(String, String)> {
    let mut s = tokio::net::UnixStream::connect(socket).await.unwrap();
    s.write_all(b"show stat\n").await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().trim_start_matches("# ").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (px, sv, status) = (col("pxname"), col("svname"), col("status"));
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > status && f[px] == "be" && f[sv].starts_with("node"))
        .map(|f| (f[sv].to_owned(), f[status].to_owned()))
        .collect()
}

async fn wait_haproxy(socket: &std::path::Path, server: &str, prefix: &str) {
    let mut last = Vec::new();
    for _ in 0..100 {
        last = haproxy_status(socket).await;
        if last.iter().any(|(s, st)| s == server && st.starts_with(prefix)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("HAProxy never showed {server} as {prefix}: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_follows_the_gateways_agent_check() {
    let setup = setup_with(2, |c| {
        c.monitoring.agent_check_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let agent_addr = setup.gateway.agent_check_addr().unwrap();

    // The protocol itself.
    assert_eq!(agent(agent_addr, "node0\n").await, "up ready 100%\n");
    assert_eq!(agent(agent_addr, "nope\n").await, "down #unknown upstream nope\n");
    assert_eq!(agent(agent_addr, "").await, "up ready\n");

    // A real HAProxy polling it.
    let dir = std::env::temp_dir().join(format!("bts-gw-agent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("admin.sock");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let servers: String = setup
        .devnet
        .endpoints()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            format!(
                "  server node{i} {} check inter 200 agent-check agent-addr 127.0.0.1 agent-port {} agent-send \"node{i}\\n\" agent-inter 200\n",
                e.addr(),
                agent_addr.port()
            )
        })
        .collect();
    let cfg = format!(
        "global\n  stats socket {} level admin\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
         frontend fe\n  bind 127.0.0.1:{port}\n  default_backend be\nbackend be\n{servers}",
        socket.display()
    );
    std::fs::write(dir.join("haproxy.cfg"), cfg).unwrap();
    let mut haproxy = tokio::process::Command::new("haproxy")
        .arg("-f")
        .arg(dir.join("haproxy.cfg"))
        .arg("-db")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("haproxy is installed (.ci/run installs it)");
    for _ in 0..50 {
        if socket.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_haproxy(&socket, "node1", "UP").await;

    let gw = setup.gateway.addr();
    http(gw, "POST", "/admin/upstreams/node1/drain", "").await;
    assert_eq!(agent(agent_addr, "node1\n").await, "drain\n");
    wait_haproxy(&socket, "node1", "DRAIN").await;
    http(gw, "POST", "/admin/upstreams/node1/maintenance", "").await;
    wait_haproxy(&socket, "node1", "MAINT").await;
    http(gw, "POST", "/admin/upstreams/node1/enable", "").await;
    wait_haproxy(&socket, "node1", "UP").await;

    // The gateway sees node0 stall: HAProxy takes it down through the agent.
    set_faults(&setup.devnet, 0, serde_json::json!({"stall": true})).await;
    wait_state(&setup.gateway, "node0", "down", Duration::from_secs(20)).await;
    assert!(agent(agent_addr, "node0\n").await.starts_with("down #"));
    wait_haproxy(&socket, "node0", "DOWN").await;

    haproxy.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
