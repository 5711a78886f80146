//! The PostgreSQL side of [`CaStore`]: the one CA every replica signs with (see
//! [`crate::store::ca`] for what guards its key).

use super::{PgStore, pg};
use crate::store::{CaStore, StoreError, StoredCa};

/// The CA's part of schema version 1: one row at most.
pub(super) const SCHEMA: &str = "
CREATE TABLE server_ca (
    only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    cert_pem text NOT NULL,
    key_pem text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
";

impl CaStore for PgStore {
    fn server_ca(&self) -> Result<Option<StoredCa>, StoreError> {
        let row = self
            .conn()?
            .query_opt("SELECT cert_pem, key_pem FROM server_ca", &[])
            .map_err(pg("read the server CA"))?;
        Ok(row.map(|r| StoredCa {
            cert_pem: r.get(0),
            key_pem: r.get(1),
        }))
    }

    fn insert_server_ca(&self, ca: &StoredCa) -> Result<StoredCa, StoreError> {
        let mut client = self.conn()?;
        // A concurrent insert makes this one wait for its commit and then do nothing; the
        // read that follows, a statement of its own, sees the winner.
        client
            .execute(
                "INSERT INTO server_ca (cert_pem, key_pem) VALUES ($1, $2) \
                 ON CONFLICT (only_one) DO NOTHING",
                &[&ca.cert_pem, &ca.key_pem],
            )
            .map_err(pg("store the server CA"))?;
        let row = client
            .query_one("SELECT cert_pem, key_pem FROM server_ca", &[])
            .map_err(pg("read the server CA"))?;
        Ok(StoredCa {
            cert_pem: row.get(0),
            key_pem: row.get(1),
        })
    }
}
