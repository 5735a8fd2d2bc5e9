//! BitShares (Graphene) protocol types and crypto, with no I/O.
//!
//! Everything here is consensus-relevant: object ids, amounts, keys, the binary serialization the
//! node hashes and signs, TaPoS, canonical signatures and the account-name rules. The binary form
//! is produced exactly as bitshares-core produces it (containers sorted in node order), and JSON
//! is read and written the way the node does (large integers as strings, both forms accepted).
//! Facts come from `shared/reference/protocol.md`; the vectors in `shared/vectors/protocol.json`
//! are asserted by this crate's tests.

pub mod authority;
pub mod block;
pub mod dynamic;
pub mod error;
pub mod id;
pub mod json;
pub mod keys;
pub mod names;
pub mod operations;
pub mod pack;
pub mod schema;
pub mod signature;
pub mod time;
pub mod transaction;

pub use authority::{AccountOptions, Asset, Authority, Extensions, FlatMap, FlatSet, VoteId, VoteType};
pub use block::{BlockHeader, OperationResult, ProcessedTransaction, SignedBlock};
pub use error::{Error, Result};
pub use id::{
    AccountId, AssetId, BlockId, ChainId, Digest, ObjectId, TransactionId, TypedId, VestingBalanceId, WitnessId,
};
pub use keys::{Address, AddressPrefix, KeyRole, PrivateKey, PublicKey};
pub use names::{AccountName, is_cheap_name_chain, is_cheap_name_wallet, is_valid_name};
pub use operations::{
    AccountCreateExtensions, AccountCreateOperation, AccountUpgradeOperation, GenericOperation, Memo, Operation,
    TransferOperation, VestingBalanceWithdrawOperation,
};
pub use pack::{Pack, Reader, Unpack};
pub use signature::{CompactSignature, is_canonical};
pub use time::TimePointSec;
pub use transaction::{ExpirationError, SignedTransaction, TaposRef, Transaction, check_expiration};
