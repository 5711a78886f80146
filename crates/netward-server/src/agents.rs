//! The agent channel's core: enrollment tokens, enrollment, device authentication,
//! acknowledgements, and who is connected. Policy updates are in `policy_update.rs`.
//!
//! An enrollment token reads `nwe_<secret>@<server URL>`: one string to paste on a device.
//! A device credential is `nwd_<secret>`. Both are stored as SHA-256 hashes.

use std::collections::HashSet;
use std::sync::Arc;

use netward_model::agent_wire::{
    AckRequest, DeviceFacts, EnrollRequest, EnrollResponse, EnrollTokenCreate, EnrollTokenCreated,
};
use netward_model::group::DEFAULT_GROUP;
use netward_model::text;
use netward_model::timestamp::format_rfc3339;
use netward_model::{Actor, ActorKind, FieldError, ProtectionMode};
use tokio::sync::{OnceCell, watch};

use crate::control::{ControlError, ControlPlane};
use crate::store::{
    AckRecord, Change, DeviceRecord, EnrollRefusal, EnrollTokenColumn, EnrollTokenRecord, ListPage,
};
use crate::tokens::{hash_secret, random_hex};

/// The ids of the revoked devices as of one policy version, read by the first stream that
/// asks.
#[derive(Debug, Default)]
pub struct RevokedAt {
    version: u64,
    ids: Option<Arc<OnceCell<HashSet<i64>>>>,
}

/// The prefix of enrollment-token secrets.
pub const ENROLL_PREFIX: &str = "nwe_";
/// The prefix of device credentials.
pub const DEVICE_PREFIX: &str = "nwd_";
/// Most devices one enrollment token may enroll.
pub const MAX_ENROLL_USES: u32 = 100_000;
/// Default lifetime of an enrollment token, in hours.
pub const DEFAULT_ENROLL_HOURS: u32 = 168;

/// Most addresses a device may report.
pub const MAX_ADDRESSES: usize = 256;
/// Most indicator ids an acknowledgement may list as not enforceable. A real agent lists the
/// few that cover loopback, its server or its resolvers.
pub const MAX_NOT_ENFORCEABLE: usize = 1_000;
/// Longest enforcement error an acknowledgement may carry, in characters.
pub const MAX_ACK_ERROR: usize = 2_000;

/// What a device says about itself: bounded, and free of control characters, since it is
/// shown on admins' terminals and pages.
fn check_facts(f: &DeviceFacts) -> Result<(), FieldError> {
    text::line("facts.hostname", &f.hostname, 255)?;
    text::line("facts.os", &f.os, 255)?;
    text::line("facts.kernel", &f.kernel, 255)?;
    text::line("facts.agentVersion", &f.agent_version, 64)?;
    if f.addresses.len() > MAX_ADDRESSES {
        return Err(FieldError::new(
            "facts.addresses",
            format!("lists more than {MAX_ADDRESSES} addresses"),
        ));
    }
    for a in &f.addresses {
        text::line("facts.addresses", a, 64)?;
    }
    Ok(())
}

/// Why an enrollment was refused, for the agent's operator.
fn refusal_message(refusal: EnrollRefusal) -> String {
    match refusal {
        EnrollRefusal::Unknown => "the enrollment token is unknown".into(),
        EnrollRefusal::Expired => "the enrollment token has expired; create another".into(),
        EnrollRefusal::Revoked => "the enrollment token was revoked; create another".into(),
        EnrollRefusal::UsedUp { max_uses } => format!(
            "the enrollment token has enrolled its {max_uses} device(s); create another \
             (`netward enroll-token create --uses N` for several devices)"
        ),
    }
}

/// A device's mode after the tenant switch.
pub(crate) fn effective_mode(enabled: bool, mode: ProtectionMode) -> ProtectionMode {
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
        let max_uses = input.max_uses.unwrap_or(1);
        if max_uses == 0 || max_uses > MAX_ENROLL_USES {
            return Err(
                FieldError::new("maxUses", format!("must be from 1 to {MAX_ENROLL_USES}")).into(),
            );
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
            let record = cp.store.create_enroll_token(
                &hash_secret(&secret),
                &group,
                expires_at,
                max_uses,
                &change,
            )?;
            Ok(EnrollTokenCreated {
                token: format!("{secret}@{}", cp.public_url),
                id: record.id.to_string(),
                group,
                expires_at: format_rfc3339(expires_at),
                max_uses,
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
            let secret = format!("{DEVICE_PREFIX}{}", random_hex()?);
            let actor = Actor {
                name: "enrollment".into(),
                kind: ActorKind::System,
            };
            let change = Change {
                actor: &actor,
                at: now,
            };
            let device = cp.policy_change(|| {
                let enrolled = cp.store.enroll_device(
                    &hash_secret(&secret_part),
                    &req.facts,
                    &hash_secret(&secret),
                    &change,
                )?;
                match enrolled {
                    Ok(d) => Ok((d, Vec::new())),
                    Err(refusal) => Err(ControlError::Unauthorized(refusal_message(refusal))),
                }
            })?;
            tracing::info!(device = device.id, hostname = %text::printable(&device.facts.hostname), group = %device.group, "Device enrolled.");
            Ok(EnrollResponse {
                device_id: device.id.to_string(),
                secret,
                group: device.group,
            })
        })
        .await
    }

    /// Every enrollment token, newest first.
    pub async fn enroll_tokens(&self) -> Result<Vec<EnrollTokenRecord>, ControlError> {
        self.blocking(|cp| Ok(cp.store.enroll_tokens()?)).await
    }

    /// One page of the enrollment tokens, sorted in the store, and how many there are.
    pub async fn enroll_tokens_page(
        &self,
        page: ListPage<EnrollTokenColumn>,
    ) -> Result<(Vec<EnrollTokenRecord>, u64), ControlError> {
        self.blocking(move |cp| Ok(cp.store.enroll_tokens_page(&page)?))
            .await
    }

    /// Revokes an enrollment token: it enrolls no more devices. Devices it enrolled stay.
    pub async fn revoke_enroll_token(
        &self,
        id: i64,
        actor: Actor,
    ) -> Result<EnrollTokenRecord, ControlError> {
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            cp.store
                .revoke_enroll_token(id, &change)?
                .ok_or_else(|| ControlError::NotFound(format!("enrollment token {id}")))
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

    /// Whether device `id` is not revoked. The revoked devices are read once per policy
    /// version, for every stream a change wakes, rather than once per stream: a revocation
    /// moves the version, so the set read at a version holds every revocation before it.
    pub async fn device_is_live(&self, id: i64) -> Result<bool, ControlError> {
        let version = *self.versions.borrow();
        let cell = {
            let mut slot = self
                .revoked
                .lock()
                .map_err(|_| ControlError::Task("the revocation cache is poisoned".into()))?;
            if slot.version != version || slot.ids.is_none() {
                *slot = RevokedAt {
                    version,
                    ids: Some(Arc::default()),
                };
            }
            slot.ids.clone().unwrap_or_default()
        };
        let revoked = cell
            .get_or_try_init(|| {
                self.blocking(|cp| {
                    Ok(cp
                        .store
                        .devices()?
                        .into_iter()
                        .filter(|d| d.revoked_at.is_some())
                        .map(|d| d.id)
                        .collect())
                })
            })
            .await?;
        Ok(!revoked.contains(&id))
    }

    /// Records what device `id` now enforces.
    pub async fn ack(&self, id: i64, ack: AckRequest) -> Result<(), ControlError> {
        check_facts(&ack.facts)?;
        if ack.exemptions.len() > 256 {
            return Err(FieldError::new("exemptions", "lists more than 256 exemptions").into());
        }
        if let Some(e) = &ack.error {
            text::multiline("error", e, MAX_ACK_ERROR)?;
        }
        if ack.not_enforceable.len() > MAX_NOT_ENFORCEABLE {
            return Err(FieldError::new(
                "notEnforceable",
                format!("lists more than {MAX_NOT_ENFORCEABLE} indicators"),
            )
            .into());
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
            cp.machines_changed();
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
        self.machines_changed();
    }

    /// Whether device `id` has an open stream.
    pub fn is_online(&self, id: i64) -> bool {
        self.presence.lock().is_ok_and(|p| p.contains_key(&id))
    }
}
