//! BitShares node JSON-RPC: wire types in fc's shapes and an async node client.
//!
//! [`wire`] is shared by everything that speaks to or as a node (the devnet serves it, the gateway
//! routes it, the faucet and health checks consume it); [`client`] is the WebSocket/HTTP client.

pub mod client;
pub mod fc;
pub mod wire;

pub use client::{ClientConfig, ClientError, ConnectionState, HttpClient, WsClient};
pub use wire::{
    ApiRef, BorrowedApi, BorrowedCall, Call, ErrorResponse, FcException, Incoming, Notice, Request, RpcError,
};
