//! `bts-infra key …`: what an operator needs to set up a faucet registrar or check a key.

use super::read_stdin;
use anyhow::{Context, Result};
use bts_protocol::{AddressPrefix, KeyRole, PrivateKey};
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new key pair from the OS random number generator.
    New {
        /// Address prefix of the chain the public key is for (BTS on mainnet, TEST on testnet).
        #[arg(long, default_value = "BTS")]
        prefix: AddressPrefix,
        /// Print one JSON object instead of `name: value` lines.
        #[arg(long)]
        json: bool,
    },
    /// Print the public key of a WIF private key.
    Pub {
        /// The WIF; omit it (or give `-`) to read it from stdin, which keeps it out of shell history.
        wif: Option<String>,
        /// Address prefix for the printed public key.
        #[arg(long, default_value = "BTS")]
        prefix: AddressPrefix,
    },
    /// Derive the web wallet's password keys: sha256(account + role + password).
    FromPassword {
        /// Account name the password belongs to.
        account: String,
        /// The password; give `-` to read it from stdin.
        password: String,
        /// Only this role (owner, active or memo); all three when omitted.
        #[arg(long)]
        role: Option<KeyRole>,
        /// Address prefix for the printed public keys.
        #[arg(long, default_value = "BTS")]
        prefix: AddressPrefix,
        /// Print JSON instead of `name: value` lines.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::New { prefix, json } => {
            let key = PrivateKey::generate()?;
            print_pairs(json, &[("wif", key.to_wif()), ("public_key", key.public_key(prefix).to_string())]);
        }
        KeyCommand::Pub { wif, prefix } => {
            let wif = match wif.as_deref() {
                None | Some("-") => read_stdin("a WIF private key")?,
                Some(w) => w.to_owned(),
            };
            let key = PrivateKey::from_wif(wif.trim())?;
            println!("{}", key.public_key(prefix));
        }
        KeyCommand::FromPassword { account, password, role, prefix, json } => {
            let password = if password == "-" {
                let text = read_stdin("a password")?;
                text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_owned()
            } else {
                password
            };
            let roles = role.map_or(KeyRole::ALL.to_vec(), |r| vec![r]);
            let mut rows = Vec::new();
            for role in roles {
                let key = PrivateKey::from_password(&account, role, &password)
                    .with_context(|| format!("deriving the {role} key"))?;
                rows.push((role, key.to_wif(), key.public_key(prefix).to_string()));
            }
            if json {
                let obj: serde_json::Map<_, _> = rows
                    .iter()
                    .map(|(role, wif, public)| (role.to_string(), json!({"wif": wif, "public_key": public})))
                    .collect();
                println!("{}", serde_json::Value::Object(obj));
            } else {
                for (role, wif, public) in rows {
                    println!("{role}_wif: {wif}");
                    println!("{role}_public_key: {public}");
                }
            }
        }
    }
    Ok(())
}

fn print_pairs(json: bool, pairs: &[(&str, String)]) {
    if json {
        let obj: serde_json::Map<_, _> = pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        println!("{}", serde_json::Value::Object(obj));
    } else {
        for (k, v) in pairs {
            println!("{k}: {v}");
        }
    }
}
