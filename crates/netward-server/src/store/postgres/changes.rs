//! Notices between replicas over `LISTEN`/`NOTIFY`, and leadership of background jobs as
//! session advisory locks (see [`crate::store::changes`]).
//!
//! A notice's payload is `<replica>:<value>`, so a replica skips its own. The listener has a
//! connection of its own, outside the pool; it checks that connection when nothing has come
//! for a while, so a silently dropped link is noticed.

use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};

use super::{Conn, PgStore, pg};
use crate::store::StoreError;
use crate::store::changes::{ChangeFeed, Job, Leadership, Listener, Notice};

/// The channels, one per kind of notice.
const POLICY: &str = super::history::POLICY_CHANNEL;
const EVENTS: &str = "netward_events";
const ALERTS: &str = "netward_alerts";
const MACHINES: &str = "netward_machines";
const FEEDS: &str = "netward_feeds";
/// The most alert ids one notice carries (a payload stays far under PostgreSQL's 8000 bytes).
const MAX_ALERT_IDS: usize = 400;
/// How long the listener waits in silence before it checks its connection.
const CHECK_AFTER: Duration = Duration::from_secs(10);

/// The advisory lock of a job.
fn job_lock(job: Job) -> i64 {
    match job {
        Job::Retention => 0x6e65_7477_6172_6410,
        Job::FeedRefresh => 0x6e65_7477_6172_6411,
    }
}

struct PgListener {
    client: Client,
    replica: String,
    quiet_since: Instant,
}

impl Listener for PgListener {
    fn next(&mut self, wait: Duration) -> Result<Option<Notice>, StoreError> {
        let got = self
            .client
            .notifications()
            .timeout_iter(wait)
            .next()
            .map_err(pg("listen for other replicas"))?;
        let Some(n) = got else {
            if self.quiet_since.elapsed() >= CHECK_AFTER {
                self.client
                    .is_valid(CHECK_AFTER)
                    .map_err(pg("check the listening connection"))?;
                self.quiet_since = Instant::now();
            }
            return Ok(None);
        };
        self.quiet_since = Instant::now();
        let Some((from, value)) = n.payload().split_once(':') else {
            return Ok(None);
        };
        if from == self.replica {
            return Ok(None);
        }
        Ok(parse(n.channel(), value))
    }
}

/// A notice from its channel and value; `None` for one this netward does not know.
fn parse(channel: &str, value: &str) -> Option<Notice> {
    match channel {
        POLICY => value.parse().ok().map(Notice::Policy),
        EVENTS => value.parse().ok().map(Notice::Events),
        ALERTS => Some(Notice::Alerts(
            value.split(',').filter_map(|v| v.parse().ok()).collect(),
        )),
        MACHINES => Some(Notice::Machines),
        FEEDS => Some(Notice::Feeds),
        _ => None,
    }
}

/// The channel and value of a notice.
fn render(notice: &Notice) -> (&'static str, String) {
    match notice {
        Notice::Policy(v) => (POLICY, v.to_string()),
        Notice::Events(id) => (EVENTS, id.to_string()),
        Notice::Alerts(ids) => (
            ALERTS,
            ids.iter()
                .take(MAX_ALERT_IDS)
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Notice::Machines => (MACHINES, String::new()),
        Notice::Feeds => (FEEDS, String::new()),
    }
}

struct Lead {
    conn: Option<Conn>,
    key: i64,
}

impl std::fmt::Debug for Lead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lead")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Leadership for Lead {
    fn still_held(&mut self) -> bool {
        self.conn
            .as_mut()
            .is_some_and(|c| c.is_valid(CHECK_AFTER).is_ok())
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.execute("SELECT pg_advisory_unlock($1)", &[&self.key]);
        }
    }
}

impl PgStore {
    /// The payload of `notice` from this replica.
    pub(crate) fn payload(&self, value: &str) -> String {
        format!("{}:{value}", self.replica)
    }
}

impl ChangeFeed for PgStore {
    fn announce(&self, notice: &Notice) -> Result<(), StoreError> {
        let (channel, value) = render(notice);
        self.conn()?
            .execute(
                "SELECT pg_notify($1, $2)",
                &[&channel, &self.payload(&value)],
            )
            .map(|_| ())
            .map_err(pg("notify other replicas"))
    }

    fn listen(&self) -> Result<Option<Box<dyn Listener>>, StoreError> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(pg("connect to listen for other replicas"))?;
        client
            .batch_execute(&format!(
                "LISTEN {POLICY}; LISTEN {EVENTS}; LISTEN {ALERTS}; LISTEN {MACHINES}; LISTEN {FEEDS};"
            ))
            .map_err(pg("listen for other replicas"))?;
        Ok(Some(Box::new(PgListener {
            client,
            replica: self.replica.clone(),
            quiet_since: Instant::now(),
        })))
    }

    fn try_lead(&self, job: Job) -> Result<Option<Box<dyn Leadership>>, StoreError> {
        let key = job_lock(job);
        let mut conn = self.conn()?;
        let won: bool = conn
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .map_err(pg("try to lead a background job"))?
            .get(0);
        Ok(won.then(|| {
            Box::new(Lead {
                conn: Some(conn),
                key,
            }) as Box<dyn Leadership>
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_back_as_they_were_sent() {
        for notice in [
            Notice::Policy(42),
            Notice::Events(7),
            Notice::Alerts(vec![1, 2, 3]),
            Notice::Machines,
            Notice::Feeds,
        ] {
            let (channel, value) = render(&notice);
            assert_eq!(parse(channel, &value), Some(notice));
        }
        let (_, many) = render(&Notice::Alerts((0..10_000).collect()));
        assert!(many.len() < 8000, "{}", many.len());
    }

    #[test]
    fn one_replica_leads_a_job_and_another_takes_over_when_it_goes() {
        let cluster = netward_testkit::postgres::PgCluster::start();
        let url = cluster.create_database("lead");
        let (a, b) = (PgStore::open(&url).unwrap(), PgStore::open(&url).unwrap());
        let mut lead = a
            .try_lead(Job::Retention)
            .unwrap()
            .expect("nobody leads yet");
        assert!(lead.still_held());
        assert!(b.try_lead(Job::Retention).unwrap().is_none(), "A leads");
        assert!(
            b.try_lead(Job::FeedRefresh).unwrap().is_some(),
            "jobs are elected apart"
        );
        drop(lead);
        assert!(
            b.try_lead(Job::Retention).unwrap().is_some(),
            "B takes over"
        );
    }

    #[test]
    fn a_replica_hears_the_others_and_not_itself() {
        let cluster = netward_testkit::postgres::PgCluster::start();
        let url = cluster.create_database("listen");
        let (a, b) = (PgStore::open(&url).unwrap(), PgStore::open(&url).unwrap());
        let mut heard_by_a = a.listen().unwrap().unwrap();
        let mut heard_by_b = b.listen().unwrap().unwrap();
        a.announce(&Notice::Events(41)).unwrap();
        a.announce(&Notice::Alerts(vec![3, 4])).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while got.len() < 2 && Instant::now() < deadline {
            got.extend(heard_by_b.next(Duration::from_millis(200)).unwrap());
        }
        assert_eq!(got, [Notice::Events(41), Notice::Alerts(vec![3, 4])]);
        assert_eq!(heard_by_a.next(Duration::from_millis(300)).unwrap(), None);
    }
}
