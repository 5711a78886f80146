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

/// Prints `key: value` lines for one record, values escaped as in [`render`].
pub fn print_record(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in fields {
        crate::say!("{k:<width$}  {}", printable(v));
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

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Usage(format!("cannot render JSON: {e}")))?;
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
    fn a_cell_cannot_rewrite_the_terminal() {
        let out = super::render(
            &["HOST"],
            &[vec!["ep\u{1b}]0;owned\u{7}\u{1b}[2J\nFAKE".into()]],
        );
        assert_eq!(out, "HOST\nep\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{a}FAKE\n");
        assert_eq!(super::tab_line(&["a\tb".into(), "c".into()]), "a\\u{9}b\tc");
    }
}
