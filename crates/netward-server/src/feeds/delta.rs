//! The pure heart of a refresh: what a pull changes in the feed's indicators. Given what the
//! feed held (its indicators and the items held back until their `valid_from`) and what the
//! pull brought, [`plan`] decides which indicators to create, change and delete, which items
//! to hold back, and which entries to refuse and why; or that the whole run is refused (the
//! shrink guard, the size cap). The store then applies the plan in one transaction.
//!
//! - An item takes the feed's action, severity, alert flag and groups; its confidence, when it
//!   has one, picks the action (see [`FeedConfig::action_for`]); `audit-only` audits all.
//! - The guard rails apply to every item: loopback, link-local and the server's own addresses
//!   always; ranges wider than /8 (IPv4) or /32 (IPv6) only when the feed opts in.
//! - An item whose `valid_from` is still ahead is held back and becomes an indicator at the
//!   first refresh after it (a 304 included).
//! - An indicator that leaves the feed is deleted, or, with `removeAfterDays`, given that
//!   expiry (and deleted at the first refresh after it).

use std::collections::{HashMap, HashSet};

use netward_model::{
    Action, GuardRails, GuardViolation, Indicator, IndicatorDraft, IndicatorValue, MdeAction,
};

use super::config::FeedConfig;
use super::{Content, FeedItem, Refusal};

const DAY: i64 = 86_400;

/// What a feed holds before a run.
#[derive(Debug, Default)]
pub struct FeedContent {
    /// Its indicators, expired ones included.
    pub indicators: Vec<Indicator>,
    /// Items held back until their `valid_from`.
    pub pending: Vec<FeedItem>,
}

/// What a run changes.
#[derive(Debug, Default)]
pub struct Plan {
    pub creates: Vec<IndicatorDraft>,
    pub updates: Vec<(i64, IndicatorDraft)>,
    pub deletes: Vec<i64>,
    /// The feed's held-back items after the run (replacing the ones before).
    pub pending: Vec<FeedItem>,
    /// Indicators that left the feed in this run (deleted, or given their removal date).
    pub removed: u64,
    pub unchanged: u64,
    /// Every refusal, the format's first.
    pub refusals: Vec<Refusal>,
    /// Why the whole run is refused, if it is: nothing of it is applied.
    pub refused_run: Option<String>,
}

impl Plan {
    /// Whether applying the plan changes any indicator.
    pub fn changes_indicators(&self) -> bool {
        !(self.creates.is_empty() && self.updates.is_empty() && self.deletes.is_empty())
    }
}

/// Decides a run; see the module's documentation.
pub fn plan(
    config: &FeedConfig,
    rails: &GuardRails,
    previous: FeedContent,
    content: Content,
    format_refusals: Vec<Refusal>,
    now: i64,
) -> Plan {
    let mut plan = Plan {
        refusals: format_refusals,
        ..Plan::default()
    };
    // What is kept from before, and what is new.
    let (kept, mut held, fresh): (Vec<&Indicator>, Vec<FeedItem>, Vec<FeedItem>) = match content {
        Content::NotModified => (
            previous.indicators.iter().collect(),
            previous.pending,
            Vec::new(),
        ),
        Content::Complete(items) => (Vec::new(), Vec::new(), items),
        Content::Changes { upserts, removed } => {
            let replaced: HashSet<&str> = removed
                .iter()
                .map(String::as_str)
                .chain(upserts.iter().filter_map(|i| i.external_id.as_deref()))
                .collect();
            let kept = previous
                .indicators
                .iter()
                .filter(|i| !replaced.contains(i.draft.external_id.as_str()))
                .collect();
            let held = previous
                .pending
                .into_iter()
                .filter(|i| {
                    !i.external_id
                        .as_deref()
                        .is_some_and(|e| replaced.contains(e))
                })
                .collect();
            (kept, held, upserts)
        }
    };
    // Held-back items whose time has come join the new ones.
    let (due, still_held): (Vec<FeedItem>, Vec<FeedItem>) = held
        .drain(..)
        .partition(|i| i.valid_from.is_none_or(|from| from <= now));
    plan.pending = still_held;
    let mut wanted: HashMap<IndicatorValue, IndicatorDraft> = HashMap::new();
    for item in fresh.into_iter().chain(due) {
        if item.valid_from.is_some_and(|from| from > now) {
            plan.pending.push(item);
            continue;
        }
        match draft_for(config, rails, &item) {
            Ok(draft) => {
                wanted.entry(item.value).or_insert(draft);
            }
            Err(reason) => plan.refusals.push(Refusal {
                at: item
                    .external_id
                    .clone()
                    .unwrap_or_else(|| item.value.to_string()),
                entry: item.value.to_string(),
                reason,
            }),
        }
    }
    for indicator in kept {
        wanted
            .entry(indicator.draft.value)
            .or_insert_with(|| indicator.draft.clone());
    }
    let entries = (wanted.len() + plan.pending.len()) as u64;
    if entries > config.settings.max_entries {
        plan.refused_run = Some(format!(
            "the feed names {entries} entries; its size cap (maxEntries) is {}",
            config.settings.max_entries
        ));
        return plan;
    }
    let mut leaving = 0u64;
    for old in &previous.indicators {
        match wanted.remove(&old.draft.value) {
            Some(draft) if draft == old.draft => plan.unchanged += 1,
            Some(draft) => plan.updates.push((old.id, draft)),
            None => match leave(config, old, now) {
                Leave::Delete { newly } => {
                    plan.deletes.push(old.id);
                    plan.removed += 1;
                    leaving += u64::from(newly);
                }
                Leave::Expire(draft) => {
                    plan.updates.push((old.id, *draft));
                    plan.removed += 1;
                    leaving += 1;
                }
                Leave::Lingering => plan.unchanged += 1,
            },
        }
    }
    plan.creates = wanted.into_values().collect();
    plan.creates.sort_by_key(|d| d.value.bounds());
    let before = previous.indicators.len() as u64;
    let limit = u64::from(config.settings.max_shrink_percent);
    if before > 0 && leaving * 100 > limit * before {
        plan.refused_run = Some(format!(
            "the run would remove {leaving} of the feed's {before} indicators ({}%), more than its maxShrinkPercent ({limit}%): a truncated download must not unblock everything; nothing was changed",
            leaving * 100 / before
        ));
    }
    plan
}

/// What becomes of an indicator that is no longer in the feed.
enum Leave {
    /// Deleted; `newly` when it was in the feed until now (not one whose removal date passed).
    Delete { newly: bool },
    /// Kept until `removeAfterDays` from now.
    Expire(Box<IndicatorDraft>),
    /// Already waiting for its removal date.
    Lingering,
}

fn leave(config: &FeedConfig, old: &Indicator, now: i64) -> Leave {
    let Some(days) = config.settings.remove_after_days else {
        return Leave::Delete { newly: true };
    };
    match old.draft.expires_at {
        Some(at) if at <= now => Leave::Delete { newly: false },
        Some(at) if at <= now + i64::from(days) * DAY => Leave::Lingering,
        _ => {
            let mut draft = old.draft.clone();
            draft.expires_at = Some(now + i64::from(days) * DAY);
            Leave::Expire(Box::new(draft))
        }
    }
}

/// The indicator a feed makes of an item, or why it refuses it.
pub fn draft_for(
    config: &FeedConfig,
    rails: &GuardRails,
    item: &FeedItem,
) -> Result<IndicatorDraft, String> {
    let action = config.action_for(item.confidence).ok_or_else(|| {
        format!(
            "confidence {} is below the feed's confidenceAudit ({})",
            item.confidence.unwrap_or_default(),
            config.settings.confidence_audit
        )
    })?;
    // The guard rails judge what the feed would do when enforcing, so that switching a feed
    // from audit-only to enforce never changes which entries it takes.
    match rails.check(&item.value, judged(config.settings.action.action())) {
        Ok(()) => {}
        Err(GuardViolation::TooWide { .. }) if config.settings.allow_wide_ranges => {}
        Err(GuardViolation::TooWide { value, limit }) => {
            return Err(format!(
                "{value} covers more than a /{limit}; the feed takes wider ranges only with allowWideRanges"
            ));
        }
        Err(e @ GuardViolation::Protected { .. }) => {
            let why = e.to_string();
            return Err(why.split("; resubmit").next().unwrap_or(&why).to_owned());
        }
    }
    let title = format!("Feed {}: {}", config.name, item.value);
    let mut draft = IndicatorDraft::bare(item.value, action, &title, item.valid_until);
    draft.mde_action = if action == config.settings.action.action() {
        config.settings.action
    } else {
        MdeAction::from(action)
    };
    draft.severity = config.settings.severity;
    draft.generate_alert = config.settings.generate_alert;
    draft.groups = config.settings.groups.clone();
    draft.external_id = item.external_id.clone().unwrap_or_default();
    draft.description = item.comment.clone().unwrap_or_default();
    Ok(draft)
}

/// The action the guard rails judge: every action but allow is judged as a block (an audit
/// of loopback is as wrong in a feed as a block of it).
fn judged(action: Action) -> Action {
    match action {
        Action::Allow => Action::Allow,
        Action::Audit | Action::Block => Action::Block,
    }
}
