//! What a CA is configured with: its key and chain, its CT log and the OIDC
//! issuers it trusts (the subset of Fulcio's `OIDCIssuers` config,
//! fulcio-wire.md §4, that issue 2 supports).

use shared::keys::{EcdsaP256Signer, PublicKey};

/// How an issuer's token becomes a certificate identity (Fulcio's `Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssuerType {
    /// SAN rfc822Name = `email`; needs `email_verified`; the PoP signs the email.
    Email,
    /// SAN URI = `sub`; the PoP signs `sub`; scheme and host must match `subject_domain` if set.
    Uri,
    /// Not a Fulcio type: `sigil dev`'s development issuer, which mints both
    /// kinds of identity from one issuer URL. A token with an `email` claim is
    /// handled as [`IssuerType::Email`], one without as [`IssuerType::Uri`].
    EmailOrUri,
}

impl IssuerType {
    /// The name Fulcio uses in its config and in `/api/v2/configuration`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Uri => "uri",
            Self::EmailOrUri => "email-or-uri",
        }
    }

    /// The claim whose value the proof of possession signs (for
    /// `EmailOrUri`, `email` when the token has one, else `sub`).
    pub fn challenge_claim(self) -> &'static str {
        match self {
            Self::Email | Self::EmailOrUri => "email",
            Self::Uri => "sub",
        }
    }
}

/// One trusted OIDC issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcIssuerConfig {
    /// Must equal the token's `iss` and the discovery document's `issuer` exactly.
    pub issuer_url: String,
    /// Must be in the token's `aud`; Sigstore clients use "sigstore".
    pub client_id: String,
    pub issuer_type: IssuerType,
    /// For `Uri` issuers: a URL whose scheme and host every `sub` must have.
    pub subject_domain: Option<String>,
}

impl OidcIssuerConfig {
    /// The audience every Sigstore client asks for.
    pub const DEFAULT_CLIENT_ID: &'static str = "sigstore";

    /// An issuer of `issuer_type` with client id "sigstore" and no subject domain.
    pub fn new(issuer_url: impl Into<String>, issuer_type: IssuerType) -> Self {
        Self {
            issuer_url: issuer_url.into(),
            client_id: Self::DEFAULT_CLIENT_ID.to_owned(),
            issuer_type,
            subject_domain: None,
        }
    }
}

/// Everything `Ca::new` needs.
#[derive(Clone, Debug)]
pub struct CaConfig {
    /// The issuing CA key.
    pub signer: EcdsaP256Signer,
    /// DER certificates, issuing CA first, root last (root-only: one cert).
    pub chain_der: Vec<Vec<u8>>,
    /// Base URL of the RFC 6962 log, e.g. "http://localhost:3000".
    pub ct_log_url: String,
    /// When set, every SCT must verify against this key before a certificate is returned.
    pub ct_log_public_key: Option<PublicKey>,
    pub issuers: Vec<OidcIssuerConfig>,
}
