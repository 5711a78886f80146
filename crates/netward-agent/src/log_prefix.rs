//! The grammar of the agent's NFLOG log prefixes, the one contract between the rules that log
//! a hit (`enforcer/nft/ruleset.rs`) and the sensor that reads it (`events/nflog.rs`):
//!
//! ```text
//! netward:<out|in>:<allow|audit|block>:<blocked|audited|allowed>:<reason>
//! ```
//!
//! e.g. `netward:out:block:blocked:indicator_block`. The outcome and reason are written when
//! the rules are built for a mode and coverage, so a hit reports what the matching rule did.
//! Pure: no IO.

use netward_model::Action;
use netward_model::detection::{Outcome, Reason};

/// The first field of every netward log prefix.
pub const PREFIX: &str = "netward";

/// The longest prefix nftables keeps (`NF_LOG_PREFIXLEN` is 128 bytes with the final NUL);
/// ours stay well under it.
pub const MAX_LEN: usize = 127;

pub use netward_model::detection::Direction;

/// Both directions, in the order the rules are written.
pub const DIRECTIONS: [Direction; 2] = [Direction::Outbound, Direction::Inbound];

/// The field of a direction in a log prefix.
fn direction_field(direction: Direction) -> &'static str {
    match direction {
        Direction::Outbound => "out",
        Direction::Inbound => "in",
    }
}

/// What one log rule says about the packets it logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Verdict {
    /// The chain's direction.
    pub direction: Direction,
    /// The action of the set that matched (`allow`, `block` or `audit`).
    pub set_action: Action,
    /// What the rule did.
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
}

impl Verdict {
    /// The log prefix of this verdict.
    pub fn prefix(&self) -> String {
        format!(
            "{PREFIX}:{}:{}:{}:{}",
            direction_field(self.direction),
            self.set_action.as_str(),
            self.outcome.as_str(),
            self.reason.as_str()
        )
    }

    /// Reads a prefix written by [`Verdict::prefix`]; anything else (another program's
    /// prefix, an unknown field, extra fields) is `None`.
    pub fn parse(prefix: &str) -> Option<Self> {
        let mut parts = prefix.split(':');
        if parts.next()? != PREFIX {
            return None;
        }
        let direction = parts.next()?;
        let direction = DIRECTIONS
            .into_iter()
            .find(|d| direction_field(*d) == direction)?;
        let action = parts.next()?;
        let set_action = [Action::Allow, Action::Audit, Action::Block]
            .into_iter()
            .find(|a| a.as_str() == action)?;
        let outcome = Outcome::parse(parts.next()?)?;
        let reason = Reason::parse(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            direction,
            set_action,
            outcome,
            reason,
        })
    }
}

/// Every verdict a rule could carry, for tests of the grammar.
#[cfg(test)]
pub(crate) fn every_verdict() -> Vec<Verdict> {
    let mut out = Vec::new();
    for direction in DIRECTIONS {
        for set_action in [Action::Allow, Action::Audit, Action::Block] {
            for outcome in [Outcome::Blocked, Outcome::Audited, Outcome::Allowed] {
                for reason in Reason::ALL {
                    out.push(Verdict {
                        direction,
                        set_action,
                        outcome,
                        reason,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_round_trips_and_fits_in_an_nft_prefix() {
        let all = every_verdict();
        assert_eq!(all.len(), 2 * 3 * 3 * Reason::ALL.len());
        let mut prefixes = std::collections::BTreeSet::new();
        for v in all {
            let prefix = v.prefix();
            assert!(prefix.len() < 64, "{prefix}");
            assert!(prefix.len() <= MAX_LEN);
            assert_eq!(Verdict::parse(&prefix), Some(v), "{prefix}");
            assert!(prefixes.insert(prefix), "two verdicts, one prefix");
        }
    }

    #[test]
    fn the_documented_form_and_strangers() {
        let v = Verdict {
            direction: Direction::Outbound,
            set_action: Action::Block,
            outcome: Outcome::Audited,
            reason: Reason::ProtocolNotCovered,
        };
        assert_eq!(v.prefix(), "netward:out:block:audited:protocol_not_covered");
        for stranger in [
            "netward:out:block:audited:because",
            "other:out:block:blocked:indicator_block",
            "netward:sideways:block:blocked:indicator_block",
            "netward:out:Block:blocked:indicator_block",
            "netward:out:block:refused:indicator_block",
            "netward:out:block:blocked:indicator_block:extra",
            "netward:out:block:blocked",
            "netward",
            "",
        ] {
            assert_eq!(Verdict::parse(stranger), None, "{stranger}");
        }
    }
}
