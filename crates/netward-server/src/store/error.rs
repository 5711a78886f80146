//! The one error of every store backend. It names no backend's types, so that another
//! database can implement the same traits.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("storage operation `{operation}` failed")]
    Database {
        /// What we were doing.
        operation: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database is there but cannot take the operation now: locked by another process,
    /// read-only, or on a full or failing disk. Retrying later may succeed.
    #[error("storage operation `{operation}` failed: {reason}")]
    Unavailable {
        /// What we were doing.
        operation: &'static str,
        /// Why, in words an operator acts on.
        reason: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The data directory could not be prepared.
    #[error("cannot prepare the data directory {path}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stored row does not parse: the database was changed behind our back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A unique name is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The database server cannot be reached (at start).
    #[error("cannot reach the database at {target}")]
    Unreachable {
        /// Host (or socket directory), port and database name.
        target: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `--database` does not parse.
    #[error("the database URL is not valid: {0}")]
    BadDatabaseUrl(String),
    /// The database was written by a newer netward.
    #[error(
        "the database's schema is version {found}, newer than this netward's ({ours}); run the newer netward, or restore a backup"
    )]
    NewerSchema {
        /// The version found.
        found: i64,
        /// The version this netward writes.
        ours: i64,
    },
    /// The revocation would leave no live admin token.
    #[error("`{0}` is the last admin token; revoking it would lock every admin out")]
    LastAdmin(String),
}

impl StoreError {
    /// A failure of the database itself, during `operation`.
    pub fn database(
        operation: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Database {
            operation,
            source: Box::new(source),
        }
    }
}
