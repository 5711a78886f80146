//! Following live: the cursors behind `/api/events/stream`, `/api/alerts/stream` and the
//! console's live pages. A handler only turns what a follower yields into its wire format.
//!
//! An event follower reads the store after its cursor whenever the newest stored id moves, so
//! it never misses an event and never repeats one, whatever its filter; an alert follower
//! relays alert changes as they happen and says how many it missed when it fell behind.
//!
//! A follower opened with a [`Credential`] checks it again before everything it yields and,
//! on a quiet stream, every [`RECHECK`]: a revoked token's stream ends at once, not at the
//! next reconnect.

use netward_model::detection::AlertEntity;
use tokio::sync::{broadcast, watch};

use crate::control::ControlPlane;
use crate::store::{EventQuery, StoredEvent};

/// Events per read, at most.
pub const FOLLOW_PAGE: usize = 500;

/// How often a quiet stream checks that its token still holds.
pub const RECHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// A bearer secret, kept to authenticate a long-lived stream again; never printed.
#[derive(Clone)]
pub struct Credential(String);

impl Credential {
    /// Keeps `secret`.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// Whether the token is still known and unrevoked (a store error counts as no).
    async fn holds(&self, cp: &ControlPlane) -> bool {
        matches!(cp.authenticate(self.0.clone()).await, Ok(Some(_)))
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(…)")
    }
}

/// Whether `credential`, if any, still holds.
async fn still_holds(cp: &ControlPlane, credential: Option<&Credential>) -> bool {
    match credential {
        Some(c) => c.holds(cp).await,
        None => true,
    }
}

/// Events matching a filter, as they are stored.
#[derive(Debug)]
pub struct EventFollower {
    cp: ControlPlane,
    newest: watch::Receiver<i64>,
    closing: watch::Receiver<bool>,
    query: EventQuery,
    /// The id of the last event yielded (or skipped as not matching).
    after: i64,
    /// Read before waiting: at the start, and while pages come back full.
    read_now: bool,
    /// Checked again before each batch and on a quiet stream.
    credential: Option<Credential>,
    /// When the credential was last found to hold: the next check is due [`RECHECK`] later,
    /// however many non-matching events went by meanwhile.
    checked_at: tokio::time::Instant,
}

impl EventFollower {
    /// The next events after the cursor, waiting until there are some. `None` when the server
    /// shuts down or the store fails.
    pub async fn next_batch(&mut self) -> Option<Vec<StoredEvent>> {
        loop {
            if !self.read_now {
                let quiet = tokio::select! {
                    changed = self.newest.changed() => { changed.ok()?; false }
                    _ = self.closing.wait_for(|c| *c) => return None,
                    () = tokio::time::sleep_until(self.checked_at + RECHECK) => true,
                };
                if quiet {
                    if !still_holds(&self.cp, self.credential.as_ref()).await {
                        return None;
                    }
                    self.checked_at = tokio::time::Instant::now();
                    continue;
                }
            }
            self.read_now = false;
            if *self.closing.borrow() {
                return None;
            }
            // Everything up to `newest` is committed before it is announced: when nothing
            // there matches the filter, the next read can start after it.
            let newest = *self.newest.borrow_and_update();
            let mut page = self.query.clone();
            page.after_id = Some(self.after);
            let found = match self.cp.stored_events(page).await {
                Ok(found) => found,
                Err(error) => {
                    tracing::error!(%error, "Cannot read events for a live follower; ending its stream.");
                    return None;
                }
            };
            let Some(last) = found.last() else {
                self.after = self.after.max(newest);
                continue;
            };
            if !still_holds(&self.cp, self.credential.as_ref()).await {
                return None;
            }
            self.checked_at = tokio::time::Instant::now();
            self.after = last.id;
            // More than a page waiting: come back without waiting for a change.
            self.read_now = found.len() >= self.query.top;
            return Some(found);
        }
    }
}

/// What an alert follower yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertFeed {
    /// An alert was raised or changed.
    Alert(Box<AlertEntity>),
    /// This many changes went by while the follower was behind: re-read the list.
    Missed(u64),
}

/// Alert changes, as they happen.
#[derive(Debug)]
pub struct AlertFollower {
    cp: ControlPlane,
    changes: broadcast::Receiver<AlertEntity>,
    closing: watch::Receiver<bool>,
    credential: Option<Credential>,
}

impl AlertFollower {
    /// The next change; `None` when the server shuts down.
    pub async fn next(&mut self) -> Option<AlertFeed> {
        let next = loop {
            let next = tokio::select! {
                next = self.changes.recv() => Some(next),
                _ = self.closing.wait_for(|c| *c) => return None,
                () = tokio::time::sleep(RECHECK) => None,
            };
            match next {
                Some(next) => break next,
                // A quiet stream: the token must still hold.
                None if !still_holds(&self.cp, self.credential.as_ref()).await => return None,
                None => {}
            }
        };
        if !still_holds(&self.cp, self.credential.as_ref()).await {
            return None;
        }
        match next {
            Ok(alert) => Some(AlertFeed::Alert(Box::new(alert))),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(AlertFeed::Missed(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl ControlPlane {
    /// Follows the events matching `query` (its paging is ignored), starting after the event
    /// `after`, or with the next event stored when `after` is `None`; with a `credential`, only
    /// while it holds.
    pub fn follow_events(
        &self,
        mut query: EventQuery,
        after: Option<i64>,
        credential: Option<Credential>,
    ) -> EventFollower {
        query.top = FOLLOW_PAGE;
        query.skip = 0;
        EventFollower {
            cp: self.clone(),
            newest: self.live_events.subscribe(),
            closing: self.closing(),
            after: after.unwrap_or_else(|| *self.live_events.borrow()),
            query,
            read_now: true,
            credential,
            checked_at: tokio::time::Instant::now(),
        }
    }

    /// Follows alert changes from now on; with a `credential`, only while it holds.
    pub fn follow_alerts(&self, credential: Option<Credential>) -> AlertFollower {
        AlertFollower {
            cp: self.clone(),
            changes: self.live_alerts.subscribe(),
            closing: self.closing(),
            credential,
        }
    }
}
