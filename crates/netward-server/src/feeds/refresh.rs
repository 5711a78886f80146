//! The refresh loop: every feed is refreshed when it is due: `refreshMinutes` after its last
//! run started, and not before a `Retry-After` its server sent. A new or changed feed wakes the
//! loop, so its first refresh follows at once. Each run happens in its own task; a feed whose
//! refresh is still running (a `sync` asked by hand, a slow server) is skipped until it ends.

use std::time::Duration;

use crate::control::ControlPlane;
use crate::store::feeds::FeedRecord;

/// The longest the loop sleeps without looking (feeds created by another replica, a clock
/// that jumped).
const LONGEST_NAP: Duration = Duration::from_secs(60);
/// The shortest, so that a feed whose run is still going does not spin the loop.
const SHORTEST_NAP: Duration = Duration::from_secs(1);

/// When `feed` is next due (Unix seconds).
pub fn due_at(feed: &FeedRecord) -> i64 {
    let interval = i64::from(feed.config.settings.refresh_minutes) * 60;
    let by_interval = feed.state.last_run_at.map_or(i64::MIN, |at| at + interval);
    by_interval.max(feed.state.retry_at.unwrap_or(i64::MIN))
}

impl ControlPlane {
    /// Runs until the server stops.
    pub async fn feed_refresh_loop(self) {
        let mut closing = self.closing();
        loop {
            // One replica polls feeds; the others look again after a nap, and take over
            // when the one that polls is gone.
            let nap = if !self.leads(crate::store::Job::FeedRefresh).await {
                LONGEST_NAP
            } else {
                match self.start_due_feeds().await {
                    Ok(nap) => nap,
                    Err(error) => {
                        tracing::error!(%error, "Cannot read the feeds to refresh.");
                        LONGEST_NAP
                    }
                }
            };
            tokio::select! {
                () = tokio::time::sleep(nap) => {}
                () = self.feeds.woken() => {}
                _ = closing.wait_for(|c| *c) => return,
            }
        }
    }

    /// Starts the refresh of every due feed; how long until the next one is due.
    async fn start_due_feeds(&self) -> Result<Duration, crate::control::ControlError> {
        let feeds = self.blocking(|cp| Ok(cp.store.feeds()?)).await?;
        let now = self.now();
        let mut next = LONGEST_NAP;
        for feed in feeds {
            let due = due_at(&feed);
            if due > now {
                let wait = Duration::from_secs(u64::try_from(due - now).unwrap_or(0));
                next = next.min(wait);
                continue;
            }
            let lock = self.feeds.lock(&feed.config.name);
            let Ok(running) = lock.try_lock_owned() else {
                next = next.min(SHORTEST_NAP);
                continue;
            };
            let cp = self.clone();
            tokio::spawn(async move {
                let name = feed.config.name.clone();
                let outcome = cp
                    .run_sync(name.clone(), super::sync::refresh_actor())
                    .await;
                drop(running);
                if let Err(error) = outcome {
                    tracing::error!(feed = %name, %error, "Feed refresh could not be recorded.");
                }
                // Its next due time moved: look again.
                cp.feeds.wake();
            });
        }
        Ok(next.max(SHORTEST_NAP))
    }
}
