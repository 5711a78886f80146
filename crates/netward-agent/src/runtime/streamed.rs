//! Reads a large JSON answer (a policy snapshot: 75 MB for a million indicators) as it
//! arrives: the body is handed a chunk at a time to a parser on a blocking thread, so that it
//! never exists whole beside what is parsed from it, and parsing overlaps the download. The
//! parser sets the pace, so the download has no limit on its whole: it fails when nothing
//! arrives for a while (for a policy pull, the agent's request timeout).

use std::io::Read;
use std::time::Duration;

use bytes::{Buf, Bytes};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::AgentError;
use super::client::{check_announced, too_large, unreadable};
use super::upserts::read_against;
use crate::held::SharedIndicators;

/// Chunks in flight between the download and the parser.
const CHUNKS_IN_FLIGHT: usize = 16;

/// The body as a reader, over the chunks the download sends; its end is the channel's.
struct ChunkReader {
    chunks: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while !self.current.has_remaining() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.remaining());
        self.current.copy_to_slice(&mut out[..n]);
        Ok(n)
    }
}

/// Parses the body arriving on `receiver` as `T`.
fn parse_from<T: DeserializeOwned>(receiver: mpsc::Receiver<Bytes>) -> Result<T, AgentError> {
    let reader = ChunkReader {
        chunks: receiver,
        current: Bytes::new(),
    };
    let de = &mut serde_json::Deserializer::from_reader(reader);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(unreadable)?;
    de.end()
        .map_err(|e| AgentError::Unusable(format!("unreadable answer: {e}")))?;
    Ok(value)
}

/// Parses `resp`'s body as `T` as it arrives, refusing it once it passes `limit` bytes (by its
/// announced length or as it arrives) or when nothing more arrives for `idle`, its
/// [`super::upserts::Upserts`] read `against` the
/// held indicators if given. An unreadable body is refused whole, the error naming the field,
/// as [`super::client`]'s answers are.
pub async fn parse_streamed<T: DeserializeOwned + Send + 'static>(
    mut resp: reqwest::Response,
    what: &str,
    (limit, idle): (usize, Duration),
    against: Option<SharedIndicators>,
) -> Result<T, AgentError> {
    check_announced(&resp, what, limit)?;
    let (chunks, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let parser = tokio::task::spawn_blocking(move || {
        let parse = move || parse_from::<T>(receiver);
        match against {
            Some(held) => read_against(held, parse),
            None => parse(),
        }
    });
    let mut read = 0usize;
    let downloaded = loop {
        let Ok(next) = tokio::time::timeout(idle, resp.chunk()).await else {
            break Err(AgentError::Http(format!(
                "{what}: nothing more arrived for {} ms",
                idle.as_millis()
            )));
        };
        match next {
            Ok(Some(chunk)) => {
                read += chunk.len();
                if read > limit {
                    break Err(too_large(what, limit));
                }
                // The parser stopped early: its error says why.
                if chunks.send(chunk).await.is_err() {
                    break Ok(());
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(AgentError::Http(super::client::error_chain(&e))),
        }
    };
    // The parser sees the end of the body here (a body cut short fails to parse), and stops.
    drop(chunks);
    let parsed = parser
        .await
        .map_err(|e| AgentError::Unusable(format!("the parser of {what} stopped: {e}")))?;
    downloaded?;
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::upserts::Upserts;
    use netward_model::agent_wire::{AgentIndicator, PolicyIndicator, PolicyUpdate};
    use netward_model::{Action, Coverage, IndicatorValue, ProtectionMode};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// How the test server ends its answer.
    #[derive(Clone, Copy, PartialEq)]
    enum End {
        /// As HTTP ends a body.
        Done,
        /// With spaces until the client hangs up.
        Endless,
        /// It does not: the connection stays open, silent.
        Stalled,
    }

    /// A server that answers one request with `body` in chunks of 1,000 bytes, ended `end`.
    async fn serve(body: Vec<u8>, end: End) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if conn.read(&mut byte).await.unwrap_or(0) == 0 {
                    return;
                }
                head.push(byte[0]);
            }
            let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            let frame = |piece: &[u8]| {
                [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat()
            };
            let spaces = frame(&[b' '; 1000]);
            let mut out = reply.as_bytes().to_vec();
            for piece in body.chunks(1000) {
                out.extend(frame(piece));
            }
            if conn.write_all(&out).await.is_err() {
                return;
            }
            while end == End::Endless && conn.write_all(&spaces).await.is_ok() {}
            if end == End::Stalled {
                let _ = conn.read(&mut byte).await;
            }
            let _ = conn.write_all(b"0\r\n\r\n").await;
        });
        url
    }

    async fn pull(
        body: Vec<u8>,
        end: End,
        limit: usize,
    ) -> Result<PolicyUpdate<Upserts>, AgentError> {
        let url = serve(body, end).await;
        let tls = crate::runtime::tls::client_config(None).unwrap();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .unwrap();
        let resp = http.get(url).send().await.unwrap();
        parse_streamed(resp, "the test", (limit, Duration::from_millis(300)), None).await
    }

    fn snapshot(n: i64) -> PolicyUpdate {
        PolicyUpdate {
            version: 3,
            full: true,
            group: "default".into(),
            mode: ProtectionMode::Block,
            coverage: Coverage::All,
            upserts: (0..n)
                .map(|id| AgentIndicator {
                    id,
                    value: IndicatorValue::parse(&format!("10.{}.{}.1", id / 256 % 256, id % 256))
                        .unwrap(),
                    action: Action::Block,
                    expires_at: (id % 3 == 0).then_some(1_900_000_000),
                    title: format!("indicator \"{id}\" of many"),
                })
                .collect(),
            removals: vec![7, 8],
            server_time: 1,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_in_many_chunks_reads_as_it_would_whole() {
        let sent = snapshot(5_000);
        let body = serde_json::to_vec(&sent).unwrap();
        let read = pull(body.clone(), End::Done, 1 << 20).await.unwrap();
        let compact = PolicyUpdate::<Vec<PolicyIndicator>>::from(sent);
        assert_eq!(read.upserts, Upserts::from(compact.upserts.clone()));
        assert_eq!(
            (read.version, read.removals.clone()),
            (compact.version, compact.removals)
        );
        let whole: PolicyUpdate<Upserts> = serde_json::from_slice(&body).unwrap();
        assert_eq!(read, whole);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_past_the_limit_is_refused_with_the_limit_named() {
        let err = pull(b"{\"version\": 1".to_vec(), End::Endless, 64 << 10)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::Unusable(m) if m.contains("larger than 65536 bytes")),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_cut_short_or_with_a_wrong_value_is_refused_naming_where() {
        let mut body = serde_json::to_vec(&snapshot(100)).unwrap();
        body.truncate(body.len() / 2);
        let err = pull(body, End::Done, 1 << 20).await.unwrap_err();
        assert!(
            matches!(&err, AgentError::Unusable(m) if m.contains("unreadable answer")),
            "{err}"
        );
        let body = serde_json::to_vec(&snapshot(3)).unwrap();
        let body = String::from_utf8(body)
            .unwrap()
            .replace("10.0.2.1", "10.0.2.1/8");
        let err = pull(body.into_bytes(), End::Done, 1 << 20)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::Unusable(m) if m.contains("upserts[2].value") && m.contains("10.0.2.1/8")),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_that_stops_coming_is_given_up_and_says_so() {
        let body = serde_json::to_vec(&snapshot(100)).unwrap();
        let err = pull(body[..body.len() / 2].to_vec(), End::Stalled, 1 << 20)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::Http(m) if m.contains("nothing more arrived for 300 ms")),
            "{err}"
        );
    }
}
