//! What one replica tells the others, and who runs the background work. With one server on
//! SQLite there is no one to tell and nothing to elect: the SQLite side answers "nobody
//! listens" and "you lead". On PostgreSQL, notices go out with `NOTIFY` (one per policy
//! change, per event batch, per batch of alerts; never one per event), and leadership of a
//! job is a session advisory lock.

use std::time::Duration;

use super::StoreError;

/// A change another replica should show its own clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A new policy version (sent by the history itself, in the change's transaction).
    Policy(u64),
    /// Events were stored, up to this id.
    Events(i64),
    /// These alerts were raised or changed.
    Alerts(Vec<i64>),
    /// A device's state changed (acknowledgement, connection).
    Machines,
    /// A feed was created or changed: the replica that polls feeds looks again.
    Feeds,
}

/// Background work that must run on one replica at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    /// Deleting events past their retention.
    Retention,
    /// Polling threat-intel feeds.
    FeedRefresh,
}

/// Other replicas' notices, as they arrive.
pub trait Listener: Send {
    /// The next notice from another replica, waiting at most `wait`; `Ok(None)` when none
    /// came. An error means the connection is lost: listen again (and re-read what may have
    /// been missed meanwhile).
    fn next(&mut self, wait: Duration) -> Result<Option<Notice>, StoreError>;
}

/// Leadership of a [`Job`], held until dropped.
pub trait Leadership: Send + std::fmt::Debug {
    /// Whether it is still held (on PostgreSQL, whether its connection still answers).
    fn still_held(&mut self) -> bool;
}

/// Notices between replicas and the election of background jobs.
pub trait ChangeFeed: Send + Sync {
    /// Tells the other replicas.
    fn announce(&self, notice: &Notice) -> Result<(), StoreError>;
    /// Starts listening to the other replicas; `None` when there are none (SQLite).
    fn listen(&self) -> Result<Option<Box<dyn Listener>>, StoreError>;
    /// Leadership of `job` if no other replica holds it.
    fn try_lead(&self, job: Job) -> Result<Option<Box<dyn Leadership>>, StoreError>;
}
