//! `plain`: one IP or CIDR per line. `#` and `;` start a comment, at the start of a line
//! (FireHOL's `.ipset` / `.netset` headers) or after the value (Spamhaus DROP text:
//! `1.10.16.0/20 ; SBL256894`); the comment after a value becomes the item's comment.

use super::{FeedItem, Refusal, item_at, lines, one_line, shortened};

pub fn parse(body: &[u8]) -> (Vec<FeedItem>, Vec<Refusal>) {
    let mut items = Vec::new();
    let mut refusals = Vec::new();
    for (n, line) in lines(body) {
        let (value, comment) = match line.find(['#', ';']) {
            Some(at) => (&line[..at], line.get(at + 1..)),
            None => (line.as_ref(), None),
        };
        let mut words = value.split_whitespace();
        let Some(first) = words.next() else {
            continue;
        };
        if words.next().is_some() {
            refusals.push(Refusal {
                at: format!("line {n}"),
                entry: shortened(value.trim()),
                reason: "more than one value on a line; a plain feed holds one IP or CIDR per line"
                    .into(),
            });
            continue;
        }
        match item_at(n, first) {
            Ok(mut item) => {
                item.comment = comment.and_then(one_line);
                items.push(item);
            }
            Err(refusal) => refusals.push(refusal),
        }
    }
    (items, refusals)
}
