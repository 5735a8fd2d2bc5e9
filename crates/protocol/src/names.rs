//! Account-name rules: what the chain accepts, and what counts as a cheap ("basic fee") name.
//!
//! Two notions of "cheap" exist and both matter (protocol.md §2.3): the chain's
//! `is_cheap_name` counts `.` and `/` as cheap-making, while the wallet and every faucet ignore
//! `.`. A faucet applies the stricter wallet rule so it never pays the premium fee for a name the
//! wallet itself would have refused.

use crate::error::{Error, Result};

/// `GRAPHENE_MIN_ACCOUNT_NAME_LENGTH`.
pub const MIN_ACCOUNT_NAME_LENGTH: usize = 1;
/// `GRAPHENE_MAX_ACCOUNT_NAME_LENGTH`.
pub const MAX_ACCOUNT_NAME_LENGTH: usize = 63;

/// Why a name breaks the chain rule (`is_valid_name`), or `None` when it is valid.
pub fn chain_name_error(name: &str) -> Option<&'static str> {
    let len = name.len();
    if len < MIN_ACCOUNT_NAME_LENGTH {
        return Some("is empty");
    }
    if len > MAX_ACCOUNT_NAME_LENGTH {
        return Some("is longer than 63 characters");
    }
    for label in name.split('.') {
        let b = label.as_bytes();
        let (Some(first), Some(last)) = (b.first(), b.last()) else {
            return Some("has an empty label (leading, trailing or double dot)");
        };
        if !first.is_ascii_lowercase() {
            return Some("each label must start with a lowercase letter");
        }
        if !(last.is_ascii_lowercase() || last.is_ascii_digit()) {
            return Some("each label must end with a lowercase letter or digit");
        }
        if !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-') {
            return Some("may contain only lowercase letters, digits, '-' and '.'");
        }
    }
    None
}

/// The chain's `is_valid_name`.
pub fn is_valid_name(name: &str) -> bool {
    chain_name_error(name).is_none()
}

/// The chain's `is_cheap_name`: a digit, `.`, `-` or `/`, or no vowel (a e i o u y). Decides
/// whether the node charges `basic_fee` or `premium_fee`.
pub fn is_cheap_name_chain(name: &str) -> bool {
    name.bytes().any(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'/')) || !has_vowel(name)
}

/// The wallet's and faucets' `is_cheap_name`: a digit or `-`, or no vowel. `.` does **not** make a
/// name cheap here, so `alice.bob` is premium for the wallet though basic on chain.
pub fn is_cheap_name_wallet(name: &str) -> bool {
    name.bytes().any(|c| c.is_ascii_digit() || c == b'-') || !has_vowel(name)
}

fn has_vowel(name: &str) -> bool {
    name.bytes().any(|c| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y'))
}

/// The wallet's stricter validity rule (bitsharesjs `ChainValidation.is_account_name_error`):
/// 3..=63 characters, labels of at least 3, `[a-z][a-z0-9-]*[a-z0-9]`, no `--`. Returns the
/// wallet's reason, or `None` when valid.
pub fn wallet_name_error(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("Account name should not be empty.");
    }
    if name.len() < 3 {
        return Some("Account name should be longer.");
    }
    if name.len() > MAX_ACCOUNT_NAME_LENGTH {
        return Some("Account name should be shorter.");
    }
    for label in name.split('.') {
        let b = label.as_bytes();
        if !b.first().is_some_and(u8::is_ascii_lowercase) {
            return Some("Each account segment should start with a letter.");
        }
        if !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-') {
            return Some("Each account segment should have only letters, digits, or dashes.");
        }
        if label.contains("--") {
            return Some("Each account segment should have only one dash in a row.");
        }
        if !b.last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return Some("Each account segment should end with a letter or digit.");
        }
        if b.len() < 3 {
            return Some("Each account segment should be longer.");
        }
    }
    None
}

/// A name valid under the chain rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountName(String);

impl AccountName {
    /// Validates `name` against the chain rule.
    pub fn new(name: &str) -> Result<Self> {
        match chain_name_error(name) {
            None => Ok(Self(name.to_owned())),
            Some(reason) => Err(Error::InvalidAccountName { name: name.to_owned(), reason }),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AccountName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AccountName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_rule() {
        for ok in ["a", "a1", "a-b", "a--b", "init0", "foobar-f124", "alice.bob", "a.b.c", &"a".repeat(63)] {
            assert!(is_valid_name(ok), "{ok} should be valid");
        }
        for bad in ["", "A", "1a", "a-", "a_b", "a..b", ".a", "a.", "ab.1c", &"a".repeat(64), "é"] {
            assert!(!is_valid_name(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn cheap_rules_differ_on_dots() {
        assert!(is_cheap_name_chain("alice.bob"));
        assert!(!is_cheap_name_wallet("alice.bob"));
        for cheap in ["alice1", "al-ice", "bcdfg", "test-faucet-1"] {
            assert!(is_cheap_name_chain(cheap) && is_cheap_name_wallet(cheap), "{cheap}");
        }
        for premium in ["alice", "nathan", "y"] {
            assert!(!is_cheap_name_chain(premium) && !is_cheap_name_wallet(premium), "{premium}");
        }
    }

    #[test]
    fn wallet_rule_is_stricter() {
        assert_eq!(wallet_name_error("alice-1"), None);
        assert_eq!(wallet_name_error("ab"), Some("Account name should be longer."));
        assert_eq!(wallet_name_error("a--b"), Some("Each account segment should have only one dash in a row."));
        assert_eq!(wallet_name_error("abc.de"), Some("Each account segment should be longer."));
        assert!(is_valid_name("a--b"));
        assert!(AccountName::new("Bad-Name1").is_err());
        assert_eq!(AccountName::new("good-name1").unwrap().as_str(), "good-name1");
    }
}
