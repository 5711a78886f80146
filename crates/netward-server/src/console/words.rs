//! Values as the console says them to people: statuses and reasons as words ("In progress",
//! "Indicator block"), severities as labelled badges, counts with their noun ("1 hit"), and
//! devices with their id beside the host name (two devices may share a name).

use maud::{Markup, html};
use netward_model::Severity;
use netward_model::detection::AlertStatus;

/// A status as a word.
pub(super) fn status_word(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::New => "New",
        AlertStatus::InProgress => "In progress",
        AlertStatus::Resolved => "Resolved",
    }
}

/// A snake_case name (`indicator_block`) as words (`Indicator block`).
pub(super) fn words(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut c = spaced.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A severity as a badge; its column header or `title` names it.
pub(super) fn severity_badge(s: Severity) -> Markup {
    html! {
        span class={ "badge sev-" (s.as_str().to_lowercase()) } title={ "Severity: " (s) } { (s) }
    }
}

/// A count of hits with its noun.
pub(super) fn hits(n: u64) -> String {
    if n == 1 {
        "1 hit".to_owned()
    } else {
        format!("{n} hits")
    }
}

/// A device: its host name, then its id.
pub(super) fn device(name: &str, id: &str) -> String {
    format!("{name} ({id})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_words() {
        assert_eq!(status_word(AlertStatus::InProgress), "In progress");
        assert_eq!(words("indicator_block"), "Indicator block");
        assert_eq!((hits(1).as_str(), hits(2).as_str()), ("1 hit", "2 hits"));
        assert_eq!(device("web-1", "7"), "web-1 (7)");
        let b = severity_badge(Severity::High).into_string();
        assert!(b.contains("sev-high") && b.contains(">High<"), "{b}");
    }
}
