//! One module per subcommand: each turns its arguments into a plan, runs it,
//! and reports an [`ExitStatus`].

pub mod export;
pub mod generate;
pub mod import;
pub mod template;
pub mod validate;

/// How a command ended, as the process exit code documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: every row valid (validate) or imported (import).
    Success,
    /// 1: at least one row invalid or failed.
    RowsFailed,
    /// 2: nothing was attempted (bad flags, unreadable file, no name column,
    /// bad mapping or config file, refused credentials).
    NothingAttempted,
    /// 130: interrupted by Ctrl-C or SIGTERM.
    Interrupted,
}

impl ExitStatus {
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
#[error("{0:#}")]
pub struct NothingAttempted(pub anyhow::Error);

/// The exit codes, for `--help`.
pub const EXIT_CODES: &str = "Exit codes: 0 every row valid/imported; 1 at least one row invalid or failed; \
2 nothing was attempted (bad flags, unreadable file, no name column, bad mapping or config, refused credentials); \
130 interrupted.";

/// Resolves on the first Ctrl-C (SIGINT) or SIGTERM.
pub async fn interrupted() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// A flag that turns true on Ctrl-C or SIGTERM, for commands without an
/// async runtime of their own. The handlers are in place when this returns;
/// a small thread waits for the signal.
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let set = std::sync::Arc::clone(&flag);
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return flag;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = {
            let _context = runtime.enter();
            (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            )
        };
        if let (Ok(mut interrupt), Ok(mut terminate)) = streams {
            let _ = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    runtime.block_on(async {
                        tokio::select! {
                            _ = interrupt.recv() => {}
                            _ = terminate.recv() => {}
                        }
                    });
                    set.store(true, std::sync::atomic::Ordering::Relaxed);
                });
        }
    }
    #[cfg(not(unix))]
    {
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                runtime.block_on(interrupted());
                set.store(true, std::sync::atomic::Ordering::Relaxed);
            });
    }
    flag
}
