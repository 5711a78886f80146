//! The SQLite schema and its migrations. `PRAGMA user_version` holds the version; each
//! migration runs in one transaction, so a failed start leaves the file as it was.

use rusqlite::Connection;

use super::db;
use crate::store::StoreError;

/// The version this netward writes.
const SCHEMA_VERSION: i64 = 10;

const SCHEMA: &str = "
CREATE TABLE indicators (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    value TEXT NOT NULL UNIQUE,
    family INTEGER NOT NULL,
    range_start BLOB NOT NULL,
    range_end BLOB NOT NULL,
    action TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL,
    expires_at INTEGER,
    generate_alert INTEGER NOT NULL,
    recommended_actions TEXT NOT NULL,
    groups TEXT NOT NULL,
    external_id TEXT NOT NULL,
    application TEXT NOT NULL,
    category TEXT NOT NULL,
    mitre_techniques TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_by_kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_by_kind TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX indicators_created_by ON indicators(created_by);
CREATE TABLE device_groups (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    mode TEXT NOT NULL,
    coverage TEXT NOT NULL
);
INSERT INTO device_groups VALUES ('default', 'Devices not placed in another group', 'block', 'all');
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target);
";

/// Version 2: enrollment tokens and devices.
const SCHEMA_2: &str = "
CREATE TABLE enroll_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    secret_hash TEXT NOT NULL UNIQUE,
    group_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    secret_hash TEXT NOT NULL UNIQUE,
    hostname TEXT NOT NULL,
    os TEXT NOT NULL,
    kernel TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    addresses TEXT NOT NULL,
    group_name TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    applied_version INTEGER,
    applied_at INTEGER,
    entries INTEGER NOT NULL DEFAULT 0,
    not_enforceable TEXT NOT NULL DEFAULT '[]',
    last_error TEXT,
    last_tamper INTEGER,
    revoked_at INTEGER
);
";

/// Version 3: events, alerts and incidents.
pub const SCHEMA_3: &str = "
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    direction TEXT NOT NULL,
    protocol TEXT NOT NULL,
    local_ip TEXT NOT NULL,
    local_port INTEGER,
    remote_ip TEXT NOT NULL,
    remote_v6 INTEGER NOT NULL,
    remote_key BLOB NOT NULL,
    remote_port INTEGER,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    indicators TEXT NOT NULL,
    titles TEXT NOT NULL,
    process TEXT,
    received_ms INTEGER NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX events_time ON events(last_ms);
CREATE INDEX events_device_time ON events(device_id, first_ms);
CREATE INDEX events_remote ON events(remote_v6, remote_key);
CREATE TABLE event_indicators (
    event_id INTEGER NOT NULL,
    indicator_id INTEGER NOT NULL,
    PRIMARY KEY (indicator_id, event_id)
) WITHOUT ROWID;
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator_id INTEGER NOT NULL,
    indicator_value TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    status_by TEXT,
    status_at INTEGER,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL
);
CREATE INDEX incidents_indicator ON incidents(indicator_id, status);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    indicator_id INTEGER NOT NULL,
    indicator_value TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    recommended_actions TEXT NOT NULL,
    status TEXT NOT NULL,
    status_by TEXT,
    status_at INTEGER,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    hit_count INTEGER NOT NULL,
    outcomes TEXT NOT NULL
);
CREATE INDEX alerts_device_indicator ON alerts(device_id, indicator_id, status);
CREATE INDEX alerts_incident ON alerts(incident_id);
CREATE TABLE alert_events (
    alert_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (alert_id, event_id)
) WITHOUT ROWID;
ALTER TABLE devices ADD COLUMN events_dropped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN events_lost INTEGER NOT NULL DEFAULT 0;
";

/// Version 4: what MDE's clients send and read back (issue 16). `action_name` keeps the
/// action as the client named it (`AlertAndBlock` stays `AlertAndBlock`; rows from before keep
/// the plain name of what they enforce); `educate_url` is MDE's notification URL; a group's
/// `id` is the number MDE's `rbacGroupIds` shows, given in creation order (the default group
/// is 1) and never given twice: `next_group_id` in `settings` only grows, so a deleted group's
/// number never comes to name another group.
pub const SCHEMA_4: &str = "
ALTER TABLE indicators ADD COLUMN action_name TEXT NOT NULL DEFAULT '';
UPDATE indicators SET action_name = CASE action
    WHEN 'allow' THEN 'Allowed' WHEN 'audit' THEN 'Audit' ELSE 'Block' END;
ALTER TABLE indicators ADD COLUMN educate_url TEXT NOT NULL DEFAULT '';
ALTER TABLE device_groups ADD COLUMN id INTEGER;
UPDATE device_groups SET id = (SELECT count(*) FROM device_groups AS g WHERE g.rowid <= device_groups.rowid);
CREATE UNIQUE INDEX device_groups_id ON device_groups(id);
INSERT INTO settings (key, value)
    SELECT 'next_group_id', CAST(coalesce(max(id), 0) + 1 AS TEXT) FROM device_groups;
";

/// Version 5: an enrollment token enrolls at most `max_uses` devices (0: a token made before,
/// with no limit), counts its `uses`, and can be revoked; a device names its token.
pub const SCHEMA_5: &str = "
ALTER TABLE enroll_tokens ADD COLUMN max_uses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enroll_tokens ADD COLUMN uses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enroll_tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE devices ADD COLUMN enroll_token_id INTEGER;
";

/// Version 6: what each device's agent never blocks, and why (`exemptions`, JSON, as the
/// agent reported it in its last acknowledgement; devices from before show none until their
/// next one).
pub const SCHEMA_6: &str = "
ALTER TABLE devices ADD COLUMN exemptions TEXT NOT NULL DEFAULT '[]';
";

/// Version 7: the import that last created or changed each indicator (`import_id`: the id of
/// the import's summary audit entry; NULL for indicators no import has touched), indexed for
/// `GET /api/indicators?importId=`. The bounds stay unindexed: an index on them cost an
/// import of a million rows about 1.7 s of its 10 (`BENCHMARKS.md` §5), and `within` and
/// `containing` scan the table instead.
pub const SCHEMA_7: &str = "
ALTER TABLE indicators ADD COLUMN import_id INTEGER;
CREATE INDEX indicators_import ON indicators(import_id) WHERE import_id IS NOT NULL;
";

/// Version 8: threat-intel feeds (issue 12). A feed's secrets (`password`, `api_key`) are
/// kept as sent, since they are sent on to the feed's server, and never shown again; the rest
/// of its subscription is one JSON document (`settings`, `crate::feeds::config::FeedSettings`).
/// A feed's indicators are those it created (`created_by_kind` = 'Feed', `created_by` = its
/// name, indexed); `feed_pending` holds its items held back until their `valid_from`;
/// `feed_runs` records its refreshes.
pub const SCHEMA_8: &str = "
CREATE TABLE feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    collection TEXT,
    username TEXT,
    password TEXT,
    api_key TEXT,
    api_key_header TEXT,
    ca_cert TEXT,
    settings TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    cursor TEXT,
    last_run_at INTEGER,
    retry_at INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE feed_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    http_status INTEGER,
    status TEXT NOT NULL,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    refused INTEGER NOT NULL,
    refusals TEXT NOT NULL,
    error TEXT
);
CREATE INDEX feed_runs_feed ON feed_runs(feed_id, id);
CREATE TABLE feed_pending (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    external_id TEXT,
    comment TEXT,
    valid_from INTEGER,
    valid_until INTEGER,
    confidence INTEGER
);
CREATE INDEX feed_pending_feed ON feed_pending(feed_id);
";

/// Version 9: alert triage as MDE has it: who an alert is assigned to, its classification and
/// determination, each with who set it and when (Unix seconds), and its comments. (Version 8
/// belongs to feeds; this one applies after it.)
pub const SCHEMA_9: &str = "
ALTER TABLE alerts ADD COLUMN assigned_to TEXT;
ALTER TABLE alerts ADD COLUMN assigned_by TEXT;
ALTER TABLE alerts ADD COLUMN assigned_at INTEGER;
ALTER TABLE alerts ADD COLUMN classification TEXT;
ALTER TABLE alerts ADD COLUMN determination TEXT;
ALTER TABLE alerts ADD COLUMN classified_by TEXT;
ALTER TABLE alerts ADD COLUMN classified_at INTEGER;
CREATE TABLE alert_comments (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    comment TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments(alert_id, id);
";

/// Version 10: the policy history, so that deltas survive a restart (`history.rs`).
const SCHEMA_10: &str = "
CREATE TABLE policy_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    item TEXT NOT NULL
);
CREATE INDEX policy_history_version ON policy_history(version);
CREATE TABLE policy_pending (one INTEGER PRIMARY KEY CHECK (one = 1), since INTEGER NOT NULL);
";

/// Brings the schema of `conn` to [`SCHEMA_VERSION`]; refuses a newer one.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db("read schema version"))?;
    match version {
        0..=9 => {
            let tx = conn.transaction().map_err(db("migrate"))?;
            if version == 0 {
                tx.execute_batch(SCHEMA).map_err(db("migrate"))?;
            }
            if version <= 1 {
                tx.execute_batch(SCHEMA_2).map_err(db("migrate"))?;
            }
            if version <= 2 {
                tx.execute_batch(SCHEMA_3).map_err(db("migrate"))?;
            }
            if version <= 3 {
                tx.execute_batch(SCHEMA_4).map_err(db("migrate"))?;
            }
            if version <= 4 {
                tx.execute_batch(SCHEMA_5).map_err(db("migrate"))?;
            }
            if version <= 5 {
                tx.execute_batch(SCHEMA_6).map_err(db("migrate"))?;
            }
            if version <= 6 {
                tx.execute_batch(SCHEMA_7).map_err(db("migrate"))?;
            }
            if version <= 7 {
                tx.execute_batch(SCHEMA_8).map_err(db("migrate"))?;
            }
            if version <= 8 {
                tx.execute_batch(SCHEMA_9).map_err(db("migrate"))?;
            }
            if version <= 9 {
                tx.execute_batch(SCHEMA_10).map_err(db("migrate"))?;
            }
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
                .map_err(db("migrate"))?;
            tx.commit().map_err(db("migrate"))?;
            Ok(())
        }
        SCHEMA_VERSION => Ok(()),
        found => Err(StoreError::NewerSchema {
            found,
            ours: SCHEMA_VERSION,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use super::*;

    #[test]
    fn version_4_devices_get_no_exemptions_until_their_next_ack() {
        let mut conn = Connection::open_in_memory().unwrap();
        for script in [SCHEMA, SCHEMA_2, SCHEMA_3, SCHEMA_4] {
            conn.execute_batch(script).unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 4").unwrap();
        conn.execute(
            "INSERT INTO devices (secret_hash, hostname, os, kernel, agent_version, addresses, \
             group_name, first_seen, last_seen) VALUES ('h', 'ep', '', '', '', '[]', 'default', 1, 1)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (exemptions, version): (String, i64) = conn
            .query_row(
                "SELECT exemptions, (SELECT user_version FROM pragma_user_version) FROM devices",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((exemptions.as_str(), version), ("[]", SCHEMA_VERSION));
    }

    #[test]
    fn version_6_indicators_keep_their_rows_and_belong_to_no_import() {
        let mut conn = Connection::open_in_memory().unwrap();
        for script in [SCHEMA, SCHEMA_2, SCHEMA_3, SCHEMA_4, SCHEMA_5, SCHEMA_6] {
            conn.execute_batch(script).unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 6").unwrap();
        conn.execute(
            "INSERT INTO indicators (value, family, range_start, range_end, action, title, \
             description, severity, generate_alert, recommended_actions, groups, \
             external_id, application, category, mitre_techniques, created_by, \
             created_by_kind, created_at, updated_by, updated_by_kind, updated_at) \
             VALUES ('192.0.2.1', 4, x'', x'', 'block', 't', '', 'Informational', 0, '', '[]', \
             '', '', '', '', 'a', 'User', 1, 'a', 'User', 1)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (value, import, version): (String, Option<i64>, i64) = conn
            .query_row(
                "SELECT value, import_id, (SELECT user_version FROM pragma_user_version) \
                 FROM indicators",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            (value.as_str(), import, version),
            ("192.0.2.1", None, SCHEMA_VERSION)
        );
    }

    #[test]
    fn version_3_indicators_get_their_mde_action_name_and_keep_their_fields() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute_batch(SCHEMA_2).unwrap();
        conn.execute_batch(SCHEMA_3).unwrap();
        conn.execute_batch("PRAGMA user_version = 3").unwrap();
        for (value, action, category) in [
            ("192.0.2.1", "block", "Execution"),
            ("192.0.2.2", "allow", "7"),
            ("192.0.2.3", "audit", ""),
        ] {
            conn.execute(
                "INSERT INTO indicators (value, family, range_start, range_end, action, title, \
                 description, severity, generate_alert, recommended_actions, groups, \
                 external_id, application, category, mitre_techniques, created_by, \
                 created_by_kind, created_at, updated_by, updated_by_kind, updated_at) \
                 VALUES (?1, 4, x'', x'', ?2, 't', '', 'Informational', 0, '', '[]', '', '', \
                 ?3, 'T1059', 'a', 'User', 1, 'a', 'User', 1)",
                [value, action, category],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let rows: Vec<(String, String, String)> = conn
            .prepare("SELECT action_name, category, educate_url FROM indicators ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [
            ("Block", "Execution", ""),
            ("Allowed", "7", ""),
            ("Audit", "", ""),
        ];
        let rows: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|(a, c, e)| (a.as_str(), c.as_str(), e.as_str()))
            .collect();
        assert_eq!(rows, expected);
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
