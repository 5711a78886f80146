//! The API's view of what the store keeps: events, alerts, incidents and contacts as MDE
//! names their fields, and the filter a live follower applies.

use netward_model::IndicatorValue;
use netward_model::detection::{
    AlertComment, AlertEntity, ContactEntity, EventEntity, EventFields, EventIndicator,
    IncidentEntity, Outcome,
};
use netward_model::timestamp::{format_rfc3339, format_rfc3339_ms};

use crate::store::{
    AlertRecord, CommentRecord, ContactRecord, EventQuery, IncidentRecord, StoredEvent,
};

/// An event as the API shows it.
pub fn event_entity(s: &StoredEvent) -> EventEntity {
    let e = &s.event;
    let outcome = e.outcome;
    let indicators: Vec<EventIndicator> = e
        .indicators
        .iter()
        .enumerate()
        .map(|(i, m)| EventIndicator {
            id: m.id,
            value: m.value.clone(),
            title: s.titles.get(i).cloned().flatten(),
        })
        .collect();
    let (file, folder) = match e.process.as_ref().and_then(|p| p.exe.as_deref()) {
        Some(exe) => match exe.rsplit_once('/') {
            Some((dir, name)) => (
                name.to_owned(),
                Some(if dir.is_empty() {
                    "/".into()
                } else {
                    dir.to_owned()
                }),
            ),
            None => (exe.to_owned(), None),
        },
        None => (
            e.process
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |p| p.name.clone()),
            None,
        ),
    };
    EventEntity {
        id: s.id,
        timestamp: format_rfc3339_ms(e.first_seen_ms),
        device_id: s.device_id.to_string(),
        device_name: s.device_name.clone(),
        action_type: outcome.action_type().to_owned(),
        remote_ip: e.remote_ip.clone(),
        remote_port: e.remote_port,
        local_ip: e.local_ip.clone(),
        local_port: e.local_port,
        protocol: capitalise(&e.protocol),
        initiating_process_id: e.process.as_ref().map(|p| p.pid),
        initiating_process_file_name: file,
        initiating_process_folder_path: folder,
        initiating_process_command_line: e.process.as_ref().and_then(|p| p.cmdline.clone()),
        initiating_process_account_name: e.process.as_ref().and_then(|p| p.user.clone()),
        initiating_process_account_uid: e.process.as_ref().map(|p| p.uid),
        additional_fields: EventFields {
            is_audit: outcome != Outcome::Blocked,
            response_category: if outcome == Outcome::Allowed {
                "CustomAllowList".into()
            } else {
                "CustomBlockList".into()
            },
            display_name: indicators.first().and_then(|i| i.title.clone()),
            outcome: e.outcome,
            reason: e.reason,
            count: e.count,
            last_seen: format_rfc3339_ms(e.last_seen_ms),
            direction: e.direction,
            indicators,
        },
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An alert as the API shows it.
pub fn alert_entity(a: AlertRecord, evidence: Option<Vec<EventEntity>>) -> AlertEntity {
    AlertEntity {
        id: a.id.to_string(),
        incident_id: a.incident_id.to_string(),
        title: a.title,
        severity: a.severity,
        recommended_actions: Some(a.recommended_actions).filter(|r| !r.is_empty()),
        indicator_id: a.indicator_id,
        indicator_value: a.indicator_value,
        device_id: a.device_id.to_string(),
        device_name: a.device_name,
        status: a.status,
        status_changed_by: a.status_by,
        status_changed_at: a.status_at.map(format_rfc3339),
        assigned_to: a.triage.assigned_to,
        assigned_by: a.triage.assigned_by,
        assigned_at: a.triage.assigned_at.map(format_rfc3339),
        classification: a.triage.classification,
        determination: a.triage.determination,
        classified_by: a.triage.classified_by,
        classified_at: a.triage.classified_at.map(format_rfc3339),
        first_seen: format_rfc3339_ms(a.first_ms),
        last_seen: format_rfc3339_ms(a.last_ms),
        hit_count: a.hit_count,
        outcomes: a.outcomes,
        evidence,
        comments: None,
    }
}

/// A comment as the API shows it.
pub(crate) fn comment_entity(c: CommentRecord) -> AlertComment {
    AlertComment {
        comment: c.comment,
        created_by: c.created_by,
        created_time: format_rfc3339(c.created_at),
    }
}

pub(crate) fn incident_entity(
    i: IncidentRecord,
    alerts: Option<Vec<AlertEntity>>,
) -> IncidentEntity {
    IncidentEntity {
        id: i.id.to_string(),
        title: i.title,
        severity: i.severity,
        indicator_id: i.indicator_id,
        indicator_value: i.indicator_value,
        status: i.status,
        status_changed_by: i.status_by,
        status_changed_at: i.status_at.map(format_rfc3339),
        first_seen: format_rfc3339_ms(i.first_ms),
        last_seen: format_rfc3339_ms(i.last_ms),
        alert_count: i.alert_count,
        device_count: i.device_count,
        hit_count: i.hit_count,
        alerts,
    }
}

pub(crate) fn contact_entity(c: ContactRecord) -> ContactEntity {
    ContactEntity {
        device_id: c.device_id.to_string(),
        device_name: c.device_name,
        process: c.process,
        remote_ips: c.remote_ips,
        outcomes: c.outcomes,
        first_seen: format_rfc3339_ms(c.first_ms),
        last_seen: format_rfc3339_ms(c.last_ms),
        count: c.count,
    }
}

/// Whether `e` passes the filters of `q` (for live following; the store applies the same
/// filters to queries).
pub fn matches(q: &EventQuery, s: &StoredEvent) -> bool {
    let e = &s.event;
    q.device.is_none_or(|d| d == s.device_id)
        && q.indicator
            .is_none_or(|i| e.indicators.iter().any(|m| m.id == i))
        && q.outcome.is_none_or(|o| o == e.outcome)
        && q.remote.is_none_or(|(v6, lo, hi)| {
            IndicatorValue::parse(&e.remote_ip).is_ok_and(|v| {
                (v.family() == netward_model::Family::V6) == v6 && (lo..=hi).contains(&v.bounds().0)
            })
        })
}
