//! The registration state machine and the jobs around it.
//!
//! ```text
//! received → signed → broadcast → included → irreversible
//!       ↘ failed(reason)   (terminal; the name becomes free again)
//! ```
//! Each transition is one durable compare-and-set write made *before* the side effect that
//! follows it: a row is `received` before anything is built, `signed` (with the transaction)
//! before it is sent, `broadcast` before the node sees it. After a crash, the recovery pass
//! re-drives every unfinished row by asking the chain what happened: the account exists with our
//! keys and registrar → `included`; exists otherwise → `failed` ("Account exists"); does not
//! exist → the same transaction is sent again while it can still be included, or a new one is
//! signed once the old one has expired. Account names are unique on chain, so no sequence of
//! crashes can register a name twice or pay for it twice.

use crate::config::{FaucetConfig, IpLists, SegmentMode};
use crate::metrics::FaucetMetrics;
use crate::node::{AccountInfo, Head, Node, NodeError};
use crate::policy::{Refusal, ValidRequest};
use crate::store::{NewRegistration, Registration, RegistrationState, SignedRecord, Store, StoreError};
use bts_protocol::{
    AccountCreateExtensions, AccountCreateOperation, AccountId, AccountOptions, AddressPrefix, Asset, Authority,
    ChainId, Operation, PrivateKey, PublicKey, SignedTransaction, TaposRef, TimePointSec, Transaction,
    VestingBalanceWithdrawOperation,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashSet;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why the faucet could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The node could not be reached or answered wrongly.
    #[error("cannot use node {url}: {source}")]
    Node {
        /// Node URL.
        url: String,
        /// What failed.
        source: NodeError,
    },
    /// The node serves another chain.
    #[error("node {url} serves chain {actual}, expected {expected} (chain_id)")]
    WrongChain {
        /// Node URL.
        url: String,
        /// Configured id.
        expected: String,
        /// Reported id.
        actual: String,
    },
    /// The registrar or default referrer cannot be used.
    #[error("{0}")]
    Account(String),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Balance and cashback figures from the last funds check.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FundsStatus {
    /// Registrar core balance, satoshis (`None` before the first check).
    pub balance: Option<i64>,
    /// Cashback in vesting balances, satoshis.
    pub cashback_vesting: i64,
    /// Of which withdrawable now, satoshis.
    pub cashback_withdrawable: i64,
    /// Balance below `funds.low_balance`.
    pub low: bool,
    /// Accounts seen as lifetime members among registered ones (last scan).
    pub upgraded: i64,
}

/// The registrar: validates admission, drives registrations, runs recovery and funds jobs.
pub struct Registrar {
    config: FaucetConfig,
    store: Store,
    node: Node,
    key: PrivateKey,
    prefix: AddressPrefix,
    chain_id: ChainId,
    account: AccountInfo,
    default_referrer: AccountInfo,
    lists: IpLists,
    rate: Option<DefaultDirectRateLimiter>,
    admission: tokio::sync::Mutex<()>,
    active: Mutex<HashSet<i64>>,
    funds: Mutex<FundsStatus>,
    crash_after: Option<RegistrationState>,
    /// Metrics of this faucet.
    pub metrics: FaucetMetrics,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar").field("account", &self.account.name).field("store", &self.store).finish()
    }
}

/// Marks a row as driven by one task; the recovery pass skips it until the guard drops.
struct Claim<'a> {
    registrar: &'a Registrar,
    id: i64,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut a) = self.registrar.active.lock() {
            a.remove(&self.id);
        }
    }
}

fn unix_now() -> i64 {
    i64::from(TimePointSec::now().secs())
}

/// `BTS_FAUCET_CRASH_AFTER=<state>`: after writing that state the driving task stops forever
/// (the crash-safety tests then kill -9 the process). Never set in production.
pub const CRASH_AFTER_ENV: &str = "BTS_FAUCET_CRASH_AFTER";

impl Registrar {
    /// Connects to the node, checks the chain, the registrar (a lifetime member whose active
    /// authority holds `key`) and the default referrer (a member), and opens the store.
    pub async fn start(config: FaucetConfig, key: PrivateKey, node: Node) -> Result<Self, StartError> {
        let url = config.node.clone();
        let node_err = |source| StartError::Node { url: url.clone(), source };
        let chain_id = node.chain_id().await.map_err(node_err)?;
        if let Some(expected) = &config.chain_id
            && !expected.eq_ignore_ascii_case(&chain_id.to_string())
        {
            return Err(StartError::WrongChain {
                url: url.clone(),
                expected: expected.clone(),
                actual: chain_id.to_string(),
            });
        }
        let account = node.account_by_name(&config.registrar.name).await.map_err(node_err)?.ok_or_else(|| {
            StartError::Account(format!("registrar.name: account '{}' does not exist", config.registrar.name))
        })?;
        if !account.is_lifetime_member() {
            return Err(StartError::Account(format!(
                "registrar.name: '{}' is not a lifetime member; only lifetime members may register accounts",
                account.name
            )));
        }
        let prefix = node.address_prefix().await.map_err(node_err)?;
        let public = key.public_key(prefix).to_string();
        if !account.active_keys.contains(&public) {
            return Err(StartError::Account(format!(
                "registrar key: its public key {public} is not an active key of '{}'",
                account.name
            )));
        }
        let default_referrer = match &config.referral.default_referrer {
            None => account.clone(),
            Some(name) => {
                let r = node.account_by_name(name).await.map_err(node_err)?.ok_or_else(|| {
                    StartError::Account(format!("referral.default_referrer: account '{name}' does not exist"))
                })?;
                if !r.is_member(TimePointSec::now()) {
                    return Err(StartError::Account(format!(
                        "referral.default_referrer: '{name}' is not a member; the chain only accepts member referrers"
                    )));
                }
                r
            }
        };
        let store = Store::open(&config.store).await?;
        let lists = config.ip_lists().map_err(|e| StartError::Account(e.to_string()))?;
        let rate = NonZeroU32::new(config.limits.global_per_minute).map(|n| RateLimiter::direct(Quota::per_minute(n)));
        let crash_after = std::env::var(CRASH_AFTER_ENV).ok().and_then(|s| RegistrationState::parse(&s));
        if let Some(state) = crash_after {
            tracing::warn!(%state, "{CRASH_AFTER_ENV} is set: registrations stop after this state (test mode)");
        }
        tracing::info!(registrar = %account.name, id = %account.id, store = store.url(), %chain_id, "faucet ready");
        Ok(Self {
            config,
            store,
            node,
            key,
            prefix,
            chain_id,
            account,
            default_referrer,
            lists,
            rate,
            admission: tokio::sync::Mutex::new(()),
            active: Mutex::new(HashSet::new()),
            funds: Mutex::new(FundsStatus::default()),
            crash_after,
            metrics: FaucetMetrics::new(),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &FaucetConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Address prefix of the chain's keys.
    pub fn prefix(&self) -> AddressPrefix {
        self.prefix
    }

    /// The chain served.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The registrar account.
    pub fn account(&self) -> &AccountInfo {
        &self.account
    }

    /// Parsed IP lists.
    pub fn ip_lists(&self) -> &IpLists {
        &self.lists
    }

    /// Figures from the last funds check.
    pub fn funds(&self) -> FundsStatus {
        self.funds.lock().map(|f| f.clone()).unwrap_or_default()
    }

    fn claim(&self, id: i64) -> Option<Claim<'_>> {
        // The guard must not be built unless the id was inserted: dropping a Claim removes the id
        // (and takes the lock, which is still held here).
        let inserted = self.active.lock().ok()?.insert(id);
        if inserted { Some(Claim { registrar: self, id }) } else { None }
    }

    async fn crash_point(&self, state: RegistrationState, name: &str) {
        self.metrics.reached(state);
        if self.crash_after == Some(state) {
            tracing::error!(%state, name, "crash point reached; waiting to be killed");
            std::future::pending::<()>().await;
        }
    }

    /// Admits a validated request and drives it until the node included it (or it failed).
    pub async fn register(
        &self,
        req: ValidRequest,
        ip: IpAddr,
        segment: Option<&str>,
    ) -> Result<Registration, Refusal> {
        if self.lists.deny.iter().any(|n| n.contains(&ip)) {
            return Err(Refusal::IpDenied(ip));
        }
        match self.node.account_by_name(&req.name).await {
            Ok(Some(_)) => return Err(Refusal::AccountExists),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "account lookup failed");
                return Err(Refusal::NodeUnavailable);
            }
        }
        let wanted = req.referrer.as_deref().or(match self.config.referral.segment {
            SegmentMode::Referrer => segment,
            SegmentMode::Ignore => None,
        });
        let referrer = self.resolve_referrer(wanted).await?;
        let new = NewRegistration {
            name: req.name.clone(),
            owner_key: req.owner_key.to_string(),
            active_key: req.active_key.to_string(),
            memo_key: req.memo_key.to_string(),
            referrer: referrer.name.clone(),
            referrer_id: referrer.id.to_string(),
            referrer_percent: self.config.referral.referrer_percent,
            requested_referrer: req.referrer.clone(),
            refcode: req.refcode.clone(),
            remote_ip: ip.to_string(),
        };
        let id =
            {
                // Per-IP checks and the insert are one step, so parallel requests from one IP cannot
                // both pass the cooldown.
                let _admission = self.admission.lock().await;
                let now = unix_now();
                if !self.lists.exempt.iter().any(|n| n.contains(&ip)) {
                    self.check_ip(&new.remote_ip, now).await?;
                }
                if let Some(rate) = &self.rate
                    && rate.check().is_err()
                {
                    return Err(Refusal::GlobalRate(self.config.limits.global_per_minute));
                }
                match self.store.insert_received(&new, now).await {
                    Ok(id) => id,
                    Err(StoreError::NameTaken(name)) => {
                        let done =
                            self.store.by_name(&name).await.unwrap_or_default().iter().any(|r| {
                                matches!(r.state, RegistrationState::Included | RegistrationState::Irreversible)
                            });
                        return Err(if done { Refusal::AccountExists } else { Refusal::InFlight(name) });
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot record registration");
                        return Err(Refusal::Store);
                    }
                }
            };
        tracing::info!(id, name = %new.name, referrer = %new.referrer, ip = %new.remote_ip, "registration received");
        let Some(_claim) = self.claim(id) else { return Err(Refusal::InFlight(new.name)) };
        self.crash_point(RegistrationState::Received, &new.name).await;
        self.drive_received(id).await
    }

    async fn check_ip(&self, ip: &str, now: i64) -> Result<(), Refusal> {
        let limits = &self.config.limits;
        let (last, today) = self.store.ip_usage(ip, now - 86_400).await.map_err(|e| {
            tracing::error!(error = %e, "cannot read per-IP usage");
            Refusal::Store
        })?;
        if limits.ip_cooldown_seconds > 0
            && let Some(last) = last
        {
            let elapsed = u64::try_from(now - last).unwrap_or(0);
            if elapsed < limits.ip_cooldown_seconds {
                return Err(Refusal::IpCooldown {
                    cooldown: limits.ip_cooldown_seconds,
                    wait: limits.ip_cooldown_seconds - elapsed,
                });
            }
        }
        if limits.ip_daily_cap > 0 && today >= i64::from(limits.ip_daily_cap) {
            return Err(Refusal::IpDailyCap(limits.ip_daily_cap));
        }
        Ok(())
    }

    /// The named referrer when it is a member, else the default referrer.
    async fn resolve_referrer(&self, wanted: Option<&str>) -> Result<AccountInfo, Refusal> {
        let Some(name) = wanted.filter(|n| bts_protocol::is_valid_name(n)) else {
            return Ok(self.default_referrer.clone());
        };
        match self.node.account_by_name(name).await {
            Ok(Some(a)) if a.is_member(TimePointSec::now()) => Ok(a),
            Ok(_) => Ok(self.default_referrer.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "referrer lookup failed");
                Err(Refusal::NodeUnavailable)
            }
        }
    }

    fn account_create(&self, row: &Registration) -> Result<AccountCreateOperation, String> {
        let key = |s: &str| PublicKey::parse_with_prefix(s, self.prefix).map_err(|e| format!("stored key {s}: {e}"));
        Ok(AccountCreateOperation {
            fee: Asset::core(0),
            registrar: self.account.id,
            referrer: row.referrer_id.parse::<AccountId>().map_err(|e| format!("stored referrer id: {e}"))?,
            referrer_percent: u16::try_from(row.referrer_percent).map_err(|e| e.to_string())?,
            name: row.name.clone(),
            owner: Authority::single_key(key(&row.owner_key)?),
            active: Authority::single_key(key(&row.active_key)?),
            options: AccountOptions::new_account(key(&row.memo_key)?),
            extensions: AccountCreateExtensions::default(),
        })
    }

    /// Fee from the node's schedule, TaPoS from its head, signed with the registrar key.
    async fn build_and_sign(&self, op: Operation) -> Result<(SignedTransaction, i64), NodeError> {
        let fee = self.node.required_fee(&op).await?;
        let mut op = op;
        op.set_fee(Asset::core(fee));
        let head = self.node.head().await?;
        let expiration = head.time.checked_add(self.config.timing.expiration_seconds).unwrap_or(TimePointSec::MAX);
        let mut tx =
            SignedTransaction::from(Transaction::new(TaposRef::from_block_id(&head.block_id), expiration, vec![op]));
        tx.sign(&self.key, &self.chain_id)
            .map_err(|e| NodeError::Unexpected { method: "sign", detail: e.to_string() })?;
        Ok((tx, fee))
    }

    async fn drive_received(&self, id: i64) -> Result<Registration, Refusal> {
        let row = self.load(id).await?;
        let op = match self.account_create(&row) {
            Ok(op) => op,
            Err(reason) => {
                self.fail(&row, &reason).await;
                return Err(Refusal::NodeRejected(reason));
            }
        };
        let (tx, fee) = match self.build_and_sign(Operation::AccountCreate(op)).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(id, name = %row.name, error = %e, "cannot build the transaction");
                let (reason, refusal) = match e {
                    NodeError::Rejected(m) => (m.clone(), Refusal::NodeRejected(m)),
                    other => (format!("node unavailable before signing: {other}"), Refusal::NodeUnavailable),
                };
                self.fail(&row, &reason).await;
                return Err(refusal);
            }
        };
        let record = SignedRecord {
            tx_id: tx.transaction.id().to_string(),
            tx_json: serde_json::to_string(&tx).map_err(|_| Refusal::Store)?,
            expiration: i64::from(tx.transaction.expiration.secs()),
            fee,
        };
        let tx_id = record.tx_id.clone();
        match self.store.mark_signed(id, RegistrationState::Received, &record, unix_now()).await {
            Ok(true) => {}
            Ok(false) => return self.load(id).await.and_then(settled),
            Err(e) => {
                tracing::error!(error = %e, "cannot record the signed transaction; not sending it");
                return Err(Refusal::Store);
            }
        }
        tracing::info!(id, name = %row.name, tx = %tx_id, fee, "registration signed");
        self.crash_point(RegistrationState::Signed, &row.name).await;
        self.send(&row, RegistrationState::Signed, &tx).await
    }

    /// `from → broadcast`, then hands `tx` to the node and waits for its block.
    async fn send(
        &self,
        row: &Registration,
        from: RegistrationState,
        tx: &SignedTransaction,
    ) -> Result<Registration, Refusal> {
        if from != RegistrationState::Broadcast {
            match self.store.transition(row.id, from, RegistrationState::Broadcast, unix_now()).await {
                Ok(true) => {}
                Ok(false) => return self.load(row.id).await.and_then(settled),
                Err(e) => {
                    tracing::error!(error = %e, "cannot record the broadcast; not sending");
                    return Err(Refusal::Pending(row.name.clone()));
                }
            }
            self.crash_point(RegistrationState::Broadcast, &row.name).await;
        }
        match self.node.broadcast_synchronous(tx).await {
            Ok(inc) => {
                let account_id = match inc.new_object {
                    Some(id) => id,
                    None => match self.node.account_by_name(&row.name).await {
                        Ok(Some(a)) => a.id.to_string(),
                        _ => String::new(),
                    },
                };
                let block = Some(i64::from(inc.block_num));
                match self
                    .store
                    .mark_included(row.id, RegistrationState::Broadcast, block, &account_id, unix_now())
                    .await
                {
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "cannot record inclusion; recovery will"),
                }
                tracing::info!(id = row.id, name = %row.name, account = %account_id, block = inc.block_num, "registration included");
                self.crash_point(RegistrationState::Included, &row.name).await;
                self.load(row.id).await
            }
            Err(NodeError::Rejected(m)) => self.settle_rejected(row, m).await,
            Err(e) => {
                tracing::warn!(id = row.id, name = %row.name, error = %e, "broadcast outcome unknown; recovery will finish it");
                Err(Refusal::Pending(row.name.clone()))
            }
        }
    }

    async fn settle_rejected(&self, row: &Registration, message: String) -> Result<Registration, Refusal> {
        if message.contains("already exists") || message.contains("duplicate transaction") {
            // Either ours landed (a re-send after a crash) or someone else took the name.
            // Never re-send from here: a duplicate that is still pending would loop until its block.
            let row = self.load(row.id).await?;
            return self.resolve(&row, false).await;
        }
        let refusal = if message.contains("nsufficient Balance") || message.contains("insufficient_balance") {
            tracing::error!(name = %row.name, "registrar cannot pay the fee: {message}");
            Refusal::OutOfFunds
        } else {
            tracing::warn!(name = %row.name, "node refused the registration: {message}");
            Refusal::NodeRejected(message.clone())
        };
        let row = self.load(row.id).await?;
        self.fail(&row, &message).await;
        Err(refusal)
    }

    async fn fail(&self, row: &Registration, reason: &str) {
        match self.store.mark_failed(row.id, row.state, reason, unix_now()).await {
            Ok(true) => self.metrics.reached(RegistrationState::Failed),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot record failure"),
        }
    }

    async fn load(&self, id: i64) -> Result<Registration, Refusal> {
        match self.store.get(id).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(Refusal::Store),
            Err(e) => {
                tracing::error!(error = %e, "cannot load registration");
                Err(Refusal::Store)
            }
        }
    }

    fn is_ours(&self, account: &AccountInfo, row: &Registration) -> bool {
        account.registrar == self.account.id && account.owner_key.as_deref() == Some(row.owner_key.as_str())
    }

    /// Decides a `signed`/`broadcast` row by asking the chain (see the module docs); with
    /// `resend` false a still-valid transaction is left for the next recovery pass.
    async fn resolve(&self, row: &Registration, resend: bool) -> Result<Registration, Refusal> {
        let unavailable = |e: NodeError| {
            tracing::warn!(error = %e, "node unavailable while resolving");
            Refusal::Pending(row.name.clone())
        };
        match self.node.account_by_name(&row.name).await.map_err(unavailable)? {
            Some(a) if self.is_ours(&a, row) => {
                match self.store.mark_included(row.id, row.state, None, &a.id.to_string(), unix_now()).await {
                    Ok(true) => self.metrics.reached(RegistrationState::Included),
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "cannot record inclusion"),
                }
                tracing::info!(id = row.id, name = %row.name, account = %a.id, "registration found on chain");
                self.load(row.id).await
            }
            Some(_) => {
                self.fail(row, "Account exists").await;
                Err(Refusal::AccountExists)
            }
            None => {
                let head = self.node.head().await.map_err(unavailable)?;
                if i64::from(head.time.secs()) > row.expiration.unwrap_or(0) {
                    // Expired without being included: it never can be. Sign a new one.
                    match self.store.transition(row.id, row.state, RegistrationState::Received, unix_now()).await {
                        Ok(true) => {
                            tracing::info!(id = row.id, name = %row.name, "transaction expired unincluded; signing anew");
                            Box::pin(self.drive_received(row.id)).await
                        }
                        _ => self.load(row.id).await.and_then(settled),
                    }
                } else if !resend {
                    Err(Refusal::Pending(row.name.clone()))
                } else {
                    let tx: SignedTransaction =
                        row.tx_json.as_deref().and_then(|j| serde_json::from_str(j).ok()).ok_or(Refusal::Store)?;
                    Box::pin(self.send(row, row.state, &tx)).await
                }
            }
        }
    }

    /// `included → irreversible` once the last irreversible block covers the transaction.
    async fn settle_included(&self, row: &Registration, head: &Head) -> Result<(), NodeError> {
        let irreversible = match row.block_num {
            Some(b) => b <= i64::from(head.last_irreversible),
            // Block unknown (found after a crash): a transaction can only be in blocks up to its
            // expiration, so once the last irreversible block is past it, inclusion is final.
            None => match self.node.block_time(head.last_irreversible).await? {
                Some(t) => i64::from(t.secs()) >= row.expiration.unwrap_or(i64::MAX),
                None => false,
            },
        };
        if !irreversible {
            return Ok(());
        }
        match self.node.account_by_name(&row.name).await? {
            Some(a) if self.is_ours(&a, row) => {
                if let Ok(true) = self
                    .store
                    .transition(row.id, RegistrationState::Included, RegistrationState::Irreversible, unix_now())
                    .await
                {
                    self.metrics.reached(RegistrationState::Irreversible);
                    tracing::info!(id = row.id, name = %row.name, "registration irreversible");
                }
            }
            _ => {
                // A fork dropped it: start over.
                tracing::warn!(id = row.id, name = %row.name, "included registration vanished from the chain; re-driving");
                let _ = self
                    .store
                    .transition(row.id, RegistrationState::Included, RegistrationState::Received, unix_now())
                    .await;
            }
        }
        Ok(())
    }

    /// One recovery pass over every unfinished row not driven by a live request.
    pub async fn recover_once(&self) {
        let rows = match self.store.unfinished().await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "recovery: cannot read the store");
                return;
            }
        };
        self.metrics.unfinished.set(rows.len() as f64);
        let mut head = None;
        for row in rows {
            let Some(_claim) = self.claim(row.id) else { continue };
            let outcome = match row.state {
                RegistrationState::Received => self.drive_received(row.id).await.map(|_| ()),
                RegistrationState::Signed | RegistrationState::Broadcast => self.resolve(&row, true).await.map(|_| ()),
                RegistrationState::Included => {
                    // One head read per pass, not per included row.
                    if head.is_none() {
                        head = self.node.head().await.ok();
                    }
                    let settled = match &head {
                        Some(h) => self.settle_included(&row, h).await,
                        None => Err(NodeError::Unavailable("no head".into())),
                    };
                    if let Err(e) = settled {
                        tracing::debug!(error = %e, "recovery: irreversibility check failed");
                    }
                    Ok(())
                }
                RegistrationState::Irreversible | RegistrationState::Failed => Ok(()),
            };
            if let Err(r) = outcome {
                tracing::info!(id = row.id, name = %row.name, outcome = %r, "recovery pass");
            }
        }
    }

    /// Checks the balance and cashback; claims vested cashback above the threshold.
    pub async fn check_funds(&self) -> Result<FundsStatus, NodeError> {
        let cfg = &self.config.funds;
        let now = TimePointSec::now();
        let balance = self.node.core_balance(self.account.id).await?;
        let mut vesting = self.node.cashback_balances(self.account.id, now).await?;
        let withdrawable: i64 = vesting.iter().map(|v| v.withdrawable).sum();
        if cfg.claim_threshold > 0 && withdrawable >= cfg.claim_threshold {
            for vb in vesting.iter_mut().filter(|v| v.withdrawable > 0) {
                match self.claim_cashback(&vb.id, vb.withdrawable).await {
                    Ok(()) => {
                        vb.balance -= vb.withdrawable;
                        vb.withdrawable = 0;
                    }
                    Err(e) => tracing::warn!(vesting_balance = %vb.id, error = %e, "cashback claim failed"),
                }
            }
        }
        let balance = self.node.core_balance(self.account.id).await.unwrap_or(balance);
        let status = {
            let mut f =
                self.funds.lock().map_err(|_| NodeError::Unexpected { method: "funds", detail: "poisoned".into() })?;
            f.balance = Some(balance);
            f.cashback_vesting = vesting.iter().map(|v| v.balance).sum();
            f.cashback_withdrawable = vesting.iter().map(|v| v.withdrawable).sum();
            f.low = balance < cfg.low_balance;
            f.clone()
        };
        self.metrics.registrar_balance.set(balance as f64);
        self.metrics.cashback_withdrawable.set(status.cashback_withdrawable as f64);
        self.metrics.low_balance.set(if status.low { 1.0 } else { 0.0 });
        if status.low {
            tracing::warn!(
                balance,
                low_balance = cfg.low_balance,
                "registrar balance is low; fund '{}'",
                self.account.name
            );
        }
        Ok(status)
    }

    async fn claim_cashback(&self, vesting_balance: &str, amount: i64) -> Result<(), NodeError> {
        let bad = |detail: String| NodeError::Unexpected { method: "vesting_balance_withdraw", detail };
        let op = Operation::VestingBalanceWithdraw(VestingBalanceWithdrawOperation {
            fee: Asset::core(0),
            vesting_balance: vesting_balance.parse().map_err(|e| bad(format!("{e}")))?,
            owner: self.account.id,
            amount: Asset::core(amount),
        });
        let (tx, fee) = self.build_and_sign(op).await?;
        let inc = self.node.broadcast_synchronous(&tx).await?;
        let tx_id = tx.transaction.id().to_string();
        if let Err(e) = self.store.record_claim(vesting_balance, amount, fee, &tx_id, unix_now()).await {
            tracing::error!(error = %e, "cashback claimed but not recorded");
        }
        self.metrics.cashback_claimed.increment(u64::try_from(amount).unwrap_or(0));
        tracing::info!(vesting_balance, amount, fee, block = inc.block_num, "cashback claimed");
        Ok(())
    }

    /// Marks registered accounts that became lifetime members; returns how many were found.
    pub async fn scan_upgrades(&self) -> Result<usize, Refusal> {
        let mut after = 0;
        let mut found = 0;
        loop {
            let batch = self.store.not_upgraded(after, 100).await.map_err(|_| Refusal::Store)?;
            let Some(last) = batch.last() else { break };
            after = last.0;
            let ids: Vec<String> = batch.iter().map(|(_, a)| a.clone()).collect();
            let accounts = self.node.accounts(&ids).await.map_err(|_| Refusal::NodeUnavailable)?;
            for ((row, _), account) in batch.iter().zip(accounts) {
                if account.is_some_and(|a| a.is_lifetime_member()) {
                    self.store.mark_upgraded(*row, unix_now()).await.map_err(|_| Refusal::Store)?;
                    found += 1;
                }
            }
        }
        if let Ok(stats) = self.store.stats(unix_now()).await {
            self.metrics.upgraded_accounts.set(stats.upgraded as f64);
            if let Ok(mut f) = self.funds.lock() {
                f.upgraded = stats.upgraded;
            }
        }
        Ok(found)
    }

    /// Runs recovery, funds and upgrade jobs until `shutdown` fires.
    pub async fn run_jobs(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let t = &self.config.timing;
        let mut recovery = tokio::time::interval(Duration::from_secs(t.recovery_interval_seconds));
        let mut funds = tokio::time::interval(Duration::from_secs(self.config.funds.check_interval_seconds));
        let mut upgrades = tokio::time::interval(Duration::from_secs(t.upgrade_scan_interval_seconds));
        for i in [&mut recovery, &mut funds, &mut upgrades] {
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = recovery.tick() => self.recover_once().await,
                _ = funds.tick() => {
                    if let Err(e) = self.check_funds().await {
                        tracing::warn!(error = %e, "funds check failed");
                    }
                }
                _ = upgrades.tick() => {
                    match self.scan_upgrades().await {
                        Ok(n) if n > 0 => tracing::info!(upgraded = n, "registered accounts upgraded to lifetime members"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "upgrade scan failed"),
                    }
                }
            }
        }
    }
}

/// A row that another driver advanced: success when it reached inclusion.
fn settled(row: Registration) -> Result<Registration, Refusal> {
    match row.state {
        RegistrationState::Included | RegistrationState::Irreversible => Ok(row),
        RegistrationState::Failed if row.failure.as_deref() == Some("Account exists") => Err(Refusal::AccountExists),
        RegistrationState::Failed => Err(Refusal::NodeRejected(row.failure.unwrap_or_default())),
        _ => Err(Refusal::Pending(row.name)),
    }
}
