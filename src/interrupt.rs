//! Ctrl-C and SIGTERM: a future for async commands and a flag for the
//! blocking ones. What a stop means for a run is decided by the command.

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
