//! What every Sigil binary does alike around its servers: where its log
//! lines go and which signals stop it. `ca-server`, `tlog-server` and
//! `sigil dev` call [`init_tracing`] and [`shutdown_signal`] first, run
//! their start-up through [`ShutdownSignal::unless_stopped`] and pass the
//! signal to [`crate::serve`], so all three stop the same way on SIGTERM
//! (container runtimes, systemd) and SIGINT (Ctrl-C): during start-up, at
//! once and with status 0; once serving, no new connections, requests in
//! flight drained, then a clean exit.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing_subscriber::EnvFilter;

/// Log lines on stdout, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// The stop signals, SIGTERM and SIGINT (Ctrl-C), listened for from the
/// moment [`shutdown_signal`] returns: one that arrives during start-up is
/// held, not left to the default action that would kill the process.
/// Completes when the first of them arrives.
pub struct ShutdownSignal(Pin<Box<dyn Future<Output = ()> + Send>>);

/// Installs the handlers for SIGTERM and SIGINT now. Call it first thing in
/// a binary's runtime (it needs one), run start-up through
/// [`ShutdownSignal::unless_stopped`], then hand it to [`crate::serve`].
pub fn shutdown_signal() -> ShutdownSignal {
    ShutdownSignal(Box::pin(stop_signals()))
}

impl ShutdownSignal {
    /// Runs `start_up` unless a stop signal comes first, in which case
    /// `start_up` is dropped where it stands and the answer is `None`.
    /// Start-up acknowledges nothing to anyone, so abandoning it loses
    /// nothing; a database transaction it had open is rolled back.
    pub async fn unless_stopped<F: Future>(&mut self, start_up: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            () = &mut self.0 => {
                tracing::info!("stopped during start-up");
                None
            }
            done = start_up => Some(done),
        }
    }
}

impl Future for ShutdownSignal {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// Registers both handlers before it is first polled (tokio's `ctrl_c()`
/// would register only then), and completes on the first signal.
#[cfg(unix)]
fn stop_signals() -> impl Future<Output = ()> + Send {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        tokio::select! {
            () = wait_for(term, "SIGTERM") => {}
            () = wait_for(int, "SIGINT") => {}
        }
        tracing::info!("shutting down");
    }
}

/// Waits for the signal `listener` listens for; forever if it could not
/// be installed (the other signal still stops the process).
#[cfg(unix)]
async fn wait_for(listener: std::io::Result<tokio::signal::unix::Signal>, name: &str) {
    match listener {
        Ok(mut listener) => {
            listener.recv().await;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for {name}");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(not(unix))]
fn stop_signals() -> impl Future<Output = ()> + Send {
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
