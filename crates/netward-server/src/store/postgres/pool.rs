//! The connection pool: r2d2 over the synchronous client. A connection is checked with an
//! empty query at checkout only when it sat unused for a while (the database may have
//! restarted meanwhile); one in steady use is not, which saves a round trip on every store
//! call of a busy replica.

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use r2d2::ManageConnection;
use r2d2_postgres::PostgresConnectionManager;

/// A connection used again within this is taken as it is.
const FRESH: Duration = Duration::from_secs(1);

/// Opens connections for the pool, and checks the ones that sat unused.
#[derive(Debug)]
pub(crate) struct Manager(PostgresConnectionManager<NoTls>);

impl Manager {
    pub(crate) fn new(config: postgres::Config) -> Self {
        Self(PostgresConnectionManager::new(config, NoTls))
    }
}

/// A pooled client, and when it was last taken from the pool.
pub(crate) struct PgConn {
    client: Client,
    taken: Instant,
}

impl Deref for PgConn {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.0.connect()?,
            taken: Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        let unused = conn.taken.elapsed();
        conn.taken = Instant::now();
        if unused < FRESH {
            return Ok(());
        }
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}
