//! Times as the console shows them: relative ("5 min ago"), with the exact time in a
//! `<time datetime>` element and its `title`, so it is there on hover and for tools.

use maud::{Markup, html};
use netward_model::timestamp::{format_rfc3339, parse_rfc3339};

/// How long ago `then` was, seen at `now` (both Unix seconds), in words.
pub(super) fn ago_text(then: i64, now: i64) -> String {
    let d = now - then;
    if d < -60 {
        let ahead = -d;
        return match ahead {
            0..3_600 => format!("in {} min", (ahead + 30) / 60),
            3_600..86_400 => format!("in {} h", ahead / 3_600),
            _ => format!("in {} days", ahead / 86_400),
        };
    }
    let d = d.max(0);
    match d {
        0..45 => "just now".to_owned(),
        45..3_600 => format!("{} min ago", (d + 30) / 60),
        3_600..86_400 => format!("{} h ago", d / 3_600),
        86_400..172_800 => "yesterday".to_owned(),
        _ => format!("{} days ago", d / 86_400),
    }
}

/// An RFC 3339 time as a `<time>` element: relative text, exact on hover; the raw text when
/// it does not parse.
pub(super) fn time_ago(rfc3339: &str, now: i64) -> Markup {
    match parse_rfc3339(rfc3339) {
        Some(t) => html! {
            time datetime=(rfc3339) title=(rfc3339) { (ago_text(t, now)) }
        },
        None => html! { (rfc3339) },
    }
}

/// A time in Unix seconds as [`time_ago`] shows it.
pub(super) fn time_at(unix: i64, now: i64) -> Markup {
    time_ago(&format_rfc3339(unix), now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_person_would_say_them() {
        let now = 1_000_000;
        assert_eq!(ago_text(now - 10, now), "just now");
        assert_eq!(ago_text(now - 300, now), "5 min ago");
        assert_eq!(ago_text(now - 2 * 3_600 - 5, now), "2 h ago");
        assert_eq!(ago_text(now - 90_000, now), "yesterday");
        assert_eq!(ago_text(now - 3 * 86_400, now), "3 days ago");
        assert_eq!(ago_text(now + 600, now), "in 10 min");
        assert_eq!(ago_text(now + 7 * 86_400, now), "in 7 days");
        let m = time_ago("2026-12-02T01:00:00Z", 1_796_173_200).into_string();
        assert!(
            m.starts_with("<time datetime=\"2026-12-02T01:00:00Z\" title="),
            "{m}"
        );
    }
}
