//! What the agent reads from its state directory when it starts, and what it does when a file
//! is damaged: a damaged file never stops the agent, since a crash loop after a reboot (the
//! kernel table gone) would mean no enforcement at all.
//!
//! - A damaged `policy.json` is set aside (`policy.json.damaged-<time>`); the agent starts with
//!   nothing held, so it pulls a full snapshot from the server. It enforces nothing of its own
//!   meanwhile, and leaves any table the kernel holds in place (fail closed).
//! - A line of `policy.journal` (the deltas since `policy.json`, `journal.rs`) that cannot
//!   be read ends its replay: the agent holds the version before it, and the server sends the
//!   rest again.
//! - A damaged `events.db` only affects reporting: it is set aside (`events.db.damaged-<time>`)
//!   and a new spool is created. A spool that cannot be opened for another reason (a full or
//!   read-only disk) turns hit reporting off for this run; enforcement goes on.
//!
//! Each problem is logged once, here, and returned as a notice for the device record (the
//! acknowledgement's `error`).

use std::path::Path;

use super::AgentError;
use super::engine::PolicyState;
use super::journal;
use super::state::{self, POLICY};
use crate::events::spool::{self, Spool};

/// The held policy, or nothing and a notice if `policy.json` was damaged (it is set aside).
pub(crate) fn load_policy(
    dir: &Path,
    now: i64,
) -> Result<(PolicyState, Option<String>), AgentError> {
    match state::read::<PolicyState>(dir, POLICY) {
        Ok(policy) => {
            let mut policy = policy.unwrap_or_default();
            let notice = journal::replay(dir, &mut policy)?;
            if let Some(notice) = &notice {
                tracing::error!(%notice, "Part of the held policy's journal is damaged.");
            }
            Ok((policy, notice))
        }
        Err(AgentError::Corrupt { path, detail }) => {
            let aside = match state::set_aside(dir, POLICY, now) {
                Ok(aside) => aside.display().to_string(),
                // The next update replaces the file atomically anyway.
                Err(error) => format!("not set aside ({error})"),
            };
            tracing::error!(
                path = %path.display(),
                %detail,
                set_aside = %aside,
                "The held policy is damaged; keeping the kernel table as it is and fetching a snapshot from the server."
            );
            let notice = format!(
                "{POLICY} was damaged ({detail}); set aside as {aside}; the policy was fetched again from the server"
            );
            Ok((PolicyState::default(), Some(notice)))
        }
        Err(other) => Err(other),
    }
}

/// The event spool, or none (hits are then not reported) and a notice. A damaged spool is set
/// aside and a new one created.
pub(crate) fn open_spool(dir: &Path, capacity: u64, now: i64) -> (Option<Spool>, Option<String>) {
    let error = match Spool::open(dir, capacity) {
        Ok(spool) => return (Some(spool), None),
        Err(error) => error,
    };
    if !error.is_damaged() {
        tracing::error!(%error, "Cannot open the event spool; hits are not reported, enforcement goes on.");
        return (
            None,
            Some(format!(
                "hits are not reported: cannot open the event spool: {error}"
            )),
        );
    }
    let aside = match spool::set_aside(dir, now) {
        Ok(aside) => aside,
        Err(cause) => {
            tracing::error!(%error, %cause, "The event spool is damaged and cannot be set aside; hits are not reported, enforcement goes on.");
            return (
                None,
                Some(format!(
                    "hits are not reported: the event spool is damaged ({error}) and cannot be set aside ({cause})"
                )),
            );
        }
    };
    tracing::error!(%error, set_aside = %aside.display(), "The event spool is damaged; set it aside and started a new one.");
    let notice = format!(
        "{} was damaged ({error}); set aside as {}; its unsent events are not reported",
        spool::FILE,
        aside.display()
    );
    match Spool::open(dir, capacity) {
        Ok(spool) => (Some(spool), Some(notice)),
        Err(error) => {
            tracing::error!(%error, "Cannot create a new event spool; hits are not reported, enforcement goes on.");
            (
                None,
                Some(format!("{notice}; a new one cannot be created: {error}")),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_policy_is_set_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(POLICY), b"\x00garbage{").unwrap();
        let (policy, notice) = load_policy(dir.path(), 1_537_099_866).unwrap();
        assert_eq!(policy, PolicyState::default());
        let notice = notice.unwrap();
        assert!(notice.contains("policy.json was damaged"), "{notice}");
        assert!(!dir.path().join(POLICY).exists());
        assert!(
            dir.path()
                .join("policy.json.damaged-2018-09-16T12:11:06Z")
                .exists()
        );
        // A missing file is a first start, not damage.
        assert_eq!(load_policy(dir.path(), 0).unwrap().1, None);
    }

    #[test]
    fn a_damaged_spool_is_set_aside_and_a_new_one_opened() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(spool::FILE), vec![0x5a; 8192]).unwrap();
        let (spool, notice) = open_spool(dir.path(), 10, 1_537_099_866);
        assert!(spool.unwrap().is_empty().unwrap());
        assert!(notice.unwrap().contains("events.db was damaged"));
        assert!(
            dir.path()
                .join("events.db.damaged-2018-09-16T12:11:06Z")
                .exists()
        );
    }
}
