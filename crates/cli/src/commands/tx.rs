//! `bts-infra tx …`: inspect, sign and verify transactions in the node's JSON form.

use super::read_stdin;
use anyhow::{Context, Result, anyhow, bail};
use bts_protocol::{AddressPrefix, ChainId, PrivateKey, SignedTransaction};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;

/// Chain selection shared by the tx subcommands.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// Address prefix every public key in the transaction must carry.
    #[arg(long, default_value = "BTS")]
    prefix: AddressPrefix,
}

#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// Print the unsigned hex, the transaction id and (with --chain-id) the signing digest.
    Inspect {
        /// Chain id (64 hex characters, or `mainnet` / `testnet`) to compute the signing digest.
        #[arg(long, value_parser = parse_chain_id)]
        chain_id: Option<ChainId>,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// Sign the transaction on stdin; prints it with `signatures` filled in.
    Sign {
        /// Chain id (64 hex characters, or `mainnet` / `testnet`).
        #[arg(long, value_parser = parse_chain_id)]
        chain_id: ChainId,
        /// File holding WIF private key(s), one per line; each key adds one signature.
        #[arg(long)]
        wif_file: PathBuf,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// Print an example unsigned transaction holding one operation, to show its JSON shape
    /// (fields in the node's order; the values are placeholders, not a valid chain action).
    Example {
        /// Operation name (`limit_order_create`) or tag (`1`); `list` prints every tag and name.
        operation: String,
        /// Varies the example: even seeds leave optional members out, odd seeds fill them in.
        #[arg(long, default_value_t = 1)]
        seed: u32,
    },
    /// Print the public keys that signed the transaction on stdin, one per line.
    Verify {
        /// Chain id (64 hex characters, or `mainnet` / `testnet`).
        #[arg(long, value_parser = parse_chain_id)]
        chain_id: ChainId,
        #[command(flatten)]
        chain: ChainArgs,
    },
}

fn parse_chain_id(s: &str) -> Result<ChainId, String> {
    match s {
        "mainnet" => Ok(ChainId::MAINNET),
        "testnet" => Ok(ChainId::TESTNET),
        _ => s.parse().map_err(|e: bts_protocol::Error| e.to_string()),
    }
}

fn read_transaction(chain: &ChainArgs) -> Result<SignedTransaction> {
    let text = read_stdin("a transaction in the node's JSON form")?;
    let tx: SignedTransaction =
        serde_json::from_str(&text).map_err(|e| anyhow!("invalid transaction JSON on stdin: {e}"))?;
    tx.transaction.check_key_prefixes(chain.prefix)?;
    Ok(tx)
}

pub fn run(cmd: TxCommand) -> Result<()> {
    match cmd {
        TxCommand::Inspect { chain_id, chain } => {
            let tx = read_transaction(&chain)?;
            let mut out = json!({
                "unsigned_hex": hex::encode(tx.transaction.unsigned_bytes()),
                "unsigned_size": tx.transaction.unsigned_bytes().len(),
                "tx_id": tx.transaction.id().to_string(),
                "operations": tx.transaction.operations.iter().map(|op| json!({"tag": op.tag(), "name": op.name(), "pack_size": op.pack_size(), "fee_payer": op.fee_payer().to_string(), "virtual": op.is_virtual()})).collect::<Vec<_>>(),
            });
            if !tx.signatures.is_empty() {
                out["signed_hex"] = json!(hex::encode(tx.signed_bytes()));
            }
            if let Some(chain_id) = chain_id {
                out["digest"] = json!(tx.transaction.digest(&chain_id).to_string());
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        TxCommand::Sign { chain_id, wif_file, chain } => {
            let keys = read_wif_file(&wif_file)?;
            let mut tx = read_transaction(&chain)?;
            for key in &keys {
                tx.sign(key, &chain_id)?;
            }
            println!("{}", serde_json::to_string(&tx)?);
        }
        TxCommand::Example { operation, seed } => {
            if operation == "list" {
                for (tag, name) in bts_protocol::operations::OPERATION_NAMES.iter().enumerate() {
                    println!("{tag:>2} {name}");
                }
                return Ok(());
            }
            let names = &bts_protocol::operations::OPERATION_NAMES;
            let tag = match operation.parse::<u32>() {
                Ok(tag) if (tag as usize) < names.len() => tag,
                _ => names
                    .iter()
                    .position(|n| *n == operation.trim_end_matches("_operation"))
                    .map(|t| t as u32)
                    .ok_or_else(|| anyhow!("unknown operation \"{operation}\" (see `bts-infra tx example list`)"))?,
            };
            let op = bts_protocol::dynamic::example_operation(tag, seed, 0);
            // Through the typed form, so the output is exactly what we would sign.
            let op = bts_protocol::Operation::from_json(&op)?;
            let tx = json!({
                "ref_block_num": 0,
                "ref_block_prefix": 0,
                "expiration": "2026-01-01T00:00:00",
                "operations": [op],
                "extensions": [],
            });
            println!("{}", serde_json::to_string_pretty(&tx)?);
        }
        TxCommand::Verify { chain_id, chain } => {
            let tx = read_transaction(&chain)?;
            if tx.signatures.is_empty() {
                bail!("the transaction has no signatures");
            }
            let digest = tx.transaction.digest(&chain_id);
            for (i, sig) in tx.signatures.iter().enumerate() {
                let key = sig.recover_canonical(&digest, chain.prefix).with_context(|| format!("signature {i}"))?;
                println!("{key}");
            }
        }
    }
    Ok(())
}

fn read_wif_file(path: &PathBuf) -> Result<Vec<PrivateKey>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading --wif-file {}", path.display()))?;
    let keys = text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(n, l)| PrivateKey::from_wif(l).with_context(|| format!("--wif-file {} line {}", path.display(), n + 1)))
        .collect::<Result<Vec<_>>>()?;
    if keys.is_empty() {
        bail!("--wif-file {} holds no WIF key", path.display());
    }
    Ok(keys)
}
