//! Signing and serialization costs, each beside a baseline measured in the same run:
//! libsecp256k1 (the C library fc uses) for signing/recovery, serde_json for serialization.
//!
//! Run: `cargo bench -p bts-protocol --bench protocol` (results in BENCHMARKS.md).

use bts_protocol::*;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const FAUCET_TX: &str = r#"{"ref_block_num":11030,"ref_block_prefix":1524792027,"expiration":"2018-12-12T10:44:45","operations":[[5,{"fee":{"amount":50000,"asset_id":"1.3.0"},"registrar":"1.2.100","referrer":"1.2.101","referrer_percent":5000,"name":"test-faucet-1","owner":{"weight_threshold":1,"account_auths":[],"key_auths":[["BTS5NyCrrXHmdikC6QPRAPoDjSHVQJe3WC5bMZuF6YhqhSsfYfjhN",1]],"address_auths":[]},"active":{"weight_threshold":1,"account_auths":[],"key_auths":[["BTS8gyvJtYyv5ZbT2ZxbAtgufQ5ovV2bq6EQp4YDTzQuSwyg7Ckry",1]],"address_auths":[]},"options":{"memo_key":"BTS7yE71iVPSpaq8Ae2AmsKfyFxA8pwYv5zgQtCnX7xMwRUQMVoGf","voting_account":"1.2.5","num_witness":0,"num_committee":0,"votes":[],"extensions":[]},"extensions":{}}]],"extensions":[]}"#;

fn signing(c: &mut Criterion) {
    let key = PrivateKey::from_seed("nathan").unwrap();
    let tx: Transaction = serde_json::from_str(FAUCET_TX).unwrap();
    let digest = tx.digest(&ChainId::MAINNET);
    let sig = key.sign_digest(&digest).unwrap();

    let sk = secp256k1::SecretKey::from_secret_bytes(key.secret_bytes()).unwrap();
    let msg = secp256k1::Message::from_digest(digest.0);
    let lib_sig = secp256k1::ecdsa::RecoverableSignature::sign_ecdsa_recoverable(msg, &sk);

    let mut g = c.benchmark_group("sign_digest");
    g.bench_function("bts_protocol (k256, canonical loop)", |b| b.iter(|| key.sign_digest(black_box(&digest))));
    g.bench_function("baseline libsecp256k1", |b| {
        b.iter(|| secp256k1::ecdsa::RecoverableSignature::sign_ecdsa_recoverable(black_box(msg), &sk))
    });
    g.finish();

    let mut g = c.benchmark_group("recover_signer");
    g.bench_function("bts_protocol (k256)", |b| {
        b.iter(|| sig.recover_canonical(black_box(&digest), AddressPrefix::BTS))
    });
    g.bench_function("baseline libsecp256k1", |b| b.iter(|| lib_sig.recover(black_box(msg))));
    g.finish();

    let mut g = c.benchmark_group("sign_transaction");
    g.bench_function("digest + sign account_create", |b| {
        b.iter(|| {
            let mut signed = SignedTransaction::from(black_box(&tx).clone());
            signed.sign(&key, &ChainId::MAINNET)
        })
    });
    g.finish();
}

fn serialization(c: &mut Criterion) {
    let tx: Transaction = serde_json::from_str(FAUCET_TX).unwrap();
    let op = tx.operations[0].clone();
    let mut g = c.benchmark_group("account_create");
    g.bench_function("pack (binary)", |b| b.iter(|| black_box(&op).to_bytes()));
    g.bench_function("baseline serde_json::to_vec", |b| b.iter(|| serde_json::to_vec(black_box(&op))));
    g.bench_function("parse node JSON (tx)", |b| b.iter(|| serde_json::from_str::<Transaction>(black_box(FAUCET_TX))));
    g.bench_function("tx digest", |b| b.iter(|| black_box(&tx).digest(&ChainId::MAINNET)));
    g.finish();
}

criterion_group!(benches, signing, serialization);
criterion_main!(benches);
