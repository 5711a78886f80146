//! Value parsers for arguments: a value the model has a type for is checked when the command
//! line is parsed, so a typo (`--action blok`) is a usage error (exit 2) that lists the
//! choices, and nothing is sent. Times take RFC 3339 or a duration relative to now (`7d`,
//! `12h`, `30m`, `45s`, `2w`), resolved when the command runs.

use netward_model::detection::{AlertStatus, Classification, Determination, Outcome};
use netward_model::timestamp::{format_rfc3339, parse_rfc3339};
use netward_model::{Coverage, MdeAction, ProtectionMode, Role, Severity};

/// An action: `allow`, `audit`, `block`, or MDE's names.
pub fn action(raw: &str) -> Result<MdeAction, String> {
    MdeAction::parse(raw).map_err(|e| e.to_string())
}

/// A severity.
pub fn severity(raw: &str) -> Result<Severity, String> {
    Severity::parse(raw)
        .ok_or_else(|| format!("`{raw}` is not a severity; use Informational, Low, Medium or High"))
}

/// A protection mode.
pub fn mode(raw: &str) -> Result<ProtectionMode, String> {
    ProtectionMode::parse(raw)
        .ok_or_else(|| format!("`{raw}` is not a mode; use off, audit or block"))
}

/// A protocol coverage.
pub fn coverage(raw: &str) -> Result<Coverage, String> {
    Coverage::parse(raw).ok_or_else(|| format!("`{raw}` is not a coverage; use all or tcp"))
}

/// A token role.
pub fn role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).ok_or_else(|| format!("`{raw}` is not a role; use viewer, analyst or admin"))
}

/// An alert or incident status.
pub fn status(raw: &str) -> Result<AlertStatus, String> {
    AlertStatus::parse(raw)
        .ok_or_else(|| format!("`{raw}` is not a status; use new, inProgress or resolved"))
}

/// An alert classification (MDE's names).
pub fn classification(raw: &str) -> Result<Classification, String> {
    Classification::parse(raw).ok_or_else(|| {
        format!("`{raw}` is not a classification; use TruePositive, InformationalExpectedActivity or FalsePositive")
    })
}

/// An alert determination (MDE's names); the server checks that it fits the classification.
pub fn determination(raw: &str) -> Result<Determination, String> {
    Determination::parse(raw).ok_or_else(|| {
        let all: Vec<&str> = Determination::ALL.iter().map(|d| d.as_str()).collect();
        format!(
            "`{raw}` is not a determination; use one of {}",
            all.join(", ")
        )
    })
}

/// An event outcome.
pub fn outcome(raw: &str) -> Result<Outcome, String> {
    Outcome::parse(raw)
        .ok_or_else(|| format!("`{raw}` is not an outcome; use blocked, audited or allowed"))
}

/// A time: an absolute instant, or a duration counted from now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeArg {
    /// Unix seconds.
    At(i64),
    /// Seconds from now (forwards for an expiry, backwards for `--from`).
    In(i64),
}

impl TimeArg {
    /// The instant `self` names when it is a time to come (`--expires 7d`), as RFC 3339.
    pub fn ahead_of(self, now: i64) -> String {
        match self {
            Self::At(at) => format_rfc3339(at),
            Self::In(secs) => format_rfc3339(now.saturating_add(secs)),
        }
    }

    /// The instant `self` names when it is a time past (`--from 1h`), as RFC 3339.
    pub fn before(self, now: i64) -> String {
        match self {
            Self::At(at) => format_rfc3339(at),
            Self::In(secs) => format_rfc3339(now.saturating_sub(secs)),
        }
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// An RFC 3339 time, or a duration: a number and a unit, `s`, `m`, `h`, `d` or `w`.
pub fn time(raw: &str) -> Result<TimeArg, String> {
    let raw = raw.trim();
    if let Some(at) = parse_rfc3339(raw) {
        return Ok(TimeArg::At(at));
    }
    let bad = || {
        format!(
            "`{raw}` is neither an RFC 3339 time (2030-01-31T00:00:00Z) nor a duration such as 30m, 12h, 7d or 2w"
        )
    };
    let unit_at = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = raw.split_at(unit_at);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale)
        .filter(|s| *s > 0)
        .map(TimeArg::In)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_instants_parse() {
        assert_eq!(time("7d"), Ok(TimeArg::In(7 * 86_400)));
        assert_eq!(time("12h"), Ok(TimeArg::In(43_200)));
        assert_eq!(time("30m"), Ok(TimeArg::In(1_800)));
        assert_eq!(time("2030-01-31T00:00:00Z"), Ok(TimeArg::At(1_896_048_000)));
        for bad in [
            "",
            "7",
            "d",
            "7y",
            "-1h",
            "0h",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(time(bad).is_err(), "{bad}");
        }
        assert_eq!(TimeArg::In(3_600).ahead_of(0), "1970-01-01T01:00:00Z");
        assert_eq!(TimeArg::In(3_600).before(7_200), "1970-01-01T01:00:00Z");
    }

    #[test]
    fn unknown_names_list_the_choices() {
        assert!(action("blok").unwrap_err().contains("Block"));
        assert!(severity("urgent").unwrap_err().contains("High"));
        assert!(coverage("udp").unwrap_err().contains("tcp"));
        assert_eq!(status("INPROGRESS"), Ok(AlertStatus::InProgress));
    }
}
