//! An indicator as netward keeps it: a validated draft plus who made it and when.

use crate::{Action, IndicatorValue, MdeAction, Severity};

/// A validated submission, ready to be stored. Built by
/// [`IndicatorSubmission::validate`](crate::IndicatorSubmission::validate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorDraft {
    /// The canonical value; unique among indicators.
    pub value: IndicatorValue,
    /// What devices do on a hit.
    pub action: Action,
    /// The action as the client named it (`AlertAndBlock` stays `AlertAndBlock`); its
    /// [`MdeAction::action`] is always `action`.
    pub mde_action: MdeAction,
    /// The alert title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// Alert severity.
    pub severity: Severity,
    /// Unix second at which the indicator leaves every policy, if any.
    pub expires_at: Option<i64>,
    /// Whether a hit raises an alert.
    pub generate_alert: bool,
    /// Shown with alerts.
    pub recommended_actions: String,
    /// Device groups in scope; empty means every device. Sorted, no duplicates.
    pub groups: Vec<String>,
    /// The submitter's own correlation id.
    pub external_id: String,
    /// MDE's `application` field, kept for round trips.
    pub application: String,
    /// MDE's alert category as given: a number (the API's form) or a name (MDE's CSV
    /// template's form), kept for round trips.
    pub category: String,
    /// MITRE technique ids, in the order given, kept for round trips.
    pub mitre_techniques: Vec<String>,
    /// MDE's custom notification URL, kept for round trips (nobody is shown a page when the
    /// kernel refuses a connection).
    pub educate_url: String,
}

impl IndicatorDraft {
    /// A draft with only a value, an action, a title and an expiry; every other field empty.
    pub fn bare(
        value: IndicatorValue,
        action: Action,
        title: &str,
        expires_at: Option<i64>,
    ) -> Self {
        Self {
            value,
            action,
            mde_action: MdeAction::from(action),
            title: title.to_owned(),
            description: String::new(),
            severity: Severity::default(),
            expires_at,
            generate_alert: false,
            recommended_actions: String::new(),
            groups: Vec::new(),
            external_id: String::new(),
            application: String::new(),
            category: String::new(),
            mitre_techniques: Vec::new(),
            educate_url: String::new(),
        }
    }
}

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The token name, user name or feed name.
    pub name: String,
    /// What kind of principal it is.
    pub kind: ActorKind,
}

/// The kind of principal behind a change; MDE's `sourceType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// A person signed in to the console.
    User,
    /// A script with an API token.
    ApiToken,
    /// An automated feed.
    Feed,
    /// netward itself (first start, migrations).
    System,
}

impl ActorKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::ApiToken => "ApiToken",
            Self::Feed => "Feed",
            Self::System => "System",
        }
    }

    /// MDE's `sourceType` of what this principal creates: a person at the console is a
    /// `User`; a token, a feed or netward itself is an application (`AadApp`).
    pub fn source_type(self) -> SourceType {
        match self {
            Self::User => SourceType::User,
            Self::ApiToken | Self::Feed | Self::System => SourceType::AadApp,
        }
    }

    /// Parses a wire name.
    pub fn parse(input: &str) -> Option<Self> {
        [Self::User, Self::ApiToken, Self::Feed, Self::System]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(input))
    }
}

/// MDE's `sourceType`: who made an indicator, a person (`User`, in the portal) or an
/// application (`AadApp`, through the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SourceType {
    /// A person signed in to the console.
    User,
    /// A program: an API token, a feed, or netward itself.
    AadApp,
}

impl SourceType {
    /// MDE's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::AadApp => "AadApp",
        }
    }
}

/// A stored indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    /// Server-assigned id, stable across updates of the same value.
    pub id: i64,
    /// The indicator's content.
    pub draft: IndicatorDraft,
    /// Who first submitted this value.
    pub created_by: Actor,
    /// When, in Unix seconds.
    pub created_at: i64,
    /// Who last changed it.
    pub updated_by: Actor,
    /// When, in Unix seconds.
    pub updated_at: i64,
    /// The numeric ids of the groups in its scope, as the store numbers groups (what MDE's
    /// `rbacGroupIds` shows); empty for every device, or when the store was not asked.
    pub group_ids: Vec<i64>,
    /// The import that last created or changed it (the id of that import's audit entry);
    /// `None` when no import has touched it.
    pub import_id: Option<i64>,
}

impl Indicator {
    /// An indicator made by netward itself at time 0, e.g. one an agent received.
    pub fn system(id: i64, draft: IndicatorDraft) -> Self {
        let actor = Actor {
            name: String::new(),
            kind: ActorKind::System,
        };
        Self {
            id,
            draft,
            created_by: actor.clone(),
            created_at: 0,
            updated_by: actor,
            updated_at: 0,
            group_ids: Vec::new(),
            import_id: None,
        }
    }

    /// Whether the indicator is in force at `now`: it leaves the policy at its expiration second.
    pub fn is_active(&self, now: i64) -> bool {
        self.draft.expires_at.is_none_or(|at| now < at)
    }

    /// Whether a device in `group` is in scope.
    pub fn applies_to(&self, group: &str) -> bool {
        self.draft.groups.is_empty() || self.draft.groups.iter().any(|g| g == group)
    }
}
