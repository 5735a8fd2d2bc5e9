//! The faucet's HTTP surface: the wallet's registration API (with CORS), account status, stats
//! (JSON and HTML), `/metrics`, `/health` and a read-only admin view. Refusals are mapped to the
//! wallet's `{"error":{"base":[message]}}` here and nowhere else.

use crate::policy::{self, Refusal};
use crate::registrar::Registrar;
use crate::store::Registration;
use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

/// Formats satoshis of the core asset as `1234.56789 BTS`.
pub fn format_core(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let a = amount.unsigned_abs();
    format!("{sign}{}.{:05} BTS", a / 100_000, a % 100_000)
}

fn error_body(message: impl Into<String>) -> Value {
    json!({"error": {"base": [message.into()]}})
}

fn refusal_response(registrar: &Registrar, r: &Refusal) -> Response {
    registrar.metrics.refused(r.label());
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(error_body(r.to_string()))).into_response()
}

/// Adds the CORS headers the wallet's `fetch(…, {mode: "cors"})` needs (protocol.md §7.4).
async fn cors(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, GET, OPTIONS"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("X-Requested-With, X-Prototype-Version, Token, Content-Type, Accept"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("1728000"));
    response
}

/// The router for `registrar`.
pub fn router(registrar: Arc<Registrar>) -> Router {
    let max_body = registrar.config().limits.max_body_bytes;
    Router::new()
        .route("/api/v1/accounts", post(create).options(preflight))
        .route("/{segment}/api/v1/accounts", post(create_with_segment).options(preflight))
        .route("/api/v1/accounts/{name}/status", get(account_status))
        .route("/api/v1/stats", get(stats_json))
        .route("/stats", get(stats_page))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/admin/registrations/{name}", get(admin_registrations))
        .fallback(not_found)
        .layer(axum::middleware::map_response(cors))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(registrar)
}

async fn preflight() -> impl IntoResponse {
    StatusCode::NO_CONTENT
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(error_body("Not found: the registration API is POST /api/v1/accounts")))
        .into_response()
}

async fn create(
    State(r): State<Arc<Registrar>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    register(&r, peer, &headers, body, None).await
}

async fn create_with_segment(
    State(r): State<Arc<Registrar>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    register(&r, peer, &headers, body, Some(segment)).await
}

async fn register(
    r: &Registrar,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    segment: Option<String>,
) -> Response {
    r.metrics.request();
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let limit = r.config().limits.max_body_bytes;
            let refusal = Refusal::BadRequest(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                format!("Request body is larger than {limit} bytes")
            } else {
                format!("Cannot read the request body: {e}")
            });
            return refusal_response(r, &refusal);
        }
    };
    let ip = policy::client_ip(
        peer.ip(),
        |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned),
        r.ip_lists(),
    );
    let outcome = match policy::validate_request(&body, &r.config().policy, r.prefix()) {
        Ok(req) => r.register(req, ip, segment.as_deref()).await,
        Err(refusal) => Err(refusal),
    };
    match outcome {
        Ok(row) => (StatusCode::CREATED, Json(success_body(&row))).into_response(),
        Err(refusal) => {
            tracing::info!(%ip, reason = refusal.label(), "registration refused: {refusal}");
            refusal_response(r, &refusal)
        }
    }
}

fn success_body(row: &Registration) -> Value {
    json!({"account": {
        "id": row.account_id,
        "name": row.name,
        "owner_key": row.owner_key,
        "active_key": row.active_key,
        "memo_key": row.memo_key,
        "referrer": row.referrer,
    }})
}

async fn account_status(State(r): State<Arc<Registrar>>, Path(name): Path<String>) -> Response {
    if let Err(refusal) = policy::check_name(&name, &r.config().policy) {
        return Json(json!({"account": {"name": name, "available": false, "reason": refusal.to_string()}}))
            .into_response();
    }
    let in_store = r
        .store()
        .by_name(&name)
        .await
        .map(|rows| rows.iter().any(|row| row.state != crate::store::RegistrationState::Failed));
    match (r.node().account_by_name(&name).await, in_store) {
        (Ok(on_chain), Ok(in_store)) => {
            let available = on_chain.is_none() && !in_store;
            let mut account = json!({"name": name, "available": available});
            if !available {
                account["reason"] = json!("Account exists");
            }
            Json(json!({"account": account})).into_response()
        }
        _ => refusal_response(&r, &Refusal::NodeUnavailable),
    }
}

async fn stats_value(r: &Registrar) -> Result<Value, Refusal> {
    let stats = r.store().stats(i64::from(bts_protocol::TimePointSec::now().secs())).await.map_err(|e| {
        tracing::error!(error = %e, "stats query failed");
        Refusal::Store
    })?;
    let funds = r.funds();
    Ok(json!({
        "registrar": r.account().name,
        "registrar_id": r.account().id,
        "chain_id": r.chain_id().to_string(),
        "registrar_balance": funds.balance,
        "low_balance": funds.low,
        "cashback_vesting": funds.cashback_vesting,
        "cashback_withdrawable": funds.cashback_withdrawable,
        "cashback_claimed": stats.cashback_claimed,
        "fees_paid": stats.fees_paid,
        "claim_fees_paid": stats.claim_fees_paid,
        "cashback_earned": stats.cashback_claimed + funds.cashback_vesting,
        "registered": stats.registered,
        "lifetime_upgrades": stats.upgraded,
        "per_day": stats.per_day.iter().map(|(d, n)| json!({"day": d, "accounts": n})).collect::<Vec<_>>(),
        "per_referrer": stats.per_referrer.iter()
            .map(|(name, n, up)| json!({"referrer": name, "accounts": n, "lifetime_upgrades": up}))
            .collect::<Vec<_>>(),
        "by_state": stats.by_state.iter().map(|(s, n)| (s.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "amounts": "satoshis of the core asset (1 BTS = 100000)",
    }))
}

async fn stats_json(State(r): State<Arc<Registrar>>) -> Response {
    match stats_value(&r).await {
        Ok(v) => Json(v).into_response(),
        Err(refusal) => refusal_response(&r, &refusal),
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    registrar: String,
    chain_id: String,
    registered: i64,
    upgraded: i64,
    balance: String,
    low: bool,
    claimable: String,
    fees_paid: String,
    cashback_claimed: String,
    cashback_vesting: String,
    claim_fees_paid: String,
    per_day: Vec<(String, i64)>,
    per_referrer: Vec<(String, i64, i64)>,
    by_state: Vec<(String, i64)>,
}

async fn stats_page(State(r): State<Arc<Registrar>>) -> Response {
    let stats = match r.store().stats(i64::from(bts_protocol::TimePointSec::now().secs())).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "stats query failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "stats unavailable").into_response();
        }
    };
    let funds = r.funds();
    let page = StatsPage {
        registrar: r.account().name.clone(),
        chain_id: r.chain_id().to_string(),
        registered: stats.registered,
        upgraded: stats.upgraded,
        balance: funds.balance.map_or_else(|| "not checked yet".into(), format_core),
        low: funds.low,
        claimable: format_core(funds.cashback_withdrawable),
        fees_paid: format_core(stats.fees_paid),
        cashback_claimed: format_core(stats.cashback_claimed),
        cashback_vesting: format_core(funds.cashback_vesting),
        claim_fees_paid: format_core(stats.claim_fees_paid),
        per_day: stats.per_day,
        per_referrer: stats.per_referrer,
        by_state: stats.by_state,
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("template error: {e}")).into_response(),
    }
}

async fn metrics(State(r): State<Arc<Registrar>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], r.metrics.render()).into_response()
}

async fn health(State(r): State<Arc<Registrar>>) -> Response {
    let mut reasons = Vec::new();
    let node_ok = match r.node().head().await {
        Ok(head) => {
            let age = i64::from(bts_protocol::TimePointSec::now().secs()) - i64::from(head.time.secs());
            if age > 60 {
                reasons.push(format!("node head is {age} s old"));
            }
            true
        }
        Err(e) => {
            reasons.push(format!("node unavailable: {e}"));
            false
        }
    };
    let funds = r.funds();
    if funds.low {
        reasons.push(format!(
            "registrar balance {} is below {}",
            funds.balance.map_or_else(|| "?".into(), format_core),
            format_core(r.config().funds.low_balance)
        ));
    }
    let (status, code) = match (node_ok, reasons.is_empty()) {
        (false, _) => ("down", StatusCode::SERVICE_UNAVAILABLE),
        (true, true) => ("ok", StatusCode::OK),
        (true, false) => ("degraded", StatusCode::OK),
    };
    (code, Json(json!({"status": status, "reasons": reasons}))).into_response()
}

fn admin_allowed(r: &Registrar, peer: &SocketAddr, headers: &HeaderMap) -> bool {
    match (&r.config().admin.token, headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())) {
        (Some(t), Some(h)) => h.strip_prefix("Bearer ").is_some_and(|given| given == t),
        _ => peer.ip().is_loopback(),
    }
}

async fn admin_registrations(
    State(r): State<Arc<Registrar>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if !admin_allowed(&r, &peer, &headers) {
        return (StatusCode::FORBIDDEN, Json(error_body("admin calls need a loopback peer or the admin token")))
            .into_response();
    }
    match r.store().by_name(&name).await {
        Ok(rows) => Json(json!({"registrations": rows})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "admin query failed");
            refusal_response(&r, &Refusal::Store)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_core;

    #[test]
    fn core_amounts_have_five_decimals() {
        assert_eq!(format_core(514_648), "5.14648 BTS");
        assert_eq!(format_core(-100_000), "-1.00000 BTS");
        assert_eq!(format_core(0), "0.00000 BTS");
    }
}
