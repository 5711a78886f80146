//! TLS for the control plane. On first start the server creates its own certificate authority
//! in `<data-dir>/tls/` (`ca.pem`, and `ca.key` readable by the owner only). On every start it
//! issues a fresh server certificate from that CA for the names it answers to. Agents pin the
//! CA by the SHA-256 fingerprint carried in their enrollment token; the CLI trusts `ca.pem`.
//!
//! Replicas on one PostgreSQL database share one CA instead ([`load_or_create_shared`]): the
//! first to start creates it in the database, every replica signs its own leaf with it, and
//! one enrollment token pins them all. The CA's key then lives in the database, so the
//! database's credentials guard the CA, as they already guard every indicator and policy.
//! Each replica keeps a copy of the CA's certificate (not its key) in
//! `<data-dir>/tls/shared-ca.pem` for the CLI; a single server's `ca.pem` and `ca.key` are left
//! as they were.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::connections::{CappedListener, Counted};
use crate::store::{CaStore, StoreError, StoredCa};

/// The shared CA's certificate, as a replica keeps it for the CLI.
pub const SHARED_CA_FILE: &str = "shared-ca.pem";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file in the TLS directory could not be read or written.
    #[error("cannot use {path}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A certificate or key could not be made or read.
    #[error("certificate error: {0}")]
    Certificate(String),
    /// The shared CA could not be read from or stored in the database.
    #[error("cannot read or store the shared CA in the database")]
    Store(#[from] StoreError),
}

/// The server's TLS setup.
#[derive(Clone, Debug)]
pub struct TlsMaterial {
    /// The rustls configuration (server certificate chain: leaf, then CA).
    pub config: Arc<rustls::ServerConfig>,
    /// The CA certificate's path, for the CLI's `--ca-cert`.
    pub ca_path: PathBuf,
    /// The CA certificate's SHA-256, hex, for enrollment tokens.
    pub ca_fingerprint: String,
}

fn cert_err(e: impl std::fmt::Display) -> TlsError {
    TlsError::Certificate(e.to_string())
}

fn ca_params() -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "netward control-plane CA");
    params.distinguished_name = dn;
    // A CA carries a Subject Key Identifier (rcgen writes it for a CA, derived from its key),
    // critical basic constraints, and keyCertSign/cRLSign only.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

/// The hex SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_private(path: &Path, contents: &str, mode: u32) -> Result<(), TlsError> {
    let err = |source| TlsError::File {
        path: path.to_owned(),
        source,
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(err)?;
    f.write_all(contents.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)
}

/// A new self-signed CA.
fn new_ca() -> Result<StoredCa, TlsError> {
    let key = KeyPair::generate().map_err(cert_err)?;
    let cert = ca_params()?.self_signed(&key).map_err(cert_err)?;
    Ok(StoredCa {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Creates `data_dir/tls`, private to the server; its path.
fn tls_dir(data_dir: &Path) -> Result<PathBuf, TlsError> {
    let dir = data_dir.join("tls");
    let dir_err = |source| TlsError::File {
        path: dir.clone(),
        source,
    };
    fs::create_dir_all(&dir).map_err(dir_err)?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(dir_err)?;
    Ok(dir)
}

/// Loads the CA from `data_dir/tls` (creating it on first start) and issues a server
/// certificate for `names` (IP addresses or DNS names).
pub fn load_or_create(data_dir: &Path, names: &[String]) -> Result<TlsMaterial, TlsError> {
    let dir = tls_dir(data_dir)?;
    let (key_path, ca_path) = (dir.join("ca.key"), dir.join("ca.pem"));
    if !key_path.exists() {
        let ca = new_ca()?;
        write_private(&key_path, &ca.key_pem, 0o600)?;
        write_private(&ca_path, &ca.cert_pem, 0o644)?;
        tracing::info!(path = %ca_path.display(), "Created the control plane's certificate authority.");
    }
    let read = |p: &Path| {
        fs::read_to_string(p).map_err(|source| TlsError::File {
            path: p.to_owned(),
            source,
        })
    };
    let ca = StoredCa {
        cert_pem: read(&ca_path)?,
        key_pem: read(&key_path)?,
    };
    issue(&ca, names, ca_path)
}

/// Loads the CA shared by every replica on the database behind `store`, creating it if no
/// replica has (two starting at once end with the same one), and issues this replica's own
/// server certificate for `names`. A copy of the CA's certificate goes to
/// `data_dir/tls/shared-ca.pem`, for the CLI.
///
/// The CA's private key is in the database: its credentials guard the CA (see the module).
pub fn load_or_create_shared(
    store: &dyn CaStore,
    data_dir: &Path,
    names: &[String],
) -> Result<TlsMaterial, TlsError> {
    let ca = match store.server_ca()? {
        Some(ca) => ca,
        None => {
            let made = new_ca()?;
            let stored = store.insert_server_ca(&made)?;
            if stored == made {
                tracing::info!("Created the certificate authority the replicas share.");
            }
            stored
        }
    };
    let dir = tls_dir(data_dir)?;
    let ca_path = dir.join(SHARED_CA_FILE);
    replace_public(&dir, &ca_path, &ca.cert_pem)?;
    issue(&ca, names, ca_path)
}

/// Writes `contents` to `path` (mode 0644) through a temporary file in `dir` and a rename, so
/// that a reader never sees half of it.
fn replace_public(dir: &Path, path: &Path, contents: &str) -> Result<(), TlsError> {
    if fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    let temp = dir.join(format!(".{SHARED_CA_FILE}.{}", std::process::id()));
    let _ = fs::remove_file(&temp);
    write_private(&temp, contents, 0o644)?;
    fs::rename(&temp, path).map_err(|source| TlsError::File {
        path: path.to_owned(),
        source,
    })
}

/// Issues a server certificate for `names` from `ca`, whose certificate is at `ca_path`.
fn issue(ca: &StoredCa, names: &[String], ca_path: PathBuf) -> Result<TlsMaterial, TlsError> {
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(cert_err)?;
    let ca_der = rustls_pki_types::pem::PemObject::from_pem_slice(ca.cert_pem.as_bytes())
        .map_err(|e: rustls_pki_types::pem::Error| cert_err(e))?;
    let ca_der: CertificateDer<'static> = ca_der;
    // Re-issue from the same name and key: certificates it signs chain to the stored CA.
    let issuer = Issuer::new(ca_params()?, ca_key);
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "netward server");
    let mut sans = Vec::new();
    for n in names {
        sans.push(match n.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(n.clone().try_into().map_err(cert_err)?),
        });
    }
    params.subject_alt_names = sans;
    // What strict verifiers (OpenSSL's X509_STRICT, Python 3.13's default VERIFY_X509_STRICT)
    // require of a leaf, after RFC 5280 and the CA/Browser baseline: an Authority Key
    // Identifier naming the CA's key, a Subject Key Identifier, basic constraints saying it is
    // not a CA, and key usages fit for a TLS server.
    params.use_authority_key_identifier_extension = true;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(cert_err)?;
    let leaf = params.signed_by(&leaf_key, &issuer).map_err(cert_err)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(cert_err)?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca_der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .map_err(cert_err)?;
    // HTTP/2 first: browsers then carry all of a user's console tabs on one connection.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        config: Arc::new(config),
        ca_path,
        ca_fingerprint: fingerprint(&ca_der),
    })
}

/// A listener that hands axum TLS streams. Handshakes run in their own tasks, so one slow
/// client cannot hold up the others.
#[derive(Debug)]
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<Counted<TcpStream>>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `tcp` with `config`; a handshake that takes longer than `handshake_timeout`
    /// is dropped.
    pub fn new(
        mut tcp: CappedListener,
        config: Arc<rustls::ServerConfig>,
        handshake_timeout: Duration,
    ) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    accepted = tcp.accept() => accepted,
                    () = tx.closed() => return,
                };
                let (acceptor, conn_tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = conn_tx.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed."),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out."),
                    }
                });
            }
        });
        Ok(Self { rx, local })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<Counted<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests;
