//! The enforcer's questions to the kernel: whether the table and a set exist, every chain's
//! rule count (one dump), and a set's element count (a dump counted as it arrives).

use netlink_packet_netfilter::nftables::{
    ListAttribute, NfTablesMessage, RuleAttribute, RuleMessage, SetAttribute, SetElementAttribute,
    SetElementFlags, SetElementList, SetElementMessage, SetFlags, SetMessage, TableAttribute,
    TableMessage,
};

use super::NfSocket;
use crate::enforcer::EnforcerError;

impl NfSocket {
    /// Whether the inet table `table` exists.
    pub fn table_exists(&mut self, table: &str) -> Result<bool, EnforcerError> {
        let msg = NfTablesMessage::GetTable(TableMessage {
            attributes: vec![TableAttribute::Name(table.to_owned())],
        });
        match self.request("get table", msg, false)? {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => Ok(false),
            Err(source) => Err(EnforcerError::Refused {
                operation: "get table",
                source,
            }),
        }
    }

    /// Whether set `set` of `table` lets its elements expire (it was created with the
    /// `timeout` flag); `None` if the set does not exist.
    pub fn set_has_timeouts(
        &mut self,
        table: &str,
        set: &str,
    ) -> Result<Option<bool>, EnforcerError> {
        let msg = NfTablesMessage::GetSet(SetMessage {
            attributes: vec![
                SetAttribute::Table(table.to_owned()),
                SetAttribute::Name(set.to_owned()),
            ],
        });
        match self.request("get set", msg, false)? {
            Ok(answers) => Ok(Some(answers.iter().any(|m| {
                matches!(m, NfTablesMessage::NewSet(s) if s.attributes.iter().any(
                    |a| matches!(a, SetAttribute::Flags(f) if f.contains(SetFlags::Timeout))
                ))
            }))),
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => Ok(None),
            Err(source) => Err(EnforcerError::Refused {
                operation: "get set",
                source,
            }),
        }
    }

    /// The number of rules in each chain of `table`, from one dump; `None` if the table does
    /// not exist. A chain without rules is not named.
    pub fn rule_counts(
        &mut self,
        table: &str,
    ) -> Result<Option<std::collections::HashMap<String, usize>>, EnforcerError> {
        let dump = NfTablesMessage::GetRule(RuleMessage {
            attributes: vec![RuleAttribute::Table(table.to_owned())],
        });
        match self.request("dump rules", dump, true)? {
            Ok(rules) => {
                let mut counts = std::collections::HashMap::new();
                for rule in &rules {
                    let NfTablesMessage::NewRule(r) = rule else {
                        continue;
                    };
                    let in_table = r
                        .attributes
                        .iter()
                        .any(|a| matches!(a, RuleAttribute::Table(t) if t == table));
                    let chain = r.attributes.iter().find_map(|a| match a {
                        RuleAttribute::Chain(c) => Some(c.clone()),
                        _ => None,
                    });
                    if let (true, Some(chain)) = (in_table, chain) {
                        *counts.entry(chain).or_insert(0) += 1;
                    }
                }
                Ok(Some(counts))
            }
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => Ok(None),
            Err(source) => Err(EnforcerError::Refused {
                operation: "dump rules",
                source,
            }),
        }
    }
    /// How many elements set `set` of `table` holds, expired ones excluded (the kernel
    /// leaves them out of a dump), counting a range once (its END element is not counted);
    /// `None` if the set does not exist. Messages are counted as they arrive, never kept.
    pub fn element_count(
        &mut self,
        table: &str,
        set: &str,
    ) -> Result<Option<usize>, EnforcerError> {
        const OPERATION: &str = "dump set elements";
        let message = NfTablesMessage::GetSetElement(SetElementMessage {
            attributes: vec![
                SetElementList::Table(table.to_owned()),
                SetElementList::Set(set.to_owned()),
            ],
        });
        let mut count = 0;
        let done = self.exchange(OPERATION, message, true, |m| {
            if let NfTablesMessage::NewSetElement(m) = m {
                count += starts(&m);
            }
        })?;
        match done {
            Ok(()) => Ok(Some(count)),
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => Ok(None),
            Err(source) => Err(EnforcerError::Refused {
                operation: OPERATION,
                source,
            }),
        }
    }
}

/// The elements of a dumped message that start a range (or are an address).
fn starts(m: &SetElementMessage) -> usize {
    m.attributes
        .iter()
        .filter_map(|a| match a {
            SetElementList::Elements(list) => Some(list),
            _ => None,
        })
        .flatten()
        .filter(|element| {
            let ListAttribute::Element(attrs) = element else {
                return false;
            };
            !attrs.iter().any(|a| {
                matches!(a, SetElementAttribute::Flags(f) if f.contains(SetElementFlags::IntervalEnd))
            })
        })
        .count()
}
