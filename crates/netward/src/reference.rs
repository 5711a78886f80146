//! `netward completions <shell>` and `netward man`: the shell completion scripts and the roff
//! manual page, both generated from the argument definitions so they never drift from them.
//! The Debian package runs these at build time (`./dev package`).

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::Cli;

/// Writes the completion script for `shell` to `out`. The script is built in memory first:
/// clap_complete panics on a failed write (a closed pipe, say), this returns the error.
pub fn write_completions(shell: Shell, out: &mut impl Write) -> std::io::Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "netward", &mut script);
    out.write_all(&script)
}

/// Writes the manual page `netward(1)`, in roff, to `out`.
pub fn write_man_page(out: &mut impl Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_completion_names_the_subcommands() {
        let mut out = Vec::new();
        write_completions(Shell::Bash, &mut out).unwrap();
        let script = String::from_utf8(out).unwrap();
        assert!(script.contains("_netward()"), "{script}");
        assert!(script.contains("indicator"));
    }

    #[test]
    fn man_page_is_roff_with_the_subcommands() {
        let mut out = Vec::new();
        write_man_page(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.starts_with(".ie"), "{}", &page[..80]);
        assert!(page.contains(".TH netward 1"), "{page}");
        assert!(page.contains("indicator"));
    }
}
