//! A decoder for server-sent events (the WHATWG `text/event-stream` format), shared by every
//! client of netward's live streams: the agent's policy channel and the CLI's live tails.
//!
//! It is pure: bytes in, events out. Lines end with CRLF, LF or CR, even when a chunk ends
//! between the CR and the LF; a line is decoded as UTF-8 only once it is whole, so a
//! character split across two chunks is never corrupted. Nothing is buffered without bound: a
//! line, a message (all its field lines together) and a message's number of `data:` lines each
//! have a limit ([`SseLimits`]), and a stream that passes one is refused with an error naming it.

/// The longest line the decoder buffers, by default.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// The most bytes of field lines one message may hold, by default.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// The most `data:` lines one message may hold, by default.
pub const MAX_DATA_LINES: usize = 1_024;

/// How much one stream may make the decoder hold. The defaults suit the CLI's live tails (an
/// event is one JSON line of a few KiB); a client that expects only small messages, such as
/// the agent, sets smaller ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseLimits {
    /// The longest line, in bytes.
    pub line_bytes: usize,
    /// The most bytes of field lines (`event:`, `data:`, `id:`, … without their line ends) in
    /// one message.
    pub message_bytes: usize,
    /// The most `data:` lines in one message.
    pub data_lines: usize,
}

impl Default for SseLimits {
    fn default() -> Self {
        Self {
            line_bytes: MAX_LINE_BYTES,
            message_bytes: MAX_MESSAGE_BYTES,
            data_lines: MAX_DATA_LINES,
        }
    }
}

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `message` when there was none.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The last `id:` field seen, if any.
    pub id: Option<String>,
}

/// What a chunk of the stream yields, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseItem {
    /// A complete event.
    Event(SseEvent),
    /// A comment line (`: …`): servers send them to keep a quiet stream alive.
    Comment,
}

/// The stream broke the format or passed a limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line grew past [`SseLimits::line_bytes`] without ending.
    #[error("a server-sent-events line is longer than {0} bytes")]
    LineTooLong(usize),
    /// A message grew past [`SseLimits::message_bytes`].
    #[error("a server-sent-events message is larger than {0} bytes")]
    MessageTooLarge(usize),
    /// A message has more than [`SseLimits::data_lines`] `data:` lines.
    #[error("a server-sent-events message has more than {0} data lines")]
    TooManyDataLines(usize),
}

/// Decodes a server-sent-events byte stream, chunk by chunk.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the line not yet ended.
    line: Vec<u8>,
    /// The previous chunk ended with CR: an LF starting this one ends nothing more.
    after_cr: bool,
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    /// Nothing read yet: a leading byte-order mark is skipped.
    started: bool,
    /// Bytes of field lines in the message being gathered.
    message_bytes: usize,
    /// `data:` lines in the message being gathered.
    data_lines: usize,
    limits: SseLimits,
}

impl SseDecoder {
    /// A decoder at the start of a stream, with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder at the start of a stream, holding at most `limits`.
    pub fn with_limits(limits: SseLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Feeds `bytes`; returns the items they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseItem>, SseError> {
        let mut out = Vec::new();
        let mut bytes = bytes;
        if !self.started && !bytes.is_empty() {
            // The BOM may itself arrive split; only a whole one at the very start is skipped.
            if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                bytes = rest;
            }
            self.started = true;
        }
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\r' | b'\n' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line_end(&line, &mut out)?;
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() >= self.limits.line_bytes {
                        self.line.clear();
                        return Err(SseError::LineTooLong(self.limits.line_bytes));
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(out)
    }

    fn line_end(&mut self, line: &[u8], out: &mut Vec<SseItem>) -> Result<(), SseError> {
        if line.is_empty() {
            // A blank line dispatches what was gathered; an event with no data is dropped,
            // as the format says.
            self.message_bytes = 0;
            self.data_lines = 0;
            let event = self.event.take();
            if let Some(data) = self.data.take() {
                out.push(SseItem::Event(SseEvent {
                    event: event.unwrap_or_else(|| "message".to_owned()),
                    data,
                    id: self.id.clone(),
                }));
            }
            return Ok(());
        }
        if line.starts_with(b":") {
            out.push(SseItem::Comment);
            return Ok(());
        }
        self.message_bytes += line.len();
        if self.message_bytes > self.limits.message_bytes {
            self.discard_message();
            return Err(SseError::MessageTooLarge(self.limits.message_bytes));
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" if self.data_lines >= self.limits.data_lines => {
                self.discard_message();
                return Err(SseError::TooManyDataLines(self.limits.data_lines));
            }
            "data" => {
                self.data_lines += 1;
                match &mut self.data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                }
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            // `retry` and unknown fields are ignored: the clients choose their own backoff.
            _ => {}
        }
        Ok(())
    }

    /// Forgets the message being gathered (after a limit was passed).
    fn discard_message(&mut self) {
        self.event = None;
        self.data = None;
        self.message_bytes = 0;
        self.data_lines = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(kind: &str, data: &str) -> SseItem {
        SseItem::Event(SseEvent {
            event: kind.into(),
            data: data.into(),
            id: None,
        })
    }

    #[test]
    fn messages_split_across_chunks_are_put_back_together() {
        let mut d = SseDecoder::new();
        assert!(d.push(b"event: event\ndata: {\"a\":").unwrap().is_empty());
        let got = d
            .push(b"1}\n\n: keep-alive\n\nevent: event\r\ndata: 2\r\n\r\n")
            .unwrap();
        assert_eq!(
            got,
            vec![
                event("event", "{\"a\":1}"),
                SseItem::Comment,
                event("event", "2")
            ]
        );
    }

    #[test]
    fn a_crlf_split_between_chunks_ends_one_line() {
        let mut d = SseDecoder::new();
        assert!(d.push(b"data: 1\r").unwrap().is_empty());
        assert!(
            d.push(b"\n").unwrap().is_empty(),
            "the LF ends nothing more"
        );
        assert_eq!(d.push(b"\r\n").unwrap(), vec![event("message", "1")]);
    }

    #[test]
    fn a_character_split_across_chunks_survives() {
        let text = "data: {\"title\":\"Zürich ☃\"}\n\n".as_bytes();
        // Split inside the two-byte ü and inside the three-byte snowman.
        let cut = text.iter().position(|&b| b == 0xC3).unwrap() + 1;
        let mut d = SseDecoder::new();
        let mut got = d.push(&text[..cut]).unwrap();
        got.extend(d.push(&text[cut..cut + 6]).unwrap());
        got.extend(d.push(&text[cut + 6..]).unwrap());
        assert_eq!(got, vec![event("message", "{\"title\":\"Zürich ☃\"}")]);
    }

    #[test]
    fn data_lines_join_ids_stay_and_empty_events_are_dropped() {
        let mut d = SseDecoder::new();
        let got = d
            .push(b"\xEF\xBB\xBFid: 7\ndata: a\ndata\ndata: b\n\nevent: x\n\ndata: c\n\n")
            .unwrap();
        let with_id = |data: &str| {
            SseItem::Event(SseEvent {
                event: "message".into(),
                data: data.into(),
                id: Some("7".into()),
            })
        };
        assert_eq!(got, vec![with_id("a\n\nb"), with_id("c")]);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut d = SseDecoder::new();
        let big = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(d.push(&big), Err(SseError::LineTooLong(MAX_LINE_BYTES)));
    }

    #[test]
    fn a_message_too_large_or_with_too_many_data_lines_is_refused() {
        let limits = SseLimits {
            line_bytes: 64,
            message_bytes: 100,
            data_lines: 3,
        };
        // Short lines, each under the line limit, that add up past the message limit.
        let mut d = SseDecoder::with_limits(limits);
        let many = "data: 0123456789012345678901234567890123456789\n".repeat(3);
        assert_eq!(d.push(many.as_bytes()), Err(SseError::MessageTooLarge(100)));
        // Empty data lines: no bytes to speak of, but without end.
        let mut d = SseDecoder::with_limits(limits);
        assert_eq!(
            d.push(b"data\ndata\ndata\ndata\n"),
            Err(SseError::TooManyDataLines(3))
        );
        // The limits are per message: a stream of messages within them never trips them.
        let mut d = SseDecoder::with_limits(limits);
        let stream = "event: policy\ndata: 7\ndata: 8\n\n".repeat(1000);
        assert_eq!(d.push(stream.as_bytes()).unwrap().len(), 1000);
        // And so are the defaults: one endless message of short lines is refused.
        let mut d = SseDecoder::new();
        let mut refused = None;
        for _ in 0..10_000 {
            if let Err(e) = d.push(b"data: x\n") {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(refused, Some(SseError::TooManyDataLines(MAX_DATA_LINES)));
    }

    proptest! {
        /// However the stream is cut into chunks, the same events come out.
        #[test]
        fn chunking_never_changes_the_events(
            datas in proptest::collection::vec("[a-zé☃ {}:\"]{0,12}", 1..6),
            cuts in proptest::collection::vec(0usize..200, 0..8),
            crlf in any::<bool>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let stream: String = datas
                .iter()
                .map(|d| format!("event: e{nl}data: {d}{nl}{nl}: ping{nl}{nl}"))
                .collect();
            let bytes = stream.as_bytes();
            let mut whole = SseDecoder::new();
            let expected = whole.push(bytes).unwrap();
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut d = SseDecoder::new();
            let mut got = Vec::new();
            let mut at = 0;
            for p in points.into_iter().chain([bytes.len()]) {
                got.extend(d.push(&bytes[at..p]).unwrap());
                at = p;
            }
            prop_assert_eq!(&got, &expected);
            let events: Vec<String> = expected
                .iter()
                .filter_map(|i| match i {
                    SseItem::Event(e) => Some(e.data.clone()),
                    SseItem::Comment => None,
                })
                .collect();
            prop_assert_eq!(events, datas);
        }
    }
}
