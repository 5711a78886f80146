//! The threat-intel kinds: TAXII 2.1 (STIX 2.1 indicators), static MISP feeds and the MISP
//! API. The feed core calls [`pull`] for every kind where [`FeedKind::is_intel`] holds.

use super::{FeedKind, Pull, PullError, Source, Validators};

/// What the previous good pull left for this one to resume from.
#[derive(Debug, Clone, Default)]
pub struct PullState {
    pub validators: Validators,
    /// The cursor the previous pull returned ([`Pull::cursor`]).
    pub cursor: Option<String>,
}

/// Fetches a feed of an intel `kind` from `source` with `client` (built by the core with the
/// feed's CA certificate; credentials are in `source`).
pub async fn pull(
    kind: FeedKind,
    client: &reqwest::Client,
    source: &Source,
    state: &PullState,
) -> Result<Pull, PullError> {
    let _ = (client, state);
    Err(PullError::Format {
        url: source.url.clone(),
        reason: format!("feeds of kind {kind} are not read yet"),
    })
}

/// The most characters a comment or a quoted entry keeps.
pub(crate) const MAX_TEXT: usize = 200;

/// `text` cut to [`MAX_TEXT`] characters, with `…` where it was cut.
pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_TEXT - 1).collect();
    cut.push('…');
    cut
}

/// `text` on one line (runs of white space, line ends among them, become one space),
/// shortened.
pub(crate) fn one_line(text: &str) -> String {
    shorten(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_to_one_short_line() {
        assert_eq!(one_line("  a\n\tb  c \r\n"), "a b c");
        let long = "é".repeat(MAX_TEXT + 5);
        let cut = shorten(&long);
        assert_eq!(cut.chars().count(), MAX_TEXT);
        assert!(cut.ends_with("é…"));
        let exact = "é".repeat(MAX_TEXT);
        assert_eq!(shorten(&exact), exact);
    }
}
