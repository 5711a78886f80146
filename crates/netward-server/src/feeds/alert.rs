//! The alert a refused run raises: a feed that suddenly names far fewer entries is either
//! truncated or changed at the source, and someone should look before it unblocks anything.

use crate::control::ControlPlane;
use crate::store::feeds::FeedRecord;

impl ControlPlane {
    /// Raises the alert of a run the shrink guard or the size cap refused.
    pub(crate) fn feed_refused_alert(&self, feed: &FeedRecord, why: &str) {
        tracing::error!(feed = %feed.config.name, reason = %why, "Feed run refused: the feed keeps its last good content until someone looks.");
    }
}
