//! The OIDC issuers a CA trusts, in Fulcio's config model
//! (docs/fulcio-wire.md §4): `issuer` holds one issuer's settings, `file`
//! reads Fulcio's JSON/YAML config file, `validate` makes the load-time
//! checks, and `template`, `json_path` and `extension_field` are the small
//! languages a config is written in. Nothing here depends on the rest of the
//! CA: identities and issuance read these types, never the reverse.

mod extension_field;
mod file;
mod issuer;
mod json_path;
mod template;
mod validate;

pub use extension_field::ExtensionField;
pub use file::{load_issuer_config, parse_issuer_config};
pub use issuer::{CiIssuerMetadata, IssuerType, OidcIssuerConfig, ValueTemplate};
pub use json_path::JsonPath;
pub use template::{Template, TemplateError};
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
