//! The server's certificate authority, kept in a database that several replicas share, so
//! that they all sign with one CA and one enrollment token (which pins the CA's SHA-256) pins
//! them all.
//!
//! The CA's private key is stored in the clear: whoever holds the database's credentials can
//! sign a certificate agents will trust. They can already rewrite every indicator and every
//! device's policy, so the database's credentials are the CA's guard too; protect them (and
//! its backups) accordingly. The embedded SQLite store does not implement this trait: a
//! single server keeps its CA in files in its data directory (`crate::tls`).

use super::StoreError;

/// A CA as stored: its certificate and its private key, PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCa {
    /// The self-signed CA certificate, PEM.
    pub cert_pem: String,
    /// Its private key (PKCS#8), PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for StoredCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCa")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

/// The shared server CA.
pub trait CaStore: Send + Sync {
    /// The CA, if one was stored.
    fn server_ca(&self) -> Result<Option<StoredCa>, StoreError>;
    /// Stores `ca` unless a CA is stored already; the one stored afterwards, `ca` or the
    /// earlier one. Two replicas starting at once both get the same CA.
    fn insert_server_ca(&self, ca: &StoredCa) -> Result<StoredCa, StoreError>;
}
