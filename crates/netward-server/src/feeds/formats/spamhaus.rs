//! `spamhaus-json`: Spamhaus's `drop_v4.json` / `drop_v6.json`, one JSON object per line
//! (`{"cidr": "1.10.16.0/20", "sblid": "SBL256894", "rir": "apnic"}`) and a last line
//! `{"type": "metadata", …}`. The trailer is how a complete download is told from a truncated
//! one: without it the pull fails and the feed keeps what it had. The SBL id is the item's
//! external id.

use serde::Deserialize;

use super::{FeedItem, Refusal, item_at, lines, one_line, shortened};

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: Option<String>,
    cidr: Option<String>,
    sblid: Option<String>,
    rir: Option<String>,
}

pub fn parse(body: &[u8]) -> Result<(Vec<FeedItem>, Vec<Refusal>), String> {
    let mut items = Vec::new();
    let mut refusals = Vec::new();
    let mut trailer = false;
    for (n, text) in lines(body) {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let refuse = |reason: String| Refusal {
            at: format!("line {n}"),
            entry: shortened(text),
            reason,
        };
        let line: Line = match serde_json::from_str(text) {
            Ok(line) => line,
            Err(e) => {
                refusals.push(refuse(format!("not a JSON object: {e}")));
                continue;
            }
        };
        if line.kind.as_deref() == Some("metadata") {
            trailer = true;
            continue;
        }
        let Some(cidr) = line.cidr else {
            refusals.push(refuse("no `cidr`".into()));
            continue;
        };
        match item_at(n, &cidr) {
            Ok(mut item) => {
                item.external_id = line.sblid.as_deref().and_then(one_line);
                item.comment = match (&line.sblid, &line.rir) {
                    (Some(sbl), Some(rir)) => one_line(&format!("{sbl} ({rir})")),
                    (Some(sbl), None) => one_line(sbl),
                    (None, rir) => rir.as_deref().and_then(one_line),
                };
                items.push(item);
            }
            Err(refusal) => refusals.push(refusal),
        }
    }
    if !trailer {
        return Err(
            "no metadata trailer line ({\"type\":\"metadata\",…}): the download looks truncated"
                .into(),
        );
    }
    Ok((items, refusals))
}
