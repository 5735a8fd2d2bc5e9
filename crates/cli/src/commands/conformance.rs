//! `bts-infra conformance`: sends the conformance suite to a node (or a gateway) and compares
//! its answers with what bitshares-core 7.0.2 answered (`bts-conformance`), or records them.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// The node or gateway to test: `ws://host:port` (HTTP is sent to the same port).
    #[arg(long, short = 'u', env = "BTS_CONFORMANCE_URL")]
    url: String,
    /// The funded lifetime member the broadcast cases spend from (a few BTS in fees).
    #[arg(long, default_value = "nathan")]
    account: String,
    /// File holding that account's active key (WIF); default: the public dev key.
    #[arg(long)]
    wif_file: Option<PathBuf>,
    /// Write the answers as a new record to this file instead of comparing (run it against a
    /// real witness_node 7.0.2 only: the record is what every other target is held to).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Compare with this record instead of the built-in witness_node 7.0.2 one.
    #[arg(long)]
    golden: Option<PathBuf>,
    /// Print every verdict, passes included.
    #[arg(long)]
    verbose: bool,
    /// Also compare the cases listed as known, deliberate differences (KNOWN_DIFFERENCES).
    #[arg(long)]
    strict: bool,
}

pub fn run(args: ConformanceArgs) -> Result<()> {
    let mut target = bts_conformance::Target::dev(&args.url)?;
    target.account = args.account.clone();
    if let Some(path) = &args.wif_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading --wif-file {}", path.display()))?;
        let wif = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or_default();
        target.key = bts_protocol::PrivateKey::from_wif(wif).context("--wif-file")?;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let observed = rt.block_on(bts_conformance::observe(&target))?;
    if let Some(path) = &args.record {
        std::fs::write(path, bts_conformance::record(&observed) + "\n")
            .with_context(|| format!("writing --record {}", path.display()))?;
        println!("recorded {} answers of {} to {}", observed.len(), args.url, path.display());
        return Ok(());
    }
    let golden_text = match &args.golden {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading --golden {}", p.display()))?,
        None => bts_conformance::GOLDEN.to_owned(),
    };
    let golden = bts_conformance::parse_golden(&golden_text)?;
    let exempt = if args.strict { &[][..] } else { bts_conformance::KNOWN_DIFFERENCES };
    let report = bts_conformance::compare(&golden, &observed, exempt);
    if args.verbose {
        for (o, v) in &report.results {
            if *v == bts_conformance::Verdict::Pass {
                println!("PASS   {}", o.key);
            }
        }
    }
    print!("{}", report.render());
    let (_, failed, _) = report.counts();
    if failed > 0 || !report.missing.is_empty() {
        bail!("{failed} answers of {} differ from witness_node 7.0.2", args.url);
    }
    Ok(())
}
