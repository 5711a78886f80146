//! The CLI's TLS: it trusts the control plane's CA certificate (`--ca-cert`, printed by the
//! server at start), and nothing else. Plain HTTP is accepted for loopback servers only.
//!
//! The verifier is webpki's, wrapped so that a refusal is explained: when the certificate is
//! for another name, [`TlsRefusal::NameMismatch`] names the names it has; when it chains to
//! another CA, [`TlsRefusal::UnknownCa`] gives the SHA-256 fingerprints of the CA expected
//! (the `--ca-cert` file) and of the CA the server presented (it sends its CA after its own
//! certificate), the same fingerprint the server prints at start and enrollment tokens pin.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

use crate::error::CliError;

/// Why the CLI refused the server's certificate, in terms a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsRefusal {
    /// The certificate is valid, but not for the name in the server URL.
    #[error(
        "the server's certificate is not valid for `{expected}`: it names {}; use one of those in --server (NETWARD_SERVER), or restart the server with --tls-name {expected}",
        if presented.is_empty() { "no name".to_owned() } else { presented.join(", ") }
    )]
    NameMismatch {
        /// The host of the server URL.
        expected: String,
        /// The names the certificate has.
        presented: Vec<String>,
    },
    /// The certificate does not chain to the CA the CLI trusts.
    #[error(
        "the server's certificate is not signed by the CA in {}: expected CA sha256 {}, the server presented CA sha256 {}; pass the CA the server printed at start with --ca-cert (NETWARD_CA_CERT)",
        ca_file.display(),
        expected.join(" or "),
        presented.as_deref().unwrap_or("(none sent)")
    )]
    UnknownCa {
        /// The `--ca-cert` file.
        ca_file: PathBuf,
        /// The fingerprints of the certificates in it.
        expected: Vec<String>,
        /// The fingerprint of the CA the server sent, if it sent one.
        presented: Option<String>,
    },
    /// Any other refusal of the certificate (expired, not yet valid, …).
    #[error("the server's certificate was refused: {0}")]
    Other(String),
}

/// Where the verifier leaves its last refusal for the client to explain.
pub type RefusalSlot = Arc<Mutex<Option<TlsRefusal>>>;

/// The hex SHA-256 of a DER certificate, as the server prints it.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Webpki's verifier, which records why it refused a certificate.
#[derive(Debug)]
struct ExplainingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    ca_file: PathBuf,
    expected: Vec<String>,
    refusal: RefusalSlot,
}

impl ExplainingVerifier {
    fn explain(
        &self,
        error: &rustls::Error,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
    ) -> TlsRefusal {
        match error {
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected,
                presented,
            }) => TlsRefusal::NameMismatch {
                expected: expected.to_str().into_owned(),
                presented: presented.iter().map(|n| plain_name(n)).collect(),
            },
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
                TlsRefusal::NameMismatch {
                    expected: server_name.to_str().into_owned(),
                    presented: Vec::new(),
                }
            }
            rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            ) => TlsRefusal::UnknownCa {
                ca_file: self.ca_file.clone(),
                expected: self.expected.clone(),
                presented: intermediates.last().map(|c| fingerprint(c)),
            },
            other => TlsRefusal::Other(other.to_string()),
        }
    }
}

/// A name as webpki presents it (`DnsName("host")`, `IpAddress(10.0.0.5)`), as a person
/// writes it.
fn plain_name(presented: &str) -> String {
    presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
        .to_owned()
}

impl ServerCertVerifier for ExplainingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .inspect_err(|e| {
                let refusal = self.explain(e, intermediates, server_name);
                if let Ok(mut slot) = self.refusal.lock() {
                    *slot = Some(refusal);
                }
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A rustls client configuration that trusts the CA in `ca_pem` (none: trusts nothing, for
/// plain-HTTP loopback servers), and the slot where it explains a refusal.
pub fn client_config(
    ca_pem: Option<&Path>,
) -> Result<(rustls::ClientConfig, RefusalSlot), CliError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::Config(e.to_string()))?;
    let refusal = RefusalSlot::default();
    let Some(path) = ca_pem else {
        let config = builder
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth();
        return Ok((config, refusal));
    };
    let verifier = explaining_verifier(path, provider, refusal.clone())?;
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((config, refusal))
}

/// A verifier that trusts the CA certificates in `path` and explains a refusal in `refusal`.
fn explaining_verifier(
    path: &Path,
    provider: Arc<rustls::crypto::CryptoProvider>,
    refusal: RefusalSlot,
) -> Result<ExplainingVerifier, CliError> {
    let bad =
        |e: &dyn std::fmt::Display| CliError::Config(format!("--ca-cert {}: {e}", path.display()));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(&e))?;
    if certs.is_empty() {
        return Err(bad(&"holds no certificate"));
    }
    let expected = certs.iter().map(|c| fingerprint(c)).collect();
    let mut roots = RootCertStore::empty();
    for c in certs {
        roots.add(c).map_err(|e| bad(&e))?;
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| bad(&e))?;
    Ok(ExplainingVerifier {
        inner,
        ca_file: path.to_owned(),
        expected,
        refusal,
    })
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

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test should fail loudly at the first surprise"
    )]

    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::client::danger::ServerCertVerifier;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    use super::{RefusalSlot, TlsRefusal, explaining_verifier, fingerprint};

    /// A CA (as PEM, and its DER) and a server certificate it signed for `names`.
    fn pki(names: &[&str]) -> (String, CertificateDer<'static>, CertificateDer<'static>) {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.clone().self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap()
                .signed_by(&leaf_key, &issuer)
                .unwrap();
        (ca.pem(), ca.der().clone(), leaf.der().clone())
    }

    fn refusal(
        ca_pem: &str,
        leaf: &CertificateDer<'_>,
        ca_sent: &CertificateDer<'_>,
        name: &str,
    ) -> TlsRefusal {
        let dir = tempfile_dir();
        let path = dir.join("ca.pem");
        std::fs::write(&path, ca_pem).unwrap();
        let slot = RefusalSlot::default();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verifier = explaining_verifier(&path, provider, slot.clone()).unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let result = verifier.verify_server_cert(
            leaf,
            std::slice::from_ref(ca_sent),
            &name,
            &[],
            UnixTime::now(),
        );
        assert!(result.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        slot.lock().unwrap().take().unwrap()
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "netward-cli-tls-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_certificate_for_another_name_is_explained_with_its_names() {
        let (ca_pem, ca_der, leaf) = pki(&["netward.example", "10.0.0.5"]);
        let r = refusal(&ca_pem, &leaf, &ca_der, "127.0.0.1");
        assert_eq!(
            r,
            TlsRefusal::NameMismatch {
                expected: "127.0.0.1".into(),
                presented: vec!["netward.example".into(), "10.0.0.5".into()],
            }
        );
        assert!(r.to_string().contains("--tls-name 127.0.0.1"), "{r}");
    }

    #[test]
    fn another_ca_is_explained_with_both_fingerprints() {
        let (trusted_pem, trusted_der, _) = pki(&["localhost"]);
        let (_, other_der, other_leaf) = pki(&["localhost"]);
        let r = refusal(&trusted_pem, &other_leaf, &other_der, "localhost");
        let text = r.to_string();
        assert!(
            text.contains(&format!("expected CA sha256 {}", fingerprint(&trusted_der))),
            "{text}"
        );
        assert!(
            text.contains(&format!("presented CA sha256 {}", fingerprint(&other_der))),
            "{text}"
        );
    }
}
