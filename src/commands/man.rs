//! `man`: the manual pages, rendered by clap_mangen from the same clap
//! definitions as `--help`, with the exit codes from [`EXIT_CODES`] and the
//! environment the commands read.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap_mangen::Man;

use super::{ExitStatus, EXIT_CODES};

/// Flags of `product-import man`.
#[derive(Debug, Clone, clap::Args)]
pub struct ManArgs {
    /// Write product-import.1 and one page per command (product-import-import.1, ...)
    /// into this folder, instead of printing the main page to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The variables the commands read, for the main page's ENVIRONMENT section.
const ENVIRONMENT: [(&str, &str); 8] = [
    (
        "TFSO_CLIENT_ID",
        "The API application's client id, for import and export (with TFSO_CLIENT_SECRET \
         and TFSO_ORGANIZATION_ID).",
    ),
    ("TFSO_CLIENT_SECRET", "The API application's client secret."),
    (
        "TFSO_ORGANIZATION_ID",
        "The organization the application is connected to.",
    ),
    (
        "TFSO_ACCESS_TOKEN",
        "A ready bearer token, used instead of the three above and never refreshed.",
    ),
    (
        "FEED_AUTHORIZATION",
        "The whole Authorization header value sent when downloading a feed.",
    ),
    (
        "FEED_USER",
        "With FEED_PASSWORD, basic authentication for a feed.",
    ),
    ("FEED_PASSWORD", "The feed's password."),
    ("NO_COLOR", "When set, the progress line is not coloured."),
];

/// Prints the main page, or writes every page into `--dir`.
pub fn run(args: &ManArgs, cli: clap::Command, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match &args.dir {
        None => out.write_all(&pages(cli)?.swap_remove(0).1)?,
        Some(dir) => {
            for (name, page) in pages(cli)? {
                let path = dir.join(name);
                std::fs::write(&path, page)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                writeln!(out, "{}", path.display())?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// Every page as (file name, roff): the main page first, then one per
/// visible command.
pub fn pages(cli: clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cli = cli.disable_help_subcommand(true);
    cli.build();
    let mut pages = vec![page(&cli, true)?];
    for command in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
        pages.push(page(command, false)?);
    }
    Ok(pages)
}

/// One page: clap_mangen's sections, then [`closing_sections`].
fn page(command: &clap::Command, main: bool) -> std::io::Result<(String, Vec<u8>)> {
    let man = Man::new(command.clone()).manual("product-import");
    let mut roff = Vec::new();
    man.render_title(&mut roff)?;
    man.render_name_section(&mut roff)?;
    man.render_synopsis_section(&mut roff)?;
    man.render_description_section(&mut roff)?;
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut roff)?;
    }
    if command.get_subcommands().any(|c| !c.is_hide_set()) {
        man.render_subcommands_section(&mut roff)?;
    }
    roff.extend_from_slice(closing_sections(command, main).as_bytes());
    if command.get_version().is_some() {
        man.render_version_section(&mut roff)?;
    }
    Ok((man.get_filename(), without_repeated_preamble(roff)))
}

/// On the main page the exit codes and the environment; on a command's page
/// the text after its options (as NOTES) and a pointer to the main page.
fn closing_sections(command: &clap::Command, main: bool) -> String {
    let mut roff = String::new();
    if main {
        roff.push_str(".SH \"EXIT STATUS\"\n");
        for doc in EXIT_CODES {
            roff.push_str(&format!(
                ".TP\n{}\n{}",
                doc.status.code(),
                text(doc.meaning)
            ));
        }
        roff.push_str(".SH ENVIRONMENT\n");
        for (name, meaning) in ENVIRONMENT {
            roff.push_str(&format!(".TP\n.B {name}\n{}", text(meaning)));
        }
        return roff;
    }
    if let Some(notes) = command.get_after_long_help().or(command.get_after_help()) {
        roff.push_str(&format!(
            ".SH NOTES\n.nf\n{}.fi\n",
            text(&notes.to_string())
        ));
    }
    roff.push_str(".SH \"SEE ALSO\"\nproduct\\-import(1): the exit codes and the environment\n");
    roff
}

/// Each section clap_mangen renders on its own starts with the same two
/// lines of preamble; the page needs them once.
fn without_repeated_preamble(roff: Vec<u8>) -> Vec<u8> {
    const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let text = String::from_utf8_lossy(&roff);
    match text.split_once(PREAMBLE) {
        Some((before, rest)) => {
            format!("{before}{PREAMBLE}{}", rest.replace(PREAMBLE, "")).into_bytes()
        }
        None => roff,
    }
}

/// Plain text as roff: backslashes and hyphens escaped, and no line taken
/// for a request.
fn text(plain: &str) -> String {
    plain
        .lines()
        .map(|line| format!("\\&{}\n", line.replace('\\', "\\e").replace('-', "\\-")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_what_roff_would_read_as_markup() {
        assert_eq!(text(".dot\n--flag a\\b"), "\\&.dot\n\\&\\-\\-flag a\\eb\n");
    }
}
