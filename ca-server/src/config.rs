//! What a CA is configured with: its key and chain, its CT log and the OIDC
//! issuers it trusts, in Fulcio's config model (docs/fulcio-wire.md §4):
//! `issuer` holds one issuer's settings, `file` reads Fulcio's JSON/YAML
//! config file, `validate` makes the load-time checks.

mod file;
mod issuer;
mod validate;

use std::sync::Arc;

use shared::keys::PublicKey;

use crate::ca::CaSigner;

pub use file::{load_issuer_config, parse_issuer_config};
pub use issuer::{CiIssuerMetadata, IssuerType, OidcIssuerConfig, ValueTemplate};
pub(crate) use validate::{check_issuers, valid_trust_domain};
pub use validate::{meta_issuer_matches, validate_issuers};

/// Why an issuer configuration was refused at load time.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("reading the issuer config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("issuer config: {0}")]
    Syntax(String),
    #[error("issuer config: OIDC issuer {issuer:?}: {reason}")]
    Issuer { issuer: String, reason: String },
    #[error("issuer config: CIIssuerMetadata {name:?}: {reason}")]
    CiMetadata { name: String, reason: String },
}

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
    pub tsa: Option<crate::tsa::TsaConfig>,
    /// Certificates per second one identity (issuer, subject) may get; 0:
    /// no limit. See `DEFAULT_CERTS_PER_SUBJECT_PER_SEC`.
    pub certs_per_subject_per_sec: u32,
}
