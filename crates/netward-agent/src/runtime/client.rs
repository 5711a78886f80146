//! The agent's HTTP client: enroll, read the push stream, pull updates, acknowledge.

use std::time::Duration;

use futures_util::StreamExt;
use netward_model::agent_wire::{
    AckRequest, DeviceFacts, EnrollRequest, EnrollResponse, PolicyUpdate,
};
use netward_model::enroll_token::EnrollToken;
use netward_model::sse::{SseDecoder, SseItem, SseLimits};
use netward_model::wire::ErrorBody;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::AgentError;
use super::server_address::ServerUrl;
use super::servers::Servers;
use super::upserts::Upserts;
use crate::held::SharedIndicators;

/// Splits an enrollment token `nwe_<secret>@<URL>[,<URL>…][#sha256:<hex>]` into the server
/// URLs (one per replica, in the order they are tried) and the pinned CA fingerprint; each URL
/// must be one the agent may use ([`check_server_url`]). A token of one URL, the form issued
/// before replicas, reads as a list of one.
pub fn parse_enroll_token(token: &str) -> Result<(Vec<String>, Option<String>), AgentError> {
    let target = EnrollToken::parse(token)
        .map_err(|e| AgentError::Config(e.to_string()))?
        .target;
    let pinned = target.ca_fingerprint.is_some();
    let servers = target
        .servers
        .iter()
        .map(|url| check_server_url(url, pinned))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((servers, target.ca_fingerprint))
}

/// A server URL the agent may use: `https://` with a pinned CA, or plain `http://` on
/// loopback only, since it carries the device credential in clear. Returned without a
/// trailing `/`.
pub fn check_server_url(url: &str, pinned: bool) -> Result<String, AgentError> {
    let server = ServerUrl::parse(url)?;
    server.check_transport(pinned)?;
    Ok(server.as_str().to_owned())
}

/// An error with its causes, so that a TLS refusal says why.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// The longest wait for one request (the push stream has its own keep-alive timeout); for a
/// policy pull, for its answer to start, then between two pieces of it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest policy answer the agent reads: 512 MiB. A snapshot of 1,000,000 indicators
/// takes 87 MB for the benchmarks' policy, 108 MB with 20-character titles and expiries, and
/// 228 MB with 100-character titles, IPv6 ranges and the largest ids
/// (`a_million_indicators_fit_in_a_policy_answer` measures them), so even the last has more
/// than twice its size in room. A larger answer is refused whole, like an unreadable one: the agent keeps
/// what it enforces and reports it on its device record.
pub const MAX_POLICY_BYTES: usize = 512 << 20;
/// The largest answer the agent reads to anything else (enrollment, acknowledgements, event
/// batches, error bodies): 64 KiB. They are a few hundred bytes.
pub const MAX_SMALL_ANSWER_BYTES: usize = 64 << 10;
/// What the agent holds of one push-stream message: it only ever carries a version number.
pub const STREAM_LIMITS: SseLimits = SseLimits {
    line_bytes: 16 << 10,
    message_bytes: 16 << 10,
    data_lines: 16,
};

/// The refusal of an answer to `what` past `limit` bytes.
pub(super) fn too_large(what: &str, limit: usize) -> AgentError {
    AgentError::Unusable(format!(
        "the answer to {what} is larger than {limit} bytes, the most this agent reads"
    ))
}

/// Refuses `resp` at once if the length it announces passes `limit`.
pub(super) fn check_announced(
    resp: &reqwest::Response,
    what: &str,
    limit: usize,
) -> Result<(), AgentError> {
    match resp.content_length() {
        Some(n) if n > u64::try_from(limit).unwrap_or(u64::MAX) => Err(too_large(what, limit)),
        _ => Ok(()),
    }
}

/// The refusal of an answer that is not the JSON expected, naming where it went wrong.
pub(super) fn unreadable(e: serde_path_to_error::Error<serde_json::Error>) -> AgentError {
    AgentError::Unusable(format!(
        "unreadable answer at `{}`: {}",
        e.path(),
        e.inner()
    ))
}

/// Reads the body of `resp`, refusing it once it passes `limit` bytes (by its announced length
/// or as it arrives), so that a hostile or broken server cannot make the agent hold without
/// bound. The error says what was read and the limit.
async fn read_capped(
    mut resp: reqwest::Response,
    what: &str,
    limit: usize,
) -> Result<Vec<u8>, AgentError> {
    check_announced(&resp, what, limit)?;
    // Sized once from the announced length, rather than doubled as it arrives.
    let announced = resp.content_length().and_then(|n| usize::try_from(n).ok());
    let mut body = Vec::with_capacity(announced.unwrap_or(0));
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| AgentError::Http(error_chain(&e)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large(what, limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// One event from the push stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// The newest policy version.
    Policy(u64),
    /// A keep-alive comment.
    KeepAlive,
}

/// A client of the servers of one agent: it talks to the one in use ([`Servers::current`]).
#[derive(Clone, Debug)]
pub struct AgentClient {
    http: reqwest::Client,
    servers: Servers,
}

/// Whether an error answer refuses what was sent, rather than saying the server, a proxy or
/// this agent's version cannot take it now: a body too large (413), or a value the server
/// names as wrong (`events[N].remoteIp`, `events[N].outcome`). Only such a refusal makes the
/// agent split a batch and, at one event, give the event up; anything else keeps the events
/// spooled and retries later.
pub fn is_refusal_of_content(status: u16, target: Option<&str>) -> bool {
    status == 413
        || (status == 400
            && target.is_some_and(|t| {
                t.starts_with("events[") && (t.ends_with("].remoteIp") || t.ends_with("].outcome"))
            }))
}

impl AgentClient {
    /// A client of `server`, trusting only the CA with `pin` (for https).
    pub fn new(server: &str, pin: Option<&str>) -> Result<Self, AgentError> {
        Self::with_servers(&[server.to_owned()], pin)
    }

    /// A client of the replicas at `servers`, which share the CA with `pin`; it starts with
    /// the first.
    pub fn with_servers(servers: &[String], pin: Option<&str>) -> Result<Self, AgentError> {
        let servers = Servers::new(servers, pin.is_some())?;
        let tls = super::tls::client_config(pin).map_err(|e| AgentError::Config(e.to_string()))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("netward-agent/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| AgentError::Http(e.to_string()))?;
        Ok(Self { http, servers })
    }

    /// The servers, and the one in use.
    pub fn servers(&self) -> &Servers {
        &self.servers
    }

    /// The base URL of the server in use.
    fn server(&self) -> &str {
        self.servers.current()
    }

    /// Sends `req`: the answer if it is a success; an error answer (read up to
    /// [`MAX_SMALL_ANSWER_BYTES`]) turned into the error it says.
    async fn answer(
        &self,
        req: RequestBuilder,
        what: &str,
    ) -> Result<reqwest::Response, AgentError> {
        let resp = req
            .send()
            .await
            .map_err(|e| AgentError::Http(error_chain(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let bytes = read_capped(resp, what, MAX_SMALL_ANSWER_BYTES).await?;
        let body = serde_json::from_slice::<ErrorBody>(&bytes).ok();
        if status == StatusCode::UNAUTHORIZED {
            let msg = body.map_or_else(|| "unauthorized".into(), |b| b.error.message);
            return Err(AgentError::Refused(msg));
        }
        let target = body.as_ref().and_then(|b| b.error.target.clone());
        let msg = body
            .map(|b| b.error.message)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        if is_refusal_of_content(status.as_u16(), target.as_deref()) {
            return Err(AgentError::Rejected {
                status: status.as_u16(),
                message: msg,
            });
        }
        Err(AgentError::Http(format!("HTTP {status}: {msg}")))
    }

    /// Sends `req` and reads its JSON answer, of at most `limit` bytes.
    async fn send<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        what: &str,
        limit: usize,
    ) -> Result<T, AgentError> {
        let bytes = read_capped(self.answer(req, what).await?, what, limit).await?;
        if bytes.is_empty() {
            return serde_json::from_slice(b"null").map_err(|e| AgentError::Http(e.to_string()));
        }
        // The error names the field: an update the agent cannot read is refused whole (it keeps
        // enforcing what it holds), and its log says which value, e.g. `mode: unknown variant`.
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map_err(unreadable)
    }

    /// Enrolls with `token` (`nwe_…@URL`).
    pub async fn enroll(
        &self,
        token: &str,
        facts: DeviceFacts,
    ) -> Result<EnrollResponse, AgentError> {
        let body = EnrollRequest {
            token: token.to_owned(),
            facts,
        };
        self.send(
            self.http
                .post(format!("{}/api/agent/enroll", self.server()))
                .timeout(REQUEST_TIMEOUT)
                .json(&body),
            "the enrollment",
            MAX_SMALL_ANSWER_BYTES,
        )
        .await
    }

    /// The update from `since` to the current policy, read straight into the compact form the
    /// agent holds (titles are skipped as they are read), and against `held`
    /// ([`Upserts`]).
    pub async fn policy(
        &self,
        secret: &str,
        since: Option<u64>,
        held: SharedIndicators,
    ) -> Result<PolicyUpdate<Upserts>, AgentError> {
        // No limit on the whole: a snapshot is parsed as it arrives, which can take longer than
        // any one request should on a slow machine. The answer must start, and then keep
        // coming, within REQUEST_TIMEOUT each (`parse_streamed`).
        let mut req = self
            .http
            .get(format!("{}/api/agent/policy", self.server()))
            .bearer_auth(secret);
        if let Some(v) = since {
            req = req.query(&[("since", v.to_string())]);
        }
        let what = "the policy pull";
        let resp = tokio::time::timeout(REQUEST_TIMEOUT, self.answer(req, what))
            .await
            .map_err(|_| {
                AgentError::Http(format!(
                    "no answer to {what} within {} s",
                    REQUEST_TIMEOUT.as_secs()
                ))
            })??;
        let limits = (MAX_POLICY_BYTES, REQUEST_TIMEOUT);
        super::streamed::parse_streamed(resp, what, limits, Some(held)).await
    }

    /// Reports what the kernel enforces.
    pub async fn ack(&self, secret: &str, ack: &AckRequest) -> Result<(), AgentError> {
        let _: Option<()> = self
            .send(
                self.http
                    .post(format!("{}/api/agent/ack", self.server()))
                    .timeout(REQUEST_TIMEOUT)
                    .bearer_auth(secret)
                    .json(ack),
                "the acknowledgement",
                MAX_SMALL_ANSWER_BYTES,
            )
            .await?;
        Ok(())
    }

    /// Sends spooled events; the answer says up to which sequence number they are stored.
    pub async fn events(
        &self,
        secret: &str,
        batch: &netward_model::detection::EventBatch,
    ) -> Result<netward_model::detection::EventAck, AgentError> {
        self.send(
            self.http
                .post(format!("{}/api/agent/events", self.server()))
                .timeout(REQUEST_TIMEOUT)
                .bearer_auth(secret)
                .json(batch),
            "an event batch",
            MAX_SMALL_ANSWER_BYTES,
        )
        .await
    }

    /// Opens the push stream.
    pub async fn stream(
        &self,
        secret: &str,
    ) -> Result<impl futures_util::Stream<Item = Result<StreamEvent, AgentError>> + use<>, AgentError>
    {
        let resp = self
            .http
            .get(format!("{}/api/agent/stream", self.server()))
            .bearer_auth(secret)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| AgentError::Http(error_chain(&e)))?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            let body = read_capped(resp, "the stream", MAX_SMALL_ANSWER_BYTES)
                .await
                .unwrap_or_default();
            let msg = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error.message)
                .unwrap_or_else(|_| "unauthorized".into());
            return Err(AgentError::Refused(msg));
        }
        if !resp.status().is_success() {
            return Err(AgentError::Http(format!(
                "the stream answered HTTP {}",
                resp.status()
            )));
        }
        let mut decoder = SseDecoder::with_limits(STREAM_LIMITS);
        Ok(resp.bytes_stream().flat_map(move |chunk| {
            let events: Vec<Result<StreamEvent, AgentError>> = match chunk
                .map_err(|e| e.to_string())
                .and_then(|bytes| decoder.push(&bytes).map_err(|e| e.to_string()))
            {
                Ok(items) => items.into_iter().filter_map(stream_event).map(Ok).collect(),
                Err(e) => vec![Err(AgentError::Http(e))],
            };
            futures_util::stream::iter(events)
        }))
    }
}

/// What the agent takes from its stream: a `policy` event names the new version, a comment
/// is the server's keep-alive; anything else is not for this agent.
fn stream_event(item: SseItem) -> Option<StreamEvent> {
    match item {
        SseItem::Comment => Some(StreamEvent::KeepAlive),
        SseItem::Event(e) if e.event == "policy" => {
            e.data.trim().parse::<u64>().ok().map(StreamEvent::Policy)
        }
        SseItem::Event(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile server on loopback: answers each request by its path with more than the agent
    /// takes, announced or streamed without end, until the agent hangs up.
    async fn hostile_server() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if conn.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                    let (announced, chunk): (Option<u64>, &[u8]) =
                        if path.starts_with("/api/agent/policy") {
                            (Some(600 << 20), b"")
                        } else if path.starts_with("/api/agent/ack") {
                            (Some(1 << 20), b"")
                        } else if path.starts_with("/api/agent/stream") {
                            (None, b"data: x\n")
                        } else {
                            (None, b"          ")
                        };
                    let kind = if path.starts_with("/api/agent/stream") {
                        "text/event-stream"
                    } else {
                        "application/json"
                    };
                    let length = match announced {
                        Some(n) => format!("content-length: {n}"),
                        None => "transfer-encoding: chunked".to_owned(),
                    };
                    let reply =
                        format!("HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\n{length}\r\n\r\n");
                    if conn.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    let piece = chunk.repeat(2048);
                    let framed =
                        [format!("{:x}\r\n", piece.len()).as_bytes(), &piece, b"\r\n"].concat();
                    // Endless (the agent hangs up), or a length announced and never sent.
                    while announced.is_none() && conn.write_all(&framed).await.is_ok() {}
                    let _ = conn.read(&mut byte).await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn answers_past_their_cap_are_refused_with_the_limit_named() {
        let server = hostile_server().await;
        let client = AgentClient::new(&server, None).unwrap();
        let refused = |e: AgentError, limit: usize| match e {
            AgentError::Unusable(m) => {
                assert!(m.contains(&format!("larger than {limit} bytes")), "{m}")
            }
            other => panic!("{other}"),
        };
        // Announced too large: refused before any of it is read.
        refused(
            client
                .policy("s", None, Default::default())
                .await
                .unwrap_err(),
            MAX_POLICY_BYTES,
        );
        refused(
            client.ack("s", &AckRequest::default()).await.unwrap_err(),
            MAX_SMALL_ANSWER_BYTES,
        );
        // Streamed without end: refused once past the cap.
        let batch = netward_model::detection::EventBatch {
            events: Vec::new(),
            dropped: 0,
            lost: 0,
        };
        refused(
            client.events("s", &batch).await.unwrap_err(),
            MAX_SMALL_ANSWER_BYTES,
        );
        // One push-stream message without end: the stream fails instead of growing.
        let mut stream = Box::pin(client.stream("s").await.unwrap());
        match stream.next().await {
            Some(Err(AgentError::Http(m))) => assert!(m.contains("more than 16 data lines"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_million_indicators_fit_in_a_policy_answer() {
        let size = |value: &str, id: i64, title: usize| {
            let one = netward_model::agent_wire::AgentIndicator {
                id,
                value: netward_model::IndicatorValue::parse(value).unwrap(),
                action: netward_model::Action::Block,
                expires_at: Some(4_102_444_800),
                title: "t".repeat(title),
            };
            // With the comma between two indicators.
            serde_json::to_vec(&one).unwrap().len() + 1
        };
        let typical = size("11.22.33.44", 1_000_000, 20) * 1_000_000;
        let large = size("2001:db8:ffff:ffff:ffff:ffff:ffff:0/112", i64::MAX, 100) * 1_000_000;
        // The benchmarks' policy (70% IPv4 addresses, 20% /24s, 10% IPv6; title `bench`): a
        // hundredth of it, serialized as the server sends it.
        let sample: PolicyUpdate = PolicyUpdate {
            version: 1,
            full: true,
            group: "default".into(),
            mode: netward_model::ProtectionMode::Block,
            coverage: netward_model::Coverage::All,
            upserts: netward_testkit::bench::indicators(10_000)
                .into_values()
                .collect(),
            removals: Vec::new(),
            server_time: 0,
        };
        let bench = serde_json::to_vec(&sample).unwrap().len() * 100;
        eprintln!(
            "a snapshot of 1,000,000 indicators: {bench} bytes (benchmark policy), {typical} \
             (20-character titles, expiry), {large} (100-character titles, IPv6 ranges, \
             largest ids)"
        );
        assert!(large * 2 <= MAX_POLICY_BYTES, "{large} bytes");
    }

    #[test]
    fn only_a_refusal_of_the_content_gives_events_up() {
        assert!(is_refusal_of_content(413, None));
        assert!(is_refusal_of_content(400, Some("events[3].remoteIp")));
        assert!(
            !is_refusal_of_content(400, Some("events[0].newField")),
            "a newer agent"
        );
        assert!(!is_refusal_of_content(400, Some("body")));
        assert!(!is_refusal_of_content(404, None), "a proxy");
        assert!(!is_refusal_of_content(429, None));
    }

    #[test]
    fn policy_events_and_keep_alives_are_taken_and_the_rest_ignored() {
        let mut d = SseDecoder::new();
        let mut got: Vec<StreamEvent> = Vec::new();
        for chunk in [
            &b"event: policy\nid: 7\nda"[..],
            b"ta: 7\r\n\r\n:\n\nevent: alert\ndata: 9\n\nevent: policy\ndata: x\n\n",
            b"event: policy\ndata: 8\n\n",
        ] {
            got.extend(d.push(chunk).unwrap().into_iter().filter_map(stream_event));
        }
        assert_eq!(
            got,
            vec![
                StreamEvent::Policy(7),
                StreamEvent::KeepAlive,
                StreamEvent::Policy(8)
            ]
        );
    }

    #[test]
    fn plain_http_is_for_loopback_only_and_https_needs_a_pin() {
        assert!(check_server_url("http://127.0.0.1:8440/", false).is_ok());
        assert!(check_server_url("http://[::1]:8440", false).is_ok());
        assert_eq!(
            check_server_url("http://[::1]/", false).unwrap(),
            "http://[::1]"
        );
        assert!(check_server_url("http://localhost:8440", false).is_ok());
        assert!(check_server_url("http://192.0.2.1:8440", false).is_err());
        assert!(check_server_url("ftp://127.0.0.1", false).is_err());
        assert!(check_server_url("https://192.0.2.1:8440", false).is_err());
        assert!(check_server_url("https://192.0.2.1:8440", true).is_ok());
    }

    #[test]
    fn enrollment_tokens_carry_the_urls_and_the_pin() {
        let fp = "ab".repeat(32);
        let (urls, pin) =
            parse_enroll_token(&format!("nwe_x@https://192.0.2.1:8440/#sha256:{fp}")).unwrap();
        assert_eq!(
            (urls, pin.as_deref()),
            (vec!["https://192.0.2.1:8440".to_owned()], Some(fp.as_str()))
        );
        let (urls, _) = parse_enroll_token(&format!(
            "nwe_x@https://a.example:8440,https://[2001:db8::2]:8440#sha256:{fp}"
        ))
        .unwrap();
        assert_eq!(
            urls,
            ["https://a.example:8440", "https://[2001:db8::2]:8440"]
        );
        assert!(
            parse_enroll_token("nwe_x@http://127.0.0.1:1,http://192.0.2.1:8440").is_err(),
            "every URL is checked: plain HTTP off loopback"
        );
        assert!(parse_enroll_token("nwe_x@http://127.0.0.1:1,").is_err());
        assert!(parse_enroll_token("nwe_x@https://192.0.2.1:8440#sha256:zz").is_err());
        assert!(parse_enroll_token("nwe_x@https://192.0.2.1:8440").is_err());
        assert_eq!(
            parse_enroll_token("nwe_x@http://127.0.0.1:1").unwrap().1,
            None
        );
        assert!(parse_enroll_token("nwe_x").is_err());
    }
}
