//! A local BitShares-compatible chain that answers like `witness_node`.
//!
//! One [`Chain`](chain::Chain) (real blocks, real secp256k1 signatures, the node's validation
//! rules and error texts) is served by N node endpoints, each speaking WebSocket and HTTP JSON-RPC
//! on one port, each with its own injectable faults (stall, lag, latency, errors, dropped or
//! refused connections, a wrong chain id). It backs `bts-infra devnet`, `bts-infra up` and the
//! end-to-end tests.

#![recursion_limit = "256"]
// Errors carry the node's full exception (message, captured data) by value; they are the cold
// path of a devnet, and boxing every one of them would only add noise.
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod api;
pub mod chain;
pub mod constants;
pub mod devnet;
pub mod evaluate;
pub mod faults;
pub mod fees;
pub mod genesis;
mod methods;
pub mod node;
pub mod objects;
pub mod store;

pub use devnet::{Devnet, DevnetConfig, DevnetError};
pub use faults::{Faults, FaultsPatch};
