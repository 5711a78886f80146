//! Device-group commands. The `default` group always exists; a group that indicators still
//! name cannot be deleted.

use netward_model::group::{DEFAULT_GROUP, validate_group_name};
use netward_model::wire::{GroupCreate, GroupPatch};
use netward_model::{Actor, Coverage, DeviceGroup, FieldError, ProtectionMode};

use crate::control::{ControlError, ControlPlane};
use crate::store::{Change, GroupDeletion, StoreError};

/// Longest group description, in characters.
pub const MAX_GROUP_DESCRIPTION: usize = 1_000;

fn group_description(raw: &str) -> Result<String, FieldError> {
    let d = raw.trim();
    netward_model::text::multiline("description", d, MAX_GROUP_DESCRIPTION)?;
    Ok(d.to_owned())
}

fn parse_mode(text: &str) -> Result<ProtectionMode, FieldError> {
    ProtectionMode::parse(text).ok_or_else(|| {
        FieldError::new(
            "mode",
            format!("`{text}` is not a mode; use off, audit or block"),
        )
    })
}

fn parse_coverage(text: &str) -> Result<Coverage, FieldError> {
    Coverage::parse(text).ok_or_else(|| {
        FieldError::new(
            "coverage",
            format!("`{text}` is not a coverage; use all or tcp"),
        )
    })
}

impl ControlPlane {
    /// All groups.
    pub async fn groups(&self) -> Result<Vec<DeviceGroup>, ControlError> {
        self.blocking(|cp| Ok(cp.store.groups()?)).await
    }

    /// One group.
    pub async fn group(&self, name: String) -> Result<DeviceGroup, ControlError> {
        self.blocking(move |cp| {
            cp.store
                .group(&name)?
                .ok_or_else(|| ControlError::NotFound(format!("group `{name}`")))
        })
        .await
    }

    /// Creates a group. Mode defaults to `block`, coverage to `all`.
    pub async fn create_group(
        &self,
        input: GroupCreate,
        actor: Actor,
    ) -> Result<DeviceGroup, ControlError> {
        let name = validate_group_name(input.name.as_deref().unwrap_or_default())
            .map_err(|m| FieldError::new("name", m))?;
        let group = DeviceGroup {
            name,
            description: group_description(input.description.as_deref().unwrap_or_default())?,
            mode: input
                .mode
                .as_deref()
                .map(parse_mode)
                .transpose()?
                .unwrap_or_default(),
            coverage: input
                .coverage
                .as_deref()
                .map(parse_coverage)
                .transpose()?
                .unwrap_or_default(),
        };
        self.blocking(move |cp| {
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            match cp.store.create_group(&group, &change) {
                Ok(()) => Ok(group),
                Err(StoreError::AlreadyExists(what)) => {
                    Err(ControlError::Conflict(format!("{what} already exists")))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Changes a group's description, mode or coverage.
    pub async fn update_group(
        &self,
        name: String,
        patch: GroupPatch,
        actor: Actor,
    ) -> Result<DeviceGroup, ControlError> {
        let mode = patch.mode.as_deref().map(parse_mode).transpose()?;
        let coverage = patch.coverage.as_deref().map(parse_coverage).transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(group_description)
            .transpose()?;
        self.blocking(move |cp| {
            let mut group = cp
                .store
                .group(&name)?
                .ok_or_else(|| ControlError::NotFound(format!("group `{name}`")))?;
            if let Some(d) = description {
                group.description = d;
            }
            group.mode = mode.unwrap_or(group.mode);
            group.coverage = coverage.unwrap_or(group.coverage);
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            cp.policy_change(|| {
                if !cp.store.update_group(&group, &change)? {
                    return Err(ControlError::NotFound(format!("group `{name}`")));
                }
                Ok((group, Vec::new()))
            })
        })
        .await
    }

    /// Deletes a group nobody uses.
    pub async fn delete_group(&self, name: String, actor: Actor) -> Result<(), ControlError> {
        if name == DEFAULT_GROUP {
            return Err(ControlError::Conflict(
                "the default group holds every ungrouped device and cannot be deleted".into(),
            ));
        }
        self.blocking(move |cp| {
            let change = Change { actor: &actor, at: cp.now() };
            match cp.store.delete_group(&name, &change)? {
                GroupDeletion::Deleted => Ok(()),
                GroupDeletion::NotFound => Err(ControlError::NotFound(format!("group `{name}`"))),
                GroupDeletion::InUse { indicators, devices } => Err(ControlError::Conflict(format!(
                    "group `{name}` still has {devices} device(s) and is named in the scope of {indicators} indicator(s); move or change them first"
                ))),
            }
        })
        .await
    }
}
