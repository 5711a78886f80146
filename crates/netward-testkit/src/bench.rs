//! What the benchmarks share: a deterministic generator of many block indicators, so that
//! runs on different days and machines load the same policy.

use std::collections::{BTreeMap, HashSet};

use netward_model::agent_wire::AgentIndicator;

/// A deterministic generator (64-bit LCG), so runs are comparable.
#[derive(Debug)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 16
    }
}

/// `n` block indicators: 70% IPv4 addresses in 11.0.0.0–99.255.255.255, 20% IPv4 /24s in
/// 101.0.0.0–126.255.255.255, 10% IPv6 addresses in 2001:db8::/32. None covers 198.18.0.0/15.
pub fn indicators(n: usize) -> BTreeMap<i64, AgentIndicator> {
    let mut rng = Lcg(7);
    let mut out = BTreeMap::new();
    let mut seen = HashSet::new();
    while out.len() < n {
        let r = rng.next_u64() % 100;
        let x = rng.next_u64();
        let value = if r < 70 {
            format!(
                "{}.{}.{}.{}",
                11 + x % 89,
                (x >> 8) % 256,
                (x >> 16) % 256,
                1 + (x >> 24) % 254
            )
        } else if r < 90 {
            format!(
                "{}.{}.{}.0/24",
                101 + x % 26,
                (x >> 8) % 256,
                (x >> 16) % 256
            )
        } else {
            format!(
                "2001:db8:{:x}:{:x}::{:x}",
                x % 65536,
                (x >> 16) % 65536,
                1 + (x >> 32) % 65535
            )
        };
        if !seen.insert(value.clone()) {
            continue;
        }
        let id = i64::try_from(out.len()).expect("fewer than 2^63 indicators") + 1;
        out.insert(
            id,
            AgentIndicator {
                id,
                value: netward_model::IndicatorValue::parse(&value)
                    .expect("the generator writes canonical values"),
                action: netward_model::Action::Block,
                expires_at: None,
                title: "bench".into(),
            },
        );
    }
    out
}
