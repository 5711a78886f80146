//! The held policy on disk, at a cost that follows each update's size: `policy.json` holds a
//! whole policy, and `policy.journal` the deltas applied since, one JSON line each, appended
//! and synced. A snapshot, or a journal grown past a quarter of `policy.json` (and 1 MiB),
//! rewrites `policy.json` (atomically) and empties the journal; so a delta to a million held
//! indicators writes one short line, not the million.
//!
//! Crash safety: a delta is acknowledged only after its line is synced. A line cut short by a
//! crash is the last one, and its update was never acknowledged: it is dropped at start, and
//! the server sends it again. Each line names its version, and only lines newer than
//! `policy.json` are replayed, so a crash between writing `policy.json` and emptying the
//! journal replays nothing twice.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use netward_model::agent_wire::PolicyUpdate;

use super::AgentError;
use super::engine::{Engine, PolicyState};
use super::state::{self, POLICY};
use super::upserts::Upserts;
use crate::enforcer::Enforcer;

/// The journal's file name in the state directory.
pub const JOURNAL: &str = "policy.journal";

/// The journal's size, past which the next update rewrites `policy.json`: a quarter of it, and
/// at least this.
const MIN_JOURNAL_BYTES: u64 = 1 << 20;

fn size(dir: &Path, name: &str) -> u64 {
    fs::metadata(dir.join(name)).map_or(0, |m| m.len())
}

/// The line a delta adds to the journal; `None` for a snapshot, which rewrites `policy.json`.
pub fn journal_line(update: &PolicyUpdate<Upserts>) -> Option<Vec<u8>> {
    if update.full {
        return None;
    }
    let mut line = serde_json::to_vec(update).ok()?;
    line.push(b'\n');
    Some(line)
}

/// Persists what `engine` now holds after an update whose journal line is `line`: appends the
/// line, or rewrites `policy.json` and empties the journal.
pub fn save<E: Enforcer>(
    dir: &Path,
    engine: &Engine<E>,
    line: Option<&[u8]>,
) -> Result<(), AgentError> {
    let base = size(dir, POLICY);
    let journal = size(dir, JOURNAL);
    if let Some(line) = line
        && base > 0
        && journal + line.len() as u64 <= (base / 4).max(MIN_JOURNAL_BYTES)
    {
        let path = dir.join(JOURNAL);
        let err = |source| AgentError::State {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(err)?;
        file.write_all(line).map_err(err)?;
        return file.sync_data().map_err(err);
    }
    engine.with_policy_file(|file| state::write(dir, POLICY, file))?;
    match fs::remove_file(dir.join(JOURNAL)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(AgentError::State {
            path: dir.join(JOURNAL),
            source,
        }),
    }
}

/// Applies the journal's deltas newer than `policy` to it. A line that cannot be read ends the
/// replay: the updates from there on are fetched again (the version held is the last one
/// replayed), and a notice says so unless it was only a last line cut short.
pub fn replay(dir: &Path, policy: &mut PolicyState) -> Result<Option<String>, AgentError> {
    // Deltas apply to the policy they were written after: without one (a first start, or a
    // damaged `policy.json` set aside), the server sends a snapshot, which empties the journal.
    if policy.header.version.is_none() {
        return Ok(None);
    }
    let path = dir.join(JOURNAL);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AgentError::State { path, source }),
    };
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    for (n, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let update: PolicyUpdate<Upserts> = match serde_json::from_slice(line) {
            Ok(update) => update,
            // A last line without its newline was cut short by a crash before it was synced.
            Err(_) if n + 1 == lines.len() => return Ok(None),
            Err(e) => {
                return Ok(Some(format!(
                    "{JOURNAL} line {} is unreadable ({e}); the updates from version {} on were fetched again",
                    n + 1,
                    policy
                        .header
                        .version
                        .map_or("none".into(), |v| v.to_string())
                )));
            }
        };
        if policy.header.version.is_some_and(|v| update.version > v) && !update.full {
            policy.merge_delta(update);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enforcer::fake::RecordingEnforcer;
    use crate::runtime::engine;

    /// An update blocking `values` (id, value), removing `removals`.
    fn update(
        version: u64,
        full: bool,
        values: &[(i64, &str)],
        removals: Vec<i64>,
    ) -> PolicyUpdate<Upserts> {
        let upserts = values
            .iter()
            .map(|(id, v)| engine::tests::ind(*id, v, "block", None))
            .collect();
        engine::tests::update(version, full, upserts, removals)
    }

    fn load(dir: &Path) -> (PolicyState, Option<String>) {
        let mut policy: PolicyState = state::read(dir, POLICY).unwrap().unwrap_or_default();
        let notice = replay(dir, &mut policy).unwrap();
        (policy, notice)
    }

    fn ids(p: &PolicyState) -> Vec<i64> {
        p.indicators.iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn deltas_are_appended_and_replayed_and_a_snapshot_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        let mut apply = |u: PolicyUpdate<Upserts>| {
            let line = journal_line(&u);
            e.update(u, 0).unwrap();
            save(dir.path(), &e, line.as_deref()).unwrap();
        };
        apply(update(
            1,
            true,
            &[(1, "192.0.2.1"), (2, "192.0.2.2")],
            vec![],
        ));
        assert_eq!(size(dir.path(), JOURNAL), 0);
        apply(update(2, false, &[(3, "192.0.2.3")], vec![1]));
        apply(update(3, false, &[(4, "2001:db8::4")], vec![]));
        assert!(size(dir.path(), JOURNAL) > 0, "deltas only append");
        let (policy, notice) = load(dir.path());
        assert_eq!(
            (ids(&policy), policy.header.version, notice),
            (vec![2, 3, 4], Some(3), None)
        );
        apply(update(4, true, &[(9, "192.0.2.9")], vec![]));
        assert_eq!(
            size(dir.path(), JOURNAL),
            0,
            "a snapshot empties the journal"
        );
        assert_eq!(ids(&load(dir.path()).0), [9]);
    }

    #[test]
    fn a_cut_last_line_is_dropped_and_a_bad_line_ends_the_replay_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Engine::new(RecordingEnforcer::default(), PolicyState::default(), &[]);
        e.update(update(1, true, &[(1, "192.0.2.1")], vec![]), 0)
            .unwrap();
        save(dir.path(), &e, None).unwrap();
        let two = journal_line(&update(2, false, &[(2, "192.0.2.2")], vec![])).unwrap();
        let three = journal_line(&update(3, false, &[(3, "192.0.2.3")], vec![])).unwrap();
        // A crash while appending version 3: half its line.
        let mut journal = two.clone();
        journal.extend_from_slice(&three[..three.len() / 2]);
        fs::write(dir.path().join(JOURNAL), &journal).unwrap();
        let (policy, notice) = load(dir.path());
        assert_eq!(
            (ids(&policy), policy.header.version, notice),
            (vec![1, 2], Some(2), None)
        );
        // Damage in the middle: replay stops before it, and says so.
        let mut journal = b"{not json\n".to_vec();
        journal.extend_from_slice(&three);
        fs::write(dir.path().join(JOURNAL), &journal).unwrap();
        let (policy, notice) = load(dir.path());
        assert_eq!((ids(&policy), policy.header.version), (vec![1], Some(1)));
        assert!(
            notice
                .unwrap()
                .contains("policy.journal line 1 is unreadable")
        );
        // Lines no newer than policy.json (a crash before the journal was emptied) are skipped.
        fs::write(
            dir.path().join(JOURNAL),
            journal_line(&update(1, false, &[(7, "192.0.2.7")], vec![])).unwrap(),
        )
        .unwrap();
        assert_eq!(ids(&load(dir.path()).0), [1]);
    }
}
