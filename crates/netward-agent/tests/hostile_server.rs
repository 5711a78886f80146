//! The whole agent runtime (`run_on`) on fakes, without root, against a hostile server on
//! loopback that accepts the push stream and then breaks it at once with a message past the
//! agent's limits: the agent backs off instead of reconnecting four times a second; and, with
//! a server that is away listed first, moves on to it by itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use netward_agent::clock::SystemClock;
use netward_agent::enforcer::EnforcerError;
use netward_agent::enforcer::fake::RecordingEnforcer;
use netward_agent::events::SensorError;
use netward_agent::events::fake::{FakeAttributor, FakeHitSource};
use netward_agent::runtime::state::{self, IDENTITY, Identity};
use netward_agent::runtime::{AgentConfig, Boundary, run_on};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Fakes for everything the runtime needs from the machine.
struct Fakes;

impl Boundary for Fakes {
    type Enforcer = RecordingEnforcer;
    type Hits = FakeHitSource;
    type Attributor = FakeAttributor;
    type Clock = SystemClock;

    fn enforcer(&mut self) -> Result<RecordingEnforcer, EnforcerError> {
        Ok(RecordingEnforcer::default())
    }

    fn hits(&mut self) -> Result<FakeHitSource, SensorError> {
        // The sender is dropped: the sensor reads nothing (and retries, which is fine here).
        Ok(FakeHitSource::new().0)
    }

    fn attributor(&mut self) -> Option<FakeAttributor> {
        None
    }

    fn clock(&self) -> SystemClock {
        SystemClock
    }
}

/// A server that answers every push stream with one message of endless `data:` lines; returns
/// its URL and the count of streams opened.
async fn stream_breaker() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let streams = Arc::new(AtomicUsize::new(0));
    let counted = streams.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if conn.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                if head.starts_with(b"GET /api/agent/stream") {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                let reply = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                             transfer-encoding: chunked\r\n\r\n";
                if conn.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
                let piece = b"data: x\n".repeat(512);
                let framed =
                    [format!("{:x}\r\n", piece.len()).as_bytes(), &piece, b"\r\n"].concat();
                while conn.write_all(&framed).await.is_ok() {}
            });
        }
    });
    (url, streams)
}

/// A state directory holding an identity enrolled with `server`, and the configuration of an
/// agent on it started with `--server` for each of `servers`.
fn enrolled_with(server: &str, servers: Vec<String>) -> (tempfile::TempDir, AgentConfig) {
    let dir = tempfile::tempdir().unwrap();
    state::prepare(dir.path()).unwrap();
    state::write(
        dir.path(),
        IDENTITY,
        &Identity {
            server: server.to_owned(),
            servers: Vec::new(),
            ca_fingerprint: None,
            device_id: "1".into(),
            secret: "nwd_test".into(),
        },
    )
    .unwrap();
    let config = AgentConfig {
        state_dir: dir.path().to_owned(),
        enroll: None,
        servers,
        netns: None,
        table: "netward".into(),
        cgroup: None,
        spool_capacity: 1000,
        metrics_listen: None,
    };
    (dir, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_breaks_the_stream_at_once_is_retried_with_a_growing_backoff() {
    let (url, streams) = stream_breaker().await;
    let (_dir, config) = enrolled_with(&url, Vec::new());
    // 3.2 s: with waits of 0.25, 0.5, 1 and 2 s, each shortened by up to half (jitter), the
    // agent opens at most 5 streams; reset to 0.25 s on every connect, as before, it opened
    // one every 0.25 s or so (about 12).
    run_on(
        Fakes,
        config,
        tokio::time::sleep(Duration::from_millis(3200)),
    )
    .await
    .unwrap();
    let opened = streams.load(Ordering::SeqCst);
    assert!(opened >= 2, "the agent reconnected: {opened}");
    assert!(opened <= 5, "{opened} streams in 3.2 s: no backoff");
}

/// Servers given with `--server` replace those of the enrollment and are kept in the state
/// directory; when the first refuses connections, the agent moves to the next by itself, and
/// its status names the servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_moves_past_a_server_that_is_away_to_the_next() {
    let (breaker, streams) = stream_breaker().await;
    let away = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (dir, config) = enrolled_with("http://127.0.0.1:9", vec![away.clone(), breaker.clone()]);
    let reached = streams.clone();
    let until_reached = async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while reached.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    run_on(Fakes, config, until_reached).await.unwrap();
    assert!(
        streams.load(Ordering::SeqCst) >= 1,
        "the agent never reached the second server"
    );
    let kept: Identity = state::read(dir.path(), IDENTITY).unwrap().unwrap();
    assert_eq!(kept.server_list(), [away.clone(), breaker.clone()]);
    let status = netward_agent::runtime::read_status(dir.path())
        .unwrap()
        .unwrap();
    assert_eq!(status.servers, [away, breaker]);
}
