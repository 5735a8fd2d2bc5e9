//! Operation rules: stateless `validate()` and stateful `do_evaluate()`, with the node's messages.

use crate::chain::Chain;
use bts_protocol::operations::operation_name;
use bts_protocol::*;
use bts_rpc::FcException;

fn check(cond: bool, expr: &str, msg: &str) -> Result<(), FcException> {
    if cond { Ok(()) } else { Err(FcException::assert(expr, msg)) }
}

/// `database::get(id)` on a missing object, as every evaluator's lookup of an account fails.
fn found(cond: bool, id: impl std::fmt::Display) -> Result<(), FcException> {
    check(cond, "maybe_found != nullptr", &format!("Unable to find Object {id}"))
}

/// The devnet applies the operations the faucet, the wallet's account page and the tests use;
/// for any other operation it says so instead of pretending (witness_node would evaluate it).
fn not_implemented(op: &GenericOperation) -> FcException {
    FcException::assert(
        "false",
        format!("the devnet does not implement operation {} ({})", op.tag(), operation_name(op.tag())),
    )
}

/// `operation.validate()`: checks that need no chain state.
pub fn validate(op: &Operation) -> Result<(), FcException> {
    check(op.fee().amount >= 0, "fee.amount >= 0", "")?;
    match op {
        Operation::Transfer(t) => {
            check(t.from != t.to, "from != to", "")?;
            check(t.amount.amount > 0, "amount.amount > 0", "")
        }
        Operation::AccountCreate(c) => {
            check(is_valid_name(&c.name), "is_valid_name( name )", "")?;
            check(c.referrer_percent <= 10_000, "referrer_percent <= GRAPHENE_100_PERCENT", "")?;
            check(c.owner.num_auths() != 0, "owner.num_auths() != 0", "")?;
            check(c.owner.address_auths.is_empty(), "owner.address_auths.size() == 0", "")?;
            check(c.owner.is_reachable(), "!owner.is_impossible()", "")?;
            check(c.active.num_auths() != 0, "active.num_auths() != 0", "")?;
            check(c.active.address_auths.is_empty(), "active.address_auths.size() == 0", "")?;
            check(c.active.is_reachable(), "!active.is_impossible()", "")
        }
        Operation::AccountUpgrade(_) => Ok(()),
        Operation::VestingBalanceWithdraw(w) => check(w.amount.amount > 0, "amount.amount > 0", ""),
        Operation::Generic(g) if g.tag() == 6 => {
            // account_update_operation::validate
            let account = op.fee_payer();
            check(account != AccountId::new(4), "account != GRAPHENE_TEMP_ACCOUNT", "")?;
            check(account != AccountId::new(0), "account != account_id_type()", "")?;
            let (owner, active) = (g.member_json("owner"), g.member_json("active"));
            let ext = g.member_json("extensions").unwrap_or_default();
            let has_action = owner.is_some()
                || active.is_some()
                || g.member_json("new_options").is_some()
                || ext.as_object().is_some_and(|e| !e.is_empty());
            check(has_action, "has_action", "")?;
            for (name, auth) in [("owner", owner), ("active", active)] {
                if let Some(auth) = auth {
                    let auth: Authority =
                        serde_json::from_value(auth).map_err(|e| FcException::assert(name, e.to_string()))?;
                    check(auth.address_auths.is_empty(), &format!("{name}->address_auths.size() == 0"), "")?;
                    check(auth.num_auths() != 0, &format!("{name}->num_auths() != 0"), "")?;
                    check(auth.is_reachable(), &format!("!{name}->is_impossible()"), "")?;
                }
            }
            Ok(())
        }
        Operation::Generic(g) => Err(not_implemented(g)),
    }
}

/// `do_evaluate()`: checks against the current state.
pub fn evaluate(chain: &Chain, op: &Operation) -> Result<(), FcException> {
    let exists = |id: AccountId| chain.account(id).is_some();
    found(exists(op.fee_payer()), op.fee_payer())?;
    match op {
        Operation::Transfer(t) => {
            found(exists(t.to), t.to)?;
            check(chain.asset_by_symbol_or_id(&t.amount.asset_id.to_string()).is_some(), "asset exists", "")?;
            if chain.balance(t.from, t.amount.asset_id) < t.amount.amount {
                return Err(chain.insufficient_transfer(t));
            }
            Ok(())
        }
        Operation::AccountCreate(c) => {
            let registrar = chain.account(c.registrar);
            check(
                registrar.is_some_and(|r| r.is_lifetime_member()),
                "d.get(op.registrar).is_lifetime_member()",
                "Only Lifetime members may register an account.",
            )?;
            check(
                chain.account(c.referrer).is_some_and(|r| r.is_member()),
                "op.referrer(d).is_member( d.head_block_time() )",
                "The referrer must be either a lifetime or annual subscriber.",
            )?;
            let max_members = chain.parameters()["maximum_authority_membership"].as_u64().unwrap_or(10) as usize;
            for auth in [&c.owner, &c.active] {
                check(auth.num_auths() <= max_members, "num_auths <= max_authority_membership", "")?;
                for (id, _) in auth.account_auths.iter() {
                    found(exists(*id), id)?;
                }
            }
            found(exists(c.options.voting_account), c.options.voting_account)?;
            if chain.account_by_name(&c.name).is_some() {
                return Err(FcException::assert(
                    "current_account_itr == acnt_indx.indices().get<by_name>().end()",
                    format!("Account '{}' already exists.", c.name),
                ));
            }
            Ok(())
        }
        Operation::AccountUpgrade(u) => {
            check(
                u.upgrade_to_lifetime_member,
                "o.upgrade_to_lifetime_member",
                "Annual membership is no longer available.",
            )?;
            let a = chain.account(u.account_to_upgrade);
            check(!a.is_some_and(|a| a.is_lifetime_member()), "!account->is_lifetime_member()", "")
        }
        Operation::VestingBalanceWithdraw(w) => {
            let Some(vb) = chain.vesting.get(w.vesting_balance.instance() as usize) else {
                return Err(FcException::assert(
                    "vesting balance exists",
                    format!("no vesting balance {}", w.vesting_balance),
                ));
            };
            check(
                w.owner == vb.owner,
                "op.owner == vbo.owner",
                &format!("\"{}\" does not own {}", w.owner, w.vesting_balance),
            )?;
            check(w.amount.asset_id == id::well_known::CORE_ASSET, "op.amount.asset_id == vbo.balance.asset_id", "")?;
            check(
                w.amount.amount <= vb.balance,
                "vbo.is_withdraw_allowed( now, op.amount )",
                &format!(
                    "Account has insufficient Vested Balance to withdraw: {} requested, {} available",
                    chain.format_amount(w.amount),
                    chain.format_amount(Asset::core(vb.balance))
                ),
            )
        }
        Operation::Generic(g) if g.tag() == 6 => {
            // account_update_evaluator::do_evaluate: the accounts its authorities name exist.
            for name in ["owner", "active"] {
                if let Some(auth) = g.member_json(name).and_then(|a| serde_json::from_value::<Authority>(a).ok()) {
                    for (id, _) in auth.account_auths.iter() {
                        found(exists(*id), id)?;
                    }
                }
            }
            if let Some(options) =
                g.member_json("new_options").and_then(|o| serde_json::from_value::<AccountOptions>(o).ok())
            {
                found(exists(options.voting_account), options.voting_account)?;
            }
            Ok(())
        }
        Operation::Generic(g) => Err(not_implemented(g)),
    }
}
