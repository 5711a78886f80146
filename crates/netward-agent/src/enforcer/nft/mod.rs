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
//! - [`Enforcer::is_intact`] checks the table, every chain and its rule count, cheaply: it
//!   never lists set elements, which costs minutes at a million ranges.

pub mod netlink;
pub mod ruleset;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use netward_model::ProtectionMode;

use self::netlink::{ElementOp, NfSocket, SetChange};
use super::{ApplyReport, Enforcer, EnforcerError};
use crate::{KernelPolicy, SetId};

/// The table name the agent uses unless told otherwise.
pub const DEFAULT_TABLE: &str = "netward";

/// Enforces a [`KernelPolicy`] with nftables, in the network namespace it was opened in.
#[derive(Debug)]
pub struct NftEnforcer {
    table: String,
    netns: Option<PathBuf>,
    socket: NfSocket,
    applied: Option<KernelPolicy>,
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
fn strictness(p: &KernelPolicy) -> u8 {
    match (p.mode, p.coverage) {
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
        })
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn delete_table(&mut self) -> Result<(), EnforcerError> {
        if self.socket.table_exists(&self.table)? {
            run_nft(
                self.netns.as_deref(),
                "delete the table",
                &format!("delete table inet {}\n", self.table),
            )?;
        }
        Ok(())
    }
}

impl Enforcer for NftEnforcer {
    fn apply(&mut self, desired: &KernelPolicy) -> Result<ApplyReport, EnforcerError> {
        let started = Instant::now();
        if desired.mode == ProtectionMode::Off {
            self.delete_table()?;
            let removed = self.applied.as_ref().map_or(0, KernelPolicy::entry_count);
            self.applied = Some(desired.clone());
            return Ok(ApplyReport {
                full: true,
                rules_written: true,
                added: 0,
                removed,
                elapsed: started.elapsed(),
            });
        }
        let present = self.socket.table_exists(&self.table)?;
        let previous = match (&self.applied, present) {
            (Some(p), true) if p.mode != ProtectionMode::Off => Some(p.clone()),
            _ => None,
        };
        let mut rules_written = false;
        // When the rules change on a live table, the rules and the sets are two transactions.
        // Order them so that the moment between never blocks more than either policy: a
        // stricter rule set goes in after the new sets, a laxer one before.
        let mut rules_after_sets = None;
        if !present {
            let script = ruleset::create_script(&self.table, desired.mode, desired.coverage);
            run_nft(self.netns.as_deref(), "create the table", &script)?;
            rules_written = true;
        } else if previous.as_ref().is_none_or(|p| !p.same_rules(desired)) {
            let script = ruleset::rules_script(&self.table, desired.mode, desired.coverage);
            let stricter = previous
                .as_ref()
                .is_some_and(|p| strictness(desired) > strictness(p));
            if stricter {
                rules_after_sets = Some(script);
            } else {
                run_nft(self.netns.as_deref(), "rewrite the rules", &script)?;
            }
            rules_written = true;
        }
        let (changes, added, removed, full) = match &previous {
            Some(prev) => {
                let mut changes = Vec::new();
                let (mut added, mut removed) = (0, 0);
                // Deletions first, so that a range can be replaced by an overlapping one.
                for (id, want) in &desired.sets {
                    let empty = Default::default();
                    let have = prev.sets.get(id).unwrap_or(&empty);
                    let gone: Vec<(u128, u128)> = have.difference(want).copied().collect();
                    removed += gone.len();
                    if !gone.is_empty() {
                        changes.push(SetChange {
                            id: *id,
                            op: ElementOp::Delete,
                            ranges: gone,
                        });
                    }
                }
                for (id, want) in &desired.sets {
                    let empty = Default::default();
                    let have = prev.sets.get(id).unwrap_or(&empty);
                    let new: Vec<(u128, u128)> = want.difference(have).copied().collect();
                    added += new.len();
                    if !new.is_empty() {
                        changes.push(SetChange {
                            id: *id,
                            op: ElementOp::Add,
                            ranges: new,
                        });
                    }
                }
                (changes, added, removed, false)
            }
            None => {
                let mut changes: Vec<SetChange> = SetId::all()
                    .into_iter()
                    .map(|id| SetChange {
                        id,
                        op: ElementOp::Flush,
                        ranges: Vec::new(),
                    })
                    .collect();
                for (id, want) in &desired.sets {
                    if !want.is_empty() {
                        changes.push(SetChange {
                            id: *id,
                            op: ElementOp::Add,
                            ranges: want.iter().copied().collect(),
                        });
                    }
                }
                (changes, desired.entry_count(), 0, true)
            }
        };
        // Until this transaction commits, the kernel holds the previous state; if it fails,
        // forget what we think is applied so that the next attempt rewrites everything.
        if let Err(e) = self
            .socket
            .transact("apply the policy", &self.table, &changes)
        {
            self.applied = None;
            return Err(e);
        }
        if let Some(script) = rules_after_sets
            && let Err(e) = run_nft(self.netns.as_deref(), "rewrite the rules", &script)
        {
            self.applied = None;
            return Err(e);
        }
        self.applied = Some(desired.clone());
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
        let Some(applied) = &self.applied else {
            return Ok(true);
        };
        if applied.mode == ProtectionMode::Off {
            return Ok(!self.socket.table_exists(&self.table)?);
        }
        if !self.socket.table_exists(&self.table)? {
            return Ok(false);
        }
        for (chain, rules) in ruleset::chains(applied.mode, applied.coverage) {
            if self.socket.rule_count(&self.table, &chain)? != Some(rules.len()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn invalidate(&mut self) {
        self.applied = None;
    }

    fn remove(&mut self) -> Result<(), EnforcerError> {
        self.delete_table()?;
        self.applied = None;
        Ok(())
    }
}
