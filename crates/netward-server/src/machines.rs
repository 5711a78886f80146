//! Devices as the API shows them: which policy version each enforces, whether that is the
//! current one, and the admin actions on them (move to a group, revoke).

use netward_model::agent_wire::{MachineEntity, MachinePatch};
use netward_model::group::validate_group_name;
use netward_model::timestamp::format_rfc3339;
use netward_model::{Actor, FieldError};

use crate::control::{ControlError, ControlPlane};
use crate::policy_log::LogEntry;
use crate::store::{Change, DeviceRecord};

impl ControlPlane {
    fn machine_entity(&self, d: DeviceRecord, current: u64) -> MachineEntity {
        MachineEntity {
            events_dropped: d.events_dropped,
            events_lost: d.events_lost,
            exemptions: d.exemptions,
            id: d.id.to_string(),
            online: d.revoked_at.is_none() && self.is_online(d.id),
            in_sync: d.applied_version == Some(current) && d.last_error.is_none(),
            hostname: d.facts.hostname,
            os: d.facts.os,
            kernel: d.facts.kernel,
            agent_version: d.facts.agent_version,
            addresses: d.facts.addresses,
            group: d.group,
            first_seen: format_rfc3339(d.first_seen),
            last_seen: format_rfc3339(d.last_seen),
            applied_version: d.applied_version,
            applied_at: d.applied_at.map(format_rfc3339),
            current_version: current,
            entries: d.entries,
            not_enforceable: d.not_enforceable,
            last_error: d.last_error,
            last_tamper: d.last_tamper.map(format_rfc3339),
            revoked: d.revoked_at.is_some(),
        }
    }

    /// On how many devices in its scope `ind` is enforced.
    pub async fn enforcement(
        &self,
        ind: netward_model::Indicator,
    ) -> Result<netward_model::agent_wire::EnforcementSummary, ControlError> {
        self.blocking(move |cp| {
            let version = cp
                .store
                .indicator_version(&ind.draft.value.to_string())?
                .unwrap_or(0);
            let mut summary = netward_model::agent_wire::EnforcementSummary::default();
            for d in cp.store.devices()? {
                if d.revoked_at.is_some() || !ind.applies_to(&d.group) {
                    continue;
                }
                summary.in_scope += 1;
                let exempt = d.not_enforceable.contains(&ind.id);
                if d.applied_version.is_some_and(|v| v >= version)
                    && d.last_error.is_none()
                    && !exempt
                {
                    summary.enforced += 1;
                } else {
                    summary
                        .not_enforced
                        .push(netward_model::agent_wire::DeviceLag {
                            id: d.id.to_string(),
                            online: cp.is_online(d.id),
                            last_seen: format_rfc3339(d.last_seen),
                            error: d.last_error.clone(),
                            not_enforceable: exempt,
                            hostname: d.facts.hostname,
                        });
                }
            }
            Ok(summary)
        })
        .await
    }

    /// Device `id` as the API shows it now. Call from a blocking task.
    fn machine_now(&self, id: i64) -> Result<MachineEntity, ControlError> {
        let current = *self.versions.borrow();
        let d = self
            .store
            .device(id)?
            .ok_or_else(|| ControlError::NotFound(format!("device {id}")))?;
        Ok(self.machine_entity(d, current))
    }

    /// All devices.
    pub async fn machines(&self) -> Result<Vec<MachineEntity>, ControlError> {
        self.blocking(|cp| {
            let current = *cp.versions.borrow();
            Ok(cp
                .store
                .devices()?
                .into_iter()
                .map(|d| cp.machine_entity(d, current))
                .collect())
        })
        .await
    }

    /// One device.
    pub async fn machine(&self, id: i64) -> Result<MachineEntity, ControlError> {
        self.blocking(move |cp| cp.machine_now(id)).await
    }

    /// Moves a device to another group; it gets a snapshot of that group's policy.
    pub async fn update_machine(
        &self,
        id: i64,
        patch: MachinePatch,
        actor: Actor,
    ) -> Result<MachineEntity, ControlError> {
        let group = patch
            .group
            .map(|g| validate_group_name(&g).map_err(|m| FieldError::new("group", m)))
            .transpose()?;
        self.blocking(move |cp| {
            if let Some(group) = group {
                if cp.store.group(&group)?.is_none() {
                    return Err(FieldError::new(
                        "group",
                        format!("there is no device group `{group}`"),
                    )
                    .into());
                }
                let change = Change {
                    actor: &actor,
                    at: cp.now(),
                };
                cp.policy_change(|| {
                    if !cp.store.move_device(id, &group, &change)? {
                        return Err(ControlError::NotFound(format!("device {id}")));
                    }
                    Ok(((), vec![LogEntry::DeviceMoved(id)]))
                })?;
            }
            cp.machine_now(id)
        })
        .await
    }

    /// Revokes a device's credential: its stream closes and its requests get 401. What its
    /// kernel enforces stays until the agent is uninstalled.
    pub async fn revoke_machine(
        &self,
        id: i64,
        actor: Actor,
    ) -> Result<MachineEntity, ControlError> {
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            let d = cp.policy_change(|| {
                let d = cp
                    .store
                    .revoke_device(id, &change)?
                    .ok_or_else(|| ControlError::NotFound(format!("device {id}")))?;
                Ok((d, Vec::new()))
            })?;
            let current = *cp.versions.borrow();
            Ok(cp.machine_entity(d, current))
        })
        .await
    }
}
