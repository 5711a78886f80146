//! The console's overview: what is being blocked, whether it is rising, which devices are
//! behind and which indicators fire most, for the last 24 hours or 7 days. The counts are
//! aggregated by the store ([`crate::store::OverviewStore`]); here they are placed into a
//! window's buckets, which is pure ([`place`]), and gathered with the devices' states.

use netward_model::Severity;
use netward_model::agent_wire::MachineEntity;
use netward_model::detection::{AlertStatus, Outcome};

use crate::control::{ControlError, ControlPlane};
use crate::store::overview::{HitBucket, HitLeader, SourceCount};

/// Indicators and devices in each top list.
pub const TOP: usize = 5;

/// The window an overview covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverviewRange {
    /// The last 24 hours, by hour.
    Day,
    /// The last 7 days, by day.
    Week,
}

impl OverviewRange {
    /// From a query value (`24h`, `7d`); the day for anything else.
    pub fn parse(raw: &str) -> Self {
        if raw == "7d" { Self::Week } else { Self::Day }
    }

    /// As a query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }

    /// The length of one bucket (ms) and how many buckets.
    pub fn buckets(self) -> (i64, usize) {
        match self {
            Self::Day => (3_600_000, 24),
            Self::Week => (86_400_000, 7),
        }
    }

    /// The window's start (ms) at `now_ms`: whole buckets, the last one holding now.
    pub fn start(self, now_ms: i64) -> i64 {
        let (len, n) = self.buckets();
        (now_ms.div_euclid(len) + 1) * len - len * n as i64
    }
}

/// Hits per bucket, each `[blocked, audited, allowed]`.
pub type HitColumns = Vec<[u64; 3]>;

/// The series' order in [`HitColumns`].
pub const OUTCOMES: [Outcome; 3] = [Outcome::Blocked, Outcome::Audited, Outcome::Allowed];

/// Places the store's buckets into `n` columns; a hit stamped after the window's end (a
/// device's clock ahead of ours) counts in the last column, so the totals stay those of
/// `GET /api/events?from=`.
pub fn place(buckets: &[HitBucket], n: usize) -> HitColumns {
    let mut columns = vec![[0u64; 3]; n];
    let Some(last) = n.checked_sub(1) else {
        return columns;
    };
    for b in buckets {
        let i = usize::try_from(b.bucket).unwrap_or(0).min(last);
        let s = OUTCOMES.iter().position(|o| *o == b.outcome).unwrap_or(0);
        columns[i][s] = columns[i][s].saturating_add(b.hits);
    }
    columns
}

/// A device's state as the overview counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceState {
    /// Connected and enforcing the current policy.
    InSync,
    /// Connected and behind (or failing to apply).
    Behind,
    /// Not connected.
    Offline,
    /// Its credential was revoked.
    Revoked,
}

impl DeviceState {
    /// Every state, in the order shown.
    pub const ALL: [Self; 4] = [Self::InSync, Self::Behind, Self::Offline, Self::Revoked];

    /// The state of a device.
    pub fn of(d: &MachineEntity) -> Self {
        Self::from_flags(d.revoked, d.online, d.in_sync)
    }

    fn from_flags(revoked: bool, online: bool, in_sync: bool) -> Self {
        match (revoked, online, in_sync) {
            (true, _, _) => Self::Revoked,
            (false, false, _) => Self::Offline,
            (false, true, true) => Self::InSync,
            (false, true, false) => Self::Behind,
        }
    }

    /// As a query value (`in-sync`).
    pub fn key(self) -> &'static str {
        match self {
            Self::InSync => "in-sync",
            Self::Behind => "behind",
            Self::Offline => "offline",
            Self::Revoked => "revoked",
        }
    }

    /// In words (`In sync`).
    pub fn label(self) -> &'static str {
        match self {
            Self::InSync => "In sync",
            Self::Behind => "Behind",
            Self::Offline => "Offline",
            Self::Revoked => "Revoked",
        }
    }
}

/// How many devices are in each state, in [`DeviceState::ALL`]'s order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStates(pub [u64; 4]);

impl DeviceStates {
    /// Counts `devices`.
    pub fn of(devices: &[MachineEntity]) -> Self {
        Self::counted(devices.iter().map(DeviceState::of))
    }

    fn counted(states: impl IntoIterator<Item = DeviceState>) -> Self {
        let mut n = [0u64; 4];
        for s in states {
            let i = DeviceState::ALL.iter().position(|a| *a == s).unwrap_or(0);
            n[i] += 1;
        }
        Self(n)
    }
}

/// Everything the overview page shows.
#[derive(Clone, Debug)]
pub struct Overview {
    pub range: OverviewRange,
    /// The window's start (Unix ms).
    pub from_ms: i64,
    pub hits: HitColumns,
    /// New (untriaged) alerts by severity, highest first, every severity listed.
    pub new_alerts: Vec<(Severity, u64)>,
    pub top_indicators: Vec<HitLeader>,
    pub top_devices: Vec<HitLeader>,
    pub sources: Vec<SourceCount>,
    pub devices: DeviceStates,
}

/// Severities, highest first.
const SEVERITIES: [Severity; 4] = [
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Informational,
];

impl ControlPlane {
    /// The overview of `range`, as of now.
    pub async fn overview(&self, range: OverviewRange) -> Result<Overview, ControlError> {
        let devices = DeviceStates::of(&self.machines().await?);
        self.blocking(move |cp| {
            let from_ms = range.start(cp.now().saturating_mul(1000));
            let (len, n) = range.buckets();
            let counted = cp.store.alerts_by_severity(Some(AlertStatus::New))?;
            let new_alerts = SEVERITIES
                .iter()
                .map(|s| {
                    let n = counted.iter().find(|(c, _)| c == s).map_or(0, |c| c.1);
                    (*s, n)
                })
                .collect();
            Ok(Overview {
                range,
                from_ms,
                hits: place(&cp.store.hits_over_time(from_ms, len)?, n),
                new_alerts,
                top_indicators: cp.store.top_indicators(from_ms, TOP)?,
                top_devices: cp.store.top_devices(from_ms, TOP)?,
                sources: cp.store.indicators_by_source()?,
                devices,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_buckets_ending_with_the_current_one() {
        let now = 1_796_176_800_000 + 1_234; // 2026-12-02T03:20:00.000Z-ish, plus a bit
        let start = OverviewRange::Day.start(now);
        assert_eq!(start % 3_600_000, 0);
        assert!(now - start > 23 * 3_600_000 && now - start <= 24 * 3_600_000);
        let week = OverviewRange::Week.start(now);
        assert_eq!(week % 86_400_000, 0);
        assert!(now - week > 6 * 86_400_000 && now - week <= 7 * 86_400_000);
        assert_eq!(OverviewRange::parse("7d"), OverviewRange::Week);
        assert_eq!(OverviewRange::parse("junk"), OverviewRange::Day);
    }

    #[test]
    fn buckets_land_in_their_columns_and_late_ones_in_the_last() {
        let b = |bucket, outcome, hits| HitBucket {
            bucket,
            outcome,
            hits,
        };
        let placed = place(
            &[
                b(0, Outcome::Blocked, 2),
                b(1, Outcome::Allowed, 3),
                b(2, Outcome::Audited, 4),
                b(9, Outcome::Audited, 1),
            ],
            3,
        );
        assert_eq!(placed, vec![[2, 0, 0], [0, 0, 3], [0, 5, 0]]);
        assert!(place(&[b(0, Outcome::Blocked, 1)], 0).is_empty());
    }

    #[test]
    fn devices_are_counted_by_state() {
        let s = DeviceStates::counted(
            [
                (false, true, true),
                (false, true, false),
                (false, false, true),
                (true, true, true),
                (false, true, true),
            ]
            .map(|(r, o, i)| DeviceState::from_flags(r, o, i)),
        );
        assert_eq!(s, DeviceStates([2, 1, 1, 1]));
    }
}
