//! A feed's list served over HTTP on loopback by a thread of the test, for tests that need a
//! real feed server but no control over validators or statuses (the server's own API tests
//! use an axum server for those). Every request gets the current body, `Connection: close`.

use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};

/// A list server; it stops with the test process.
#[derive(Clone, Debug)]
pub struct ListServer {
    /// The list's URL.
    pub url: String,
    body: Arc<Mutex<String>>,
}

impl ListServer {
    /// Serves `body` at `http://127.0.0.1:<port>/<name>`.
    pub fn start(name: &str, body: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!(
            "http://{}/{name}",
            listener.local_addr().expect("the listener's address")
        );
        let body = Arc::new(Mutex::new(body.to_owned()));
        let served = body.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(read_half) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(read_half);
                let mut line = String::new();
                // The request's head ends with an empty line.
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let text = served.lock().map(|b| b.clone()).unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Self { url, body }
    }

    /// Serves `body` from now on.
    pub fn set(&self, body: &str) {
        if let Ok(mut b) = self.body.lock() {
            *b = body.to_owned();
        }
    }
}
