//! Principals: what a verified token says about its subject, per issuer type
//! (Fulcio `pkg/identity/*`, docs/fulcio-wire.md §3 and §4): the string the
//! proof of possession signs, the one SAN, and the Sigstore extensions
//! 1.3.6.1.4.1.57264.1.x. `basic` has the people and workload types, `ci`
//! the legacy CI types, `ciprovider` the templated CI type.

mod basic;
mod ci;
mod ciprovider;
mod claims;
mod extensions;
mod gourl;

pub use crate::config::{ExtensionField, JsonPath, Template, TemplateError};
pub use extensions::{fulcio_oid, Extensions, FulcioExtension};

use crate::config::IssuerType;
use crate::oidc::VerifiedToken;

/// Why a verified token cannot become a certificate identity (HTTP 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("identity token has no {0} claim")]
    MissingClaim(&'static str),
    #[error("identity token claim {claim} is not {expected}")]
    ClaimType {
        claim: String,
        expected: &'static str,
    },
    #[error("identity token email is not verified (email_verified must be true)")]
    EmailNotVerified,
    #[error("identity token email {0:?} is not a valid email address")]
    InvalidEmail(String),
    #[error("identity token {claim} is not ASCII and cannot be a certificate SAN")]
    NotAscii { claim: &'static str },
    #[error("identity token sub {0:?} is not an absolute URI")]
    SubNotUri(String),
    #[error("identity token sub {sub:?} does not match the issuer's subject domain {domain:?}")]
    SubjectDomainMismatch { sub: String, domain: String },
    #[error("identity token sub {sub:?} is refused: {reason}")]
    InvalidSubject { sub: String, reason: String },
    #[error("identity token ref_type {0:?} is neither \"branch\" nor \"tag\"")]
    UnexpectedRefType(String),
    #[error("cannot join {base:?} with the token's claims into a URL: {reason}")]
    UrlJoin { base: String, reason: String },
    #[error("issuer claim mapping failed: {0}")]
    IssuerClaim(String),
    #[error("ci-provider {extension}: {reason}")]
    CiTemplate { extension: String, reason: String },
    #[error("the issuer's {0} is not configured")]
    Misconfigured(&'static str),
    #[error("certificate extension encoding failed: {0}")]
    Encoding(String),
}

/// The one SubjectAltName a certificate carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectName {
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// otherName 1.3.6.1.4.1.57264.1.7 with a UTF8String (`username` issuers).
    OtherName(String),
}

impl SubjectName {
    /// The SAN as clients match it (`--cert-identity`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(s) | Self::Uri(s) | Self::OtherName(s) => s,
        }
    }
}

/// A token's subject as the CA certifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The string the proof of possession signs (Fulcio's `principal.Name()`).
    name: String,
    san: SubjectName,
    /// Issuer, token subject and the CI fields.
    extensions: Extensions,
}

impl Principal {
    /// Maps a verified token to a principal according to its issuer's type.
    pub fn from_token(token: &VerifiedToken) -> Result<Self, IdentityError> {
        let principal = match token.issuer.issuer_type {
            IssuerType::Email => basic::email(token)?,
            IssuerType::EmailOrUri if has_claim(token, "email") => basic::email(token)?,
            IssuerType::EmailOrUri | IssuerType::Uri => basic::uri(token)?,
            IssuerType::Username => basic::username(token)?,
            IssuerType::Spiffe => basic::spiffe(token)?,
            IssuerType::Kubernetes => basic::kubernetes(token)?,
            IssuerType::ChainguardIdentity => basic::chainguard(token)?,
            IssuerType::GithubWorkflow => ci::github(token)?,
            IssuerType::GitlabPipeline => ci::gitlab(token)?,
            IssuerType::BuildkiteJob => ci::buildkite(token)?,
            IssuerType::CodefreshWorkflow => ci::codefresh(token)?,
            IssuerType::CiProvider => ciprovider::principal(token)?,
        };
        principal.check_encodable()?;
        Ok(principal)
    }

    /// The string the proof of possession must sign.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn san(&self) -> &SubjectName {
        &self.san
    }

    /// The issuer recorded in .1/.8 (the token's `iss`, or its IssuerClaim value).
    pub fn issuer(&self) -> &str {
        &self.extensions.issuer
    }

    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The Sigstore extensions in OID order, encoded (.1 … .24).
    pub fn fulcio_extensions(&self) -> Result<Vec<FulcioExtension>, der::Error> {
        self.extensions.render()
    }

    /// Refuses, as a client error, what could only fail later inside the CA:
    /// a SAN that is not IA5 (ASCII) or extension values DER cannot hold.
    fn check_encodable(&self) -> Result<(), IdentityError> {
        match &self.san {
            SubjectName::Email(s) if !s.is_ascii() => {
                return Err(IdentityError::NotAscii { claim: "email" })
            }
            SubjectName::Uri(s) if !s.is_ascii() => {
                return Err(IdentityError::NotAscii { claim: "sub" })
            }
            _ => {}
        }
        self.fulcio_extensions()
            .map(drop)
            .map_err(|e| IdentityError::Encoding(e.to_string()))
    }
}

/// Whether the token carries `name` with a non-null value.
fn has_claim(token: &VerifiedToken, name: &str) -> bool {
    token.claims.other.get(name).is_some_and(|v| !v.is_null())
}

#[cfg(test)]
mod tests;
