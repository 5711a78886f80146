//! What the two SQL backends (`sqlite/`, `postgres/`) say alike about indicators: the columns
//! an upsert changes, the columns and order of an OData query, and the details of the audit
//! entries indicators get. Placeholders and bound values differ between the backends and stay
//! in each of them.

use netward_model::odata::{CompareOp, Field, OrderBy};
use netward_model::{Action, Severity};
use netward_model::{Indicator, IndicatorDraft};
use serde_json::json;

use super::{DeleteFilter, ImportSummary, StoreError};

/// The `SET` list of an indicator upsert's `ON CONFLICT (value) DO UPDATE`: every column but
/// the value, its bounds and who created it and when. A macro, so that it joins the backends'
/// statements with `concat!`.
macro_rules! upsert_set {
    () => {
        "action = excluded.action, title = excluded.title, \
         action_name = excluded.action_name, educate_url = excluded.educate_url, \
         description = excluded.description, severity = excluded.severity, \
         expires_at = excluded.expires_at, generate_alert = excluded.generate_alert, \
         recommended_actions = excluded.recommended_actions, groups = excluded.groups, \
         external_id = excluded.external_id, application = excluded.application, \
         category = excluded.category, mitre_techniques = excluded.mitre_techniques, \
         updated_by = excluded.updated_by, updated_by_kind = excluded.updated_by_kind, \
         updated_at = excluded.updated_at"
    };
}
pub(crate) use upsert_set;

/// The detail of an indicator's own audit entry (create, update, delete).
pub(crate) fn draft_detail(d: &IndicatorDraft) -> serde_json::Value {
    json!({
        "action": d.mde_action.action().as_str(),
        "actionName": d.mde_action.as_str(),
        "title": d.title,
        "severity": d.severity.as_str(),
        // RFC 3339, as everywhere a person reads a time; never epoch seconds.
        "expiresAt": d.expires_at.map(netward_model::timestamp::format_rfc3339),
        "generateAlert": d.generate_alert,
        "rbacGroupNames": d.groups,
    })
}

/// What an upsert's statements gave back, draft by draft: each draft's id and its audit entry
/// (`indicator.create` for the first draft of a new value, `indicator.update` otherwise).
pub(crate) struct UpsertLedger {
    /// The largest id before the upsert: ids only grow, so a larger one is a new row.
    max_before: i64,
    created: std::collections::HashSet<i64>,
    /// Each draft's id, in the drafts' order.
    pub(crate) ids: Vec<i64>,
    /// `(action, target, detail)` of each audit entry, in the order the drafts were stored.
    pub(crate) audit_rows: Vec<(&'static str, String, String)>,
}

impl UpsertLedger {
    /// A ledger for `drafts` drafts, when the largest id was `max_before`.
    pub(crate) fn new(drafts: usize, max_before: i64) -> Self {
        Self {
            max_before,
            created: std::collections::HashSet::new(),
            ids: vec![0; drafts],
            audit_rows: Vec::with_capacity(drafts),
        }
    }

    /// Records draft number `i`, whose canonical value is `value`, stored as the id that
    /// `returned` (value → id, from the statement's `RETURNING`) gives that value.
    pub(crate) fn record(
        &mut self,
        i: usize,
        draft: &IndicatorDraft,
        value: &str,
        returned: &std::collections::HashMap<String, i64>,
    ) -> Result<(), StoreError> {
        let id = *returned
            .get(value)
            .ok_or_else(|| StoreError::Corrupt(format!("no id returned for {value}")))?;
        let verb = if id > self.max_before && self.created.insert(id) {
            "indicator.create"
        } else {
            "indicator.update"
        };
        self.audit_rows
            .push((verb, value.to_owned(), draft_detail(draft).to_string()));
        self.ids[i] = id;
        Ok(())
    }
}

/// The detail of an import's summary entry.
pub(crate) fn import_detail(
    import_id: i64,
    summary: &ImportSummary,
    created: u64,
    updated: u64,
) -> serde_json::Value {
    json!({
        "importId": import_id.to_string(),
        "format": summary.format,
        "items": summary.items,
        "failed": summary.failed,
        "created": created,
        "updated": updated,
    })
}

/// The ids of `wanted` (sorted, without repeats) that a batch delete did not find.
pub(crate) fn unknown_ids(wanted: Vec<i64>, deleted: &[Indicator]) -> Vec<i64> {
    let found: std::collections::HashSet<i64> = deleted.iter().map(|i| i.id).collect();
    wanted
        .into_iter()
        .filter(|id| !found.contains(id))
        .collect()
}

/// The audit action of an import's summary entry.
pub(crate) const IMPORT_ACTION: &str = "indicator.import";

/// Values a bulk delete's summary entry lists; it counts the rest.
const VALUES_RECORDED: usize = 1000;

/// The detail of a bulk delete's one audit entry: what asked for it, how many went, and the
/// first [`VALUES_RECORDED`] values (the rest counted).
pub(crate) fn deletion_detail(asked: serde_json::Value, values: &[String]) -> serde_json::Value {
    let listed = &values[..values.len().min(VALUES_RECORDED)];
    json!({
        "asked": asked,
        "deleted": values.len(),
        "values": listed,
        "valuesNotListed": values.len() - listed.len(),
    })
}

/// What a delete by filter asked for, as its audit entry records it.
pub(crate) fn filter_detail(filter: &DeleteFilter) -> serde_json::Value {
    json!({
        "source": filter.source,
        "group": filter.group,
        "action": filter.action.map(Action::as_str),
        "title": filter.title,
        "values": filter.values.as_ref().map(Vec::len),
    })
}

/// A severity's rank, for comparisons and ordering by severity.
pub(crate) const SEVERITY_RANK: &str = "(CASE severity WHEN 'Informational' THEN 0 \
    WHEN 'Low' THEN 1 WHEN 'Medium' THEN 2 WHEN 'High' THEN 3 END)";

/// The rank [`SEVERITY_RANK`] gives `s`.
pub(crate) fn rank(s: Severity) -> i64 {
    Severity::ALL
        .iter()
        .position(|x| *x == s)
        .map_or(0, |p| i64::try_from(p).unwrap_or(0))
}

/// The column (or expression) holding an OData `field`.
pub(crate) fn column(field: Field) -> &'static str {
    match field {
        Field::Id => "id",
        Field::IndicatorValue => "value",
        Field::IndicatorType => "'IpAddress'",
        Field::Action => "action",
        Field::Title => "title",
        Field::Description => "description",
        Field::Severity => SEVERITY_RANK,
        Field::Application => "application",
        Field::ExternalId => "external_id",
        Field::GenerateAlert => "generate_alert",
        Field::ExpirationTime => "expires_at",
        Field::CreationTime => "created_at",
        Field::LastUpdateTime => "updated_at",
        Field::CreatedBy | Field::CreatedByDisplayName | Field::Source => "created_by",
        Field::RbacGroupNames | Field::RbacGroupIds => "groups",
    }
}

/// The SQL operator of a comparison.
pub(crate) fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
    }
}

/// ` ORDER BY …`: the terms asked for, then the id, so that pages never overlap. NULL (an
/// indicator that never expires) sorts first, as SQLite does by itself and PostgreSQL only
/// when told.
pub(crate) fn order_by(order: &[OrderBy]) -> String {
    let mut terms: Vec<String> = Vec::new();
    for o in order {
        let columns: &[&str] = match o.field {
            // Addresses sort as numbers, IPv4 first.
            Field::IndicatorValue => &["family", "range_start", "range_end"],
            Field::IndicatorType => &[],
            other => &[column(other)],
        };
        let direction = if o.descending {
            " DESC NULLS LAST"
        } else {
            " NULLS FIRST"
        };
        terms.extend(columns.iter().map(|c| format!("{c}{direction}")));
    }
    terms.push("id".to_owned());
    format!(" ORDER BY {}", terms.join(", "))
}
