//! What the alerting rules ([`crate::detection::alerting`]) decide for one indicator's hits in
//! a batch, applied: the device's alert on it and the indicator's incident, opened or
//! updated. The caller holds the indicator's advisory lock (see `ingest.rs`).

use netward_model::Severity;
use netward_model::detection::{MatchedIndicator, Outcome};
use postgres::Transaction;

use super::super::{pg, to_i64 as i, to_u64 as u};
use super::queries::{get, named};
use crate::detection::alerting::{
    self, AlertChange, Hits, IncidentChange, OpenAlert, OpenIncident,
};
use crate::store::StoreError;
use crate::store::columns::outcomes_text;

/// What alerts and incidents copy of an indicator.
pub(super) struct IndicatorInfo {
    /// The stored value: alerts and incidents name it, never the agent's copy.
    pub(super) value: String,
    pub(super) title: String,
    pub(super) severity: Severity,
    pub(super) recommended_actions: String,
    pub(super) generate_alert: bool,
}

/// Applies what the rules decide for `hits` on (device, indicator `m`): the alert and the
/// incident. Returns the alert id and whether it is new.
pub(super) fn alert_for(
    tx: &mut Transaction<'_>,
    device: i64,
    m: &MatchedIndicator,
    info: &IndicatorInfo,
    hits: &Hits,
) -> Result<(i64, bool), StoreError> {
    let open = tx
        .query_opt(
            "SELECT id, first_ms, last_ms, hit_count, outcomes FROM alerts \
             WHERE device_id = $1 AND indicator_id = $2 AND status != 'resolved' \
             ORDER BY id DESC LIMIT 1",
            &[&device, &m.id],
        )
        .map_err(pg("find alert"))?
        .map(|r| -> Result<OpenAlert, StoreError> {
            let outcomes: String = get(&r, 4)?;
            Ok(OpenAlert {
                id: get(&r, 0)?,
                hits: Hits {
                    first_ms: get(&r, 1)?,
                    last_ms: get(&r, 2)?,
                    count: u(get(&r, 3)?),
                    outcomes: outcomes.split(',').filter_map(Outcome::parse).collect(),
                },
            })
        })
        .transpose()?;
    let incident = incident_for(tx, m, info, hits)?;
    match alerting::alert_change(open.as_ref(), hits) {
        AlertChange::Update { id, hits } => {
            tx.execute(
                "UPDATE alerts SET first_ms = $2, last_ms = $3, hit_count = $4, outcomes = $5 \
                 WHERE id = $1",
                &[
                    &id,
                    &hits.first_ms,
                    &hits.last_ms,
                    &i(hits.count),
                    &outcomes_text(&hits.outcomes),
                ],
            )
            .map_err(pg("update alert"))?;
            Ok((id, false))
        }
        AlertChange::Raise(hits) => {
            let row = tx
                .query_one(
                    "INSERT INTO alerts (incident_id, device_id, indicator_id, indicator_value, \
                     title, severity, recommended_actions, status, first_ms, last_ms, hit_count, \
                     outcomes) VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', $8, $9, $10, $11) \
                     RETURNING id",
                    &[
                        &incident,
                        &device,
                        &m.id,
                        &info.value,
                        &info.title,
                        &info.severity.as_str(),
                        &info.recommended_actions,
                        &hits.first_ms,
                        &hits.last_ms,
                        &i(hits.count),
                        &outcomes_text(&hits.outcomes),
                    ],
                )
                .map_err(pg("raise alert"))?;
            Ok((get(&row, 0)?, true))
        }
    }
}

/// Applies what the rules decide for `hits` to the indicator's incident; returns its id.
fn incident_for(
    tx: &mut Transaction<'_>,
    m: &MatchedIndicator,
    info: &IndicatorInfo,
    hits: &Hits,
) -> Result<i64, StoreError> {
    let open = tx
        .query_opt(
            "SELECT id, severity, first_ms, last_ms FROM incidents \
             WHERE indicator_id = $1 AND status != 'resolved' ORDER BY id DESC LIMIT 1",
            &[&m.id],
        )
        .map_err(pg("find incident"))?
        .map(|r| -> Result<OpenIncident, StoreError> {
            Ok(OpenIncident {
                id: get(&r, 0)?,
                severity: named(&r, 1, Severity::parse)?,
                first_ms: get(&r, 2)?,
                last_ms: get(&r, 3)?,
            })
        })
        .transpose()?;
    match alerting::incident_change(open.as_ref(), info.severity, hits) {
        IncidentChange::Update(inc) => {
            tx.execute(
                "UPDATE incidents SET first_ms = $2, last_ms = $3, severity = $4 WHERE id = $1",
                &[&inc.id, &inc.first_ms, &inc.last_ms, &inc.severity.as_str()],
            )
            .map_err(pg("update incident"))?;
            Ok(inc.id)
        }
        IncidentChange::Open {
            severity,
            first_ms,
            last_ms,
        } => {
            let row = tx
                .query_one(
                    "INSERT INTO incidents (indicator_id, indicator_value, title, severity, \
                     status, first_ms, last_ms) VALUES ($1, $2, $3, $4, 'new', $5, $6) \
                     RETURNING id",
                    &[
                        &m.id,
                        &info.value,
                        &info.title,
                        &severity.as_str(),
                        &first_ms,
                        &last_ms,
                    ],
                )
                .map_err(pg("open incident"))?;
            get(&row, 0)
        }
    }
}
