//! Enrollment: the device's identity from the state directory, or, on the first start, from
//! the server in exchange for an enrollment token.

use super::client::{self, AgentClient};
use super::state::{self, IDENTITY, Identity};
use super::{AgentConfig, AgentError, facts};

/// The identity kept in the state directory, enrolling with `config.enroll` when there is none.
pub(crate) async fn identity(config: &AgentConfig) -> Result<Identity, AgentError> {
    if let Some(id) = state::read::<Identity>(&config.state_dir, IDENTITY)? {
        if config.enroll.is_some() {
            tracing::info!(device = %id.device_id, "Already enrolled; the enrollment token is not used.");
        }
        return Ok(id);
    }
    let token = config.enroll.clone().ok_or_else(|| {
        AgentError::Config("this device is not enrolled: pass --enroll <token>".into())
    })?;
    let (server, pin) = client::parse_enroll_token(&token)?;
    let client = AgentClient::new(&server, pin.as_deref())?;
    let enrolled = client.enroll(&token, facts::collect()).await?;
    let id = Identity {
        server,
        ca_fingerprint: pin,
        device_id: enrolled.device_id,
        secret: enrolled.secret,
    };
    state::write(&config.state_dir, IDENTITY, &id)?;
    tracing::info!(device = %id.device_id, group = %enrolled.group, "Enrolled.");
    Ok(id)
}
