//! A decoder for server-sent events (the WHATWG `text/event-stream` format), shared by every
//! client of netward's live streams: the agent's policy channel and the CLI's live tails.
//!
//! It is pure: bytes in, events out. Lines end with CRLF, LF or CR, even when a chunk ends
//! between the CR and the LF; a line is decoded as UTF-8 only once it is whole, so a
//! character split across two chunks is never corrupted. A line longer than
//! [`MAX_LINE_BYTES`] is refused rather than buffered without bound.

/// The longest line the decoder buffers.
pub const MAX_LINE_BYTES: usize = 1 << 20;

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

/// The stream broke the format.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line grew past [`MAX_LINE_BYTES`] without ending.
    #[error("a server-sent-events line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
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
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
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
                    self.line_end(&line, &mut out);
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() >= MAX_LINE_BYTES {
                        self.line.clear();
                        return Err(SseError::LineTooLong);
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(out)
    }

    fn line_end(&mut self, line: &[u8], out: &mut Vec<SseItem>) {
        if line.is_empty() {
            // A blank line dispatches what was gathered; an event with no data is dropped,
            // as the format says.
            let event = self.event.take();
            if let Some(data) = self.data.take() {
                out.push(SseItem::Event(SseEvent {
                    event: event.unwrap_or_else(|| "message".to_owned()),
                    data,
                    id: self.id.clone(),
                }));
            }
            return;
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            out.push(SseItem::Comment);
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            // `retry` and unknown fields are ignored: the clients choose their own backoff.
            _ => {}
        }
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
        assert_eq!(d.push(&big), Err(SseError::LineTooLong));
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
