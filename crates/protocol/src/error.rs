//! The one error type of the protocol crate.
//!
//! Every variant names the offending value so that the edges (node error shape, faucet
//! `error.base[0]`, CLI exit code 2) can show it to a person without more context.

use thiserror::Error;

/// A failure to parse, decode, validate or sign a BitShares protocol value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// An object id string is not `space.type.instance`.
    #[error("invalid object id \"{input}\": {reason}")]
    InvalidObjectId { input: String, reason: &'static str },
    /// An object id of the wrong space/type was given where a typed id is required.
    #[error("expected {expected} id ({space}.{type_id}.N), got \"{got}\"")]
    WrongObjectType { expected: &'static str, space: u8, type_id: u8, got: String },
    /// A public key string has another chain's address prefix.
    #[error("invalid public key prefix \"{found}\", expected \"{expected}\"")]
    WrongKeyPrefix { found: String, expected: String },
    /// A public key string is malformed (bad base58, wrong length, bad checksum).
    #[error("invalid public key \"{input}\": {reason}")]
    InvalidPublicKey { input: String, reason: &'static str },
    /// An address prefix is not 1..=16 ASCII uppercase letters.
    #[error("invalid address prefix \"{0}\": expected 1 to 16 ASCII uppercase letters")]
    InvalidAddressPrefix(String),
    /// A WIF private key is malformed. The input is deliberately not echoed: it may be a secret.
    #[error("invalid WIF private key: {0}")]
    InvalidWif(&'static str),
    /// The operating system's random number generator failed.
    #[error("the OS random number generator is unavailable")]
    RandomnessUnavailable,
    /// A private key is out of range (zero or not below the curve order).
    #[error("invalid private key: not a valid secp256k1 scalar")]
    InvalidPrivateKey,
    /// A hex string could not be decoded into the expected number of bytes.
    #[error("invalid {what} hex: {reason}")]
    InvalidHex { what: &'static str, reason: String },
    /// A time string is not `YYYY-MM-DDTHH:MM:SS` within the uint32 seconds range.
    #[error("invalid time \"{0}\": expected YYYY-MM-DDTHH:MM:SS between 1970-01-01T00:00:00 and 2106-02-07T06:28:15")]
    InvalidTime(String),
    /// A vote id string is not `type:instance`.
    #[error("invalid vote id \"{0}\": expected \"type:instance\" with type 0..=2 and instance < 2^24")]
    InvalidVoteId(String),
    /// An operation tag this crate does not implement.
    #[error("unsupported operation {tag} ({name}): bitshares-core 7.0.2 defines operations 0 to 77")]
    UnsupportedOperation { tag: u64, name: &'static str },
    /// A JSON member does not have the type its operation schema requires.
    #[error("{path}: {reason}")]
    InvalidField { path: String, reason: String },
    /// A value nests deeper than the node allows (`GRAPHENE_MAX_NESTED_OBJECTS`, 200).
    #[error("value nested deeper than {0} levels")]
    TooDeep(u32),
    /// A static_variant tag outside the type's range.
    #[error("invalid {what} tag {tag}")]
    InvalidVariantTag { what: &'static str, tag: u64 },
    /// Binary input ended before the value was complete.
    #[error("unexpected end of data: {what} needs {needed} more byte(s) at offset {offset}")]
    UnexpectedEnd { what: &'static str, needed: usize, offset: usize },
    /// Binary input has bytes left after the value.
    #[error("{0} trailing byte(s) after the value")]
    TrailingBytes(usize),
    /// A varint does not fit into its target type.
    #[error("varint at offset {0} overflows")]
    VarintOverflow(usize),
    /// A binary string is not valid UTF-8.
    #[error("string at offset {0} is not valid UTF-8")]
    InvalidUtf8(usize),
    /// A binary bool is neither 0 nor 1.
    #[error("invalid bool byte {byte:#04x} at offset {offset}")]
    InvalidBool { byte: u8, offset: usize },
    /// A length prefix is larger than the remaining input allows.
    #[error("length {len} at offset {offset} exceeds the remaining input")]
    LengthTooLarge { len: u64, offset: usize },
    /// A compact signature violates Graphene's canonical rule.
    #[error("signature is not canonical")]
    NonCanonicalSignature,
    /// A compact signature's recovery byte or scalars are invalid, or recovery failed.
    #[error("invalid signature: {0}")]
    InvalidSignature(&'static str),
    /// The canonical-signature loop ran out of candidates (never expected in practice).
    #[error("could not produce a canonical signature in {0} attempts")]
    SigningExhausted(u32),
    /// An account name breaks a naming rule.
    #[error("invalid account name \"{name}\": {reason}")]
    InvalidAccountName { name: String, reason: &'static str },
    /// A key role is not one of owner, active, memo.
    #[error("invalid key role \"{0}\": expected owner, active or memo")]
    InvalidKeyRole(String),
    /// Transaction expiration is outside the window the node accepts.
    #[error("{0}")]
    Expiration(#[from] crate::transaction::ExpirationError),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
