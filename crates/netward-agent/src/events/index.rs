//! Which indicators a hit matched. The kernel says which *set* matched; this index finds the
//! indicators behind it: every unexpired indicator of that action that covers the remote
//! address. One hash table per prefix length in use, so a lookup costs at most one probe per
//! distinct prefix length (usually a handful), whatever the number of indicators.

use std::collections::HashMap;
use std::net::IpAddr;

use netward_model::detection::MatchedIndicator;
use netward_model::{Action, Family, IndicatorValue, PolicyEntry};

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: i64,
    value: IndicatorValue,
    action: Action,
    expires_at: Option<i64>,
}

/// Network start → indicators of one family and prefix length.
type Table = HashMap<u128, Vec<Entry>>;

/// The held indicators, by family and prefix length.
#[derive(Debug, Default)]
pub struct IndicatorIndex {
    /// (family, prefix length) → table, longest prefixes first.
    tables: Vec<((Family, u8), Table)>,
}

fn key(addr: IpAddr) -> (Family, u128) {
    match addr {
        IpAddr::V4(a) => (Family::V4, u128::from(u32::from(a))),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (Family::V4, u128::from(u32::from(v4))),
            None => (Family::V6, u128::from(a)),
        },
    }
}

fn mask(bits: u8, len: u8, x: u128) -> u128 {
    let host = u32::from(bits - len);
    if host >= 128 { 0 } else { (x >> host) << host }
}

impl IndicatorIndex {
    /// Indexes `entries` (id and entry).
    pub fn build<'a>(entries: impl IntoIterator<Item = (&'a i64, &'a PolicyEntry)>) -> Self {
        let mut tables: HashMap<(Family, u8), HashMap<u128, Vec<Entry>>> = HashMap::new();
        for (id, e) in entries {
            let net = e.value.network();
            let family = e.value.family();
            let start = e.value.bounds().0;
            tables
                .entry((family, net.prefix_len()))
                .or_default()
                .entry(start)
                .or_default()
                .push(Entry {
                    id: *id,
                    value: e.value,
                    action: e.action,
                    expires_at: e.expires_at,
                });
        }
        let mut tables: Vec<_> = tables.into_iter().collect();
        tables.sort_by_key(|((f, len), _)| (*f == Family::V6, std::cmp::Reverse(*len)));
        Self { tables }
    }

    /// The unexpired indicators of `action` that cover `addr` at `now`, most specific first.
    pub fn lookup(&self, addr: IpAddr, action: Action, now: i64) -> Vec<MatchedIndicator> {
        let (family, x) = key(addr);
        let bits = match family {
            Family::V4 => 32,
            Family::V6 => 128,
        };
        let mut found = Vec::new();
        for ((f, len), table) in &self.tables {
            if *f != family {
                continue;
            }
            if let Some(list) = table.get(&mask(bits, *len, x)) {
                for e in list {
                    if e.action == action && e.expires_at.is_none_or(|at| now < at) {
                        found.push(MatchedIndicator {
                            id: e.id,
                            value: e.value.to_string(),
                        });
                    }
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn entry(v: &str, action: Action, expires_at: Option<i64>) -> PolicyEntry {
        PolicyEntry {
            value: IndicatorValue::parse(v).unwrap(),
            action,
            expires_at,
        }
    }

    #[test]
    fn finds_every_covering_indicator_of_the_action_most_specific_first() {
        let entries = BTreeMap::from([
            (1, entry("10.0.0.0/8", Action::Block, None)),
            (2, entry("10.1.2.3", Action::Block, None)),
            (3, entry("10.1.0.0/16", Action::Audit, None)),
            (4, entry("10.1.2.0/24", Action::Block, Some(100))),
            (5, entry("2001:db8::/32", Action::Block, None)),
            (6, entry("0.0.0.0/0", Action::Allow, None)),
        ]);
        let index = IndicatorIndex::build(&entries);
        let ids = |addr: &str, action, now| -> Vec<i64> {
            index
                .lookup(addr.parse().unwrap(), action, now)
                .into_iter()
                .map(|m| m.id)
                .collect()
        };
        assert_eq!(ids("10.1.2.3", Action::Block, 50), vec![2, 4, 1]);
        assert_eq!(ids("10.1.2.3", Action::Block, 100), vec![2, 1], "4 expired");
        assert_eq!(ids("10.1.2.3", Action::Audit, 0), vec![3]);
        assert_eq!(ids("10.1.2.3", Action::Allow, 0), vec![6]);
        assert_eq!(
            ids("::ffff:10.1.2.3", Action::Block, 100),
            vec![2, 1],
            "v4-mapped is IPv4"
        );
        assert_eq!(ids("2001:db8:1::1", Action::Block, 0), vec![5]);
        assert_eq!(ids("2001:db9::1", Action::Block, 0), Vec::<i64>::new());
        assert_eq!(
            index.lookup("10.1.2.3".parse().unwrap(), Action::Block, 0)[0].value,
            "10.1.2.3"
        );
    }
}
