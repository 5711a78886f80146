//! Clients that connect and then send nothing, trickle, or hold every slot: the server closes
//! them when their time runs out and never holds more connections than its cap.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;

use std::time::Duration;

use common::TestServer;
use netward_server::connections::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Limits small enough for a test: the cap and the timeouts under test.
fn limits(max_connections: usize, header_read_timeout: Duration) -> ConnectionLimits {
    ConnectionLimits {
        max_connections,
        header_read_timeout,
        ..ConnectionLimits::default()
    }
}

/// Reads until the server closes the connection, and returns what it sent. Fails if the
/// server keeps it open for `patience`.
async fn read_until_closed(conn: &mut TcpStream, patience: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(patience, conn.read_to_end(&mut got))
        .await
        .expect("the server kept the connection open")
        .ok();
    got
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.server.as_ref().unwrap().addr)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_connection_that_sends_nothing_or_trickles_its_header_is_closed() {
    let s = TestServer::start_with(|c| c.connections = limits(64, Duration::from_secs(1))).await;

    let mut silent = connect(&s).await;
    read_until_closed(&mut silent, Duration::from_secs(20)).await;

    // Header lines keep coming, each well inside the timeout: the header as a whole is late.
    let mut trickle = connect(&s).await;
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut closed = false;
    for i in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if trickle
            .write_all(format!("x-{i}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
    }
    if !closed {
        let answer = read_until_closed(&mut trickle, Duration::from_secs(5)).await;
        assert!(
            !answer.starts_with(b"HTTP/1.1 200"),
            "a header trickled over 20 s was served"
        );
    }

    // An idle keep-alive connection goes the same way once its request is answered.
    let mut idle = connect(&s).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(20)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test]
async fn the_server_holds_no_more_connections_than_its_cap() {
    // Long timeouts: only the cap is under test.
    let s = TestServer::start_with(|c| c.connections = limits(2, Duration::from_secs(60))).await;
    let held = [connect(&s).await, connect(&s).await];
    let health = format!("{}/healthz", s.base);

    // Both slots are held: a third client is not served while they are.
    let waiting = tokio::spawn({
        let http = s.http.clone();
        let health = health.clone();
        async move { http.get(health).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "served beyond the cap");

    // One slot frees: the waiting client is served.
    drop(held);
    let status = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the freed slot was not reused")
        .unwrap()
        .unwrap();
    assert_eq!(status, reqwest::StatusCode::OK);
}

/// A body that stops arriving ends its request: the client gets an answer, and the
/// connection does not stay held.
#[tokio::test]
async fn a_request_body_that_stalls_is_ended() {
    let s = TestServer::start_with(|c| {
        c.connections = ConnectionLimits {
            body_read_timeout: Duration::from_secs(1),
            ..ConnectionLimits::default()
        }
    })
    .await;
    let mut conn = connect(&s).await;
    let head = format!(
        "POST /api/indicators HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"indicatorValue\"",
        s.admin
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut conn, Duration::from_secs(20)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}
