//! Timestamps are Unix seconds (`i64`) inside netward and RFC 3339 on the wire. MDE expires an
//! indicator "at the seconds value", so sub-second digits are dropped on input.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 time (any number of fraction digits, any offset) into Unix seconds.
pub fn parse_rfc3339(input: &str) -> Option<i64> {
    OffsetDateTime::parse(input.trim(), &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Formats Unix seconds as RFC 3339 in UTC, e.g. `2026-11-27T22:10:13Z`.
pub fn format_rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mde_csv_times_parse_to_the_second() {
        assert_eq!(
            parse_rfc3339("2018-09-16T12:11:06.2446367Z"),
            Some(1_537_099_866)
        );
        assert_eq!(
            parse_rfc3339("2018-09-16T14:11:06+02:00"),
            Some(1_537_099_866)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(format_rfc3339(1_537_099_866), "2018-09-16T12:11:06Z");
    }
}
