//! Guard rails: blocks that would cut a device off from itself or from the control plane, or
//! that are so wide they are more likely a typo than a decision. The server refuses them unless
//! the request says `force`.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::{Action, IndicatorValue};

/// The widest IPv4 block accepted without `force`.
pub const MIN_V4_PREFIX: u8 = 8;
/// The widest IPv6 block accepted without `force`.
pub const MIN_V6_PREFIX: u8 = 32;

/// Why a block was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardViolation {
    /// The block covers a protected range.
    #[error(
        "a block on {value} would cover {what} ({range}); resubmit with force to block it anyway"
    )]
    Protected {
        /// The canonical value.
        value: String,
        /// What the range is, for a person.
        what: &'static str,
        /// The protected range.
        range: IpNet,
    },
    /// The block is wider than /8 or /32.
    #[error(
        "a block on {value} covers more than a /{limit}; resubmit with force to block it anyway"
    )]
    TooWide {
        /// The canonical value.
        value: String,
        /// The widest prefix length allowed without force.
        limit: u8,
    },
}

/// The set of ranges a block may not touch without `force`.
#[derive(Clone, Debug)]
pub struct GuardRails {
    protected: Vec<(IpNet, &'static str)>,
}

impl GuardRails {
    /// Loopback and link-local in both families, plus the server's own addresses.
    pub fn new(server_addresses: &[IpAddr]) -> Self {
        let fixed: [(&str, &'static str); 4] = [
            ("127.0.0.0/8", "loopback"),
            ("::1/128", "loopback"),
            ("169.254.0.0/16", "link-local addresses"),
            ("fe80::/10", "link-local addresses"),
        ];
        let mut protected: Vec<(IpNet, &'static str)> = fixed
            .iter()
            .filter_map(|(net, what)| net.parse().ok().map(|n| (n, *what)))
            .collect();
        for addr in server_addresses {
            if !addr.is_unspecified() {
                protected.push((
                    IndicatorValue::from_addr(*addr).network(),
                    "the server's own address",
                ));
            }
        }
        Self { protected }
    }

    /// Checks one indicator. Only blocks are restricted.
    pub fn check(&self, value: &IndicatorValue, action: Action) -> Result<(), GuardViolation> {
        if action != Action::Block {
            return Ok(());
        }
        if let Some((range, what)) = self.protected.iter().find(|(net, _)| value.overlaps(net)) {
            return Err(GuardViolation::Protected {
                value: value.to_string(),
                what,
                range: *range,
            });
        }
        let net = value.network();
        let limit = match net {
            IpNet::V4(_) => MIN_V4_PREFIX,
            IpNet::V6(_) => MIN_V6_PREFIX,
        };
        if net.prefix_len() < limit {
            return Err(GuardViolation::TooWide {
                value: value.to_string(),
                limit,
            });
        }
        Ok(())
    }
}

impl IndicatorValue {
    /// The single-address value of `addr`.
    pub fn from_addr(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Self::from(a),
            IpAddr::V6(a) => Self::from(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rails: &GuardRails, v: &str) -> Result<(), GuardViolation> {
        rails.check(&IndicatorValue::parse(v).unwrap(), Action::Block)
    }

    #[test]
    fn protected_ranges_and_width_are_enforced_for_blocks_only() {
        let rails = GuardRails::new(&["192.0.2.10".parse().unwrap()]);
        for bad in [
            "127.0.0.1",
            "::1",
            "169.254.1.1",
            "fe80::1",
            "192.0.2.0/24",
            "192.0.2.10",
            "0.0.0.0/0",
            "::/0",
        ] {
            assert!(
                matches!(check(&rails, bad), Err(GuardViolation::Protected { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            check(&rails, "12.0.0.0/7"),
            Err(GuardViolation::TooWide {
                value: "12.0.0.0/7".into(),
                limit: 8
            })
        );
        assert!(check(&rails, "11.0.0.0/8").is_ok());
        assert!(check(&rails, "2001:db8::/32").is_ok());
        assert!(matches!(
            check(&rails, "2001:db8::/31"),
            Err(GuardViolation::TooWide { limit: 32, .. })
        ));
        let lo = IndicatorValue::parse("127.0.0.1").unwrap();
        assert!(rails.check(&lo, Action::Allow).is_ok());
        assert!(rails.check(&lo, Action::Audit).is_ok());
        let err = check(&rails, "127.0.0.1").unwrap_err().to_string();
        assert!(err.contains("loopback") && err.contains("force"), "{err}");
    }
}
