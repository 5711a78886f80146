//! The agent channel's core: enrollment tokens, enrollment, device authentication, policy
//! updates (a delta from the agent's version when the history has it, a snapshot otherwise),
//! acknowledgements, and who is connected.
//!
//! An enrollment token reads `nwe_<secret>@<server URL>`: one string to paste on a device.
//! A device credential is `nwd_<secret>`. Both are stored as SHA-256 hashes.

use std::collections::BTreeMap;

use netward_model::agent_wire::{
    AckRequest, AgentIndicator, DeviceFacts, EnrollRequest, EnrollResponse, EnrollTokenCreate,
    EnrollTokenCreated, PolicyUpdate,
};
use netward_model::group::DEFAULT_GROUP;
use netward_model::timestamp::format_rfc3339;
use netward_model::{Actor, ActorKind, FieldError, ProtectionMode};
use tokio::sync::watch;

use crate::control::{ControlError, ControlPlane};
use crate::policy_log::LogEntry;
use crate::store::{AckRecord, Change, DeviceRecord};
use crate::tokens::{hash_secret, random_hex};

/// The prefix of enrollment-token secrets.
pub const ENROLL_PREFIX: &str = "nwe_";
/// The prefix of device credentials.
pub const DEVICE_PREFIX: &str = "nwd_";
/// Default lifetime of an enrollment token, in hours.
pub const DEFAULT_ENROLL_HOURS: u32 = 168;

fn short(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(())
}

fn check_facts(f: &DeviceFacts) -> Result<(), FieldError> {
    short("facts.hostname", &f.hostname, 255)?;
    short("facts.os", &f.os, 255)?;
    short("facts.kernel", &f.kernel, 255)?;
    short("facts.agentVersion", &f.agent_version, 64)?;
    if f.addresses.len() > 256 {
        return Err(FieldError::new(
            "facts.addresses",
            "lists more than 256 addresses",
        ));
    }
    for a in &f.addresses {
        short("facts.addresses", a, 64)?;
    }
    Ok(())
}

/// A device's mode after the tenant switch.
fn effective_mode(enabled: bool, mode: ProtectionMode) -> ProtectionMode {
    if enabled { mode } else { ProtectionMode::Off }
}

impl ControlPlane {
    /// Creates an enrollment token for `group`.
    pub async fn create_enroll_token(
        &self,
        input: EnrollTokenCreate,
        actor: Actor,
    ) -> Result<EnrollTokenCreated, ControlError> {
        let hours = input.valid_hours.unwrap_or(DEFAULT_ENROLL_HOURS);
        if hours == 0 || hours > 8760 {
            return Err(FieldError::new("validHours", "must be from 1 to 8760").into());
        }
        let group = input.group.unwrap_or_else(|| DEFAULT_GROUP.to_owned());
        self.blocking(move |cp| {
            if cp.store.group(&group)?.is_none() {
                return Err(FieldError::new(
                    "group",
                    format!("there is no device group `{group}`"),
                )
                .into());
            }
            let secret = format!("{ENROLL_PREFIX}{}", random_hex()?);
            let now = cp.now();
            let expires_at = now + i64::from(hours) * 3600;
            let change = Change {
                actor: &actor,
                at: now,
            };
            cp.store
                .create_enroll_token(&hash_secret(&secret), &group, expires_at, &change)?;
            Ok(EnrollTokenCreated {
                token: format!("{secret}@{}", cp.public_url),
                group,
                expires_at: format_rfc3339(expires_at),
            })
        })
        .await
    }

    /// Enrolls a device with an enrollment token and returns its credential.
    pub async fn enroll(&self, req: EnrollRequest) -> Result<EnrollResponse, ControlError> {
        check_facts(&req.facts)?;
        let secret_part = req
            .token
            .split('@')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        self.blocking(move |cp| {
            let now = cp.now();
            let token = cp
                .store
                .enroll_token(&hash_secret(&secret_part))?
                .filter(|t| t.expires_at > now)
                .ok_or_else(|| ControlError::Unauthorized("the enrollment token is unknown or expired".into()))?;
            let secret = format!("{DEVICE_PREFIX}{}", random_hex()?);
            let actor = Actor { name: format!("enroll-token {}", token.id), kind: ActorKind::System };
            let change = Change { actor: &actor, at: now };
            let device = cp.policy_change(|| {
                let d = cp.store.create_device(&req.facts, &token.group, &hash_secret(&secret), &change)?;
                Ok((d, Vec::new()))
            })?;
            tracing::info!(device = device.id, hostname = %device.facts.hostname, group = %device.group, "Device enrolled.");
            Ok(EnrollResponse { device_id: device.id.to_string(), secret, group: device.group })
        })
        .await
    }

    /// The live device whose credential is `secret`.
    pub async fn authenticate_device(&self, secret: String) -> Result<DeviceRecord, ControlError> {
        if !secret.starts_with(DEVICE_PREFIX) {
            return Err(ControlError::Unauthorized(
                "this is not a device credential".into(),
            ));
        }
        self.blocking(
            move |cp| match cp.store.device_by_hash(&hash_secret(&secret))? {
                Some(d) if d.revoked_at.is_none() => Ok(d),
                Some(_) => Err(ControlError::Unauthorized(
                    "the device's credential is revoked".into(),
                )),
                None => Err(ControlError::Unauthorized(
                    "the device credential is unknown".into(),
                )),
            },
        )
        .await
    }

    /// Whether device `id` is still enrolled and not revoked.
    pub async fn device_is_live(&self, id: i64) -> Result<bool, ControlError> {
        self.blocking(move |cp| Ok(cp.store.device(id)?.is_some_and(|d| d.revoked_at.is_none())))
            .await
    }

    /// The update that brings device `id` from `since` to the current policy.
    pub async fn policy_update(
        &self,
        id: i64,
        since: Option<u64>,
    ) -> Result<PolicyUpdate, ControlError> {
        self.blocking(move |cp| {
            // Hold the history while reading the device and the policy, so that the update
            // matches the version it names (a move committed meanwhile would otherwise be
            // served as the old group's snapshot under the new version).
            let log = cp
                .log
                .lock()
                .map_err(|_| ControlError::Task("the policy log is poisoned".into()))?;
            let device = cp
                .store
                .device(id)?
                .ok_or_else(|| ControlError::Unauthorized("the device is not enrolled".into()))?;
            // Last-seen moves with acknowledgements, not with pulls: a pull must not cost a
            // synchronous disk write, or a fleet pulling at once queues behind the disk.
            let settings = cp.store.settings()?;
            let group = cp.store.group(&device.group)?;
            let (mode, coverage) = group
                .as_ref()
                .map(|g| (g.mode, g.coverage))
                .unwrap_or((ProtectionMode::Block, Default::default()));
            let now = cp.now();
            let mut update = PolicyUpdate {
                version: log.current(),
                full: false,
                group: device.group.clone(),
                mode: effective_mode(settings.custom_network_indicators, mode),
                coverage,
                upserts: Vec::new(),
                removals: Vec::new(),
                server_time: now,
            };
            let delta = since.and_then(|v| log.since(v)).and_then(|entries| {
                let mut upserts: BTreeMap<i64, AgentIndicator> = BTreeMap::new();
                let mut removals = std::collections::BTreeSet::new();
                for entry in entries {
                    match entry {
                        LogEntry::Upsert(li) => {
                            let id = li.indicator.id;
                            let live = li.indicator.expires_at.is_none_or(|e| now < e);
                            let in_scope =
                                li.groups.is_empty() || li.groups.contains(&device.group);
                            if live && in_scope {
                                removals.remove(&id);
                                upserts.insert(id, li.indicator.clone());
                            } else {
                                upserts.remove(&id);
                                removals.insert(id);
                            }
                        }
                        LogEntry::Delete(id) => {
                            upserts.remove(id);
                            removals.insert(*id);
                        }
                        LogEntry::DeviceMoved(moved) if *moved == id => return None,
                        LogEntry::DeviceMoved(_) => {}
                    }
                }
                Some((upserts, removals))
            });
            match delta {
                Some((upserts, removals)) => {
                    update.upserts = upserts.into_values().collect();
                    update.removals = removals.into_iter().collect();
                }
                None => {
                    update.full = true;
                    update.upserts = cp
                        .store
                        .active_indicators(now)?
                        .iter()
                        .filter(|i| i.applies_to(&device.group))
                        .map(|i| crate::indicators::logged(i.id, &i.draft).indicator)
                        .collect();
                }
            }
            Ok(update)
        })
        .await
    }

    /// Records what device `id` now enforces.
    pub async fn ack(&self, id: i64, ack: AckRequest) -> Result<(), ControlError> {
        check_facts(&ack.facts)?;
        if ack.exemptions.len() > 256 {
            return Err(FieldError::new("exemptions", "lists more than 256 exemptions").into());
        }
        if let Some(e) = &ack.error {
            short("error", e, 2000)?;
        }
        self.blocking(move |cp| {
            if ack.version > cp.versions.borrow().to_owned() {
                return Err(FieldError::new("version", "is newer than the server's policy").into());
            }
            if ack.tamper_repaired {
                tracing::warn!(device = id, "Device repaired a tampered nftables table.");
            }
            let record = AckRecord {
                version: ack.version,
                entries: ack.entries,
                not_enforceable: ack.not_enforceable,
                error: ack.error,
                tamper_repaired: ack.tamper_repaired,
                facts: ack.facts,
                exemptions: ack.exemptions,
            };
            cp.store.record_ack(id, &record, cp.now())?;
            cp.live_machines.send_modify(|n| *n += 1);
            Ok(())
        })
        .await
    }

    /// A receiver of the newest policy version.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.versions.subscribe()
    }

    /// Marks one more (or one fewer) open stream for device `id`.
    pub fn set_connected(&self, id: i64, connected: bool) {
        if let Ok(mut p) = self.presence.lock() {
            let n = p.entry(id).or_insert(0);
            if connected {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    p.remove(&id);
                }
            }
        }
        self.live_machines.send_modify(|n| *n += 1);
    }

    /// Whether device `id` has an open stream.
    pub fn is_online(&self, id: i64) -> bool {
        self.presence.lock().is_ok_and(|p| p.contains_key(&id))
    }
}
