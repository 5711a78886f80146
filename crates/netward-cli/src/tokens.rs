//! `netward token create|list|revoke`.

use clap::Subcommand;
use netward_model::wire::{TokenCreate, TokenCreated, TokenEntity, TokenList};
use reqwest::Method;

use crate::args;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

/// Token commands (admins only).
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once.
    Create {
        /// Unique name, shown as the source of what the token creates.
        #[arg(long)]
        name: String,
        /// viewer, analyst or admin.
        #[arg(long, value_parser = args::role)]
        role: netward_model::Role,
    },
    /// List tokens.
    List,
    /// Revoke a token by id.
    Revoke {
        /// Token id.
        id: String,
        /// Revoke even the token you are using, or the last admin token.
        #[arg(long)]
        force: bool,
    },
}

fn print_tokens(tokens: &[TokenEntity]) {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.name.clone(),
                t.role.clone(),
                t.created_at.clone(),
                t.created_by.clone(),
                t.revoked_at.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table::print(&["ID", "NAME", "ROLE", "CREATED", "BY", "REVOKED"], &rows);
}

/// Runs a token command; an error names the flags, not the API's fields.
pub async fn run(client: &ApiClient, json: bool, cmd: TokenCommand) -> Result<(), CliError> {
    run_command(client, json, cmd)
        .await
        .map_err(|e| e.in_terms_of(&flags::TOKEN))
}

async fn run_command(client: &ApiClient, json: bool, cmd: TokenCommand) -> Result<(), CliError> {
    match cmd {
        TokenCommand::Create { name, role } => {
            let body = TokenCreate {
                name: Some(name),
                role: Some(role.as_str().to_owned()),
            };
            let created: TokenCreated = client.write(Method::POST, "/api/tokens", &body).await?;
            if json {
                return table::print_json(&created);
            }
            print_tokens(std::slice::from_ref(&created.token));
            crate::say!("\nsecret (shown only now): {}", created.secret);
            Ok(())
        }
        TokenCommand::List => {
            let list: TokenList = client.get("/api/tokens", &[]).await?;
            if json {
                return table::print_json(&list);
            }
            print_tokens(&list.value);
            Ok(())
        }
        TokenCommand::Revoke { id, force } => {
            let mut request = client.request(Method::DELETE, &format!("/api/tokens/{id}"));
            if force {
                request = request.query(&[("force", "true")]);
            }
            let t: TokenEntity = client.send(request).await?;
            if json {
                return table::print_json(&t);
            }
            print_tokens(&[t]);
            Ok(())
        }
    }
}
