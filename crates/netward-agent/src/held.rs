//! The indicators an agent holds, each once, in a compact form (`PolicyEntry`: the parsed
//! value, the action and the expiry; 40 bytes, no string), with two indexes over them:
//!
//! - by network, per family and prefix length: which indicators overlap a range (what the
//!   incremental compiler re-merges when a delta touches it, `kernel_policy::incremental`) and
//!   which cover an address (what the sensor names for a hit, one ordered-map probe per prefix
//!   length in use, usually a handful, whatever the number of indicators);
//! - by expiry: the next second at which one stops applying, and which ones did.
//!
//! The engine owns it and changes it in place; the sensor reads it through a lock
//! ([`SharedIndicators`]), so nothing is copied when the policy changes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use netward_model::detection::MatchedIndicator;
use netward_model::{Action, Family, PolicyEntry};

/// The held indicators, shared by the engine (the writer) and the sensor (a reader).
pub type SharedIndicators = Arc<RwLock<HeldIndicators>>;

/// The indicators an agent holds, by id, with their indexes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldIndicators {
    /// In an ordered map rather than a hash table: at a million entries a hash table's
    /// spare capacity costs more than the tree's nodes.
    by_id: BTreeMap<i64, PolicyEntry>,
    /// (family, prefix length) → (network start, id).
    by_network: BTreeMap<(Family, u8), BTreeSet<(u128, i64)>>,
    /// (expiry, id) of the indicators that expire.
    expiring: BTreeSet<(i64, i64)>,
    /// How many are held of each action (allow, block, audit).
    per_action: [usize; 3],
}

fn action_slot(action: Action) -> usize {
    match action {
        Action::Allow => 0,
        Action::Block => 1,
        Action::Audit => 2,
    }
}

fn network_key(entry: &PolicyEntry) -> ((Family, u8), u128) {
    (
        (entry.value.family(), entry.value.network().prefix_len()),
        entry.value.bounds().0,
    )
}

/// The address as (family, integer); an IPv4-mapped IPv6 address is IPv4.
pub fn address_key(addr: IpAddr) -> (Family, u128) {
    match addr {
        IpAddr::V4(a) => (Family::V4, u128::from(u32::from(a))),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (Family::V4, u128::from(u32::from(v4))),
            None => (Family::V6, u128::from(a)),
        },
    }
}

/// The bits of an address of `family`.
pub fn family_bits(family: Family) -> u8 {
    match family {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

/// `x` with all but its first `len` of `bits` bits cleared: the start of its /`len` network.
fn mask(bits: u8, len: u8, x: u128) -> u128 {
    let host = u32::from(bits.saturating_sub(len));
    if host >= 128 { 0 } else { (x >> host) << host }
}

impl HeldIndicators {
    /// How many indicators are held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// How many are held of `action`.
    pub fn count(&self, action: Action) -> usize {
        self.per_action[action_slot(action)]
    }

    /// The indicator `id`.
    pub fn get(&self, id: i64) -> Option<&PolicyEntry> {
        self.by_id.get(&id)
    }

    /// Every indicator, by id.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &PolicyEntry)> {
        self.by_id.iter().map(|(id, e)| (*id, e))
    }

    /// Holds `entry` as `id`, replacing what `id` was; returns what it was.
    pub fn insert(&mut self, id: i64, entry: PolicyEntry) -> Option<PolicyEntry> {
        let old = self.remove(id);
        let (table, start) = network_key(&entry);
        self.by_network
            .entry(table)
            .or_default()
            .insert((start, id));
        if let Some(at) = entry.expires_at {
            self.expiring.insert((at, id));
        }
        self.per_action[action_slot(entry.action)] += 1;
        self.by_id.insert(id, entry);
        old
    }

    /// Drops `id`; returns what it was.
    pub fn remove(&mut self, id: i64) -> Option<PolicyEntry> {
        let old = self.by_id.remove(&id)?;
        let (table, start) = network_key(&old);
        if let Some(set) = self.by_network.get_mut(&table) {
            set.remove(&(start, id));
            if set.is_empty() {
                self.by_network.remove(&table);
            }
        }
        if let Some(at) = old.expires_at {
            self.expiring.remove(&(at, id));
        }
        self.per_action[action_slot(old.action)] -= 1;
        Some(old)
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// The indicators of `family` that share an address with `lo..=hi`.
    pub fn overlapping(
        &self,
        family: Family,
        lo: u128,
        hi: u128,
    ) -> impl Iterator<Item = (i64, &PolicyEntry)> {
        let bits = family_bits(family);
        self.by_network
            .range((family, 0)..=(family, u8::MAX))
            .flat_map(move |(&(_, len), set)| {
                // The network holding `lo`, then every later one that starts by `hi`.
                set.range((mask(bits, len, lo), i64::MIN)..=(hi, i64::MAX))
            })
            .filter_map(|(_, id)| self.by_id.get(id).map(|e| (*id, e)))
    }

    /// The first second after `now` at which a held indicator stops applying.
    pub fn next_expiry(&self, now: i64) -> Option<i64> {
        self.expiring
            .range((now.saturating_add(1), i64::MIN)..)
            .next()
            .map(|(at, _)| *at)
    }

    /// The indicators that stop applying in `after < at <= until`.
    pub fn expiring_between(
        &self,
        after: i64,
        until: i64,
    ) -> impl Iterator<Item = (i64, &PolicyEntry)> {
        let from = after.saturating_add(1);
        (until >= from)
            .then(|| self.expiring.range((from, i64::MIN)..=(until, i64::MAX)))
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.by_id.get(id).map(|e| (*id, e)))
    }

    /// The unexpired indicators of `action` that cover `addr` at `now`, most specific first.
    pub fn lookup(&self, addr: IpAddr, action: Action, now: i64) -> Vec<MatchedIndicator> {
        let (family, x) = address_key(addr);
        let bits = family_bits(family);
        let mut found = Vec::new();
        for (&(_, len), set) in self.by_network.range((family, 0)..=(family, u8::MAX)).rev() {
            let start = mask(bits, len, x);
            for (_, id) in set.range((start, i64::MIN)..=(start, i64::MAX)) {
                if let Some(e) = self.by_id.get(id)
                    && e.action == action
                    && e.expires_at.is_none_or(|at| now < at)
                {
                    found.push(MatchedIndicator {
                        id: *id,
                        value: e.value.to_string(),
                    });
                }
            }
        }
        found
    }
}

/// Built in bulk, each index from one sorted run, so that its tree's nodes are full: inserted
/// one by one in order, they end about half full, which at a million indicators costs tens of
/// megabytes. A repeated id keeps its last entry.
impl FromIterator<(i64, PolicyEntry)> for HeldIndicators {
    fn from_iter<T: IntoIterator<Item = (i64, PolicyEntry)>>(iter: T) -> Self {
        let by_id: BTreeMap<i64, PolicyEntry> = iter.into_iter().collect();
        let mut per_action = [0; 3];
        let mut networks: BTreeMap<(Family, u8), Vec<(u128, i64)>> = BTreeMap::new();
        let mut expiring = Vec::new();
        for (&id, entry) in &by_id {
            per_action[action_slot(entry.action)] += 1;
            let (table, start) = network_key(entry);
            networks.entry(table).or_default().push((start, id));
            if let Some(at) = entry.expires_at {
                expiring.push((at, id));
            }
        }
        let by_network = networks
            .into_iter()
            .map(|(table, mut run)| {
                run.sort_unstable();
                (table, run.into_iter().collect())
            })
            .collect();
        expiring.sort_unstable();
        Self {
            by_id,
            by_network,
            expiring: expiring.into_iter().collect(),
            per_action,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netward_model::IndicatorValue;

    fn entry(v: &str, action: Action, expires_at: Option<i64>) -> PolicyEntry {
        PolicyEntry {
            value: IndicatorValue::parse(v).unwrap(),
            action,
            expires_at,
        }
    }

    #[test]
    fn finds_every_covering_indicator_of_the_action_most_specific_first() {
        let index: HeldIndicators = [
            (1, entry("10.0.0.0/8", Action::Block, None)),
            (2, entry("10.1.2.3", Action::Block, None)),
            (3, entry("10.1.0.0/16", Action::Audit, None)),
            (4, entry("10.1.2.0/24", Action::Block, Some(100))),
            (5, entry("2001:db8::/32", Action::Block, None)),
            (6, entry("0.0.0.0/0", Action::Allow, None)),
        ]
        .into_iter()
        .collect();
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

    proptest::proptest! {
        /// Whatever is inserted and removed, the indexes answer what a plain scan of the
        /// held entries answers: overlaps, covering indicators, counts and expiries.
        #[test]
        fn the_indexes_agree_with_a_scan(
            ops in proptest::collection::vec(
                (0i64..24, 0u8..64, 26u8..=32, 0u8..3, proptest::option::of(1i64..6)),
                0..48,
            ),
            lo in 0u32..80,
            width in 0u32..40,
        ) {
            let mut held = HeldIndicators::default();
            let mut model: std::collections::HashMap<i64, PolicyEntry> = Default::default();
            for (id, host, len, action, expires) in ops {
                if action == 0 && expires == Some(1) {
                    held.remove(id);
                    model.remove(&id);
                    continue;
                }
                let mask = if len == 32 { u32::MAX } else { !(u32::MAX >> len) };
                let addr = std::net::Ipv4Addr::from((0x0a00_0000 | u32::from(host)) & mask);
                let action = [Action::Allow, Action::Block, Action::Audit][usize::from(action)];
                let e = entry(&format!("{addr}/{len}"), action, expires);
                held.insert(id, e);
                model.insert(id, e);
            }
            let (lo, hi) = (0x0a00_0000 + u128::from(lo), 0x0a00_0000 + u128::from(lo + width));
            let mut got: Vec<i64> = held.overlapping(Family::V4, lo, hi).map(|(id, _)| id).collect();
            got.sort_unstable();
            let mut want: Vec<i64> = model
                .iter()
                .filter(|(_, e)| { let (s, t) = e.value.bounds(); s <= hi && t >= lo })
                .map(|(id, _)| *id)
                .collect();
            want.sort_unstable();
            proptest::prop_assert_eq!(got, want);
            for action in [Action::Allow, Action::Block, Action::Audit] {
                proptest::prop_assert_eq!(
                    held.count(action),
                    model.values().filter(|e| e.action == action).count()
                );
                let addr = std::net::Ipv4Addr::from(u32::try_from(lo).unwrap_or(0));
                let mut got: Vec<i64> = held.lookup(addr.into(), action, 2).into_iter().map(|m| m.id).collect();
                got.sort_unstable();
                let mut want: Vec<i64> = model
                    .iter()
                    .filter(|(_, e)| e.action == action && e.expires_at.is_none_or(|at| 2 < at))
                    .filter(|(_, e)| { let (s, t) = e.value.bounds(); s <= lo && lo <= t })
                    .map(|(id, _)| *id)
                    .collect();
                want.sort_unstable();
                proptest::prop_assert_eq!(got, want);
            }
            proptest::prop_assert_eq!(
                held.next_expiry(2),
                model.values().filter_map(|e| e.expires_at).filter(|&at| at > 2).min()
            );
            proptest::prop_assert_eq!(held.len(), model.len());
            // Built in bulk from what is held, it is the same.
            let bulk: HeldIndicators = model.iter().map(|(id, e)| (*id, *e)).collect();
            proptest::prop_assert_eq!(&bulk, &held);
        }
    }
}
