//! The gateway's and the faucet's TOML config loaders (errors name the line; never a panic).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = bts_gateway::config::GatewayConfig::parse(text, "fuzz.toml");
    let _ = bts_faucet::config::FaucetConfig::parse(text, "fuzz.toml");
});
