//! The store's contract, run against a real SQLite file and a real PostgreSQL server started by
//! the test (binaries from Debian's `postgresql` package; `.ci/run` installs it): one live row
//! per name, compare-and-set transitions, per-IP usage, stats — and a faucet registering through
//! a PostgreSQL store.

mod common;
use bts_faucet::store::{NewRegistration, RegistrationState as S, SignedRecord, Store, StoreError};
use common::*;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn new_row(name: &str, ip: &str, referrer: &str) -> NewRegistration {
    NewRegistration {
        name: name.into(),
        owner_key: "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV".into(),
        active_key: "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV".into(),
        memo_key: "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV".into(),
        referrer: referrer.into(),
        referrer_id: "1.2.17".into(),
        referrer_percent: 5000,
        requested_referrer: None,
        refcode: Some("code-1".into()),
        remote_ip: ip.into(),
    }
}

async fn store_keeps_its_contract(url: &str) {
    let store = Store::open(url).await.unwrap();
    // Re-opening an existing store is fine (schema creation is idempotent).
    let store2 = Store::open(url).await.unwrap();
    store2.close().await;
    let now = 1_700_000_000;
    let id = store.insert_received(&new_row("alpha-1", "203.0.113.1", "faucet"), now).await.unwrap();
    // One live row per name.
    match store.insert_received(&new_row("alpha-1", "203.0.113.2", "faucet"), now).await {
        Err(StoreError::NameTaken(n)) => assert_eq!(n, "alpha-1"),
        other => panic!("expected NameTaken, got {other:?}"),
    }
    let signed = SignedRecord { tx_id: "ab".repeat(20), tx_json: "{}".into(), expiration: now + 120, fee: 514_648 };
    // Compare-and-set: only from the expected state.
    assert!(!store.mark_signed(id, S::Signed, &signed, now).await.unwrap());
    assert!(store.mark_signed(id, S::Received, &signed, now + 1).await.unwrap());
    assert!(!store.transition(id, S::Received, S::Broadcast, now).await.unwrap());
    assert!(store.transition(id, S::Signed, S::Broadcast, now + 2).await.unwrap());
    assert!(store.mark_included(id, S::Broadcast, Some(42), "1.2.18", now + 3).await.unwrap());
    assert!(store.transition(id, S::Included, S::Irreversible, now + 4).await.unwrap());
    let row = store.get(id).await.unwrap().unwrap();
    assert_eq!(row.state, S::Irreversible);
    assert_eq!((row.block_num, row.account_id.as_deref(), row.fee), (Some(42), Some("1.2.18"), Some(514_648)));
    assert_eq!(row.refcode.as_deref(), Some("code-1"));
    assert_eq!(row.created_at, now);
    assert_eq!(row.updated_at, now + 4);

    // A failed row frees the name.
    let id2 = store.insert_received(&new_row("beta-1", "203.0.113.1", "init1"), now + 10).await.unwrap();
    assert!(store.mark_failed(id2, S::Received, "node unavailable", now + 11).await.unwrap());
    let id3 = store.insert_received(&new_row("beta-1", "203.0.113.1", "init1"), now + 12).await.unwrap();
    assert_ne!(id2, id3);
    assert_eq!(store.by_name("beta-1").await.unwrap().len(), 2);
    assert_eq!(store.unfinished().await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![id3]);

    // Per-IP usage ignores failed rows.
    let (last, count) = store.ip_usage("203.0.113.1", now - 86_400).await.unwrap();
    assert_eq!((last, count), (Some(now + 12), 2));
    assert_eq!(store.ip_usage("198.51.100.1", now).await.unwrap(), (None, 0));

    // Upgrades and stats.
    assert_eq!(store.not_upgraded(0, 10).await.unwrap(), vec![(id, "1.2.18".to_owned())]);
    store.mark_upgraded(id, now + 20).await.unwrap();
    assert!(store.not_upgraded(0, 10).await.unwrap().is_empty());
    store.record_claim("1.13.0", 400_000, 100, "cd", now + 30).await.unwrap();
    let stats = store.stats(now + 40).await.unwrap();
    assert_eq!((stats.registered, stats.upgraded, stats.fees_paid), (1, 1, 514_648));
    assert_eq!((stats.cashback_claimed, stats.claim_fees_paid), (400_000, 100));
    assert_eq!(stats.per_referrer, vec![("faucet".into(), 1, 1)]);
    assert_eq!(stats.per_day, vec![("2023-11-14".into(), 1)]);
    let states: Vec<(String, i64)> = stats.by_state;
    assert_eq!(states, vec![("failed".into(), 1), ("irreversible".into(), 1), ("received".into(), 1)]);
    store.close().await;
}

#[tokio::test]
async fn sqlite_store_keeps_its_contract() {
    let dir = temp_dir("store-sqlite");
    store_keeps_its_contract(&format!("sqlite://{}", dir.join("store.db").display())).await;
}

/// A PostgreSQL server in a temporary directory on a free loopback port, stopped on drop.
struct Postgres {
    child: Child,
    dir: PathBuf,
    port: u16,
}

fn pg_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).filter(|p| p.join("initdb").exists()).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .expect("PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql; .ci/run does)")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Runs a PostgreSQL binary, as user `postgres` when we are root (PostgreSQL refuses root).
fn pg_command(bin: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

impl Postgres {
    async fn start(tag: &str) -> Self {
        let bin = pg_bin();
        let dir = temp_dir(tag);
        if is_root() {
            assert!(Command::new("chown").args(["-R", "postgres"]).arg(&dir).status().unwrap().success());
        }
        let data = dir.join("data");
        let out = pg_command(&bin.join("initdb"))
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = pg_command(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args(["-c", "fsync=off", "-c", "max_connections=50"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pg = Self { child, dir, port };
        for _ in 0..100 {
            if Store::open(&pg.url()).await.is_ok() {
                return pg;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("PostgreSQL did not accept connections on port {port}");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Stop the postmaster itself (when started through runuser, signals to the child we hold
        // are not forwarded); "immediate": the data is throwaway.
        let _ = pg_command(&pg_bin().join("pg_ctl"))
            .args(["-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn postgres_store_keeps_its_contract() {
    let pg = Postgres::start("pg-contract").await;
    store_keeps_its_contract(&pg.url()).await;
}

#[tokio::test]
async fn faucet_registers_exactly_once_through_a_postgres_store() {
    let pg = Postgres::start("pg-faucet").await;
    let devnet = devnet().await;
    let dir = temp_dir("pg-faucet-cfg");
    let mut c = config(&devnet, &dir);
    c.store = pg.url();
    let faucet = std::sync::Arc::new(faucet(c).await);
    // Twenty requests race for one name over pooled connections: the unique index lets one through.
    let body = wallet_body("pg-user-1", None);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (f, b) = (faucet.clone(), body.clone());
            tokio::spawn(async move { post(&f, "/api/v1/accounts", &b).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    let row = wait_for_state(&faucet, "pg-user-1", "irreversible").await;
    assert_eq!(row.account_id, account(&devnet, "pg-user-1").await["id"].as_str().map(str::to_owned));
    assert_eq!(creations_of(&devnet, "pg-user-1").await, 1);
    let stats = json_body(&get(&faucet, "/api/v1/stats").await);
    assert_eq!(stats["registered"], 1);
}
