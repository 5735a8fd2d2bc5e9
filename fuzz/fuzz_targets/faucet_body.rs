//! The body a wallet POSTs to the faucet's registration API.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let policy = bts_faucet::config::PolicyConfig::default();
    let _ = bts_faucet::policy::validate_request(data, &policy, bts_protocol::AddressPrefix::BTS);
});
