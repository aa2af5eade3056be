//! Optional TLS on a listener (rustls, RFC 8446 / RFC 5246), from a PEM
//! certificate chain and private key that are read again on SIGHUP, so a
//! renewed certificate (ACME, cert-manager, an internal PKI) takes effect
//! without a restart or a dropped connection.
//!
//! # Contract
//! - Start-up fails if the files do not load: a server never runs with TLS
//!   silently off.
//! - A reload that fails (a half-written file, a key that does not match)
//!   is logged and changes nothing: the previous certificate stays in use.
//! - Connections already open keep the certificate they were made with; new
//!   ones get the newest.
//! - Only HTTP/1.1 is offered in ALPN, as the servers speak nothing else.
//! - Errors name the files, never their contents.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Where a listener's certificate chain and key live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificates, the server's own first, then its intermediates.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1) of the first certificate.
    pub key: PathBuf,
}

/// The acceptor in use, and where to reload it from.
pub(crate) struct TlsReloader {
    files: TlsFiles,
    current: RwLock<TlsAcceptor>,
}

impl TlsReloader {
    /// Loads the files once; fails if they do not make a usable config.
    pub(crate) fn load(files: TlsFiles) -> Result<Arc<Self>, String> {
        let acceptor = acceptor(&files)?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(acceptor),
        }))
    }

    /// The acceptor for a new connection (a cheap clone of an `Arc`).
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        // A poisoned lock only means a writer panicked between whole values.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the files again; on error the previous acceptor stays.
    pub(crate) fn reload(&self) -> Result<(), String> {
        let fresh = acceptor(&self.files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }
}

/// Reloads `reloader` on every SIGHUP until the task is aborted. The
/// handler is installed before this returns, so a SIGHUP sent once the
/// server answers can no longer take the process down (SIGHUP's default
/// action is to terminate).
#[cfg(unix)]
pub(crate) fn reload_on_sighup(reloader: Arc<TlsReloader>) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP; TLS files will not be reloaded");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match reloader.reload() {
                Ok(()) => tracing::info!(
                    cert = %reloader.files.cert.display(),
                    "SIGHUP: TLS certificate and key reloaded"
                ),
                Err(e) => tracing::error!(
                    error = %e,
                    "SIGHUP: TLS reload failed; still serving the previous certificate"
                ),
            }
        }
    }))
}

/// No SIGHUP off Unix: the files are read once.
#[cfg(not(unix))]
pub(crate) fn reload_on_sighup(_reloader: Arc<TlsReloader>) -> Option<tokio::task::JoinHandle<()>> {
    None
}

fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    let certs = read_certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("reading a private key from {}: {e}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS protocol versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "{} and {} do not make a TLS identity: {e}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading certificates from {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no CERTIFICATE", path.display()));
    }
    Ok(certs)
}
