//! The pure model of netward: what an indicator is, how a submission is validated and
//! normalised, which blocks the guard rails refuse, and how many indicators compile into one
//! device's effective policy.
//!
//! Nothing here does IO: no clock (callers pass `now` as Unix seconds), no network, no database,
//! no async runtime. The server, the agent and the CLI all build on these types, and every rule
//! in this crate is unit- and property-tested without root.

pub mod action;
pub mod address_order;
pub mod agent_wire;
pub mod alert_status;
pub mod detection;
pub mod enroll_token;
pub mod feed_entity;
#[cfg(test)]
mod fuzz;
pub mod group;
pub mod guard;
pub mod import;
pub mod indicator;
pub mod indicator_entity;
pub mod lenient;
pub mod odata;
pub mod outcome;
pub mod policy;
mod policy_indicator;
pub mod range_set;
pub mod role;
pub mod severity;
pub mod sse;
pub mod strict_json;
pub mod submission;
pub mod text;
pub mod timestamp;
pub mod triage;
pub mod value;
pub mod wire;

pub use action::{Action, ActionError, AlertRule, MdeAction};
pub use group::{Coverage, DeviceGroup, ProtectionMode, TenantSettings};
pub use guard::{GuardRails, GuardViolation};
pub use indicator::{Actor, ActorKind, Indicator, IndicatorDraft, SourceType};
pub use policy::{CompiledPolicy, FamilySets, PolicyEntry};
pub use range_set::RangeSet;
pub use role::Role;
pub use severity::Severity;
pub use submission::{FieldError, IndicatorSubmission};
pub use value::{Family, IndicatorValue, ValueError};
