//! The nftables enforcer: one `inet` table owned by the agent.
//!
//! - The table, its twelve sets (declared empty) and its chains come from a small `nft -f`
//!   script ([`ruleset`]); changing the mode or coverage rewrites the rules in one `nft`
//!   transaction, without touching the sets.
//! - Set elements only ever travel over netlink ([`netlink`]): a full rewrite flushes and
//!   refills every set in one atomic batch, and a delta adds and removes only what changed.
//!   The sets are never half-changed, and replacing them never leaves a moment without rules.
//!   A change of mode or coverage is a second, `nft`, transaction; it goes in before the sets
//!   when it relaxes the rules and after them when it tightens them, so the moment between
//!   never blocks more than either the old or the new policy.
//! - Elements carry the second their indicators expire as a kernel timeout (the sets have the
//!   `timeout` flag), so the kernel stops enforcing them at that second by itself, with or
//!   without the agent. A later apply neither deletes nor counts an element the kernel
//!   already expired, and deletes an expiring one with DESTROY (Linux 6.3), which tolerates
//!   the kernel expiring it first. A delta the kernel refuses is retried as a full rewrite.
//! - [`Enforcer::is_intact`] checks the table, every chain and its rule count, cheaply: it
//!   never lists set elements, which costs minutes at a million ranges through `nft`.
//!   [`Enforcer::sets_intact`] counts each set's elements over netlink, for the engine's
//!   slower periodic check.

mod changes;
pub mod netlink;
pub mod ruleset;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use netward_model::{Coverage, ProtectionMode};

use self::changes::{delta, full_changes};
use self::netlink::{NfSocket, SetChange};

pub use self::changes::EXPIRY_SLACK_MS;
use super::{ApplyReport, Enforcer, EnforcerError, expected_held};
use crate::clock::{Clock, SystemClock};
use crate::kernel_policy::SetChanges;
use crate::{KernelPolicy, SetId};

/// The mode and coverage the rules were written for.
type Rules = (ProtectionMode, Coverage);

/// The table name the agent uses unless told otherwise.
pub const DEFAULT_TABLE: &str = "netward";

/// Enforces a [`KernelPolicy`] with nftables, in the network namespace it was opened in.
#[derive(Debug)]
pub struct NftEnforcer {
    table: String,
    netns: Option<PathBuf>,
    socket: NfSocket,
    /// The rules of the last successful apply, while the kernel holds what it wrote: `None`
    /// before the first apply, after a failure and after [`Enforcer::invalidate`], when the
    /// next apply rewrites everything.
    applied: Option<Rules>,
    /// How many elements the last successful apply left in the sets.
    applied_entries: usize,
    /// Element timeouts are relative: they are counted from this clock's reading when the
    /// batch is built. The kernel's own timers run on real time, so this is the system's.
    clock: SystemClock,
}

fn run_nft(
    netns: Option<&Path>,
    operation: &'static str,
    script: &str,
) -> Result<(), EnforcerError> {
    let mut command = match netns {
        Some(path) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={}", path.display())).arg("nft");
            c
        }
        None => Command::new("nft"),
    };
    let mut child = command
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(EnforcerError::NftMissing)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|source| EnforcerError::Netlink {
                operation: "write to nft",
                source,
            })?;
    }
    let out = child
        .wait_with_output()
        .map_err(|source| EnforcerError::Netlink {
            operation: "wait for nft",
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EnforcerError::Nft {
            operation,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// How much a policy's rules block: off < audit < block TCP only < block everything.
fn strictness((mode, coverage): Rules) -> u8 {
    match (mode, coverage) {
        (ProtectionMode::Off, _) => 0,
        (ProtectionMode::Audit, _) => 1,
        (ProtectionMode::Block, netward_model::Coverage::Tcp) => 2,
        (ProtectionMode::Block, netward_model::Coverage::All) => 3,
    }
}

impl NftEnforcer {
    /// An enforcer of the table `table` in the current network namespace. Nothing is changed
    /// until the first apply.
    pub fn open(table: &str) -> Result<Self, EnforcerError> {
        Ok(Self {
            table: table.to_owned(),
            netns: None,
            socket: NfSocket::open()?,
            applied: None,
            applied_entries: 0,
            clock: SystemClock,
        })
    }

    /// An enforcer of `table` in the network namespace at `netns` (e.g. `/run/netns/NAME`),
    /// whatever namespace the caller is in: its socket is opened there, and `nft` runs there.
    pub fn open_in(table: &str, netns: &Path) -> Result<Self, EnforcerError> {
        let socket = crate::netns::run_in(netns, NfSocket::open).map_err(|source| {
            EnforcerError::Netlink {
                operation: "enter the network namespace",
                source,
            }
        })??;
        Ok(Self {
            table: table.to_owned(),
            netns: Some(netns.to_owned()),
            socket,
            applied: None,
            applied_entries: 0,
            clock: SystemClock,
        })
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Deletes the table if it is there; whether it was.
    fn delete_table(&mut self) -> Result<bool, EnforcerError> {
        if !self.socket.table_exists(&self.table)? {
            return Ok(false);
        }
        run_nft(
            self.netns.as_deref(),
            "delete the table",
            &format!("delete table inet {}\n", self.table),
        )?;
        Ok(true)
    }

    /// Removes the table, as [`Enforcer::remove`] does, and says whether it was there.
    pub fn remove_table(&mut self) -> Result<bool, EnforcerError> {
        let removed = self.delete_table()?;
        self.applied = None;
        Ok(removed)
    }
}

impl Enforcer for NftEnforcer {
    fn apply(
        &mut self,
        desired: &KernelPolicy,
        changes: Option<&SetChanges>,
    ) -> Result<ApplyReport, EnforcerError> {
        let started = Instant::now();
        let rules = (desired.mode, desired.coverage);
        if desired.mode == ProtectionMode::Off {
            self.delete_table()?;
            let removed = if self.applied.is_some() {
                self.applied_entries
            } else {
                0
            };
            self.applied = Some(rules);
            self.applied_entries = 0;
            return Ok(ApplyReport {
                full: true,
                rules_written: true,
                added: 0,
                removed,
                elapsed: started.elapsed(),
            });
        }
        let present = self.socket.table_exists(&self.table)?;
        // A table from an older agent may lack what the rules now use (sets whose elements
        // expire; the flow sets that log passing traffic without conntrack), and a set's flags
        // cannot change: on the first apply, such a table is deleted and created anew in one
        // transaction (the rules never go away; the sets are empty until the batch below
        // refills them, a moment later). Once, on the upgrade.
        let mut recreated = false;
        if present && self.applied.is_none() {
            let probes = [SetId::all()[0].name(), ruleset::FLOW_SETS[0].0.to_owned()];
            let mut current = true;
            for probe in &probes {
                current &= self.socket.set_has_timeouts(&self.table, probe)? == Some(true);
            }
            if !current {
                tracing::info!(table = %self.table, "Recreating the table an older agent made.");
                let script = format!(
                    "delete table inet {}\n{}",
                    self.table,
                    ruleset::create_script(&self.table, desired.mode, desired.coverage)
                );
                run_nft(self.netns.as_deref(), "recreate the table", &script)?;
                recreated = true;
            }
        }
        // The rules the kernel holds with the sets this enforcer wrote, if it can trust them.
        let previous = match (self.applied, present) {
            (Some(p), true) if p.0 != ProtectionMode::Off => Some(p),
            _ => None,
        };
        let mut rules_written = false;
        // When the rules change on a live table, the rules and the sets are two transactions.
        // Order them so that the moment between never blocks more than either policy: a
        // stricter rule set goes in after the new sets, a laxer one before.
        let mut rules_after_sets = None;
        if recreated {
            rules_written = true;
        } else if !present {
            let script = ruleset::create_script(&self.table, desired.mode, desired.coverage);
            run_nft(self.netns.as_deref(), "create the table", &script)?;
            rules_written = true;
        } else if previous != Some(rules) {
            let script = ruleset::rules_script(&self.table, desired.mode, desired.coverage);
            let stricter = previous.is_some_and(|p| strictness(rules) > strictness(p));
            if stricter {
                rules_after_sets = Some(script);
            } else {
                run_nft(self.netns.as_deref(), "rewrite the rules", &script)?;
            }
            rules_written = true;
        }
        let now_ms = self.clock.now_ms();
        let (ops, added, removed, full): (Box<dyn Iterator<Item = SetChange>>, _, _, _) =
            match (previous, changes) {
                (Some(_), Some(changes)) => {
                    let (ops, added, removed) = delta(changes, now_ms);
                    (Box::new(ops.into_iter()), added, removed, false)
                }
                _ => {
                    let (ops, added) = full_changes(desired, now_ms);
                    (Box::new(ops), added, 0, true)
                }
            };
        // Until this transaction commits, the kernel holds the previous state. A delta the
        // kernel refuses (an element deleted behind our back, a kernel without DESTROY) is
        // retried at once as a full rewrite; if that fails too, forget what we think is
        // applied so that the next attempt rewrites everything.
        let (added, removed, full) = match self.socket.transact(
            "apply the policy",
            &self.table,
            ops,
        ) {
            Ok(()) => (added, removed, full),
            Err(error) if !full => {
                tracing::warn!(%error, table = %self.table, "The kernel refused a policy delta; rewriting every set.");
                let (ops, added) = full_changes(desired, now_ms);
                if let Err(e) = self.socket.transact("rewrite the sets", &self.table, ops) {
                    self.applied = None;
                    return Err(e);
                }
                (added, 0, true)
            }
            Err(e) => {
                self.applied = None;
                return Err(e);
            }
        };
        if let Some(script) = rules_after_sets
            && let Err(e) = run_nft(self.netns.as_deref(), "rewrite the rules", &script)
        {
            self.applied = None;
            return Err(e);
        }
        self.applied = Some(rules);
        self.applied_entries = desired.entry_count();
        let report = ApplyReport {
            full,
            rules_written,
            added,
            removed,
            elapsed: started.elapsed(),
        };
        tracing::debug!(
            table = %self.table,
            full = report.full,
            added = report.added,
            removed = report.removed,
            elapsed_ms = report.elapsed.as_millis(),
            "Policy applied to the kernel."
        );
        Ok(report)
    }

    fn is_intact(&mut self) -> Result<bool, EnforcerError> {
        let Some((mode, coverage)) = self.applied else {
            return Ok(true);
        };
        if mode == ProtectionMode::Off {
            return Ok(!self.socket.table_exists(&self.table)?);
        }
        if !self.socket.table_exists(&self.table)? {
            return Ok(false);
        }
        let Some(counts) = self.socket.rule_counts(&self.table)? else {
            return Ok(false);
        };
        Ok(ruleset::chains(mode, coverage)
            .iter()
            .all(|(chain, rules)| counts.get(chain).copied().unwrap_or(0) == rules.len()))
    }

    fn held(&mut self, id: SetId) -> Result<Option<usize>, EnforcerError> {
        if !self.socket.table_exists(&self.table)? {
            return Ok(None);
        }
        self.socket.element_count(&self.table, &id.name())
    }

    fn sets_intact(&mut self, applied: &KernelPolicy) -> Result<bool, EnforcerError> {
        match self.applied {
            None => return Ok(true),
            Some((ProtectionMode::Off, _)) => return Ok(true),
            Some(_) => {}
        }
        for id in SetId::all() {
            let Some(held) = self.held(id)? else {
                return Ok(false);
            };
            let (certain, maybe) = expected_held(applied, id, self.clock.now_ms());
            if held < certain || held > certain + maybe {
                tracing::warn!(set = %id, held, expected = certain, "A kernel set does not hold what the agent wrote.");
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn invalidate(&mut self) {
        self.applied = None;
    }

    fn remove(&mut self) -> Result<(), EnforcerError> {
        self.remove_table().map(|_| ())
    }
}
