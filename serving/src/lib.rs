//! How Sigil's servers (`ca-server`, `tlog-server`, `sigil dev`) take
//! connections, so that slow or numerous clients cannot hold them hostage
//! (docs/design.md, "Connections"): HTTP/1.1 through hyper with
//! - a **connection limit**: beyond it, new connections wait in the
//!   kernel's accept queue until one closes;
//! - a **header-read timeout**: a client that does not send a whole request
//!   head in time, including on an idle keep-alive connection, is
//!   disconnected (slowloris);
//! - a **request-body timeout**: a body that stalls fails its request with
//!   408 (see [`stalled_body`]);
//! - a **per-client rate limit** (see [`rate_limit`]): 429 + Retry-After;
//! - optional **TLS** (see [`tls`]): rustls, certificate and key files
//!   reloaded on SIGHUP;
//! - **graceful shutdown**: on the shutdown signal no new connection is
//!   accepted, requests in flight finish, and connections still open after
//!   the drain period are dropped.
//!
//! [`startup`] is the rest of what every binary does alike: its logs and
//! its stop signals; [`metrics`], the request metrics both servers export.
//!
//! Handlers may read the peer address as `ConnectInfo<SocketAddr>`, as
//! with axum's own `into_make_service_with_connect_info`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;
use tower_http::timeout::RequestBodyTimeoutLayer;

pub mod metrics;
mod rate_limit;
mod stalled_body;
pub mod startup;
pub mod tls;

/// Connection limits and timeouts; the same flags on every binary.
#[derive(Clone, Debug, clap::Args)]
pub struct ConnectionLimits {
    /// Most connections served at once; more wait to be accepted.
    #[arg(long, env = "SIGIL_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's head (request line and
    /// headers), and that an idle keep-alive connection stays open.
    #[arg(long, env = "SIGIL_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may stall before the request fails.
    #[arg(long, env = "SIGIL_REQUEST_BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub request_body_timeout_secs: u64,
    /// Seconds requests in flight get to finish at shutdown.
    #[arg(long, env = "SIGIL_SHUTDOWN_DRAIN_SECS", default_value_t = 10)]
    pub shutdown_drain_secs: u64,
    /// Requests per second one client IP may make (0: no limit); beyond it,
    /// 429 with Retry-After.
    #[arg(long, env = "SIGIL_RATE_LIMIT_PER_IP", default_value_t = 20_000)]
    pub rate_limit_per_ip: u32,
    /// Requests one client IP may make in a burst above its rate.
    #[arg(long, env = "SIGIL_RATE_LIMIT_BURST", default_value_t = 40_000)]
    pub rate_limit_burst: u32,
    /// Behind a reverse proxy: the header holding the client's address
    /// (e.g. X-Forwarded-For, first value). Only if the proxy sets it.
    #[arg(long, env = "SIGIL_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (server certificate
    /// first); needs --tls-key. Both files are read again on SIGHUP.
    #[arg(long, env = "SIGIL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, SEC1 or PKCS#1).
    #[arg(long, env = "SIGIL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

impl ConnectionLimits {
    /// The TLS files, when both are set.
    pub fn tls_files(&self) -> Option<tls::TlsFiles> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        }
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_read_timeout_secs: 10,
            request_body_timeout_secs: 30,
            shutdown_drain_secs: 10,
            rate_limit_per_ip: 20_000,
            rate_limit_burst: 40_000,
            client_ip_header: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains.
/// Fails only if accepting connections fails for good.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut router = router
        .layer(axum::middleware::from_fn(stalled_body::answer_408))
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            limits.request_body_timeout_secs,
        )));
    let limiter = rate_limit::IpLimiter::new(
        limits.rate_limit_per_ip,
        limits.rate_limit_burst,
        limits.client_ip_header.as_deref(),
    )
    .map_err(std::io::Error::other)?
    .map(Arc::new);
    let janitor = limiter.clone().map(|limiter| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                limiter.forget_idle();
            }
        })
    });
    if let Some(limiter) = limiter {
        router = router.layer(axum::middleware::from_fn_with_state(
            limiter,
            rate_limit::limit,
        ));
    }
    let tls = limits
        .tls_files()
        .map(tls::TlsReloader::load)
        .transpose()
        .map_err(std::io::Error::other)?;
    let sighup = tls.clone().and_then(tls::reload_on_sighup);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let header_timeout = Duration::from_secs(limits.header_read_timeout_secs.max(1));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // Take a permit before accepting: at the limit, connections wait in
        // the accept queue rather than being accepted and starved.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed.
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off, retry.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
        let service = TowerToHyperService::new(service);
        let watcher = graceful.watcher();
        let acceptor = tls.as_ref().map(|tls| tls.acceptor());
        tokio::spawn(async move {
            let served = match acceptor {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                // The handshake counts against the header-read timeout: a
                // client that never finishes it is dropped like a slow one.
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(stream), service))
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(peer = %peer, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(peer = %peer, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    // Close the socket now, not after the drain: a new connection is then
    // refused at once (a load balancer retries it elsewhere) instead of
    // waiting in the accept queue for a server that will never take it.
    drop(listener);
    if let Some(janitor) = janitor {
        janitor.abort();
    }
    if let Some(sighup) = sighup {
        sighup.abort();
    }
    let drain = Duration::from_secs(limits.shutdown_drain_secs);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?drain,
            "connections still open after the drain period; dropping them"
        );
    }
    Ok(())
}

/// The peer address type handlers extract.
pub type PeerAddr = ConnectInfo<SocketAddr>;

#[cfg(test)]
mod tests;
