//! Enrollment: the device's identity from the state directory, or, on the first start, from
//! the server in exchange for an enrollment token. `--server` replaces the servers the identity
//! names (and is kept there), so that a fleet can be moved to new replicas.

use super::client::{self, AgentClient};
use super::servers::Servers;
use super::state::{self, IDENTITY, Identity};
use super::{AgentConfig, AgentError, facts};

/// The identity kept in the state directory, enrolling with `config.enroll` when there is none.
pub(crate) async fn identity(config: &AgentConfig) -> Result<Identity, AgentError> {
    if let Some(mut id) = state::read::<Identity>(&config.state_dir, IDENTITY)? {
        if config.enroll.is_some() {
            tracing::info!(device = %id.device_id, "Already enrolled; the enrollment token is not used.");
        }
        if !config.servers.is_empty() {
            let given = Servers::new(&config.servers, id.ca_fingerprint.is_some())?;
            if given.all() != id.server_list() {
                tracing::info!(before = ?id.server_list(), now = ?given.all(), "The servers given with --server replace those of the enrollment.");
                id.set_servers(given.all());
                state::write(&config.state_dir, IDENTITY, &id)?;
            }
        }
        return Ok(id);
    }
    let token = config.enroll.clone().ok_or_else(|| {
        AgentError::Config("this device is not enrolled: pass --enroll <token>".into())
    })?;
    let (from_token, pin) = client::parse_enroll_token(&token)?;
    let servers = match config.servers.is_empty() {
        true => from_token,
        false => config.servers.clone(),
    };
    let client = AgentClient::with_servers(&servers, pin.as_deref())?;
    let enrolled = enroll_through_any(&client, &token).await?;
    let mut id = Identity {
        server: String::new(),
        servers: Vec::new(),
        ca_fingerprint: pin,
        device_id: enrolled.device_id,
        secret: enrolled.secret,
    };
    id.set_servers(client.servers().all());
    state::write(&config.state_dir, IDENTITY, &id)?;
    tracing::info!(device = %id.device_id, group = %enrolled.group, server = %client.servers().current(), "Enrolled.");
    Ok(id)
}

/// Enrolls through the first server that can be reached, trying each once: a replica that is
/// away does not stop an enrollment. Only a failure to reach one moves to the next; a refusal
/// (a token expired or used up) is final, since the replicas share it.
async fn enroll_through_any(
    client: &AgentClient,
    token: &str,
) -> Result<netward_model::agent_wire::EnrollResponse, AgentError> {
    let mut left = client.servers().all().len();
    loop {
        left -= 1;
        match client.enroll(token, facts::collect()).await {
            Err(AgentError::Http(error)) if left > 0 => {
                if let Some(switch) = client.servers().fail_over() {
                    tracing::warn!(from = %switch.from, to = %switch.to, %error, "Cannot enroll through this server; trying the next.");
                }
            }
            other => return other,
        }
    }
}
