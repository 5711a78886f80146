//! The JSON of the agent channel: enrollment, policy updates, acknowledgements, and the
//! device records the API shows. Shared by the server and the agent.

use serde::{Deserialize, Serialize};

pub use crate::policy_indicator::PolicyIndicator;
use crate::{Action, Coverage, IndicatorValue, ProtectionMode};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The body of `POST /api/agent/enroll`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollRequest {
    /// The enrollment token (`nwe_…`).
    pub token: String,
    /// What the device says about itself.
    pub facts: DeviceFacts,
}

/// What a device reports about itself, at enrollment and with every acknowledgement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceFacts {
    /// Host name.
    pub hostname: String,
    /// Operating system, e.g. `Debian GNU/Linux 12`.
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// The agent's version.
    pub agent_version: String,
    /// The device's IP addresses.
    pub addresses: Vec<String>,
}

/// The answer to an enrollment: the device's identity and credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnrollResponse {
    /// The device id.
    pub device_id: String,
    /// The device's bearer secret (`nwd_…`); only its hash is stored.
    pub secret: String,
    /// The group the device was placed in.
    pub group: String,
}

/// An indicator as an agent needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AgentIndicator {
    /// Indicator id.
    pub id: i64,
    /// Canonical value.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub value: IndicatorValue,
    /// What a hit does.
    pub action: Action,
    /// Unix second at which it stops applying.
    pub expires_at: Option<i64>,
    /// Alert title.
    pub title: String,
}

/// A policy update: a full snapshot, or the changes since the agent's version. The server
/// sends its upserts as [`AgentIndicator`]s; the agent reads them in a compact form of its own
/// (`U`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PolicyUpdate<U = Vec<AgentIndicator>> {
    /// The version this update brings the agent to.
    pub version: u64,
    /// `true`: `upserts` is the whole policy and everything else is to be dropped.
    pub full: bool,
    /// The device's group.
    pub group: String,
    /// The device's protection mode (`off` when the tenant switch is off).
    pub mode: ProtectionMode,
    /// Which protocols a block applies to.
    pub coverage: Coverage,
    /// Indicators to add or replace.
    pub upserts: U,
    /// Indicator ids to drop.
    pub removals: Vec<i64>,
    /// The server's clock, Unix seconds, for the agent's log.
    pub server_time: i64,
}

impl From<PolicyUpdate> for PolicyUpdate<Vec<PolicyIndicator>> {
    /// The update as the agent reads it: the same, without the titles.
    fn from(update: PolicyUpdate) -> Self {
        Self {
            version: update.version,
            full: update.full,
            group: update.group,
            mode: update.mode,
            coverage: update.coverage,
            upserts: update.upserts.iter().map(PolicyIndicator::from).collect(),
            removals: update.removals,
            server_time: update.server_time,
        }
    }
}

/// The body of `POST /api/agent/ack`: what the device now enforces.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AckRequest {
    /// The version applied in the kernel.
    pub version: u64,
    /// Entries in the kernel's sets.
    pub entries: u64,
    /// Indicators the agent refused to enforce (they cover loopback or the server).
    pub not_enforceable: Vec<i64>,
    /// The last enforcement error, if the apply failed.
    pub error: Option<String>,
    /// Whether the agent found its kernel table altered and restored it.
    pub tamper_repaired: bool,
    /// The device's facts, refreshed.
    pub facts: DeviceFacts,
    /// What the agent never blocks nor audits, whatever the policy, and why (absent from
    /// agents before it was reported: none known).
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
}

/// An address or range an agent never blocks nor audits, whatever the policy: indicators that
/// cover it are cut back around it and reported as not enforceable.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exemption {
    /// The address or range, in canonical form.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub range: IndicatorValue,
    /// Why it is exempt.
    pub reason: ExemptionReason,
}

/// Why an agent never blocks an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ExemptionReason {
    /// Loopback (`127.0.0.0/8`, `::1`): traffic that never leaves the machine, and that carries
    /// the refusals of the agent's own rules.
    Loopback,
    /// An address of the netward server: the agent must reach it for its policy.
    Server,
    /// A DNS resolver of the machine (`nameserver` in `/etc/resolv.conf`): without it the
    /// server's name could not be resolved again.
    DnsResolver,
}

impl ExemptionReason {
    /// The name on the wire, in the CLI and the console.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Server => "server",
            Self::DnsResolver => "dns-resolver",
        }
    }
}

/// A device, as `GET /api/machines` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MachineEntity {
    /// Device id.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// Operating system.
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// Agent version.
    pub agent_version: String,
    /// IP addresses.
    pub addresses: Vec<String>,
    /// Device group.
    pub group: String,
    /// First contact, RFC 3339.
    pub first_seen: String,
    /// Last contact, RFC 3339.
    pub last_seen: String,
    /// Whether the push channel is connected now.
    pub online: bool,
    /// The policy version the device enforces.
    pub applied_version: Option<u64>,
    /// When it applied it, RFC 3339.
    pub applied_at: Option<String>,
    /// The newest policy version on the server.
    pub current_version: u64,
    /// Whether the device enforces the current policy.
    pub in_sync: bool,
    /// Entries in the device's kernel sets.
    pub entries: u64,
    /// Indicators the device reported as not enforceable.
    pub not_enforceable: Vec<i64>,
    /// The device's last enforcement error.
    pub last_error: Option<String>,
    /// When the device last repaired a tampered table, RFC 3339.
    pub last_tamper: Option<String>,
    /// Whether the credential is revoked.
    pub revoked: bool,
    /// Hits the device's agent dropped because its event spool was full.
    #[serde(default)]
    pub events_dropped: u64,
    /// Hit log messages the device's kernel could not deliver to its agent.
    #[serde(default)]
    pub events_lost: u64,
    /// What the device's agent never blocks nor audits, and why, as it last reported.
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
}

/// `{"value": [...]}` of devices.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MachineList {
    /// The devices.
    pub value: Vec<MachineEntity>,
}

/// The body of `PATCH /api/machines/{id}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MachinePatch {
    /// Move the device to this group.
    pub group: Option<String>,
}

/// The body of `POST /api/enroll-tokens`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollTokenCreate {
    /// The group new devices join (default `default`).
    pub group: Option<String>,
    /// Lifetime in hours (default 168, at most 8760).
    pub valid_hours: Option<u32>,
    /// How many devices it may enroll (default 1, at most 100,000).
    pub max_uses: Option<u32>,
}

/// A new enrollment token, shown once.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnrollTokenCreated {
    /// What `netward agent --enroll` takes: the server address and the secret.
    pub token: String,
    /// Its id, to list or revoke it.
    pub id: String,
    /// The group devices join.
    pub group: String,
    /// When it stops working, RFC 3339.
    pub expires_at: String,
    /// How many devices it may enroll.
    pub max_uses: u32,
}

/// An enrollment token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnrollTokenEntity {
    /// Id.
    pub id: String,
    /// The group devices join.
    pub group: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// When it stops working, RFC 3339.
    pub expires_at: String,
    /// How many devices it may enroll; absent for a token from before the limit, which
    /// enrolls any number until it expires.
    pub max_uses: Option<u32>,
    /// How many devices it has enrolled.
    pub uses: u32,
    /// When it was revoked, RFC 3339.
    pub revoked_at: Option<String>,
    /// Whether it would enroll a device now.
    pub usable: bool,
}

/// `{"value": [...]}` of enrollment tokens.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EnrollTokenList {
    /// The tokens, newest first.
    pub value: Vec<EnrollTokenEntity>,
}

/// On how many devices an indicator is enforced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnforcementSummary {
    /// Enrolled, unrevoked devices whose group is in the indicator's scope.
    pub in_scope: u64,
    /// Those that acknowledged a policy version that includes the indicator's last change,
    /// without an error and without listing it as not enforceable.
    pub enforced: u64,
    /// The others, with why.
    pub not_enforced: Vec<DeviceLag>,
}

/// A device that does not enforce an indicator yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeviceLag {
    /// Device id.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// Whether its push channel is connected.
    pub online: bool,
    /// Last contact, RFC 3339.
    pub last_seen: String,
    /// Its last enforcement error, if that is the reason.
    pub error: Option<String>,
    /// Whether it reported the indicator as not enforceable: it covers an address the agent
    /// exempts (loopback, its server, a DNS resolver).
    #[serde(default)]
    pub not_enforceable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(mode: &str, value: &str, action: &str) -> String {
        format!(
            r#"{{"version":3,"full":true,"group":"default","mode":"{mode}","coverage":"all",
            "upserts":[{{"id":1,"value":"{value}","action":"{action}","expiresAt":null,"title":""}}],
            "removals":[],"serverTime":0}}"#
        )
    }

    fn read(json: &str) -> Result<PolicyUpdate, String> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    #[test]
    fn a_policy_update_reads_into_types() {
        let u = read(&update("audit", "192.0.2.0/24", "block")).unwrap();
        assert_eq!((u.mode, u.coverage), (ProtectionMode::Audit, Coverage::All));
        assert_eq!(u.upserts[0].action, Action::Block);
        assert_eq!(u.upserts[0].value.to_string(), "192.0.2.0/24");
        // And it writes back as it came.
        let again = read(&serde_json::to_string(&u).unwrap()).unwrap();
        assert_eq!(again, u);
    }

    /// An agent never guesses: an unknown value refuses the whole update, naming the field,
    /// and the agent keeps what it enforces (before, an unreadable mode became `off`).
    #[test]
    fn an_unreadable_field_refuses_the_update_and_names_it() {
        let e = read(&update("blok", "192.0.2.1", "block")).unwrap_err();
        assert!(e.starts_with("mode: unknown variant `blok`"), "{e}");
        let e = read(&update("block", "192.0.2.1/24", "block")).unwrap_err();
        assert!(e.starts_with("upserts[0].value:"), "{e}");
        assert!(e.contains("host bits"), "{e}");
        let e = read(&update("block", "192.0.2.1", "Block")).unwrap_err();
        assert!(
            e.starts_with("upserts[0].action: unknown variant `Block`"),
            "{e}"
        );
    }
}
