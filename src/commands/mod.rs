//! One module per subcommand: each turns its arguments into a plan, runs it,
//! and reports an [`ExitStatus`].

pub mod export;
pub mod generate;
pub mod import;
pub mod man;
pub mod sandbox;
pub mod status;
pub mod template;
pub mod validate;

use crate::results::{RunOutcome, Tally};

/// How a command ended, as the process exit code documents it. The
/// discriminant is the code; what each means is written once, in
/// [`EXIT_CODES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// Every row went through.
    Success = 0,
    /// Some rows did not, or the run stopped part way.
    RowsFailed = 1,
    /// Nothing was attempted.
    NothingAttempted = 2,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted = 130,
}

impl ExitStatus {
    /// The status of a run that ended with `outcome` after counting `tally`:
    /// the one rule `validate` and `import` share.
    pub fn after(outcome: RunOutcome, tally: &Tally) -> ExitStatus {
        match outcome {
            RunOutcome::Interrupted => ExitStatus::Interrupted,
            RunOutcome::Stopped => ExitStatus::RowsFailed,
            RunOutcome::Completed if tally.has_problems() => ExitStatus::RowsFailed,
            RunOutcome::Completed => ExitStatus::Success,
        }
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// One exit code as the user reads it: what it means, and what to do.
#[derive(Debug, Clone, Copy)]
pub struct ExitCodeDoc {
    /// The status whose code this is.
    pub status: ExitStatus,
    /// What the code means, for `--help`, the man page and the guide.
    pub meaning: &'static str,
    /// What to do about it (an operator's alert, a next step).
    pub action: &'static str,
}

/// Every exit code, in order: the one place they are written. `--help` and
/// the man page print them from here, and a test checks that the guide's
/// table (docs/usage.md) is this one.
pub const EXIT_CODES: [ExitCodeDoc; 4] = [
    ExitCodeDoc {
        status: ExitStatus::Success,
        meaning: "every row valid (validate) or imported: created, updated or skipped (import); \
                  with --if-changed, an input unchanged since the last successful run",
        action: "nothing",
    },
    ExitCodeDoc {
        status: ExitStatus::RowsFailed,
        meaning: "at least one row invalid or failed, or a deactivation failed (--missing deactivate); \
                  or the run stopped part way (input unreadable part way, an output that cannot be \
                  written, credentials refused mid-run): the summary's error says why",
        action: "read the results or rejects file; after a stop, run again with --resume",
    },
    ExitCodeDoc {
        status: ExitStatus::NothingAttempted,
        meaning: "nothing was attempted: bad flags, an unreadable or binary file, a workbook over a \
                  size limit, a feed that could not be downloaded, no name column, a bad mapping or \
                  config file, missing or refused credentials, outputs on one path, another run \
                  holding the results file or the same input, --resume with a different input, a \
                  guard (--min-rows, --max-invalid, --max-missing)",
        action: "fix what the message names; for a nightly job, alert someone: the catalogue was \
                 not updated",
    },
    ExitCodeDoc {
        status: ExitStatus::Interrupted,
        meaning: "interrupted by Ctrl-C or SIGTERM (a service manager's stop or timeout)",
        action: "run again with --resume",
    },
];

/// The exit codes as `--help` shows them, after the options: each meaning
/// wrapped at 100 columns under its code.
pub fn exit_codes_help() -> String {
    const WIDTH: usize = 100;
    const INDENT: &str = "       ";
    let mut text = String::from("Exit codes:");
    for doc in EXIT_CODES {
        let mut line = format!("  {:<4} ", doc.status.code());
        for word in doc.meaning.split_whitespace() {
            if line.len() + word.len() >= WIDTH && line.len() > INDENT.len() {
                text.push('\n');
                text.push_str(line.trim_end());
                line = INDENT.to_string();
            }
            line.push_str(word);
            line.push(' ');
        }
        text.push('\n');
        text.push_str(line.trim_end());
    }
    text
}

/// The exit codes as the guide's Markdown table.
pub fn exit_codes_markdown() -> String {
    let mut text = String::from("| code | means | what to do |\n|---|---|---|\n");
    for doc in EXIT_CODES {
        text.push_str(&format!(
            "| {} | {} | {} |\n",
            doc.status.code(),
            doc.meaning,
            doc.action
        ));
    }
    text
}

/// An error that means nothing was attempted (exit 2), printed as it is.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::log::error_text(&*self.0))]
pub(crate) struct NothingAttempted(pub anyhow::Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_documented_once_in_code_order() {
        let codes: Vec<u8> = EXIT_CODES.iter().map(|d| d.status.code()).collect();
        assert_eq!(codes, [0, 1, 2, 130]);
        for status in [
            ExitStatus::Success,
            ExitStatus::RowsFailed,
            ExitStatus::NothingAttempted,
            ExitStatus::Interrupted,
        ] {
            let docs = EXIT_CODES.iter().filter(|d| d.status == status).count();
            assert_eq!(docs, 1, "{status:?}");
        }
    }
}
