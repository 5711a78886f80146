//! The CLI's TLS: it trusts the control plane's CA certificate (`--ca-cert`, printed by the
//! server at start), and nothing else. Plain HTTP is accepted for loopback servers only.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::CliError;

/// A rustls client configuration that trusts the CA in `ca_pem` (none: trusts nothing, for
/// plain-HTTP loopback servers).
pub fn client_config(ca_pem: Option<&Path>) -> Result<rustls::ClientConfig, CliError> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = ca_pem {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?
            .collect::<Result<_, _>>()
            .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(CliError::Config(format!(
                "{} holds no certificate",
                path.display()
            )));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Whether `url` names a loopback host.
pub fn is_loopback_url(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
