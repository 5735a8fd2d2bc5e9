//! Compact recoverable signatures, signed and checked the way the node does.
//!
//! Layout `[v][r:32][s:32]` with `v = 27 + 4 + recid` (fc's "compressed" marker). The node accepts
//! only *canonical* signatures (`fc::ecc::public_key::is_canonical`, protocol.md §4.5), so the signer
//! walks the RFC6979 nonce sequence — the HMAC-DRBG seeded with key and digest, continued per
//! RFC6979 §3.2 step h.3 — until a candidate is canonical. The first candidate is plain RFC6979
//! with low-S, as libsecp256k1 signs; fc starts one step later in the same sequence, so byte-exact
//! signatures differ between signers while all are valid. Compare signatures by recovery.

use crate::error::{Error, Result};
use crate::id::Digest;
use crate::keys::{AddressPrefix, PrivateKey, PublicKey};
use crate::pack::{Pack, Reader, Unpack};
use ecdsa::hazmat;
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use k256::elliptic_curve::Curve as _;
use k256::{NonZeroScalar, Secp256k1, U256};
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

/// Upper bound on RFC6979 candidates tried for a canonical signature. About half of all candidates
/// are canonical, so reaching this bound has probability ~2^-256.
const MAX_SIGNING_ATTEMPTS: u32 = 256;

/// A 65-byte compact recoverable signature; JSON: 130 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CompactSignature(pub [u8; 65]);

impl CompactSignature {
    /// Graphene's canonical rule: neither r nor s has its top bit set or a redundant leading zero.
    pub fn is_canonical(&self) -> bool {
        is_canonical(&self.0)
    }

    /// Recovers the public key that produced this signature over `digest`.
    pub fn recover(&self, digest: &Digest, prefix: AddressPrefix) -> Result<PublicKey> {
        let v = self.0[0];
        if !(27..35).contains(&v) {
            return Err(Error::InvalidSignature("recovery byte outside 27..=34"));
        }
        let recid = RecoveryId::from_byte((v - 27) & 3).ok_or(Error::InvalidSignature("bad recovery id"))?;
        let sig = Signature::from_slice(&self.0[1..]).map_err(|_| Error::InvalidSignature("r or s out of range"))?;
        let key = VerifyingKey::recover_from_prehash(&digest.0, &sig, recid)
            .map_err(|_| Error::InvalidSignature("public key recovery failed"))?;
        Ok(PublicKey::from_verifying_key(&key, prefix))
    }

    /// Recovers the signer as the node does: the signature must be canonical first.
    pub fn recover_canonical(&self, digest: &Digest, prefix: AddressPrefix) -> Result<PublicKey> {
        if !self.is_canonical() {
            return Err(Error::NonCanonicalSignature);
        }
        self.recover(digest, prefix)
    }

    /// True when this signature over `digest` was made by `key`.
    pub fn verify(&self, digest: &Digest, key: &PublicKey) -> bool {
        self.recover(digest, key.prefix()).is_ok_and(|k| &k == key)
    }
}

/// Graphene's canonical-signature rule on the 65 compact bytes (`fc::ecc::public_key::is_canonical`).
pub fn is_canonical(c: &[u8; 65]) -> bool {
    c[1] & 0x80 == 0 && !(c[1] == 0 && c[2] & 0x80 == 0) && c[33] & 0x80 == 0 && !(c[33] == 0 && c[34] & 0x80 == 0)
}

impl PrivateKey {
    /// Signs a 32-byte digest, returning the first canonical signature in the RFC6979 sequence.
    pub fn sign_digest(&self, digest: &Digest) -> Result<CompactSignature> {
        let d: &NonZeroScalar = self.signing_key().as_nonzero_scalar();
        let order = Secp256k1::ORDER;
        let secret = self.signing_key().to_bytes();
        let mut kgen = rfc6979::KGenerator::<Sha256, U256>::new(&secret, &digest.0, &[], &order);
        for _ in 0..MAX_SIGNING_ATTEMPTS {
            let mut k_bytes = k256::FieldBytes::default();
            kgen.fill_next_k(&mut k_bytes);
            let Some(k) = NonZeroScalar::from_repr(k_bytes).into_option() else { continue };
            let Ok((sig, recid)) = hazmat::sign_prehashed::<Secp256k1>(d, &k, &digest.0) else { continue };
            let mut out = [0u8; 65];
            out[0] = 27 + 4 + recid.to_byte();
            out[1..].copy_from_slice(&sig.to_bytes());
            if is_canonical(&out) {
                return Ok(CompactSignature(out));
            }
        }
        Err(Error::SigningExhausted(MAX_SIGNING_ATTEMPTS))
    }
}

impl FromStr for CompactSignature {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut out = [0u8; 65];
        hex::decode_to_slice(s.trim(), &mut out).map_err(|e| Error::InvalidHex {
            what: "signature",
            reason: format!("{e} (expected 130 hex characters, got {})", s.trim().len()),
        })?;
        Ok(Self(out))
    }
}

impl fmt::Display for CompactSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CompactSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompactSignature({self})")
    }
}

crate::serde_via_str!(CompactSignature);

impl Pack for CompactSignature {
    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Unpack for CompactSignature {
    fn unpack(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self(r.take_array("signature")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_rule_matches_fc() {
        let mut c = [0u8; 65];
        c[1] = 0x01;
        c[33] = 0x01;
        assert!(is_canonical(&c));
        c[1] = 0x80;
        assert!(!is_canonical(&c), "r top bit");
        c[1] = 0x00;
        c[2] = 0x7f;
        assert!(!is_canonical(&c), "r redundant zero");
        c[2] = 0x80;
        assert!(is_canonical(&c), "r zero byte needed for sign");
        c[33] = 0x80;
        assert!(!is_canonical(&c), "s top bit");
        c[33] = 0x00;
        c[34] = 0x01;
        assert!(!is_canonical(&c), "s redundant zero");
    }

    #[test]
    fn recovery_rejects_bad_v() {
        let sig = CompactSignature([0u8; 65]);
        assert!(sig.recover(&Digest([1; 32]), AddressPrefix::BTS).is_err());
    }
}
