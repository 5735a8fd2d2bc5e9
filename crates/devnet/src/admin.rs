//! The devnet admin API (loopback only): inspect endpoints and inject faults at runtime.
//!
//! - `GET /status` → chain id, head, and per node: URL, faults, visible head.
//! - `GET /nodes/{i}/faults` → that node's faults.
//! - `PATCH /nodes/{i}/faults` with a JSON subset of `{"stall","lag","latency_ms","error_rate",
//!   "refuse","wrong_chain_id"}` → the new faults.
//! - `DELETE /nodes/{i}/faults` → clears every fault.
//! - `POST /nodes/{i}/drop` → drops that node's open connections now.

use crate::faults::FaultsPatch;
use crate::node::{Endpoint, Shared};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Clone)]
struct AdminState {
    shared: Arc<Shared>,
    endpoints: Vec<Arc<Endpoint>>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// The admin router.
pub fn router(shared: Arc<Shared>, endpoints: Vec<Arc<Endpoint>>) -> axum::Router {
    axum::Router::new()
        .route("/status", get(status))
        .route("/nodes/{index}/faults", get(get_faults).patch(patch_faults).put(patch_faults).delete(clear_faults))
        .route("/nodes/{index}/drop", post(drop_connections))
        .with_state(AdminState { shared, endpoints })
}

fn node_json(e: &Endpoint, head: u32) -> Value {
    json!({"index": e.index, "url": e.ws_url(), "faults": e.faults(), "visible_head": e.visible_head(head)})
}

async fn status(State(s): State<AdminState>) -> Json<Value> {
    let (chain_id, head, lib) = {
        let c = s.shared.lock();
        (c.chain_id().to_string(), c.head_block_num(), c.dgp().last_irreversible_block_num)
    };
    Json(json!({
        "chain_id": chain_id,
        "head_block_number": head,
        "last_irreversible_block_num": lib,
        "nodes": s.endpoints.iter().map(|e| node_json(e, head)).collect::<Vec<_>>(),
    }))
}

fn endpoint(s: &AdminState, index: usize) -> Result<&Arc<Endpoint>, Response> {
    s.endpoints.get(index).ok_or_else(|| {
        error(StatusCode::NOT_FOUND, format!("no node {index}: this devnet has nodes 0..{}", s.endpoints.len()))
    })
}

async fn get_faults(State(s): State<AdminState>, Path(index): Path<usize>) -> Response {
    match endpoint(&s, index) {
        Ok(e) => Json(e.faults()).into_response(),
        Err(r) => r,
    }
}

async fn patch_faults(State(s): State<AdminState>, Path(index): Path<usize>, body: axum::body::Bytes) -> Response {
    let e = match endpoint(&s, index) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let patch: FaultsPatch = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(err) => return error(StatusCode::BAD_REQUEST, format!("invalid faults body: {err}")),
    };
    match e.patch_faults(&patch) {
        Ok(f) => Json(f).into_response(),
        Err(err) => error(StatusCode::BAD_REQUEST, err),
    }
}

async fn clear_faults(State(s): State<AdminState>, Path(index): Path<usize>) -> Response {
    let e = match endpoint(&s, index) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let clear = FaultsPatch {
        stall: Some(false),
        lag: Some(0),
        latency_ms: Some(0),
        error_rate: Some(0.0),
        refuse: Some(false),
        wrong_chain_id: Some(false),
    };
    match e.patch_faults(&clear) {
        Ok(f) => Json(f).into_response(),
        Err(err) => error(StatusCode::BAD_REQUEST, err),
    }
}

async fn drop_connections(State(s): State<AdminState>, Path(index): Path<usize>) -> Response {
    match endpoint(&s, index) {
        Ok(e) => {
            e.drop_connections();
            Json(json!({"dropped": true})).into_response()
        }
        Err(r) => r,
    }
}
