//! The one boundary between the agent and the kernel's packet filter. Everything above this
//! module speaks [`KernelPolicy`]; [`nft::NftEnforcer`] turns it into nftables state over
//! netlink, and [`fake::RecordingEnforcer`] records it for tests and benchmarks.

pub mod fake;
pub mod nft;

use std::time::Duration;

use crate::kernel_policy::SetChanges;
use crate::{KernelPolicy, SetId};

/// Around an element's expiry, how long the periodic set check accepts it as either present or
/// gone: the check reads the sets over some time, and the kernel drops an element at its
/// expiry. An element deleted behind the agent's back this close to its expiry is not noticed,
/// and does not need to be.
pub const EXPIRY_MARGIN_MS: i64 = 3_000;

/// How many elements of set `id` of `applied` the kernel holds at `now_ms` for certain
/// (expiring later than the margin, or never), and how many more it may hold (expiring
/// within the margin of now).
pub fn expected_held(applied: &KernelPolicy, id: SetId, now_ms: i64) -> (usize, usize) {
    let (mut certain, mut maybe) = (0, 0);
    for element in applied.sets.get(&id).into_iter().flatten() {
        match applied
            .expiry(id, *element)
            .map(|at| at.saturating_mul(1000))
        {
            None => certain += 1,
            Some(at) if at > now_ms + EXPIRY_MARGIN_MS => certain += 1,
            Some(at) if at > now_ms - EXPIRY_MARGIN_MS => maybe += 1,
            Some(_) => {}
        }
    }
    (certain, maybe)
}

/// What one [`Enforcer::apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Whether every set was rewritten (first apply, after tampering, or after a restart),
    /// rather than changed by a delta.
    pub full: bool,
    /// Whether the rules were (re)written.
    pub rules_written: bool,
    /// Set entries added.
    pub added: usize,
    /// Set entries removed.
    pub removed: usize,
    /// Wall time of the whole apply.
    pub elapsed: Duration,
}

/// Why the kernel could not be brought to the desired state. The state before the failed
/// transaction is left in place.
#[derive(Debug, thiserror::Error)]
pub enum EnforcerError {
    /// A netlink socket operation failed.
    #[error("netlink {operation} failed")]
    Netlink {
        /// What we were doing.
        operation: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused a transaction; nothing of it was applied.
    #[error("the kernel refused the nftables transaction ({operation}): {source}")]
    Refused {
        /// What the transaction was for.
        operation: &'static str,
        /// The kernel's errno.
        #[source]
        source: std::io::Error,
    },
    /// The kernel answered something we cannot read.
    #[error("cannot decode the kernel's answer to {operation}: {detail}")]
    Decode {
        /// What we asked.
        operation: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The `nft` program failed on the (small) ruleset script.
    #[error("`nft -f` failed to {operation}: {stderr}")]
    Nft {
        /// What the script was for.
        operation: &'static str,
        /// What nft printed.
        stderr: String,
    },
    /// The `nft` program could not be run.
    #[error("cannot run `nft` (install the nftables package)")]
    NftMissing(#[source] std::io::Error),
}

/// Brings the kernel to a [`KernelPolicy`] and keeps track of what it holds.
pub trait Enforcer: Send {
    /// Makes the kernel enforce `desired`, in one atomic transaction. `changes` are the
    /// element changes from the last policy applied to `desired` (the engine knows them from
    /// the delta, without comparing whole sets): only they are written. Without them, or when
    /// what the kernel holds is unknown (the first apply, after [`Enforcer::invalidate`], a
    /// failed apply, or a table someone removed), every set is rewritten from `desired`.
    fn apply(
        &mut self,
        desired: &KernelPolicy,
        changes: Option<&SetChanges>,
    ) -> Result<ApplyReport, EnforcerError>;

    /// Whether what this enforcer created is still in place, unaltered as far as can be seen
    /// cheaply: the table, its chains, and their rule counts.
    fn is_intact(&mut self) -> Result<bool, EnforcerError>;

    /// How many elements (addresses or ranges) set `id` holds in the kernel now, elements
    /// that expired excluded; `None` when there is no such set (no table, or mode `off`).
    /// Costs a walk of the set: for the periodic check of [`Enforcer::sets_intact`] and
    /// tests, not for every tick.
    fn held(&mut self, id: SetId) -> Result<Option<usize>, EnforcerError>;

    /// Whether every set holds as many elements as `applied` (the policy last applied) has
    /// that the kernel has not expired since, so that elements deleted (or added) behind the
    /// agent's back are seen; the elements expiring within a few seconds of now may be counted
    /// either way. `true` when nothing was applied, or under mode `off`.
    fn sets_intact(&mut self, applied: &KernelPolicy) -> Result<bool, EnforcerError>;

    /// Forgets the applied state, so that the next apply rewrites everything.
    fn invalidate(&mut self);

    /// Removes everything this enforcer created. Removing nothing is not an error.
    fn remove(&mut self) -> Result<(), EnforcerError>;
}
