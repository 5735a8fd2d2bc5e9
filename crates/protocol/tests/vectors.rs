//! Asserts every entry of `shared/vectors/protocol.json` (keys, TaPoS, transactions).
//!
//! The file is read at test time, not copied into code, so a changed vector is a failing test.
//! Set `BTS_SHARED_DIR` to point at another checkout of `shared/`.

use bts_protocol::*;
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> Value {
    let dir = std::env::var_os("BTS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = dir.join("vectors/protocol.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {}: {e} (set BTS_SHARED_DIR to the shared/ directory)", path.display())
    });
    let v: Value = serde_json::from_str(&text).expect("protocol.json is JSON");
    assert_eq!(v["format"], "bitshares-protocol-vectors/1", "unknown vector format");
    v
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}"))
}

#[test]
fn every_key_vector() {
    let v = vectors();
    let keys = v["keys"].as_array().expect("keys array");
    assert!(keys.len() >= 4);
    for k in keys {
        let name = s(&k["name"]);
        let public = PublicKey::parse_with_prefix(s(&k["public_key"]), AddressPrefix::BTS).expect(name);
        assert_eq!(hex::encode(public.as_bytes()), s(&k["public_key_hex"]), "{name}: key33");
        assert_eq!(public.to_string(), s(&k["public_key"]), "{name}: display round trip");
        if k["wif"].is_null() {
            assert!(k["secret_hex"].is_null(), "{name}");
            continue;
        }
        let private = PrivateKey::from_wif(s(&k["wif"])).expect(name);
        assert_eq!(hex::encode(private.secret_bytes()), s(&k["secret_hex"]), "{name}: secret");
        assert_eq!(private.public_key(AddressPrefix::BTS), public, "{name}: public from private");
        assert_eq!(private.to_wif(), s(&k["wif"]), "{name}: WIF round trip");
        if let Some(seed) = k["seed"].as_str() {
            assert_eq!(s(&k["secret_rule"]), "sha256(seed)", "{name}: unknown secret rule");
            assert_eq!(PrivateKey::from_seed(seed).unwrap().secret_bytes(), private.secret_bytes(), "{name}: seed");
        }
    }
}

#[test]
fn every_tapos_vector() {
    let v = vectors();
    let rows = v["tapos"].as_array().expect("tapos array");
    assert!(!rows.is_empty());
    for t in rows {
        let id: BlockId = s(&t["head_block_id"]).parse().unwrap();
        assert_eq!(u64::from(id.block_num()), t["head_block_number"].as_u64().unwrap());
        let tapos = TaposRef::from_block_id(&id);
        assert_eq!(u64::from(tapos.ref_block_num), t["ref_block_num"].as_u64().unwrap());
        assert_eq!(u64::from(tapos.ref_block_prefix), t["ref_block_prefix"].as_u64().unwrap());
    }
}

#[test]
fn every_transaction_vector() {
    let v = vectors();
    let txs = v["transactions"].as_array().expect("transactions array");
    assert!(txs.len() >= 2);
    for t in txs {
        let name = s(&t["name"]);
        let chain_id: ChainId = s(&t["chain_id"]).parse().unwrap();
        let tx: Transaction = serde_json::from_value(t["tx_json"].clone()).expect(name);
        tx.check_key_prefixes(AddressPrefix::BTS).expect(name);

        // The node's JSON form comes back out unchanged.
        assert_eq!(serde_json::to_value(&tx).unwrap(), t["tx_json"], "{name}: JSON round trip");

        let unsigned = tx.unsigned_bytes();
        assert_eq!(hex::encode(&unsigned), s(&t["unsigned_hex"]), "{name}: unsigned hex");
        if let Some(op_hex) = t["op_hex"].as_str() {
            assert_eq!(hex::encode(tx.operations[0].to_bytes()), op_hex, "{name}: op hex");
        }
        let digest = tx.digest(&chain_id);
        assert_eq!(digest.to_string(), s(&t["digest_hex"]), "{name}: digest");
        assert_eq!(tx.id().to_string(), s(&t["tx_id"]), "{name}: tx id");

        // The recorded signatures are canonical and recover the signer.
        let signer = PublicKey::parse_with_prefix(s(&t["signer_public_key"]), AddressPrefix::BTS).unwrap();
        for field in ["signature_hex", "alternative_signature_hex"] {
            let Some(hex_sig) = t[field].as_str() else { continue };
            let sig: CompactSignature = hex_sig.parse().unwrap();
            assert!(sig.is_canonical(), "{name}: {field} canonical");
            assert_eq!(sig.recover_canonical(&digest, AddressPrefix::BTS).unwrap(), signer, "{name}: {field} signer");
        }

        // signed_hex decodes to the same transaction with that signature, and re-encodes identically.
        let signed_bytes = hex::decode(s(&t["signed_hex"])).unwrap();
        let decoded = SignedTransaction::from_signed_bytes(&signed_bytes, AddressPrefix::BTS).expect(name);
        assert_eq!(decoded.transaction, tx, "{name}: decoded transaction");
        assert_eq!(decoded.signatures, [s(&t["signature_hex"]).parse::<CompactSignature>().unwrap()]);
        assert_eq!(decoded.signed_bytes(), signed_bytes, "{name}: signed hex");
        assert_eq!(decoded.signers(&chain_id, AddressPrefix::BTS).unwrap(), [signer]);

        // Our signer: canonical, recovers to the WIF's key. Plain RFC6979 reproduces the vector
        // whose notes say it was canonical on the first try.
        let key = PrivateKey::from_wif(s(&t["wif"])).unwrap();
        let mut ours = SignedTransaction::from(tx.clone());
        let sig = ours.sign(&key, &chain_id).unwrap();
        assert!(sig.is_canonical());
        assert_eq!(ours.signers(&chain_id, AddressPrefix::BTS).unwrap(), [signer], "{name}: our signature");
        if s(&t["notes"]).contains("plain RFC6979") {
            assert_eq!(sig.to_string(), s(&t["signature_hex"]), "{name}: deterministic signature");
            assert_eq!(hex::encode(ours.signed_bytes()), s(&t["signed_hex"]), "{name}: our signed hex");
        }
    }
}
