//! Transactions: TaPoS, expiration, the signing digest, the transaction id, and signing.
//!
//! - digest = `SHA256(chain_id ‖ unsigned serialization)`; tx id = first 20 bytes of
//!   `SHA256(unsigned serialization)` (protocol.md §4.3).
//! - TaPoS: `ref_block_num = block_num & 0xffff`, `ref_block_prefix` = bytes 4..8 of the block id
//!   read little-endian (§4.2).

use crate::authority::Extensions;
use crate::error::{Error, Result};
use crate::id::{BlockId, ChainId, Digest, TransactionId};
use crate::json;
use crate::keys::{AddressPrefix, PrivateKey, PublicKey};
use crate::operations::Operation;
use crate::pack::{Pack, Reader, Unpack};
use crate::signature::CompactSignature;
use crate::time::TimePointSec;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The reference-block fields of a transaction (Transactions as Proof of Stake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaposRef {
    /// Low 16 bits of the referenced block's number.
    pub ref_block_num: u16,
    /// Bytes 4..8 of the referenced block's id, little-endian.
    pub ref_block_prefix: u32,
}

impl TaposRef {
    /// The reference to the block with this id.
    pub fn from_block_id(id: &BlockId) -> Self {
        let b = id.as_bytes();
        Self {
            ref_block_num: (id.block_num() & 0xffff) as u16,
            ref_block_prefix: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// Why the node would refuse a transaction's expiration (texts as `witness_node` words them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExpirationError {
    /// `expiration < head_block_time`.
    #[error("Assert Exception: now <= trx.expiration: ")]
    Expired,
    /// `expiration > head_block_time + maximum_time_until_expiration`.
    #[error("Assert Exception: trx.expiration <= now + chain_parameters.maximum_time_until_expiration: ")]
    TooFarAhead,
}

/// Checks `head_time <= expiration <= head_time + max_time_until_expiration` (seconds), as
/// `database::validate_transaction` does.
pub fn check_expiration(
    expiration: TimePointSec,
    head_time: TimePointSec,
    max_time_until_expiration: u32,
) -> Result<(), ExpirationError> {
    if expiration < head_time {
        return Err(ExpirationError::Expired);
    }
    if u64::from(expiration.secs()) > u64::from(head_time.secs()) + u64::from(max_time_until_expiration) {
        return Err(ExpirationError::TooFarAhead);
    }
    Ok(())
}

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// TaPoS block number (low 16 bits).
    #[serde(with = "json::int")]
    pub ref_block_num: u16,
    /// TaPoS block id prefix.
    #[serde(with = "json::int")]
    pub ref_block_prefix: u32,
    /// The transaction is invalid after this time.
    pub expiration: TimePointSec,
    /// Operations, applied in order.
    pub operations: Vec<Operation>,
    /// Reserved, empty.
    #[serde(default)]
    pub extensions: Extensions,
}
crate::graphene_struct!(Transaction { ref_block_num, ref_block_prefix, expiration, operations, extensions });

impl Transaction {
    /// A transaction referencing the block `tapos` and expiring at `expiration`.
    pub fn new(tapos: TaposRef, expiration: TimePointSec, operations: Vec<Operation>) -> Self {
        Self {
            ref_block_num: tapos.ref_block_num,
            ref_block_prefix: tapos.ref_block_prefix,
            expiration,
            operations,
            extensions: Extensions,
        }
    }

    /// Points the transaction at a reference block.
    pub fn set_reference_block(&mut self, id: &BlockId) {
        let t = TaposRef::from_block_id(id);
        self.ref_block_num = t.ref_block_num;
        self.ref_block_prefix = t.ref_block_prefix;
    }

    /// The TaPoS fields.
    pub fn tapos(&self) -> TaposRef {
        TaposRef { ref_block_num: self.ref_block_num, ref_block_prefix: self.ref_block_prefix }
    }

    /// The unsigned serialization (what is hashed for the id and the digest).
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        self.to_bytes()
    }

    /// `SHA256(chain_id ‖ unsigned bytes)`: what signatures sign.
    pub fn digest(&self, chain_id: &ChainId) -> Digest {
        let mut h = Sha256::new();
        h.update(chain_id.as_bytes());
        h.update(self.unsigned_bytes());
        Digest(h.finalize().into())
    }

    /// First 20 bytes of `SHA256(unsigned bytes)`.
    pub fn id(&self) -> TransactionId {
        let full: [u8; 32] = Sha256::digest(self.unsigned_bytes()).into();
        let mut id = [0u8; 20];
        id.copy_from_slice(&full[..20]);
        TransactionId(id)
    }

    /// Checks that every public key in the transaction uses the chain's prefix, as the node's
    /// JSON parser does.
    pub fn check_key_prefixes(&self, expected: AddressPrefix) -> Result<()> {
        for key in self.operations.iter().flat_map(Operation::public_keys) {
            if key.prefix() != expected {
                return Err(Error::WrongKeyPrefix { found: key.prefix().to_string(), expected: expected.to_string() });
            }
        }
        Ok(())
    }
}

/// A transaction with its signatures. JSON: the transaction's fields plus `signatures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTransaction {
    /// The signed content.
    #[serde(flatten)]
    pub transaction: Transaction,
    /// Compact signatures over [`Transaction::digest`].
    #[serde(default)]
    pub signatures: Vec<CompactSignature>,
}
crate::graphene_struct!(SignedTransaction { transaction, signatures });

impl From<Transaction> for SignedTransaction {
    fn from(transaction: Transaction) -> Self {
        Self { transaction, signatures: Vec::new() }
    }
}

impl SignedTransaction {
    /// Appends a canonical signature by `key` for the chain `chain_id`.
    pub fn sign(&mut self, key: &PrivateKey, chain_id: &ChainId) -> Result<CompactSignature> {
        let sig = key.sign_digest(&self.transaction.digest(chain_id))?;
        self.signatures.push(sig);
        Ok(sig)
    }

    /// The keys that signed, in signature order; fails on the first non-canonical or
    /// unrecoverable signature, as the node does.
    pub fn signers(&self, chain_id: &ChainId, prefix: AddressPrefix) -> Result<Vec<PublicKey>> {
        let digest = self.transaction.digest(chain_id);
        self.signatures.iter().map(|s| s.recover_canonical(&digest, prefix)).collect()
    }

    /// The full serialization including signatures (what `get_transaction_hex` returns).
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.to_bytes()
    }

    /// Decodes a signed transaction from its binary form.
    pub fn from_signed_bytes(bytes: &[u8], prefix: AddressPrefix) -> Result<Self> {
        let mut r = Reader::new(bytes, prefix);
        let tx = Self::unpack(&mut r)?;
        r.finish()?;
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_window_is_inclusive_at_both_ends() {
        let head = TimePointSec(1000);
        assert_eq!(check_expiration(TimePointSec(1000), head, 60), Ok(()));
        assert_eq!(check_expiration(TimePointSec(1060), head, 60), Ok(()));
        assert_eq!(check_expiration(TimePointSec(999), head, 60), Err(ExpirationError::Expired));
        assert_eq!(check_expiration(TimePointSec(1061), head, 60), Err(ExpirationError::TooFarAhead));
        assert_eq!(check_expiration(TimePointSec::MAX, TimePointSec::MAX, 60), Ok(()));
    }
}
