//! What every Sigil binary does alike around its servers: where its log
//! lines go and which signals stop it. `ca-server`, `tlog-server` and
//! `sigil dev` call [`init_tracing`] first and pass [`shutdown_signal`] to
//! [`crate::serve`], so all three stop the same way on SIGTERM (container
//! runtimes, systemd) and SIGINT (Ctrl-C): no new connections, requests in
//! flight drained, then a clean exit.

use tracing_subscriber::EnvFilter;

/// Log lines on stdout, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
