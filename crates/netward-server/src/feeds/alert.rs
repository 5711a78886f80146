//! The alert a refused run raises: a feed that suddenly names far fewer entries (or far more
//! than its cap) is truncated or changed at the source, and someone should look before it
//! unblocks anything. It is an alert on no device, titled with the feed's name, in the alert
//! list, the alert stream and the SIEM outputs like any other.

use netward_model::Severity;

use crate::control::ControlPlane;
use crate::store::AlertQuery;
use crate::store::feeds::FeedRecord;

impl ControlPlane {
    /// Raises (or, while one is open, adds a hit to) the alert of a refused run. Call from a
    /// blocking task; a failure is logged, not returned: the run's record already says why.
    pub(crate) fn feed_refused_alert(&self, feed: &FeedRecord, why: &str) {
        let name = &feed.config.name;
        let title = format!("Feed {name} refused a run: {why}");
        let raised = self
            .store
            .raise_feed_alert(
                name,
                &title,
                Severity::High,
                self.now().saturating_mul(1000),
            )
            .and_then(|id| {
                self.store.alerts(&AlertQuery {
                    id: Some(id),
                    top: 1,
                    ..AlertQuery::default()
                })
            });
        match raised {
            Ok(alerts) => {
                self.announce(&crate::store::Notice::Alerts(
                    alerts.iter().map(|a| a.id).collect(),
                ));
                for alert in alerts {
                    let entity = crate::detection::entities::alert_entity(alert, None);
                    self.exporter.alert(&entity);
                    let _ = self.live_alerts.send(entity);
                }
            }
            Err(error) => {
                tracing::error!(feed = %name, %error, "Cannot raise the alert of a refused feed run.");
            }
        }
    }
}
