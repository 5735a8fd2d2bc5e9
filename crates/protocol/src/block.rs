//! Blocks: headers, ids, witness signatures, merkle roots, and processed transactions.
//!
//! - Header digest (what the witness signs) = `SHA256(packed block_header)`.
//! - Block id = first 20 bytes of `SHA224(packed signed_block_header)` with bytes 0..4 replaced by
//!   the block number, big-endian (`block.cpp`).
//! - Merkle root = pairwise `SHA256(left ‖ right)` over `SHA256(packed processed_transaction)`,
//!   an odd last digest carried up, then `RIPEMD160` of the root; all zero for an empty block.

use crate::authority::{Asset, Extensions};
use crate::error::{Error, Result};
use crate::id::{BlockId, Digest, ObjectId, WitnessId};
use crate::keys::PrivateKey;
use crate::pack::{Pack, Reader, Unpack, pack_varint};
use crate::signature::CompactSignature;
use crate::time::TimePointSec;
use crate::transaction::SignedTransaction;
use ripemd::Ripemd160;
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use sha2::{Digest as _, Sha224, Sha256};

/// What an operation returned (`operation_result`): nothing, a new object's id, or an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationResult {
    /// Tag 0: `void_result`, JSON `[0,{}]`.
    Void,
    /// Tag 1: the id of a created object, JSON `[1,"1.2.18"]`.
    ObjectId(ObjectId),
    /// Tag 2: an amount, JSON `[2,{amount,asset_id}]`.
    Asset(Asset),
}

impl Pack for OperationResult {
    fn pack(&self, out: &mut Vec<u8>) {
        match self {
            OperationResult::Void => pack_varint(0, out),
            OperationResult::ObjectId(id) => {
                pack_varint(1, out);
                id.pack(out);
            }
            OperationResult::Asset(a) => {
                pack_varint(2, out);
                a.pack(out);
            }
        }
    }
}

impl Unpack for OperationResult {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        match r.varint()? {
            0 => Ok(OperationResult::Void),
            1 => Ok(OperationResult::ObjectId(ObjectId::unpack(r)?)),
            2 => Ok(OperationResult::Asset(Asset::unpack(r)?)),
            tag => Err(Error::InvalidVariantTag { what: "operation_result", tag }),
        }
    }
}

impl Serialize for OperationResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        match self {
            OperationResult::Void => {
                t.serialize_element(&0)?;
                t.serialize_element(&serde_json::json!({}))?;
            }
            OperationResult::ObjectId(id) => {
                t.serialize_element(&1)?;
                t.serialize_element(id)?;
            }
            OperationResult::Asset(a) => {
                t.serialize_element(&2)?;
                t.serialize_element(a)?;
            }
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for OperationResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (tag, value): (u64, serde_json::Value) = Deserialize::deserialize(d)?;
        match tag {
            0 => Ok(OperationResult::Void),
            1 => serde_json::from_value(value).map(OperationResult::ObjectId).map_err(de::Error::custom),
            2 => serde_json::from_value(value).map(OperationResult::Asset).map_err(de::Error::custom),
            n => Err(de::Error::custom(format_args!("unsupported operation_result tag {n}"))),
        }
    }
}

/// A transaction as included in a block: signed, with the operations' results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessedTransaction {
    /// The signed transaction.
    #[serde(flatten)]
    pub signed: SignedTransaction,
    /// One result per operation.
    pub operation_results: Vec<OperationResult>,
}
crate::graphene_struct!(ProcessedTransaction { signed, operation_results });

impl ProcessedTransaction {
    /// `merkle_digest()`: SHA-256 of the packed processed transaction.
    pub fn merkle_digest(&self) -> Digest {
        Digest(Sha256::digest(self.to_bytes()).into())
    }
}

/// The merkle root of a block's transactions (all zero when there are none).
pub fn merkle_root(transactions: &[ProcessedTransaction]) -> [u8; 20] {
    if transactions.is_empty() {
        return [0; 20];
    }
    let mut level: Vec<[u8; 32]> = transactions.iter().map(|t| t.merkle_digest().0).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => {
                    let mut h = Sha256::new();
                    h.update(l);
                    h.update(r);
                    h.finalize().into()
                }
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    Ripemd160::digest(level[0]).into()
}

/// `block_header`: what a witness signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Id of the previous block (all zero before block 1).
    pub previous: BlockId,
    /// Slot time of this block.
    pub timestamp: TimePointSec,
    /// The witness that produced it.
    pub witness: WitnessId,
    /// RIPEMD-160 merkle root of the transactions, hex in JSON.
    #[serde(with = "hex20")]
    pub transaction_merkle_root: [u8; 20],
    /// Reserved, empty.
    #[serde(default)]
    pub extensions: Extensions,
}
crate::graphene_struct!(BlockHeader { previous, timestamp, witness, transaction_merkle_root, extensions });

mod hex20 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    pub fn serialize<S: Serializer>(v: &[u8; 20], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 20], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; 20];
        hex::decode_to_slice(s.as_ref(), &mut out).map_err(D::Error::custom)?;
        Ok(out)
    }
}

impl Pack for [u8; 20] {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Unpack for [u8; 20] {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        r.take_array("20-byte hash")
    }
}

impl BlockHeader {
    /// Block number: one more than the previous block's.
    pub fn block_num(&self) -> u32 {
        self.previous.block_num() + 1
    }

    /// `digest()`: SHA-256 of the packed header, signed by the witness.
    pub fn digest(&self) -> Digest {
        Digest(Sha256::digest(self.to_bytes()).into())
    }
}

/// A full block: header, witness signature and transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBlock {
    /// The header fields.
    #[serde(flatten)]
    pub header: BlockHeader,
    /// The witness's signature over [`BlockHeader::digest`].
    pub witness_signature: CompactSignature,
    /// Included transactions.
    pub transactions: Vec<ProcessedTransaction>,
}
crate::graphene_struct!(SignedBlock { header, witness_signature, transactions });

impl SignedBlock {
    /// Builds and signs a block.
    pub fn sign(
        previous: BlockId,
        timestamp: TimePointSec,
        witness: WitnessId,
        transactions: Vec<ProcessedTransaction>,
        key: &PrivateKey,
    ) -> Result<Self> {
        let header = BlockHeader {
            previous,
            timestamp,
            witness,
            transaction_merkle_root: merkle_root(&transactions),
            extensions: Extensions,
        };
        let witness_signature = key.sign_digest(&header.digest())?;
        Ok(Self { header, witness_signature, transactions })
    }

    /// Block number.
    pub fn block_num(&self) -> u32 {
        self.header.block_num()
    }

    /// The block id: SHA-224 of the signed header with the block number in the first 4 bytes.
    pub fn id(&self) -> BlockId {
        let mut bytes = self.header.to_bytes();
        self.witness_signature.pack(&mut bytes);
        let hash = Sha224::digest(&bytes);
        let mut id = [0u8; 20];
        id.copy_from_slice(&hash[..20]);
        id[..4].copy_from_slice(&self.block_num().to_be_bytes());
        BlockId(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_carry_the_number_and_signatures_verify() {
        let key = PrivateKey::from_seed("nathan").unwrap();
        let b1 = SignedBlock::sign(BlockId::default(), TimePointSec(100), WitnessId::new(1), vec![], &key).unwrap();
        assert_eq!(b1.id().block_num(), 1);
        assert_eq!(b1.header.transaction_merkle_root, [0; 20]);
        let b2 = SignedBlock::sign(b1.id(), TimePointSec(103), WitnessId::new(2), vec![], &key).unwrap();
        assert_eq!(b2.id().block_num(), 2);
        let signer = b2.witness_signature.recover(&b2.header.digest(), crate::AddressPrefix::BTS).unwrap();
        assert_eq!(signer, key.public_key(crate::AddressPrefix::BTS));
        let json = serde_json::to_value(&b2).unwrap();
        assert_eq!(json["previous"], b1.id().to_string());
        let back: SignedBlock = serde_json::from_value(json).unwrap();
        assert_eq!(back.id(), b2.id());
    }
}
