//! The event spool on a real full filesystem, as root: a small tmpfs mounted for the test as
//! the state directory, filled up. Every hit counted while the disk is full is either delivered
//! once there is room again or reported as dropped; none vanish.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use netward_agent::events::aggregate::Aggregator;
use netward_agent::events::delivery::{
    Delivery, EventSink, MAX_UNSPOOLED, Reporter, Round, SendError,
};
use netward_agent::events::nflog::Hit;
use netward_agent::events::spool::Spool;
use netward_agent::log_prefix::{Direction, Verdict};
use netward_model::Action;
use netward_model::detection::{EventAck, EventBatch, Outcome, Reason};

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop (on failure too).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Writes a file in `dir` until the filesystem is full; returns it.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    loop {
        match file.write_all(&block).and_then(|()| file.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOSPC) => return path,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
}

fn hit(port: u16) -> Hit {
    Hit {
        verdict: Verdict {
            direction: Direction::Outbound,
            set_action: Action::Block,
            outcome: Outcome::Blocked,
            reason: Reason::IndicatorBlock,
        },
        protocol: 6,
        local: "10.0.0.1".parse().unwrap(),
        local_port: Some(40_000),
        remote: "192.0.2.7".parse().unwrap(),
        remote_port: Some(port),
        echo_id: None,
        uid: None,
    }
}

/// A server that stores every batch and remembers the counters it was told.
#[derive(Default)]
struct Server {
    delivered_hits: Mutex<u64>,
    dropped: Mutex<u64>,
    lost: Mutex<u64>,
}

impl EventSink for Server {
    async fn send(&self, batch: &EventBatch) -> Result<EventAck, SendError> {
        *self.delivered_hits.lock().unwrap() += batch.events.iter().map(|e| e.count).sum::<u64>();
        let mut dropped = self.dropped.lock().unwrap();
        *dropped = (*dropped).max(batch.dropped);
        let mut lost = self.lost.lock().unwrap();
        *lost = (*lost).max(batch.lost);
        Ok(EventAck {
            acked_seq: batch.events.last().map_or(0, |e| e.seq),
        })
    }
}

#[tokio::test]
async fn hits_counted_while_the_state_disk_is_full_are_delivered_or_counted_never_lost() {
    let fs = Tmpfs::mount("4m");
    let spool = Spool::open(fs.path(), 100_000).unwrap();
    let aggregator = Arc::new(Mutex::new(Aggregator::default()));
    let lost = Arc::new(AtomicU64::new(0));
    let reporter = Reporter::new(
        aggregator.clone(),
        lost.clone(),
        Arc::new(Mutex::new(spool)),
    );
    let server = Server::default();
    let mut delivery = Delivery::new(reporter.clone());

    // The spool works, then the disk fills up.
    aggregator.lock().unwrap().add(&hit(1), Vec::new(), None, 1);
    reporter.spool_pending().unwrap();
    assert_eq!(delivery.send_spooled(&server).await, Round::Done);
    let filler = fill(fs.path());

    // Hits keep coming: more distinct events than are kept in memory.
    let mut hits = 1u64;
    let mut failures = 0;
    let per_round = 400u16;
    for round in 0..4u16 {
        {
            let mut agg = aggregator.lock().unwrap();
            for i in 0..per_round {
                agg.add(&hit(1000 + round * per_round + i), Vec::new(), None, 2);
                hits += 1;
            }
        }
        lost.fetch_add(3, std::sync::atomic::Ordering::Relaxed);
        if reporter.spool_pending().is_err() {
            failures += 1;
        }
        assert_eq!(delivery.send_spooled(&server).await, Round::Done);
    }
    assert!(
        failures > 0,
        "the spool never failed: the test did not fill the disk"
    );
    let dropped_while_full = *server.dropped.lock().unwrap();
    assert!(
        dropped_while_full >= hits - 1 - MAX_UNSPOOLED as u64,
        "while the disk is full the server hears of the hits that did not fit in memory: \
         {dropped_while_full} of {hits}"
    );
    assert_eq!(
        *server.lost.lock().unwrap(),
        12,
        "the loss count reaches the server"
    );

    // Room again: what was kept reaches the spool and the server; every hit is accounted for.
    std::fs::remove_file(filler).unwrap();
    reporter.spool_pending().unwrap();
    assert_eq!(delivery.send_spooled(&server).await, Round::Done);
    let delivered = *server.delivered_hits.lock().unwrap();
    let dropped = *server.dropped.lock().unwrap();
    assert_eq!(
        delivered + dropped,
        hits,
        "delivered {delivered} + dropped {dropped}"
    );
    assert!(delivered > 1, "the hits kept in memory were delivered");
    let spool = reporter.spool.lock().unwrap();
    assert_eq!(
        (spool.dropped().unwrap(), spool.lost().unwrap()),
        (dropped, 12),
        "and the counts are on disk"
    );
}
