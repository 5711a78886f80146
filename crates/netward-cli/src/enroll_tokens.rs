//! `netward enroll-token create|list|revoke`.

use clap::Subcommand;
use netward_model::agent_wire::{
    EnrollTokenCreate, EnrollTokenCreated, EnrollTokenEntity, EnrollTokenList,
};
use reqwest::Method;

use crate::client::ApiClient;
use crate::error::CliError;
use crate::machines::encode;
use crate::{flags, table};

/// Enrollment-token commands (admins only).
#[derive(Subcommand, Debug)]
pub enum EnrollTokenCommand {
    /// Create a token for `netward agent --enroll`; it is printed once.
    Create {
        /// The group new devices join (default `default`).
        #[arg(long)]
        group: Option<String>,
        /// Lifetime in hours (default 168).
        #[arg(long)]
        valid_hours: Option<u32>,
        /// How many devices it may enroll (default 1).
        #[arg(long = "uses")]
        max_uses: Option<u32>,
    },
    /// List tokens with their uses; never their secrets.
    List,
    /// Revoke a token by id: it enrolls no more devices.
    Revoke {
        /// Token id.
        id: String,
    },
}

fn print_tokens(tokens: &[EnrollTokenEntity]) {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let state = match (&t.revoked_at, t.usable) {
                (Some(at), _) => format!("revoked {at}"),
                (None, true) => "usable".into(),
                (None, false) => "used up or expired".into(),
            };
            vec![
                t.id.clone(),
                t.group.clone(),
                format!(
                    "{}/{}",
                    t.uses,
                    t.max_uses.map_or("any".into(), |n| n.to_string())
                ),
                t.expires_at.clone(),
                t.created_by.clone(),
                state,
            ]
        })
        .collect();
    table::print(&["ID", "GROUP", "USES", "EXPIRES", "BY", "STATE"], &rows);
}

/// A warning when the token sends agents to a loopback address, which only an agent on the
/// server's own machine can reach.
pub fn loopback_hint(token: &str) -> Option<String> {
    let target = netward_model::enroll_token::EnrollToken::parse(token)
        .ok()?
        .target;
    let url = target
        .servers
        .into_iter()
        .find(|url| crate::tls::is_loopback_url(url))?;
    Some(format!(
        "hint: this token sends agents to {url}, a loopback address: agents on other machines cannot reach it; start the server with --advertise https://HOST:PORT (the address they can reach)"
    ))
}

/// Runs an enrollment-token command; an error names the flags, not the API's fields.
pub async fn run(client: &ApiClient, json: bool, cmd: EnrollTokenCommand) -> Result<(), CliError> {
    run_command(client, json, cmd)
        .await
        .map_err(|e| e.in_terms_of(&flags::ENROLL_TOKEN))
}

async fn run_command(
    client: &ApiClient,
    json: bool,
    cmd: EnrollTokenCommand,
) -> Result<(), CliError> {
    match cmd {
        EnrollTokenCommand::Create {
            group,
            valid_hours,
            max_uses,
        } => {
            let body = EnrollTokenCreate {
                group,
                valid_hours,
                max_uses,
            };
            let created: EnrollTokenCreated = client
                .write(Method::POST, "/api/enroll-tokens", &body)
                .await?;
            if json {
                return table::print_json(&created);
            }
            crate::say!("{}", created.token);
            eprintln!(
                "token {}: group {}, enrolls up to {} device(s) until {}; shown only now",
                created.id, created.group, created.max_uses, created.expires_at
            );
            if let Some(hint) = loopback_hint(&created.token) {
                eprintln!("{hint}");
            }
            Ok(())
        }
        EnrollTokenCommand::List => {
            let list: EnrollTokenList = client.get("/api/enroll-tokens", &[]).await?;
            if json {
                return table::print_json(&list);
            }
            print_tokens(&list.value);
            Ok(())
        }
        EnrollTokenCommand::Revoke { id } => {
            let t: EnrollTokenEntity = client
                .send(client.request(
                    Method::DELETE,
                    &format!("/api/enroll-tokens/{}", encode(&id)),
                ))
                .await?;
            if json {
                return table::print_json(&t);
            }
            print_tokens(&[t]);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_loopback_enrollment_url_gets_a_hint() {
        let hint = super::loopback_hint("nwe_x@https://127.0.0.1:8440").unwrap();
        assert!(hint.contains("--advertise"), "{hint}");
        let fp = "ab".repeat(32);
        assert!(
            super::loopback_hint(&format!("nwe_x@https://10.0.0.5:8440#sha256:{fp}")).is_none()
        );
        let replicas = format!("nwe_x@https://10.0.0.5:8440,https://[::1]:8441#sha256:{fp}");
        let hint = super::loopback_hint(&replicas).unwrap();
        assert!(hint.contains("https://[::1]:8441"), "{hint}");
    }
}
