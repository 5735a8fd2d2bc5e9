//! Binary transactions and blocks: decoding never panics, and what decodes re-encodes to bytes
//! that decode to the same value.
#![no_main]
use bts_protocol::{AddressPrefix, Pack, SignedBlock, SignedTransaction, Unpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::from_bytes(data, AddressPrefix::BTS) {
        let again = SignedTransaction::from_bytes(&tx.to_bytes(), AddressPrefix::BTS).expect("re-encoded tx decodes");
        assert_eq!(again, tx);
        let _ = tx.transaction.id();
    }
    if let Ok(block) = SignedBlock::from_bytes(data, AddressPrefix::BTS) {
        let again = SignedBlock::from_bytes(&block.to_bytes(), AddressPrefix::BTS).expect("re-encoded block decodes");
        assert_eq!(again, block);
    }
});
