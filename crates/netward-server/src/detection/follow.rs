//! Following live: the cursors behind `/api/events/stream`, `/api/alerts/stream` and the
//! console's live pages. A handler only turns what a follower yields into its wire format.
//!
//! An event follower reads the store after its cursor whenever the newest stored id moves, so
//! it never misses an event and never repeats one, whatever its filter; an alert follower
//! relays alert changes as they happen and says how many it missed when it fell behind.

use netward_model::detection::AlertEntity;
use tokio::sync::{broadcast, watch};

use crate::control::ControlPlane;
use crate::store::{EventQuery, StoredEvent};

/// Events per read, at most.
pub const FOLLOW_PAGE: usize = 500;

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
}

impl EventFollower {
    /// The next events after the cursor, waiting until there are some. `None` when the server
    /// shuts down or the store fails.
    pub async fn next_batch(&mut self) -> Option<Vec<StoredEvent>> {
        loop {
            if !self.read_now {
                tokio::select! {
                    changed = self.newest.changed() => changed.ok()?,
                    _ = self.closing.wait_for(|c| *c) => return None,
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
    changes: broadcast::Receiver<AlertEntity>,
    closing: watch::Receiver<bool>,
}

impl AlertFollower {
    /// The next change; `None` when the server shuts down.
    pub async fn next(&mut self) -> Option<AlertFeed> {
        let next = tokio::select! {
            next = self.changes.recv() => next,
            _ = self.closing.wait_for(|c| *c) => return None,
        };
        match next {
            Ok(alert) => Some(AlertFeed::Alert(Box::new(alert))),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(AlertFeed::Missed(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl ControlPlane {
    /// Follows the events matching `query` (its paging is ignored), starting after the event
    /// `after`, or with the next event stored when `after` is `None`.
    pub fn follow_events(&self, mut query: EventQuery, after: Option<i64>) -> EventFollower {
        query.top = FOLLOW_PAGE;
        query.skip = 0;
        EventFollower {
            cp: self.clone(),
            newest: self.live_events.subscribe(),
            closing: self.closing(),
            after: after.unwrap_or_else(|| *self.live_events.borrow()),
            query,
            read_now: true,
        }
    }

    /// Follows alert changes from now on.
    pub fn follow_alerts(&self) -> AlertFollower {
        AlertFollower {
            changes: self.live_alerts.subscribe(),
            closing: self.closing(),
        }
    }
}
