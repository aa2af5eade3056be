//! Sigil's Fulcio-compatible certificate authority (docs/fulcio-wire.md): OIDC
//! identity tokens in, 10-minute code-signing certificates with one embedded
//! SCT out. `Ca` is the embeddable service (`sigil dev` mounts its router);
//! the `ca-server` binary is a thin wrapper around it.

#![forbid(unsafe_code)]

pub mod ca;
pub mod challenge;
pub mod config;
pub mod ct_client;
#[doc(hidden)]
pub mod fuzzing;
mod http;
pub mod identity;
pub mod oidc;
pub mod tsa;
pub mod x509;

use std::sync::Arc;

use anyhow::Context;

pub use config::{load_issuer_config, parse_issuer_config, ConfigError};
pub use config::{IssuerType, OidcIssuerConfig};
pub use http::subject_limit::DEFAULT_CERTS_PER_SUBJECT_PER_SEC;
pub use http::ApiError;

use ca::{CaChain, CaSigner, IssuingCa};
use shared::keys::PublicKey;

/// Everything `Ca::new` needs.
#[derive(Clone, Debug)]
pub struct CaConfig {
    /// The issuing CA key (any backend: file, PKCS#11, ephemeral).
    pub signer: Arc<dyn CaSigner>,
    /// DER certificates, issuing CA first, root last (root-only: one cert).
    pub chain_der: Vec<Vec<u8>>,
    /// Base URL of the RFC 6962 log, e.g. "http://localhost:3000".
    pub ct_log_url: String,
    /// PEM CA certificates for an `https` CT log URL; when set, only these
    /// are trusted for it (a private PKI), not the built-in roots.
    pub ct_log_ca_pem: Option<String>,
    /// When set, every SCT must verify against this key before a certificate is returned.
    pub ct_log_public_key: Option<PublicKey>,
    pub issuers: Vec<OidcIssuerConfig>,
    /// An RFC 3161 time-stamp authority served beside the CA (`/api/v1/timestamp`).
    pub tsa: Option<tsa::TsaConfig>,
    /// Certificates per second one identity (issuer, subject) may get; 0:
    /// no limit. See `DEFAULT_CERTS_PER_SUBJECT_PER_SEC`.
    pub certs_per_subject_per_sec: u32,
}

/// A configured CA, ready to serve.
#[derive(Clone)]
pub struct Ca {
    state: Arc<http::State>,
}

impl Ca {
    /// Checks the chain against the key (see `ca::CaChain::new`) and the
    /// issuer list, and prepares the HTTP clients. Makes no network calls:
    /// OIDC keys are fetched on first use.
    pub async fn new(config: CaConfig) -> anyhow::Result<Self> {
        let signer: Arc<dyn CaSigner> = config.signer;
        let chain = CaChain::new(&config.chain_der, &signer.public_spki_der())
            .context("invalid CA chain")?;
        if config.ct_log_url.trim().is_empty() {
            anyhow::bail!("a CT log URL is required: certificates carry an embedded SCT");
        }
        config::check_issuers(&config.issuers, false)?;
        let ct_log =
            ct_client::CtLogClient::new(&config.ct_log_url, config.ct_log_ca_pem.as_deref())
                .context("building the CT log client")?;
        let tsa = match config.tsa {
            Some(tsa) => Some(Arc::new(
                tsa::TimestampAuthority::new(tsa).context("invalid time-stamp authority")?,
            )),
            None => None,
        };
        let pool = oidc::IssuerPool::new(&config.issuers).context("building the OIDC client")?;
        let chain_pems = chain
            .certificates
            .iter()
            .map(|der| http::pem("CERTIFICATE", der))
            .collect();
        let state = http::State {
            pool,
            ca: IssuingCa::new(signer, chain, ct_log, config.ct_log_public_key),
            issuers: config.issuers,
            chain_pems,
            tsa,
            subject_limit: http::subject_limit::SubjectLimiter::new(
                config.certs_per_subject_per_sec,
            ),
            metrics: Arc::new(http::metrics::Metrics::new()),
        };
        Ok(Self {
            state: Arc::new(state),
        })
    }

    /// All endpoints (`/api/v2/signingCert`, `/api/v2/trustBundle`,
    /// `/api/v2/configuration`, `/healthz`, `/metrics`) with the state applied.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }
}

/// A self-signed P-256 root `O=<organization>, CN=<common_name>` valid for ten
/// years, for development stacks (DER).
pub fn generate_root_certificate(
    signer: &shared::keys::EcdsaP256Signer,
    organization: &str,
    common_name: &str,
) -> anyhow::Result<Vec<u8>> {
    ca::self_signed_root(signer, organization, common_name)
}
