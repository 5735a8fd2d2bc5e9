//! `bts-infra faucet` as an operator meets it: config validation naming the key, key-file
//! permission checks, key errors that never echo the key.

use std::process::{Command, Output};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bts-infra"));
    c.args(args).env_remove("BTS_FAUCET_WIF");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn temp(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("bts-faucet-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn example_config_is_valid_and_printable() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/faucet.example.toml");
    let out = run(&["faucet", "--config", example, "--check-config"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": ok\n"));
    let out = run(&["faucet", "--config", example, "--print-config"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("referrer_percent = 5000") && text.contains("ip_cooldown_seconds = 300"), "{text}");
}

#[test]
fn bad_config_names_the_key_and_exits_2() {
    let dir = temp("badcfg");
    let path = dir.join("f.toml");
    std::fs::write(&path, "[registrar]\nname = \"faucet\"\n[referral]\nreferrer_percent = 20000\n").unwrap();
    let out = run(&["faucet", "--config", path.to_str().unwrap(), "--check-config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("referral.referrer_percent") && err.contains("basis points"), "{err}");
    let out = run(&["faucet"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config <file> is required"));
}

#[test]
fn registrar_key_file_must_be_private_and_is_never_echoed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp("keyfile");
    let key_path = dir.join("registrar.wif");
    let wif = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
    std::fs::write(&key_path, format!("{wif}\n")).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cfg = dir.join("f.toml");
    // Port 9 on loopback: nothing listens, so a start that passes the key check fails at the node.
    std::fs::write(
        &cfg,
        format!("node = \"ws://127.0.0.1:9\"\n[registrar]\nname = \"faucet\"\nwif_file = \"{}\"\n", key_path.display()),
    )
    .unwrap();
    let out = run(&["faucet", "--config", cfg.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is readable by group or others (mode 644); run chmod 600"), "{err}");
    assert!(!err.contains(wif));

    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(&["faucet", "--config", cfg.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("cannot use node ws://127.0.0.1:9"), "{err}");
    assert!(!err.contains(wif));

    // A broken key from the environment: named by variable, not echoed.
    let env_cfg = dir.join("env.toml");
    std::fs::write(&env_cfg, "node = \"ws://127.0.0.1:9\"\n[registrar]\nname = \"faucet\"\n").unwrap();
    let out = run(&["faucet", "--config", env_cfg.to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("environment variable BTS_FAUCET_WIF"));
    let out = run(
        &["faucet", "--config", env_cfg.to_str().unwrap()],
        &[("BTS_FAUCET_WIF", "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD4")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a valid WIF private key") && !err.contains("zkvFD4"), "{err}");
}
