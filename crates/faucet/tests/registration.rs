//! The registration API against a real devnet over real sockets: the wallet's request, every
//! refusal message, referrers, limits, concurrency, node outages, cashback and upgrades.

mod common;
use bts_protocol::{
    AccountUpgradeOperation, Asset, Extensions, Operation, SignedTransaction, TaposRef, TimePointSec, Transaction,
    TransferOperation,
};
use common::*;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::Duration;

#[tokio::test]
async fn wallet_request_creates_the_account_with_its_keys_and_referrer() {
    let devnet = devnet().await;
    let dir = temp_dir("wallet");
    let faucet = faucet(config(&devnet, &dir)).await;
    let body = wallet_body("new-user-1", None);
    let r = post(&faucet, "/onboarding/api/v1/accounts", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.head.contains("access-control-allow-origin: *"), "{}", r.head);
    let [owner, active, memo] = wallet_keys("new-user-1", "correct horse battery staple");
    let ok = json_body(&r);
    assert_eq!(ok["account"]["name"], "new-user-1");
    assert_eq!(ok["account"]["owner_key"], owner);
    assert_eq!(ok["account"]["active_key"], active);
    assert_eq!(ok["account"]["memo_key"], memo);
    assert_eq!(ok["account"]["referrer"], "faucet");

    // The account exists on chain right away (the wallet looks it up next), with those keys.
    let a = account(&devnet, "new-user-1").await;
    assert_eq!(a["owner"]["key_auths"][0][0], owner);
    assert_eq!(a["active"]["key_auths"][0][0], active);
    assert_eq!(a["options"]["memo_key"], memo);
    assert_eq!(a["registrar"], "1.2.17");
    assert_eq!(a["referrer"], "1.2.17");
    assert_eq!(a["referrer_rewards_percentage"], 5000);
    assert_eq!(ok["account"]["id"], a["id"]);

    // The store followed it to the end, and it was paid once.
    let row = wait_for_state(&faucet, "new-user-1", "irreversible").await;
    assert_eq!(row.account_id.as_deref(), a["id"].as_str());
    assert!(row.fee.unwrap() > 0);
    assert_eq!(creations_of(&devnet, "new-user-1").await, 1);

    // A second request for the same name.
    let again = post(&faucet, "/api/v1/accounts", &body).await;
    assert_eq!((again.status, error_message(&again).as_str()), (409, "Account exists"));
    let status = json_body(&get(&faucet, "/api/v1/accounts/new-user-1/status").await);
    assert_eq!(status["account"]["available"], false);
    let status = json_body(&get(&faucet, "/api/v1/accounts/new-user-2/status").await);
    assert_eq!(status["account"]["available"], true);
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn every_refusal_has_its_own_message_in_the_wallets_shape() {
    let devnet = devnet().await;
    let dir = temp_dir("refusals");
    let mut c = config(&devnet, &dir);
    c.policy.deny_name_substrings = vec!["binance".into()];
    c.limits.max_body_bytes = 1024;
    let faucet = faucet(c).await;
    let [owner, active, memo] = wallet_keys("x", "p");
    let body = |name: &str, owner: &str, active: &str, memo: &str| {
        json!({"account": {"name": name, "owner_key": owner, "active_key": active, "memo_key": memo}}).to_string()
    };
    let wrong_prefix = owner.replacen("BTS", "STM", 1);
    let mut bad_checksum = owner.clone();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'a' { 'b' } else { 'a' });
    let cases: Vec<(String, u16, String)> = vec![
        ("not json".into(), 400, "Request body must be JSON like".into()),
        (json!({"account": {"owner_key": owner}}).to_string(), 400, "Please provide 'name'".into()),
        (json!({"account": {"name": "abc-1"}}).to_string(), 400, "Please provide 'owner_key'".into()),
        (
            body("Bad-Name1", &owner, &active, &memo),
            422,
            "Invalid account name 'Bad-Name1': each label must start with a lowercase letter".into(),
        ),
        (body("a..b1", &owner, &active, &memo), 422, "Invalid account name 'a..b1': has an empty label".into()),
        (
            body("alice", &owner, &active, &memo),
            422,
            "Premium names registration is not supported by this faucet".into(),
        ),
        (body("alice.bob", &owner, &active, &memo), 422, "Premium names registration".into()),
        (
            body("binance-9", &owner, &active, &memo),
            422,
            "Account name 'binance-9' is not allowed by this faucet".into(),
        ),
        (
            body("abc-1", &wrong_prefix, &active, &memo),
            422,
            format!("Invalid owner_key '{wrong_prefix}': invalid public key prefix \"STM\", expected \"BTS\""),
        ),
        (body("abc-1", &owner, &bad_checksum, &memo), 422, format!("Invalid active_key '{bad_checksum}': ")),
        (body("abc-1", &owner, &active, "BTS1"), 422, "Invalid memo_key 'BTS1': ".into()),
        (body("init1", &owner, &active, &memo), 409, "Account exists".into()),
        (
            json!({"account": {"name": "abc-1", "owner_key": owner, "active_key": active, "referrer": "Bad"}})
                .to_string(),
            400,
            "Invalid referrer 'Bad'".into(),
        ),
        ("x".repeat(2000), 400, "Request body is larger than 1024 bytes".into()),
    ];
    for (body, status, message) in cases {
        let r = post(&faucet, "/api/v1/accounts", &body).await;
        assert_eq!(r.status, status, "{message}: {}", r.body);
        assert!(r.head.contains("access-control-allow-origin: *"), "{}", r.head);
        assert!(error_message(&r).starts_with(&message), "expected {message:?}, got {}", r.body);
    }
    // Nothing was recorded for any of them.
    let stats = faucet.registrar().store().stats(i64::from(TimePointSec::now().secs())).await.unwrap();
    assert!(stats.by_state.is_empty(), "{:?}", stats.by_state);

    // CORS preflight as the browser sends it, on both paths.
    for path in ["/api/v1/accounts", "/onboarding/api/v1/accounts"] {
        let r = bts_testkit::http(None, faucet.addr(), "OPTIONS", path, "").await;
        assert!(r.status == 204 || r.status == 200, "{}", r.head);
        assert!(r.head.contains("access-control-allow-origin: *"));
        assert!(r.head.contains("access-control-allow-methods: post, get, options"));
        assert!(r.head.contains("content-type"), "{}", r.head);
    }
    let metrics = get(&faucet, "/metrics").await.body;
    assert!(metrics.contains("bts_faucet_refusals_total{reason=\"premium_name\"} 2"), "{metrics}");
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn referrer_is_used_only_when_it_is_a_member() {
    let devnet = devnet().await;
    let dir = temp_dir("referrer");
    let mut c = config(&devnet, &dir);
    c.referral.referrer_percent = 2500;
    let faucet = faucet(c).await;
    // init1 is a lifetime member: used, with the configured percent.
    let r = post(&faucet, "/api/v1/accounts", &wallet_body("ref-user-1", Some("init1"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json_body(&r)["account"]["referrer"], "init1");
    let a = account(&devnet, "ref-user-1").await;
    assert_eq!(a["referrer"], "1.2.7");
    assert_eq!(a["referrer_rewards_percentage"], 2500);
    // ref-user-1 is not a member: the default referrer (the registrar) is used instead.
    let r = post(&faucet, "/api/v1/accounts", &wallet_body("ref-user-2", Some("ref-user-1"))).await;
    assert_eq!(json_body(&r)["account"]["referrer"], "faucet");
    assert_eq!(account(&devnet, "ref-user-2").await["referrer"], "1.2.17");
    // Unknown referrer: default too.
    let r = post(&faucet, "/api/v1/accounts", &wallet_body("ref-user-3", Some("nobody-here"))).await;
    assert_eq!(json_body(&r)["account"]["referrer"], "faucet");
    // The path segment names a referrer when the body has none ("onboarding" is no account).
    let r = post(&faucet, "/init2/api/v1/accounts", &wallet_body("ref-user-4", None)).await;
    assert_eq!(json_body(&r)["account"]["referrer"], "init2");
    let r = post(&faucet, "/onboarding/api/v1/accounts", &wallet_body("ref-user-5", None)).await;
    assert_eq!(json_body(&r)["account"]["referrer"], "faucet");

    // Stats per referrer: JSON, HTML page and the CLI's table all read the same store.
    wait_for_state(&faucet, "ref-user-5", "included").await;
    let stats = json_body(&get(&faucet, "/api/v1/stats").await);
    assert_eq!(stats["registered"], 5);
    let per: Vec<(String, i64)> = stats["per_referrer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["referrer"].as_str().unwrap().to_owned(), r["accounts"].as_i64().unwrap()))
        .collect();
    assert_eq!(per, vec![("faucet".into(), 3), ("init1".into(), 1), ("init2".into(), 1)]);
    let page = get(&faucet, "/stats").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-referrer=\"init1\""), "{}", page.body);
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn per_ip_limits_use_forwarded_headers_only_from_trusted_proxies() {
    let devnet = devnet().await;
    let dir = temp_dir("limits");
    let mut c = config(&devnet, &dir);
    c.limits.ip_cooldown_seconds = 3600;
    c.limits.ip_daily_cap = 2;
    c.limits.trusted_proxies = vec!["127.0.0.2".into()];
    c.limits.deny_ips = vec!["198.51.100.0/24".into()];
    let faucet = faucet(c).await;
    let direct: IpAddr = "127.0.0.1".parse().unwrap();
    let proxy: IpAddr = "127.0.0.2".parse().unwrap();

    let r = post_from(&faucet, direct, &[], &wallet_body("ip-user-1", None)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // An untrusted peer's forwarded headers are ignored: still 127.0.0.1, still cooling down.
    let spoof =
        [("X-Forwarded-For", "203.0.113.50"), ("X-Real-IP", "203.0.113.51"), ("CF-Connecting-IP", "203.0.113.52")];
    let r = post_from(&faucet, direct, &spoof, &wallet_body("ip-user-2", None)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(error_message(&r).starts_with("Only one account per IP every 3600 seconds; try again in "), "{}", r.body);

    // Through the trusted proxy, the forwarded client counts.
    let r = post_from(&faucet, proxy, &[("X-Forwarded-For", "203.0.113.7")], &wallet_body("ip-user-3", None)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rows = faucet.registrar().store().by_name("ip-user-3").await.unwrap();
    assert_eq!(rows[0].remote_ip, "203.0.113.7");
    let r = post_from(&faucet, proxy, &[("X-Forwarded-For", "203.0.113.7")], &wallet_body("ip-user-4", None)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let r = post_from(&faucet, proxy, &[("CF-Connecting-IP", "198.51.100.9")], &wallet_body("ip-user-5", None)).await;
    assert_eq!((r.status, error_message(&r).as_str()), (403, "Registrations from 198.51.100.9 are not allowed"));
    faucet.shutdown(Duration::from_secs(2)).await;

    // Daily cap: no cooldown, 2 per day.
    let dir = temp_dir("limits-cap");
    let mut c = config(&devnet, &dir);
    c.limits.ip_daily_cap = 2;
    let faucet = common::faucet(c).await;
    for (i, expected) in [(6, 201), (7, 201), (8, 429)] {
        let r = post(&faucet, "/api/v1/accounts", &wallet_body(&format!("ip-user-{i}"), None)).await;
        assert_eq!(r.status, expected, "{}", r.body);
    }
    let r = post(&faucet, "/api/v1/accounts", &wallet_body("ip-user-9", None)).await;
    assert_eq!(error_message(&r), "No more than 2 accounts per IP per day");
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn global_rate_limit_refuses_beyond_the_quota() {
    let devnet = devnet().await;
    let dir = temp_dir("global");
    let mut c = config(&devnet, &dir);
    c.limits.global_per_minute = 2;
    let faucet = faucet(c).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(post(&faucet, "/api/v1/accounts", &wallet_body(&format!("rate-user-{i}"), None)).await);
    }
    assert_eq!(statuses.iter().map(|r| r.status).collect::<Vec<_>>(), vec![201, 201, 429]);
    assert!(error_message(&statuses[2]).starts_with("The faucet is busy (more than 2 registrations per minute)"));
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn fifty_parallel_requests_for_one_name_register_it_exactly_once() {
    let devnet = devnet().await;
    let dir = temp_dir("parallel");
    let faucet = std::sync::Arc::new(faucet(config(&devnet, &dir)).await);
    let body = wallet_body("race-name-1", None);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (f, b) = (faucet.clone(), body.clone());
            tokio::spawn(async move { post(&f, "/api/v1/accounts", &b).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            201 => created += 1,
            409 => {
                let m = error_message(&r);
                assert!(m == "Account exists" || m == "Account 'race-name-1' is already being registered", "{m}");
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(creations_of(&devnet, "race-name-1").await, 1);
    let rows = faucet.registrar().store().by_name("race-name-1").await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
}

#[tokio::test]
async fn node_outage_gives_a_try_again_error_and_records_nothing_live() {
    let devnet = devnet().await;
    let dir = temp_dir("outage");
    let mut c = config(&devnet, &dir);
    c.timing.broadcast_timeout_seconds = 2;
    let faucet = faucet(c).await;
    let admin = devnet.admin_url().unwrap();
    let admin_addr: std::net::SocketAddr = admin.trim_start_matches("http://").parse().unwrap();
    let r = bts_testkit::http(None, admin_addr, "PATCH", "/nodes/0/faults", r#"{"refuse":true}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    bts_testkit::http(None, admin_addr, "POST", "/nodes/0/drop", "").await;
    let r = post(&faucet, "/api/v1/accounts", &wallet_body("outage-1", None)).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(
        error_message(&r),
        "The BitShares node is unavailable; nothing was registered, please try again in a minute"
    );
    let health = get(&faucet, "/health").await;
    assert_eq!((health.status, json_body(&health)["status"].as_str()), (503, Some("down")));
    assert!(faucet.registrar().store().by_name("outage-1").await.unwrap().is_empty());
    // The node comes back: the same request succeeds.
    bts_testkit::http(None, admin_addr, "DELETE", "/nodes/0/faults", "").await;
    let mut last = None;
    for _ in 0..50 {
        let r = post(&faucet, "/api/v1/accounts", &wallet_body("outage-1", None)).await;
        if r.status == 201 {
            last = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(last.is_some(), "the faucet never recovered");
    faucet.shutdown(Duration::from_secs(2)).await;
}

async fn sign_and_send(devnet: &bts_devnet::Devnet, op: Operation, key: &bts_protocol::PrivateKey) {
    let dgp = node_call(devnet, "get_dynamic_global_properties", json!([])).await;
    let head = dgp["head_block_id"].as_str().unwrap().parse().unwrap();
    let time: TimePointSec = dgp["time"].as_str().unwrap().parse().unwrap();
    let fee = node_call(devnet, "get_required_fees", json!([[op], "1.3.0"])).await[0]["amount"].as_i64().unwrap();
    let mut op = op;
    op.set_fee(Asset::core(fee));
    let mut tx = SignedTransaction::from(Transaction::new(
        TaposRef::from_block_id(&head),
        time.checked_add(60).unwrap(),
        vec![op],
    ));
    tx.sign(key, &devnet.chain_id()).unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call",
        "params": ["network_broadcast", "broadcast_transaction_synchronous", [tx]]});
    let r = bts_testkit::http(None, devnet.endpoints()[0].addr(), "POST", "/", &body.to_string()).await;
    assert!(r.body.contains("block_num"), "{}", r.body);
}

#[tokio::test]
async fn cashback_is_claimed_and_lifetime_upgrades_are_counted() {
    let devnet = devnet().await;
    let dir = temp_dir("funds");
    let mut c = config(&devnet, &dir);
    c.funds.claim_threshold = 1;
    let faucet = faucet(c).await;
    let r = post(&faucet, "/api/v1/accounts", &wallet_body("upgrade-me-1", Some("init3"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id: bts_protocol::AccountId = json_body(&r)["account"]["id"].as_str().unwrap().parse().unwrap();

    // Fund the new account and upgrade it to lifetime membership, signed with its active key.
    let transfer = Operation::Transfer(TransferOperation {
        fee: Asset::core(0),
        from: "1.2.17".parse().unwrap(),
        to: id,
        amount: Asset::core(20_000 * 100_000),
        memo: None,
        extensions: Extensions,
    });
    sign_and_send(&devnet, transfer, &registrar_key()).await;
    let active = bts_protocol::PrivateKey::from_password(
        "upgrade-me-1",
        bts_protocol::KeyRole::Active,
        "correct horse battery staple",
    )
    .unwrap();
    let upgrade = Operation::AccountUpgrade(AccountUpgradeOperation {
        fee: Asset::core(0),
        account_to_upgrade: id,
        upgrade_to_lifetime_member: true,
        extensions: Extensions,
    });
    sign_and_send(&devnet, upgrade, &active).await;

    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = json_body(&get(&faucet, "/api/v1/stats").await);
        if stats["lifetime_upgrades"] == 1 && stats["cashback_claimed"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(stats["lifetime_upgrades"], 1, "{stats}");
    assert_eq!(stats["per_referrer"][0]["referrer"], "init3");
    assert_eq!(stats["per_referrer"][0]["lifetime_upgrades"], 1);
    // The registrar paid the fee and got (100 % − network 20 %) of it back as cashback, now claimed.
    let fees = stats["fees_paid"].as_i64().unwrap();
    let claimed = stats["cashback_claimed"].as_i64().unwrap();
    assert!(claimed >= fees * 8 / 10, "claimed {claimed} of fees {fees}: {stats}");
    let metrics = get(&faucet, "/metrics").await.body;
    assert!(metrics.contains(&format!("bts_faucet_cashback_claimed_satoshis_total {claimed}")), "{metrics}");
    let vesting = node_call(&devnet, "get_vesting_balances", json!(["faucet"])).await;
    let left: i64 = vesting.as_array().unwrap().iter().map(|v| v["balance"]["amount"].as_i64().unwrap()).sum();
    assert!(left < claimed, "vesting left {left}");
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn low_balance_makes_health_degraded_and_sets_the_metric() {
    let devnet = devnet().await;
    let dir = temp_dir("lowbal");
    let mut c = config(&devnet, &dir);
    c.funds.low_balance = i64::MAX;
    let faucet = faucet(c).await;
    let mut health = Value::Null;
    for _ in 0..50 {
        health = json_body(&get(&faucet, "/health").await);
        if health["status"] == "degraded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(health["reasons"][0].as_str().unwrap().starts_with("registrar balance "), "{health}");
    assert!(get(&faucet, "/metrics").await.body.contains("bts_faucet_low_balance 1"));
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn metrics_pass_promtool() {
    let devnet = devnet().await;
    let dir = temp_dir("promtool");
    let faucet = faucet(config(&devnet, &dir)).await;
    post(&faucet, "/api/v1/accounts", &wallet_body("metric-user-1", None)).await;
    post(&faucet, "/api/v1/accounts", &wallet_body("alice", None)).await;
    let text = get(&faucet, "/metrics").await.body;
    let path = dir.join("metrics.txt");
    std::fs::write(&path, &text).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .expect("promtool is installed (.ci/run installs prometheus)");
    assert!(
        out.status.success(),
        "{}\n{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn wrong_registrar_key_or_chain_is_refused_at_start() {
    let devnet = devnet().await;
    let dir = temp_dir("startchecks");
    let c = config(&devnet, &dir);
    let e =
        bts_faucet::Faucet::start(c.clone(), bts_protocol::PrivateKey::from_seed("other").unwrap()).await.unwrap_err();
    assert!(e.to_string().contains("is not an active key of 'faucet'"), "{e}");
    let mut wrong = c.clone();
    wrong.chain_id = Some("00".repeat(32));
    let e = bts_faucet::Faucet::start(wrong, registrar_key()).await.unwrap_err();
    assert!(e.to_string().contains("expected 0000"), "{e}");
    let mut not_member = c;
    not_member.registrar.name = "init0-nope".into();
    let e = bts_faucet::Faucet::start(not_member, registrar_key()).await.unwrap_err();
    assert!(e.to_string().contains("account 'init0-nope' does not exist"), "{e}");
}

#[tokio::test]
async fn a_testnet_prefix_chain_takes_test_keys_and_refuses_bts_keys() {
    let devnet = bts_devnet::Devnet::start(bts_devnet::DevnetConfig {
        nodes: 1,
        block_interval: 1,
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_listen: None,
        prefix: bts_protocol::AddressPrefix::new("TEST").unwrap(),
        registrar_key: Some(registrar_key()),
        ..bts_devnet::DevnetConfig::default()
    })
    .await
    .unwrap();
    let dir = temp_dir("testnet");
    let faucet = faucet(config(&devnet, &dir)).await;
    let [owner, active, memo] = wallet_keys("test-net-1", "pw").map(|k| k.replacen("BTS", "TEST", 1));
    let body = json!({"account": {"name": "test-net-1", "owner_key": owner, "active_key": active, "memo_key": memo}});
    let r = post(&faucet, "/api/v1/accounts", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(account(&devnet, "test-net-1").await["owner"]["key_auths"][0][0], owner);
    let r = post(&faucet, "/api/v1/accounts", &wallet_body("test-net-2", None)).await;
    assert_eq!(r.status, 422);
    assert!(error_message(&r).contains("invalid public key prefix \"BTS\", expected \"TEST\""), "{}", r.body);
    faucet.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn admin_view_needs_loopback_or_the_token() {
    let devnet = devnet().await;
    let dir = temp_dir("admin");
    let mut c = config(&devnet, &dir);
    c.admin.token = Some("a-long-admin-token-0123".into());
    let faucet = faucet(c).await;
    post(&faucet, "/api/v1/accounts", &wallet_body("admin-user-1", None)).await;
    let addr = faucet.addr();
    let get_with = |auth: &'static str| async move {
        let headers = [("Authorization", auth)];
        bts_testkit::http_with_headers(None, addr, "GET", "/admin/registrations/admin-user-1", &headers, "").await
    };
    let denied = get_with("Bearer wrong-token").await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    let allowed = get_with("Bearer a-long-admin-token-0123").await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    let rows = json_body(&allowed)["registrations"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "admin-user-1");
    faucet.shutdown(Duration::from_secs(2)).await;
}
