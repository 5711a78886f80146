//! The endpoint agent. Today it holds the kernel side: [`kernel_policy`] turns a device's
//! indicators into the exact contents of the kernel's sets (pure, unit-tested), and
//! [`enforcer`] is the one boundary to the kernel (nftables over netlink), with a recording
//! fake for tests above it; [`events`] reports every hit (behind the `HitSource` and
//! `Attributor` boundaries, each with a fake); [`clock`] is the wall clock, passed in;
//! [`runtime`] runs it all, generic over those boundaries.

pub mod clock;
pub mod enforcer;
pub mod events;
#[cfg(test)]
mod fuzz;
pub mod held;
pub mod kernel_policy;
pub mod log_prefix;
pub mod netns;
pub mod runtime;

pub use enforcer::{ApplyReport, Enforcer, EnforcerError};
pub use kernel_policy::{KernelPolicy, SetContents, SetId};
