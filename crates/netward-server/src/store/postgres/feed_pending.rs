//! A feed's held-back items (`feed_pending`): those not yet valid, kept until their
//! `valid_from`, replaced whole by each run, read back in the order they came.

use netward_model::IndicatorValue;
use postgres::{Client, Transaction};

use super::pg;
use crate::feeds::FeedItem;
use crate::store::StoreError;

/// Replaces feed `feed_id`'s held-back items with `items`, in one statement.
pub(super) fn write_pending(
    tx: &mut Transaction<'_>,
    feed_id: i64,
    items: &[FeedItem],
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM feed_pending WHERE feed_id = $1", &[&feed_id])
        .map_err(pg("write held-back items"))?;
    if !items.is_empty() {
        let values: Vec<String> = items.iter().map(|i| i.value.to_string()).collect();
        let external: Vec<Option<&str>> = items.iter().map(|i| i.external_id.as_deref()).collect();
        let comment: Vec<Option<&str>> = items.iter().map(|i| i.comment.as_deref()).collect();
        let from: Vec<Option<i64>> = items.iter().map(|i| i.valid_from).collect();
        let until: Vec<Option<i64>> = items.iter().map(|i| i.valid_until).collect();
        let confidence: Vec<Option<i32>> =
            items.iter().map(|i| i.confidence.map(i32::from)).collect();
        tx.execute(
            "INSERT INTO feed_pending (feed_id, value, external_id, comment, valid_from, \
             valid_until, confidence) \
             SELECT $1, v, e, c, f, u, n FROM unnest($2::text[], $3::text[], $4::text[], \
             $5::bigint[], $6::bigint[], $7::integer[]) WITH ORDINALITY AS p(v, e, c, f, u, n, o) \
             ORDER BY o",
            &[
                &feed_id,
                &values,
                &external,
                &comment,
                &from,
                &until,
                &confidence,
            ],
        )
        .map_err(pg("write held-back items"))?;
    }
    Ok(())
}

/// Feed `feed_id`'s held-back items, in the order they came.
pub(super) fn read_pending(client: &mut Client, feed_id: i64) -> Result<Vec<FeedItem>, StoreError> {
    let rows = client
        .query(
            "SELECT value, external_id, comment, valid_from, valid_until, confidence \
             FROM feed_pending WHERE feed_id = $1 ORDER BY id",
            &[&feed_id],
        )
        .map_err(pg("read feed"))?;
    let mut pending = Vec::with_capacity(rows.len());
    for r in &rows {
        let read = || -> Result<(String, FeedItem), postgres::Error> {
            let confidence: Option<i32> = r.try_get(5)?;
            Ok((
                r.try_get(0)?,
                FeedItem {
                    value: IndicatorValue::from(std::net::Ipv4Addr::UNSPECIFIED),
                    external_id: r.try_get(1)?,
                    comment: r.try_get(2)?,
                    valid_from: r.try_get(3)?,
                    valid_until: r.try_get(4)?,
                    confidence: confidence.and_then(|c| u8::try_from(c).ok()),
                },
            ))
        };
        let (value, mut item) = read().map_err(pg("read feed"))?;
        item.value = IndicatorValue::parse(&value)
            .map_err(|e| StoreError::Corrupt(format!("held-back item {value}: {e}")))?;
        pending.push(item);
    }
    Ok(pending)
}
