//! How a list is sorted in the store: a column from the list's own whitelist, and the way.
//! Each column names the SQL terms it sorts by (never text from a request), written once for
//! both backends; addresses sort by the numeric key stored beside them (family, then range),
//! so `100.64.0.2` comes before `100.64.0.10`.

/// A list's order: one of its sortable columns, ascending or descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort<C> {
    /// The column.
    pub column: C,
    /// Largest first.
    pub descending: bool,
}

/// A sortable column of a list: the SQL terms it sorts by, in the list's query.
pub trait SortColumn: Copy {
    /// The terms, most significant first.
    fn terms(self) -> &'static [&'static str];
}

/// ` ORDER BY …` for `sort`, ending with `tiebreak` (the same way) so that pages never
/// overlap; `default` (a whole order, with its tiebreak) without one. NULL sorts first
/// ascending, last descending, in both backends.
pub(crate) fn order_by<C: SortColumn>(
    sort: Option<Sort<C>>,
    default: &str,
    tiebreak: &str,
) -> String {
    let Some(sort) = sort else {
        return format!(" ORDER BY {default}");
    };
    let direction = if sort.descending {
        " DESC NULLS LAST"
    } else {
        " ASC NULLS FIRST"
    };
    let mut terms: Vec<String> = sort
        .column
        .terms()
        .iter()
        .map(|t| format!("{t}{direction}"))
        .collect();
    terms.push(format!("{tiebreak}{direction}"));
    format!(" ORDER BY {}", terms.join(", "))
}

/// The audit log's sortable columns. Its target is not one: it names indicators (addresses),
/// groups and tokens alike, and text order would misplace the addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditColumn {
    /// When.
    Time,
    /// Who (by name).
    Actor,
    /// What.
    Action,
}

impl SortColumn for AuditColumn {
    fn terms(self) -> &'static [&'static str] {
        match self {
            Self::Time => &["at"],
            Self::Actor => &["actor"],
            Self::Action => &["action"],
        }
    }
}

/// The alerts list's sortable columns (the query names alerts `a`, devices `d` and the
/// alert's indicator `ind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertColumn {
    /// Its title.
    Title,
    /// Its severity, by rank.
    Severity,
    /// Its triage status.
    Status,
    /// The device's host name.
    Device,
    /// The indicator, addresses as numbers.
    Indicator,
    /// Attempts.
    Hits,
    /// The last hit.
    LastHit,
}

impl SortColumn for AlertColumn {
    fn terms(self) -> &'static [&'static str] {
        match self {
            Self::Title => &["a.title"],
            Self::Severity => &[SEVERITY_RANK_A],
            Self::Status => &["a.status"],
            Self::Device => &["d.hostname"],
            Self::Indicator => &[
                "ind.family",
                "ind.range_start",
                "ind.range_end",
                "a.indicator_value",
            ],
            Self::Hits => &["a.hit_count"],
            Self::LastHit => &["a.last_ms"],
        }
    }
}

/// The incidents list's sortable columns (the query names incidents `i`, the indicator
/// `ind`, and its counts `alert_count`, `device_count` and `hit_count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentColumn {
    /// Its title.
    Title,
    /// Its severity, by rank.
    Severity,
    /// Its triage status.
    Status,
    /// The indicator, addresses as numbers.
    Indicator,
    /// Devices.
    Devices,
    /// Alerts.
    Alerts,
    /// Attempts.
    Hits,
    /// The last hit.
    LastHit,
}

impl SortColumn for IncidentColumn {
    fn terms(self) -> &'static [&'static str] {
        match self {
            Self::Title => &["i.title"],
            Self::Severity => &[SEVERITY_RANK_I],
            Self::Status => &["i.status"],
            Self::Indicator => &[
                "ind.family",
                "ind.range_start",
                "ind.range_end",
                "i.indicator_value",
            ],
            Self::Devices => &["device_count"],
            Self::Alerts => &["alert_count"],
            Self::Hits => &["hit_count"],
            Self::LastHit => &["i.last_ms"],
        }
    }
}

/// An alert's severity as a rank, lowest first.
const SEVERITY_RANK_A: &str = "(CASE a.severity WHEN 'Informational' THEN 0 \
    WHEN 'Low' THEN 1 WHEN 'Medium' THEN 2 WHEN 'High' THEN 3 END)";

/// An incident's severity as a rank, lowest first.
const SEVERITY_RANK_I: &str = "(CASE i.severity WHEN 'Informational' THEN 0 \
    WHEN 'Low' THEN 1 WHEN 'Medium' THEN 2 WHEN 'High' THEN 3 END)";

/// The join that [`AlertColumn::Indicator`] and [`IncidentColumn::Indicator`] sort by (the
/// indicator's address key), for the table aliased `alias`; an indicator deleted since sorts
/// by the value the alert kept.
pub(crate) fn indicator_join(alias: &str) -> String {
    format!(" LEFT JOIN indicators ind ON ind.id = {alias}.indicator_id")
}

/// The events list's sortable columns (the query names events `e` and devices `d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventColumn {
    /// The first attempt.
    Time,
    /// The device's host name.
    Device,
    /// Blocked, audited or allowed.
    Outcome,
    /// Why.
    Reason,
    /// The protocol.
    Protocol,
    /// The remote address, as a number (IPv4 first), then its port.
    Remote,
    /// Attempts.
    Count,
}

impl SortColumn for EventColumn {
    fn terms(self) -> &'static [&'static str] {
        match self {
            Self::Time => &["e.first_ms"],
            Self::Device => &["d.hostname"],
            Self::Outcome => &["e.outcome"],
            Self::Reason => &["e.reason"],
            Self::Protocol => &["e.protocol"],
            Self::Remote => &["e.remote_v6", "e.remote_key", "e.remote_port"],
            Self::Count => &["e.count"],
        }
    }
}

/// ` ORDER BY …` of an event query: by id when following, so that nothing stored later is
/// ever skipped; else by the column asked for, or by time.
pub(crate) fn event_order(q: &super::EventQuery) -> String {
    if q.after_id.is_some() {
        return " ORDER BY e.id ASC".to_owned();
    }
    let default = if q.ascending {
        "e.first_ms ASC, e.id ASC"
    } else {
        "e.first_ms DESC, e.id DESC"
    };
    order_by(q.order, default, "e.id")
}

/// One page of a short list (tokens, enrollment tokens, feeds), sorted in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListPage<C> {
    /// The order; the list's own without one.
    pub order: Option<Sort<C>>,
    /// Page size.
    pub top: usize,
    /// Rows to skip.
    pub skip: usize,
}

impl<C: SortColumn> ListPage<C> {
    /// ` ORDER BY … LIMIT … OFFSET …` (see [`order_by`]); the numbers are written out, not
    /// bound, so that every backend's tail reads alike.
    pub(crate) fn tail(&self, default: &str, tiebreak: &str) -> String {
        format!(
            "{} LIMIT {} OFFSET {}",
            order_by(self.order, default, tiebreak),
            self.top,
            self.skip
        )
    }
}

/// The API tokens' sortable columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenColumn {
    /// Its name.
    Name,
    /// Its role.
    Role,
    /// When it was made.
    Created,
    /// Live first, then by when it was revoked.
    State,
}

impl SortColumn for TokenColumn {
    fn terms(self) -> &'static [&'static str] {
        match self {
            Self::Name => &["name"],
            Self::Role => &["role"],
            Self::Created => &["created_at"],
            Self::State => &["revoked_at"],
        }
    }
}

/// The enrollment tokens' sortable columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollTokenColumn {
    /// The group its devices join.
    Group,
    /// When it was made.
    Created,
    /// When it expires.
    Expires,
    /// Devices it enrolled.
    Uses,
    /// Live first, then by when it was revoked.
    State,
}

impl SortColumn for EnrollTokenColumn {
    fn terms(self) -> &'static [&'static str] {
        match self {
            Self::Group => &["group_name"],
            Self::Created => &["created_at"],
            Self::Expires => &["expires_at"],
            Self::Uses => &["uses"],
            Self::State => &["revoked_at"],
        }
    }
}

/// The feeds' sortable columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedColumn {
    /// Its name.
    Name,
    /// Its kind.
    Kind,
    /// When it last ran (never first).
    LastRun,
}

impl SortColumn for FeedColumn {
    fn terms(self) -> &'static [&'static str] {
        match self {
            Self::Name => &["name"],
            Self::Kind => &["kind"],
            Self::LastRun => &["last_run_at"],
        }
    }
}

/// The hunting results' sortable columns (the query groups events `e` by device and
/// process `proc`, with the device `d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactColumn {
    /// The device's host name.
    Device,
    /// The process.
    Process,
    /// The first contact.
    First,
    /// The last contact.
    Last,
    /// Attempts.
    Hits,
}

impl SortColumn for ContactColumn {
    fn terms(self) -> &'static [&'static str] {
        match self {
            Self::Device => &["d.hostname"],
            Self::Process => &["proc"],
            Self::First => &["min(e.first_ms)"],
            Self::Last => &["max(e.last_ms)"],
            Self::Hits => &["sum(e.count)"],
        }
    }
}

/// ` ORDER BY … LIMIT … OFFSET …` of a hunt: first contact first without an order.
pub(crate) fn contact_tail(q: &super::EventQuery, order: Option<Sort<ContactColumn>>) -> String {
    format!(
        "{} LIMIT {} OFFSET {}",
        order_by(
            order,
            "min(e.first_ms), e.device_id, proc",
            "e.device_id, proc"
        ),
        q.top.max(1),
        q.skip
    )
}
