//! Tenant settings: the "custom network indicators" emergency brake.

use netward_model::wire::SettingsPatch;
use netward_model::{Actor, TenantSettings};

use crate::control::{ControlError, ControlPlane};
use crate::store::Change;

impl ControlPlane {
    /// The tenant settings.
    pub async fn settings(&self) -> Result<TenantSettings, ControlError> {
        self.blocking(|cp| Ok(cp.store.settings()?)).await
    }

    /// Applies a patch and returns the new settings.
    pub async fn update_settings(
        &self,
        patch: SettingsPatch,
        actor: Actor,
    ) -> Result<TenantSettings, ControlError> {
        self.blocking(move |cp| {
            let mut settings = cp.store.settings()?;
            if let Some(on) = patch.custom_network_indicators {
                settings.custom_network_indicators = on;
            }
            let change = Change {
                actor: &actor,
                at: cp.now(),
            };
            cp.policy_change(|| {
                cp.store.update_settings(&settings, &change)?;
                Ok((settings, Vec::new()))
            })
        })
        .await
    }
}
