//! Plain-text tables for terminal output, and JSON printing.

use std::io::Write;

use netward_model::text::printable;
use serde::Serialize;

use crate::error::CliError;

/// Writes `text` to standard output. When the reader has gone away (`netward … | head`), the
/// process ends quietly instead of panicking on a broken pipe.
pub fn write_out(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`write_out`].
#[macro_export]
macro_rules! say {
    () => { $crate::table::write_out("\n") };
    ($($arg:tt)*) => { $crate::table::write_out(&format!("{}\n", format_args!($($arg)*))) };
}

/// Prints `headers` and `rows` as left-aligned columns.
pub fn print(headers: &[&str], rows: &[Vec<String>]) {
    write_out(&render(headers, rows));
}

/// A colour for a cell that states an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    /// Refused: blocked, an error, revoked.
    Red,
    /// Let through and recorded, or not yet done: audited, behind.
    Yellow,
    /// Allowed, in sync.
    Green,
}

impl Paint {
    /// `text` in this colour (escaped as in [`render`]).
    pub fn wrap(self, text: &str) -> String {
        format!("{}{}\u{1b}[0m", self.code(), printable(text))
    }

    fn code(self) -> &'static str {
        match self {
            Self::Red => "\u{1b}[31m",
            Self::Yellow => "\u{1b}[33m",
            Self::Green => "\u{1b}[32m",
        }
    }

    /// The colour of an outcome or action, by its first word: `blocked`/`block` red,
    /// `audited`/`audit` yellow, `allowed`/`allow` green.
    pub fn outcome(text: &str) -> Option<Self> {
        let word = text.split(|c: char| !c.is_ascii_alphabetic()).next()?;
        match word {
            "blocked" | "block" => Some(Self::Red),
            "audited" | "audit" => Some(Self::Yellow),
            "allowed" | "allow" => Some(Self::Green),
            _ => None,
        }
    }

    /// The colour of a device's sync state.
    pub fn sync(text: &str) -> Option<Self> {
        if text == "in sync" {
            Some(Self::Green)
        } else if text.starts_with("behind") {
            Some(Self::Yellow)
        } else if text.starts_with("error") || text == "revoked" {
            Some(Self::Red)
        } else {
            None
        }
    }
}

/// Whether tables are coloured: only on a terminal, never with `NO_COLOR` set (no-color.org);
/// `CLICOLOR_FORCE` (other than `0`) colours output that is not a terminal. JSON never is.
pub fn colour_enabled() -> bool {
    use std::io::IsTerminal;
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("NO_COLOR") {
        return false;
    }
    if set("CLICOLOR_FORCE") && std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
        return true;
    }
    std::io::stdout().is_terminal()
}

/// Prints a table whose column `column` is coloured by `paint`, when [`colour_enabled`].
pub fn print_painted(
    headers: &[&str],
    rows: &[Vec<String>],
    column: usize,
    paint: fn(&str) -> Option<Paint>,
) {
    if colour_enabled() {
        write_out(&render_painted(headers, rows, column, paint));
    } else {
        write_out(&render(headers, rows));
    }
}

/// [`render`], with the cells of `column` coloured by `paint` (the colour wraps the text, not
/// the padding, so the columns stay aligned).
pub fn render_painted(
    headers: &[&str],
    rows: &[Vec<String>],
    column: usize,
    paint: fn(&str) -> Option<Paint>,
) -> String {
    let plain = render(headers, rows);
    let mut out = String::with_capacity(plain.len());
    let mut lines = plain.lines();
    if let Some(header) = lines.next() {
        out.push_str(header);
        out.push('\n');
    }
    let starts = column_starts(headers, rows);
    for (line, row) in lines.zip(rows) {
        let (Some(cell), Some(start)) = (row.get(column), starts.get(column)) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let shown = printable(cell);
        let end = start + shown.chars().count();
        match paint(cell) {
            Some(p) if line.chars().count() >= end => {
                let chars: Vec<char> = line.chars().collect();
                let before: String = chars[..*start].iter().collect();
                let text: String = chars[*start..end].iter().collect();
                let after: String = chars[end..].iter().collect();
                out.push_str(&format!("{before}{}{text}\u{1b}[0m{after}", p.code()));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Where each column starts, in characters, in [`render`]'s layout.
fn column_starts(headers: &[&str], rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(printable(cell).chars().count());
        }
    }
    let mut starts = Vec::with_capacity(widths.len());
    let mut at = 0;
    for w in widths {
        starts.push(at);
        at += w + 2;
    }
    starts
}

/// Renders `headers` and `rows` as left-aligned columns separated by two spaces. Control and
/// bidi characters in a cell (a host name or a command line from a device) are shown as
/// escapes, so that no cell can move the cursor, recolour or rewrite the terminal.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| printable(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    let mut out = line(&mut headers.iter().copied());
    for row in &rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Prints `key: value` lines for one record, values escaped as in [`render`]; an action,
/// outcomes and a sync state are coloured as in tables, when [`colour_enabled`].
pub fn print_record(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let colour = colour_enabled();
    for (k, v) in fields {
        let paint = match *k {
            "action" | "outcomes" => Paint::outcome(v),
            "sync" => Paint::sync(v),
            _ => None,
        };
        match paint.filter(|_| colour) {
            Some(p) => crate::say!("{k:<width$}  {}", p.wrap(v)),
            None => crate::say!("{k:<width$}  {}", printable(v)),
        }
    }
}

/// Cells of one tab-separated line, escaped as in [`render`].
pub fn tab_line(cells: &[String]) -> String {
    cells
        .iter()
        .map(|c| printable(c))
        .collect::<Vec<_>>()
        .join("\t")
}

/// [`tab_line`], with the cell at `column` coloured by `paint` when `colour` is on.
pub fn tab_line_painted(
    cells: &[String],
    column: usize,
    paint: fn(&str) -> Option<Paint>,
    colour: bool,
) -> String {
    cells
        .iter()
        .enumerate()
        .map(|(i, c)| match paint(c).filter(|_| colour && i == column) {
            Some(p) => p.wrap(c),
            None => printable(c).into_owned(),
        })
        .collect::<Vec<_>>()
        .join("\t")
}

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Failed(format!("cannot render JSON: {e}")))?;
    crate::say!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_align() {
        let out = super::render(
            &["ID", "VALUE"],
            &[
                vec!["1".into(), "192.0.2.1".into()],
                vec!["10".into(), "x".into()],
            ],
        );
        assert_eq!(out, "ID  VALUE\n1   192.0.2.1\n10  x\n");
    }

    #[test]
    fn outcomes_are_coloured_without_moving_the_columns() {
        use super::Paint;
        let rows = vec![
            vec!["1".into(), "blocked".into(), "x".into()],
            vec!["2".into(), "audited".into(), "y".into()],
            vec!["3".into(), "other".into(), "z".into()],
        ];
        let out = super::render_painted(&["ID", "OUTCOME", "P"], &rows, 1, Paint::outcome);
        assert_eq!(
            out,
            "ID  OUTCOME  P\n1   \u{1b}[31mblocked\u{1b}[0m  x\n2   \u{1b}[33maudited\u{1b}[0m  y\n3   other    z\n"
        );
        assert_eq!(Paint::sync("in sync"), Some(Paint::Green));
        assert_eq!(Paint::sync("behind (3/4)"), Some(Paint::Yellow));
        assert_eq!(
            Paint::outcome("allowed (indicator_allow)"),
            Some(Paint::Green)
        );
    }

    #[test]
    fn a_cell_cannot_rewrite_the_terminal() {
        let out = super::render(
            &["HOST"],
            &[vec!["ep\u{1b}]0;owned\u{7}\u{1b}[2J\nFAKE".into()]],
        );
        assert_eq!(out, "HOST\nep\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{a}FAKE\n");
        assert_eq!(super::tab_line(&["a\tb".into(), "c".into()]), "a\\u{9}b\tc");
    }
}
