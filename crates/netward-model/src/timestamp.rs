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

/// Formats Unix milliseconds as RFC 3339 in UTC with milliseconds, e.g.
/// `2026-11-27T22:10:13.042Z`.
pub fn format_rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            )
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Parses an RFC 3339 time into Unix milliseconds.
pub fn parse_rfc3339_ms(input: &str) -> Option<i64> {
    OffsetDateTime::parse(input.trim(), &Rfc3339)
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
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
        assert_eq!(
            format_rfc3339_ms(1_537_099_866_042),
            "2018-09-16T12:11:06.042Z"
        );
        assert_eq!(
            parse_rfc3339_ms("2018-09-16T12:11:06.042Z"),
            Some(1_537_099_866_042)
        );
    }
}
