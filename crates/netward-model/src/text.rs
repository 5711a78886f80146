//! Free text from clients and devices: what is refused on input, and how text that must be
//! kept whatever it holds (a process name, a command line) is shown on a terminal or in a log.
//!
//! A control character (C0, DEL, C1) or a bidirectional formatting character in a title, a
//! description or a device's host name can rewrite an admin's terminal (ESC sequences), split
//! a log line (newline), hide a C string's tail (NUL) or make text read in another order than
//! it is stored (bidi overrides). Fields people type are checked with [`check_line`] or
//! [`check_multiline`]; everything printed to a terminal or written to a log goes through
//! [`printable`].

use std::borrow::Cow;

use crate::FieldError;

/// Whether `c` may change how the text around it is shown: a control character, or a
/// bidirectional formatting character (embeddings, overrides, isolates, marks).
pub fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn refuse(field: &str, value: &str, allowed: &[char]) -> Result<(), FieldError> {
    match value
        .chars()
        .enumerate()
        .find(|(_, c)| is_hostile(*c) && !allowed.contains(c))
    {
        None => Ok(()),
        Some((at, c)) => Err(FieldError::new(
            field,
            format!(
                "holds the control character U+{:04X} at character {}; remove it",
                u32::from(c),
                at + 1
            ),
        )),
    }
}

/// Refuses `value` if it holds any control or bidi formatting character, newlines included.
pub fn check_line(field: &str, value: &str) -> Result<(), FieldError> {
    refuse(field, value, &[])
}

/// Refuses `value` if it holds a control or bidi formatting character other than a newline,
/// a carriage return or a tab.
pub fn check_multiline(field: &str, value: &str) -> Result<(), FieldError> {
    refuse(field, value, &['\n', '\r', '\t'])
}

/// Refuses `value` if it has more than `max` characters.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(())
}

/// A one-line field: at most `max` characters and no control character.
pub fn line(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    check_len(field, value, max)?;
    check_line(field, value)
}

/// A free-text field: at most `max` characters; newlines and tabs are the only control
/// characters it may hold.
pub fn multiline(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    check_len(field, value, max)?;
    check_multiline(field, value)
}

/// `text` with every hostile character written as an escape (`\u{1b}`), so that it prints as
/// what it is. Text without one is returned as it is.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hostile) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hostile(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A count with thousands separated by commas, as people read it: `201,009`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_nul_newlines_and_bidi_overrides_are_refused_and_named() {
        for (value, code) in [
            ("red\u{1b}[31mteam", "U+001B"),
            ("a\0b", "U+0000"),
            ("two\nlines", "U+000A"),
            ("txt.\u{202E}exe", "U+202E"),
            ("c1\u{9b}", "U+009B"),
        ] {
            let e = check_line("title", value).unwrap_err();
            assert_eq!(e.field, "title");
            assert!(e.message.contains(code), "{value:?}: {e}");
        }
        assert!(check_line("title", "Cobalt Strike C2 — ünïcode ok").is_ok());
        assert!(check_multiline("description", "line one\r\nline\ttwo").is_ok());
        assert!(check_multiline("description", "bell\u{7}").is_err());
    }

    #[test]
    fn printable_text_shows_every_hostile_character_as_an_escape() {
        assert_eq!(printable("plain"), Cow::Borrowed("plain"));
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\u{a}");
        assert_eq!(printable("x\u{202E}y"), "x\\u{202e}y");
        assert!(
            !printable("\u{0}\u{7f}\u{85}\u{2066}")
                .chars()
                .any(is_hostile)
        );
    }

    proptest::proptest! {
        #[test]
        fn printable_text_never_holds_a_hostile_character(s in "\\PC*|[\\x00-\\x1f\\u{80}-\\u{9f}\\u{202a}-\\u{202e}a]*") {
            proptest::prop_assert!(!printable(&s).chars().any(is_hostile));
            proptest::prop_assert!(check_multiline("f", &printable(&s)).is_ok());
        }
    }

    #[test]
    fn groups_digits_by_three() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (10_000, "10,000"),
            (201_009, "201,009"),
            (1_000_000, "1,000,000"),
        ] {
            assert_eq!(thousands(n), text);
        }
    }
}
