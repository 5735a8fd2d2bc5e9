//! Helpers for integration tests: a raw HTTP/1.1 exchange over a real socket, optionally from a
//! chosen loopback address (127.0.0.x) so a test can act as several client IPs. Dev-only: no
//! production crate depends on this.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response: status code, lowercased head (status line and headers), body (de-chunked).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code (0 if unparsable).
    pub status: u16,
    /// Status line and headers, lowercased, for `contains` checks.
    pub head: String,
    /// The body.
    pub body: String,
}

/// Opens a TCP connection to `addr`, from `from` when given.
pub async fn connect_from(from: Option<IpAddr>, addr: SocketAddr) -> tokio::net::TcpStream {
    match from {
        None => tokio::net::TcpStream::connect(addr).await.expect("connect"),
        Some(ip) => {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind(SocketAddr::new(ip, 0)).expect("bind the client address");
            socket.connect(addr).await.expect("connect")
        }
    }
}

/// Sends one request with `Connection: close` and reads the whole response (15 s limit).
pub async fn http(from: Option<IpAddr>, addr: SocketAddr, method: &str, path: &str, body: &str) -> HttpResponse {
    http_with_headers(from, addr, method, path, &[], body).await
}

/// [`http`] with extra request headers (`("X-Forwarded-For", "203.0.113.9")`).
pub async fn http_with_headers(
    from: Option<IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let mut s = connect_from(from, addr).await;
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("send the request");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut buf))
        .await
        .expect("response within 15 s")
        .expect("read the response");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let head = head.to_lowercase();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = if head.contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
    HttpResponse { status, head, body }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n.min(tail.len())]);
        rest = tail.get(n + 2..).unwrap_or("");
    }
    out
}
