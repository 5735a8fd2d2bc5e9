//! The durable record of every registration: one row per request, written before anything is
//! sent, moving `received → signed → broadcast → included → irreversible` (or `failed`).
//!
//! Two rules make registrations exactly-once: a partial unique index allows one non-failed row
//! per name, and every transition is a compare-and-set on the previous state, so two drivers
//! (a request and the recovery pass) can never both advance a row. SQLite (one connection; the
//! file is the default store) and PostgreSQL share one schema and one set of queries through
//! sqlx's `Any` driver; times are Unix seconds.

use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::fmt;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("cannot open store {url}: {source}")]
    Open {
        /// The URL, without its password.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("store query failed ({what}): {source}")]
    Query {
        /// Which operation.
        what: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A non-failed registration for this name already exists.
    #[error("a registration for '{0}' is already recorded")]
    NameTaken(String),
}

/// Where a registration is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationState {
    /// Recorded; nothing signed or sent.
    Received,
    /// Transaction built and signed (stored in the row); not yet handed to a node.
    Signed,
    /// About to be, or already, handed to a node: it may be on chain.
    Broadcast,
    /// In a block (`block_num` when known).
    Included,
    /// In a block at or below the last irreversible block. Terminal.
    Irreversible,
    /// Refused, with the reason. Terminal; frees the name for a new request.
    Failed,
}

impl RegistrationState {
    /// All states, in order.
    pub const ALL: [Self; 6] =
        [Self::Received, Self::Signed, Self::Broadcast, Self::Included, Self::Irreversible, Self::Failed];

    /// The word stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Signed => "signed",
            Self::Broadcast => "broadcast",
            Self::Included => "included",
            Self::Irreversible => "irreversible",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for RegistrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a new row holds.
#[derive(Debug, Clone)]
pub struct NewRegistration {
    /// Account name.
    pub name: String,
    /// Owner public key.
    pub owner_key: String,
    /// Active public key.
    pub active_key: String,
    /// Memo public key.
    pub memo_key: String,
    /// Referrer account name (after the membership check).
    pub referrer: String,
    /// Referrer account id.
    pub referrer_id: String,
    /// Basis points.
    pub referrer_percent: u16,
    /// Referrer the request asked for, if any.
    pub requested_referrer: Option<String>,
    /// Referral code, if any.
    pub refcode: Option<String>,
    /// Client address.
    pub remote_ip: String,
}

/// The signed transaction as a `signed` row records it.
#[derive(Debug, Clone)]
pub struct SignedRecord {
    /// Transaction id (hex).
    pub tx_id: String,
    /// The signed transaction, node JSON.
    pub tx_json: String,
    /// Expiration, Unix seconds.
    pub expiration: i64,
    /// Fee, satoshis.
    pub fee: i64,
}

/// One stored registration.
#[derive(Debug, Clone, Serialize)]
pub struct Registration {
    /// Row id.
    pub id: i64,
    /// Account name.
    pub name: String,
    /// Owner public key.
    pub owner_key: String,
    /// Active public key.
    pub active_key: String,
    /// Memo public key.
    pub memo_key: String,
    /// Referrer name.
    pub referrer: String,
    /// Referrer id.
    pub referrer_id: String,
    /// Basis points.
    pub referrer_percent: i64,
    /// Referrer the request asked for.
    pub requested_referrer: Option<String>,
    /// Referral code.
    pub refcode: Option<String>,
    /// Client address.
    pub remote_ip: String,
    /// Current state.
    pub state: RegistrationState,
    /// Why it failed.
    pub failure: Option<String>,
    /// Transaction id (hex) once signed.
    pub tx_id: Option<String>,
    /// The signed transaction (node JSON) once signed.
    pub tx_json: Option<String>,
    /// Transaction expiration (Unix seconds) once signed.
    pub expiration: Option<i64>,
    /// Fee paid, satoshis, once signed.
    pub fee: Option<i64>,
    /// Block that included it, when known.
    pub block_num: Option<i64>,
    /// The new account's id once included.
    pub account_id: Option<String>,
    /// When the account was seen as a lifetime member.
    pub upgraded_at: Option<i64>,
    /// Row creation (Unix seconds).
    pub created_at: i64,
    /// Last transition (Unix seconds).
    pub updated_at: i64,
}

/// Figures for the stats page and `bts-infra faucet stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreStats {
    /// Rows per state.
    pub by_state: Vec<(String, i64)>,
    /// Registered accounts (included or irreversible) per UTC day `YYYY-MM-DD`, newest first (30 days).
    pub per_day: Vec<(String, i64)>,
    /// Per referrer: (name, registered, upgraded to lifetime).
    pub per_referrer: Vec<(String, i64, i64)>,
    /// Registered accounts.
    pub registered: i64,
    /// Registered accounts that became lifetime members.
    pub upgraded: i64,
    /// Fees paid for registrations, satoshis.
    pub fees_paid: i64,
    /// Cashback withdrawn so far, satoshis.
    pub cashback_claimed: i64,
    /// Fees paid for withdrawals, satoshis.
    pub claim_fees_paid: i64,
}

/// The registration store.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    url: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

fn q(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { what, source }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

const COLUMNS: &str = "id, name, owner_key, active_key, memo_key, referrer, referrer_id, referrer_percent, \
    requested_referrer, refcode, remote_ip, state, failure, tx_id, tx_json, expiration, fee, block_num, account_id, \
    upgraded_at, created_at, updated_at";

impl Store {
    /// Opens (and creates, for SQLite) the store and its schema.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let connect_url = if sqlite && !url.contains("mode=") && !url.contains(":memory:") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_owned()
        };
        let open_err = |source| StoreError::Open { url: redact_url(url), source };
        // SQLite has one writer anyway; one connection means no SQLITE_BUSY under load.
        // The SQLite connection is kept for the process's life: an in-memory store
        // (`sqlite::memory:`, used by `bts-infra up` without --data-dir) lives in it.
        let options = if sqlite {
            AnyPoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(8)
        };
        let pool = options.connect(&connect_url).await.map_err(open_err)?;
        let (id_col, extra) = if sqlite {
            ("id INTEGER PRIMARY KEY AUTOINCREMENT", vec!["PRAGMA journal_mode=WAL"])
        } else {
            ("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", vec![])
        };
        for stmt in extra {
            sqlx::query(stmt).execute(&pool).await.map_err(open_err)?;
        }
        let schema = [
            format!(
                "CREATE TABLE IF NOT EXISTS registrations ({id_col}, name TEXT NOT NULL, owner_key TEXT NOT NULL, \
                 active_key TEXT NOT NULL, memo_key TEXT NOT NULL, referrer TEXT NOT NULL, referrer_id TEXT NOT NULL, \
                 referrer_percent BIGINT NOT NULL, requested_referrer TEXT, refcode TEXT, remote_ip TEXT NOT NULL, \
                 state TEXT NOT NULL, failure TEXT, tx_id TEXT, tx_json TEXT, expiration BIGINT, fee BIGINT, \
                 block_num BIGINT, account_id TEXT, upgraded_at BIGINT, created_at BIGINT NOT NULL, \
                 updated_at BIGINT NOT NULL)"
            ),
            // One live (non-failed) registration per name: the exactly-once guarantee.
            "CREATE UNIQUE INDEX IF NOT EXISTS registrations_live_name ON registrations (name) WHERE state <> 'failed'"
                .into(),
            "CREATE INDEX IF NOT EXISTS registrations_ip ON registrations (remote_ip, created_at)".into(),
            "CREATE INDEX IF NOT EXISTS registrations_state ON registrations (state)".into(),
            format!(
                "CREATE TABLE IF NOT EXISTS cashback_claims ({id_col}, vesting_balance TEXT NOT NULL, \
                 amount BIGINT NOT NULL, fee BIGINT NOT NULL, tx_id TEXT NOT NULL, created_at BIGINT NOT NULL)"
            ),
        ];
        for stmt in &schema {
            sqlx::query(stmt).execute(&pool).await.map_err(open_err)?;
        }
        Ok(Self { pool, url: redact_url(url) })
    }

    /// The store URL without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Records a new request in state `received`; [`StoreError::NameTaken`] when a non-failed
    /// row for the name exists.
    pub async fn insert_received(&self, r: &NewRegistration, now: i64) -> Result<i64, StoreError> {
        let res = sqlx::query(
            "INSERT INTO registrations (name, owner_key, active_key, memo_key, referrer, referrer_id, referrer_percent, \
             requested_referrer, refcode, remote_ip, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'received', $11, $11) RETURNING id",
        )
        .bind(&r.name)
        .bind(&r.owner_key)
        .bind(&r.active_key)
        .bind(&r.memo_key)
        .bind(&r.referrer)
        .bind(&r.referrer_id)
        .bind(i64::from(r.referrer_percent))
        .bind(&r.requested_referrer)
        .bind(&r.refcode)
        .bind(&r.remote_ip)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        match res {
            Ok(row) => row.try_get::<i64, _>(0).map_err(q("insert id")),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::NameTaken(r.name.clone())),
            Err(e) => Err(StoreError::Query { what: "insert registration", source: e }),
        }
    }

    /// `from → signed`, storing the transaction. False when the row was not in `from`.
    pub async fn mark_signed(
        &self,
        id: i64,
        from: RegistrationState,
        tx: &SignedRecord,
        now: i64,
    ) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "UPDATE registrations SET state = 'signed', tx_id = $1, tx_json = $2, expiration = $3, fee = $4, \
             updated_at = $5 WHERE id = $6 AND state = $7",
        )
        .bind(&tx.tx_id)
        .bind(&tx.tx_json)
        .bind(tx.expiration)
        .bind(tx.fee)
        .bind(now)
        .bind(id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await
        .map_err(q("mark signed"))?;
        Ok(res.rows_affected() == 1)
    }

    /// A plain `from → to` transition. False when the row was not in `from`.
    pub async fn transition(
        &self,
        id: i64,
        from: RegistrationState,
        to: RegistrationState,
        now: i64,
    ) -> Result<bool, StoreError> {
        let res = sqlx::query("UPDATE registrations SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4")
            .bind(to.as_str())
            .bind(now)
            .bind(id)
            .bind(from.as_str())
            .execute(&self.pool)
            .await
            .map_err(q("transition"))?;
        Ok(res.rows_affected() == 1)
    }

    /// `from → included`, with the block (when known) and the new account's id.
    pub async fn mark_included(
        &self,
        id: i64,
        from: RegistrationState,
        block_num: Option<i64>,
        account_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "UPDATE registrations SET state = 'included', block_num = $1, account_id = $2, updated_at = $3 \
             WHERE id = $4 AND state = $5",
        )
        .bind(block_num)
        .bind(account_id)
        .bind(now)
        .bind(id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await
        .map_err(q("mark included"))?;
        Ok(res.rows_affected() == 1)
    }

    /// `from → failed` with the reason.
    pub async fn mark_failed(
        &self,
        id: i64,
        from: RegistrationState,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "UPDATE registrations SET state = 'failed', failure = $1, updated_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(reason)
        .bind(now)
        .bind(id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await
        .map_err(q("mark failed"))?;
        Ok(res.rows_affected() == 1)
    }

    /// One row by id.
    pub async fn get(&self, id: i64) -> Result<Option<Registration>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM registrations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("get registration"))?;
        row.map(|r| decode(&r)).transpose()
    }

    /// All rows for `name`, oldest first.
    pub async fn by_name(&self, name: &str) -> Result<Vec<Registration>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM registrations WHERE name = $1 ORDER BY id"))
            .bind(name)
            .fetch_all(&self.pool)
            .await
            .map_err(q("registrations by name"))?;
        rows.iter().map(decode).collect()
    }

    /// Rows not yet terminal, oldest first.
    pub async fn unfinished(&self) -> Result<Vec<Registration>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM registrations WHERE state IN ('received', 'signed', 'broadcast', 'included') \
             ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(q("unfinished registrations"))?;
        rows.iter().map(decode).collect()
    }

    /// (time of the latest registration from `ip`, registrations from `ip` since `since`);
    /// failed rows do not count.
    pub async fn ip_usage(&self, ip: &str, since: i64) -> Result<(Option<i64>, i64), StoreError> {
        let row = sqlx::query(
            "SELECT MAX(created_at), CAST(COALESCE(SUM(CASE WHEN created_at >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM registrations WHERE remote_ip = $1 AND state <> 'failed'",
        )
        .bind(ip)
        .bind(since)
        .fetch_one(&self.pool)
        .await
        .map_err(q("ip usage"))?;
        Ok((row.try_get(0).map_err(q("ip usage"))?, row.try_get(1).map_err(q("ip usage"))?))
    }

    /// Registered accounts not yet seen as lifetime members: (row id, account id), at most `limit`.
    pub async fn not_upgraded(&self, after_id: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id FROM registrations WHERE state IN ('included', 'irreversible') \
             AND upgraded_at IS NULL AND account_id IS NOT NULL AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(q("not upgraded"))?;
        rows.iter()
            .map(|r| Ok((r.try_get(0).map_err(q("not upgraded"))?, r.try_get(1).map_err(q("not upgraded"))?)))
            .collect()
    }

    /// Records that the account of row `id` is a lifetime member.
    pub async fn mark_upgraded(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE registrations SET upgraded_at = $1 WHERE id = $2 AND upgraded_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(q("mark upgraded"))?;
        Ok(())
    }

    /// Records a cashback withdrawal.
    pub async fn record_claim(
        &self,
        vesting_balance: &str,
        amount: i64,
        fee: i64,
        tx_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cashback_claims (vesting_balance, amount, fee, tx_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(vesting_balance)
        .bind(amount)
        .bind(fee)
        .bind(tx_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(q("record claim"))?;
        Ok(())
    }

    /// Figures for the stats page.
    pub async fn stats(&self, now: i64) -> Result<StoreStats, StoreError> {
        let mut s = StoreStats::default();
        for row in sqlx::query("SELECT state, COUNT(*) FROM registrations GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await
            .map_err(q("stats by state"))?
        {
            s.by_state.push((row.try_get(0).map_err(q("stats"))?, row.try_get(1).map_err(q("stats"))?));
        }
        let since = (now / 86400 - 29) * 86400;
        for row in sqlx::query(
            "SELECT created_at / 86400 AS day, COUNT(*) FROM registrations \
             WHERE state IN ('included', 'irreversible') AND created_at >= $1 GROUP BY created_at / 86400 ORDER BY day DESC",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(q("stats per day"))?
        {
            let day: i64 = row.try_get(0).map_err(q("stats"))?;
            let date = bts_protocol::TimePointSec(u32::try_from(day * 86400).unwrap_or(0)).to_string();
            s.per_day.push((date.get(..10).unwrap_or(&date).to_owned(), row.try_get(1).map_err(q("stats"))?));
        }
        for row in sqlx::query(
            "SELECT referrer, COUNT(*), CAST(COALESCE(SUM(CASE WHEN upgraded_at IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) \
             FROM registrations WHERE state IN ('included', 'irreversible') GROUP BY referrer ORDER BY COUNT(*) DESC, referrer",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(q("stats per referrer"))?
        {
            s.per_referrer.push((
                row.try_get(0).map_err(q("stats"))?,
                row.try_get(1).map_err(q("stats"))?,
                row.try_get(2).map_err(q("stats"))?,
            ));
        }
        s.registered = s.per_referrer.iter().map(|r| r.1).sum();
        s.upgraded = s.per_referrer.iter().map(|r| r.2).sum();
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(fee), 0) AS BIGINT) FROM registrations WHERE state IN ('included', 'irreversible')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(q("stats fees"))?;
        s.fees_paid = row.try_get(0).map_err(q("stats"))?;
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT), CAST(COALESCE(SUM(fee), 0) AS BIGINT) FROM cashback_claims",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(q("stats claims"))?;
        s.cashback_claimed = row.try_get(0).map_err(q("stats"))?;
        s.claim_fees_paid = row.try_get(1).map_err(q("stats"))?;
        Ok(s)
    }

    /// Closes the pool (waits for in-flight queries).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn decode(r: &AnyRow) -> Result<Registration, StoreError> {
    let e = q("decode registration");
    let state: String = r.try_get("state").map_err(q("decode registration"))?;
    let state = RegistrationState::parse(&state)
        .ok_or_else(|| e(sqlx::Error::Decode(format!("unknown registration state {state:?}").into())))?;
    let g = |source| StoreError::Query { what: "decode registration", source };
    Ok(Registration {
        id: r.try_get("id").map_err(g)?,
        name: r.try_get("name").map_err(g)?,
        owner_key: r.try_get("owner_key").map_err(g)?,
        active_key: r.try_get("active_key").map_err(g)?,
        memo_key: r.try_get("memo_key").map_err(g)?,
        referrer: r.try_get("referrer").map_err(g)?,
        referrer_id: r.try_get("referrer_id").map_err(g)?,
        referrer_percent: r.try_get("referrer_percent").map_err(g)?,
        requested_referrer: r.try_get("requested_referrer").map_err(g)?,
        refcode: r.try_get("refcode").map_err(g)?,
        remote_ip: r.try_get("remote_ip").map_err(g)?,
        state,
        failure: r.try_get("failure").map_err(g)?,
        tx_id: r.try_get("tx_id").map_err(g)?,
        tx_json: r.try_get("tx_json").map_err(g)?,
        expiration: r.try_get("expiration").map_err(g)?,
        fee: r.try_get("fee").map_err(g)?,
        block_num: r.try_get("block_num").map_err(g)?,
        account_id: r.try_get("account_id").map_err(g)?,
        upgraded_at: r.try_get("upgraded_at").map_err(g)?,
        created_at: r.try_get("created_at").map_err(g)?,
        updated_at: r.try_get("updated_at").map_err(g)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://bts:s3cret@127.0.0.1:5432/faucet"),
            "postgres://bts:***@127.0.0.1:5432/faucet"
        );
        assert_eq!(redact_url("sqlite://faucet.db"), "sqlite://faucet.db");
    }
}
