//! Persistence in a data directory: `genesis.json`, one block per line in `blocks.jsonl`, and the
//! registrar's WIF (`registrar.wif`, mode 0600) when the devnet generated it. A restarted devnet
//! replays the blocks and continues the same chain.

use bts_protocol::{PrivateKey, SignedBlock};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// A failure reading or writing the data directory.
#[derive(Debug, thiserror::Error)]
#[error("data dir {path}: {reason}")]
pub struct StoreError {
    /// The file involved.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

fn err(path: &Path, reason: impl ToString) -> StoreError {
    StoreError { path: path.to_owned(), reason: reason.to_string() }
}

/// The block log of a data directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    blocks: File,
}

impl Store {
    /// Opens (creating) the data directory.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let path = dir.join("blocks.jsonl");
        let blocks = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| err(&path, e))?;
        Ok(Self { dir: dir.to_owned(), blocks })
    }

    /// The stored genesis text, if the directory holds a chain.
    pub fn genesis(&self) -> Result<Option<String>, StoreError> {
        let path = self.dir.join("genesis.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(&path, e)),
        }
    }

    /// Writes the genesis of a new chain.
    pub fn write_genesis(&self, text: &str) -> Result<(), StoreError> {
        let path = self.dir.join("genesis.json");
        std::fs::write(&path, text).map_err(|e| err(&path, e))
    }

    /// Reads every stored block, oldest first.
    pub fn blocks(&self) -> Result<Vec<SignedBlock>, StoreError> {
        let path = self.dir.join("blocks.jsonl");
        let file = File::open(&path).map_err(|e| err(&path, e))?;
        let mut out = Vec::new();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| err(&path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(&line) {
                Ok(b) => out.push(b),
                // A torn last line (crash mid-write) is dropped; anything earlier is corruption.
                Err(e) => {
                    tracing::warn!(path = %path.display(), line = n + 1, error = %e, "ignoring unreadable block line");
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Appends a block durably.
    pub fn append(&mut self, block: &SignedBlock) -> Result<(), StoreError> {
        let path = self.dir.join("blocks.jsonl");
        let mut line = serde_json::to_string(block).map_err(|e| err(&path, e))?;
        line.push('\n');
        self.blocks.write_all(line.as_bytes()).map_err(|e| err(&path, e))?;
        self.blocks.sync_data().map_err(|e| err(&path, e))
    }

    /// The registrar key saved by an earlier run that generated it.
    pub fn registrar_key(&self) -> Result<Option<PrivateKey>, StoreError> {
        let path = self.dir.join("registrar.wif");
        match std::fs::read_to_string(&path) {
            Ok(text) => PrivateKey::from_wif(text.trim()).map(Some).map_err(|e| err(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(&path, e)),
        }
    }

    /// Saves a generated registrar key, readable only by the owner.
    pub fn save_registrar_key(&self, key: &PrivateKey) -> Result<PathBuf, StoreError> {
        let path = self.dir.join("registrar.wif");
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&path).map_err(|e| err(&path, e))?;
        f.write_all(format!("{}\n", key.to_wif()).as_bytes()).map_err(|e| err(&path, e))?;
        Ok(path)
    }
}
