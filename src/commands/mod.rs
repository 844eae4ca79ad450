//! One module per subcommand: each turns its arguments into a plan, runs it,
//! and reports an [`ExitStatus`].

pub mod export;
pub mod generate;
pub mod import;
pub mod status;
pub mod template;
pub mod validate;

use crate::results::{RunOutcome, Tally};

/// How a command ended, as the process exit code documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: every row valid (validate) or imported (import).
    Success,
    /// 1: at least one row invalid or failed.
    RowsFailed,
    /// 2: nothing was attempted (bad flags, unreadable file or feed, no name
    /// column, bad mapping or config file, refused credentials, a guard).
    NothingAttempted,
    /// 130: interrupted by Ctrl-C or SIGTERM.
    Interrupted,
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
        match self {
            ExitStatus::Success => 0,
            ExitStatus::RowsFailed => 1,
            ExitStatus::NothingAttempted => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

/// An error that means nothing was attempted (exit 2), printed as it is.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::log::error_text(&*self.0))]
pub(crate) struct NothingAttempted(pub anyhow::Error);

/// The exit codes, for `--help`.
pub const EXIT_CODES: &str = "Exit codes: 0 every row valid/imported (or, with --if-changed, the input unchanged); \
1 at least one row invalid or failed, or the run stopped part way; \
2 nothing was attempted (bad flags, unreadable file or feed, no name column, bad mapping or config, refused credentials, \
a guard: --min-rows, --max-invalid, --max-missing); 130 interrupted.";
