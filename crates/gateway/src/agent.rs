//! HAProxy agent-check responder: an existing HAProxy can use the gateway as its health oracle
//! (`server node0 … agent-check agent-addr 127.0.0.1 agent-port 8081 agent-send "node0\n"`).
//!
//! HAProxy connects, sends its `agent-send` string (the upstream's name here) and reads one line
//! (gateway.md §7.4). The answer is derived from the same health snapshot the stats page shows:
//!
//! | upstream | reply |
//! |---|---|
//! | maintenance (operator) | `maint` |
//! | drain (operator) | `drain` |
//! | up | `up ready 100%` |
//! | lagging | `up ready 1%` (kept as a last resort, as the gateway does) |
//! | down / not yet checked | `down #<reason>` |
//! | unknown name | `down #unknown upstream <name>` |
//! | nothing sent | `up ready` when any upstream is up or lagging, else `down #no healthy upstream` |

use crate::health::{AdminState, State};
use crate::pool::{UpstreamPool, UpstreamStats};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The one-line reply (without the newline) for the request line `request`.
pub fn agent_reply(stats: &[UpstreamStats], request: &str) -> String {
    let name = request.trim();
    if name.is_empty() {
        return if stats
            .iter()
            .any(|u| matches!(u.state, State::Up | State::Lagging) && u.admin_state == AdminState::Enabled)
        {
            "up ready".into()
        } else {
            "down #no healthy upstream".into()
        };
    }
    let Some(u) = stats.iter().find(|u| u.name == name) else {
        return format!("down #unknown upstream {}", sanitize(name));
    };
    match (u.admin_state, u.state) {
        (AdminState::Maintenance, _) => "maint".into(),
        (AdminState::Drain, _) => "drain".into(),
        (AdminState::Enabled, State::Up) => "up ready 100%".into(),
        (AdminState::Enabled, State::Lagging) => "up ready 1%".into(),
        (AdminState::Enabled, State::Unknown) => "down #not checked yet".into(),
        (AdminState::Enabled, State::Down) => format!("down #{}", sanitize(&u.reason)),
    }
}

/// One line of printable ASCII, bounded: the reason goes into HAProxy's logs.
fn sanitize(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(120).collect()
}

/// Serves agent checks on `listener` until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, pool: std::sync::Arc<UpstreamPool>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else { continue };
        let pool = pool.clone();
        tokio::spawn(async move {
            // HAProxy writes its agent-send string right after connecting; without one, answer
            // for the whole pool after a short wait.
            let mut buf = [0u8; 256];
            let mut len = 0;
            let read = async {
                while len < buf.len() {
                    match socket.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            len += n;
                            if buf[..len].contains(&b'\n') {
                                break;
                            }
                        }
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_millis(300), read).await;
            let request = String::from_utf8_lossy(&buf[..len]);
            let line = request.lines().next().unwrap_or("");
            let reply = agent_reply(&pool.stats(), line);
            let _ = socket.write_all(format!("{reply}\n").as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(name: &str, state: State, admin: AdminState, reason: &str) -> UpstreamStats {
        UpstreamStats {
            name: name.into(),
            url: String::new(),
            weight: 100,
            state,
            admin_state: admin,
            reason: reason.into(),
            last_check: String::new(),
            time_in_state_seconds: 0,
            head_block_number: None,
            head_age_seconds: None,
            lag_blocks: None,
            last_irreversible_block_num: None,
            lib_lag_blocks: None,
            latency_p50_ms: None,
            latency_p99_ms: None,
            connections: 0,
            requests: 0,
            requests_per_second: 0.0,
            errors: 0,
        }
    }

    #[test]
    fn replies_follow_health_and_operator_state() {
        let stats = vec![
            upstream("a", State::Up, AdminState::Enabled, "in sync"),
            upstream("b", State::Lagging, AdminState::Enabled, "3 blocks behind"),
            upstream("c", State::Down, AdminState::Enabled, "head 42 s old\n"),
            upstream("d", State::Up, AdminState::Drain, ""),
            upstream("e", State::Up, AdminState::Maintenance, ""),
            upstream("f", State::Unknown, AdminState::Enabled, ""),
        ];
        let r = |n: &str| agent_reply(&stats, n);
        assert_eq!(r("a"), "up ready 100%");
        assert_eq!(r("b\n"), "up ready 1%");
        assert_eq!(r("c"), "down #head 42 s old");
        assert_eq!(r("d"), "drain");
        assert_eq!(r("e"), "maint");
        assert_eq!(r("f"), "down #not checked yet");
        assert_eq!(r("zz"), "down #unknown upstream zz");
        assert_eq!(r(""), "up ready");
        assert_eq!(agent_reply(&stats[2..3], ""), "down #no healthy upstream");
    }
}
