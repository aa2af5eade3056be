//! One trusted OIDC issuer as Fulcio's config describes it (`OIDCIssuers` /
//! `MetaIssuers` entries, and `CIIssuerMetadata` for `ci-provider` issuers;
//! docs/fulcio-wire.md §4, Fulcio `pkg/config/config.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ExtensionField, Template};

/// How an issuer's token becomes a certificate identity (Fulcio's `Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssuerType {
    /// SAN rfc822Name = `email`; needs `email_verified`; the PoP signs the email.
    Email,
    /// SAN otherName 57264.1.7 = `sub!SubjectDomain`.
    Username,
    /// SAN URI = `sub`; scheme and host must match `subject_domain` if set.
    Uri,
    /// SAN URI = `sub`, a SPIFFE ID in the configured trust domain.
    Spiffe,
    /// SAN URI `https://kubernetes.io/namespaces/<ns>/serviceaccounts/<sa>`.
    Kubernetes,
    /// GitHub Actions (legacy; Fulcio's public config uses `ci-provider`).
    GithubWorkflow,
    /// GitLab CI on gitlab.com (legacy).
    GitlabPipeline,
    /// Buildkite agents (legacy).
    BuildkiteJob,
    /// Codefresh (legacy).
    CodefreshWorkflow,
    /// Chainguard's issuer: SAN URI = `iss` joined with `sub`.
    ChainguardIdentity,
    /// Generic CI: SAN and extensions from `CIIssuerMetadata` templates.
    CiProvider,
    /// Not a Fulcio type: `sigil dev`'s development issuer, which mints both
    /// kinds of identity from one issuer URL. A token with an `email` claim is
    /// handled as [`IssuerType::Email`], one without as [`IssuerType::Uri`].
    EmailOrUri,
}

impl IssuerType {
    /// Every type a config file may name.
    pub const CONFIGURABLE: [Self; 11] = [
        Self::Email,
        Self::Username,
        Self::Uri,
        Self::Spiffe,
        Self::Kubernetes,
        Self::GithubWorkflow,
        Self::GitlabPipeline,
        Self::BuildkiteJob,
        Self::CodefreshWorkflow,
        Self::ChainguardIdentity,
        Self::CiProvider,
    ];

    /// The name Fulcio uses in its config and in `/api/v2/configuration`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Username => "username",
            Self::Uri => "uri",
            Self::Spiffe => "spiffe",
            Self::Kubernetes => "kubernetes",
            Self::GithubWorkflow => "github-workflow",
            Self::GitlabPipeline => "gitlab-pipeline",
            Self::BuildkiteJob => "buildkite-job",
            Self::CodefreshWorkflow => "codefresh-workflow",
            Self::ChainguardIdentity => "chainguard-identity",
            Self::CiProvider => "ci-provider",
            Self::EmailOrUri => "email-or-uri",
        }
    }

    /// Parses a config `Type` (the dev-only `email-or-uri` is not accepted).
    pub fn parse(name: &str) -> Option<Self> {
        Self::CONFIGURABLE.into_iter().find(|t| t.as_str() == name)
    }

    /// The claim whose value the proof of possession signs, as
    /// `/api/v2/configuration` reports it (Fulcio `issuerToChallengeClaim`).
    pub fn challenge_claim(self) -> &'static str {
        match self {
            Self::Email | Self::EmailOrUri => "email",
            _ => "sub",
        }
    }
}

/// A `CIIssuerMetadata` value: a template if it contains `{{`, else a claim name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueTemplate {
    Claim(String),
    Template(Template),
}

/// One `CIIssuerMetadata` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CiIssuerMetadata {
    /// Values used when the token lacks the claim (claims win).
    pub default_template_values: BTreeMap<String, String>,
    /// Extension → value, in OID order.
    pub extension_templates: BTreeMap<ExtensionField, ValueTemplate>,
    pub subject_alternative_name_template: Option<ValueTemplate>,
}

/// One trusted OIDC issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcIssuerConfig {
    /// Must equal the token's `iss` and the discovery document's `issuer`
    /// exactly; for a meta-issuer (`wildcard`), the pattern with `*`s.
    pub issuer_url: String,
    /// A `MetaIssuers` entry: `issuer_url` is a pattern in which each `*`
    /// stands for one run of `[-_a-zA-Z0-9]`, anchored at both ends.
    pub wildcard: bool,
    /// Must be in the token's `aud`; Sigstore clients use "sigstore".
    pub client_id: String,
    pub issuer_type: IssuerType,
    /// `uri`: a URL whose scheme and host every `sub` must have; `username`:
    /// the domain appended after `!`.
    pub subject_domain: Option<String>,
    /// `spiffe`: the trust domain every SPIFFE ID must be in.
    pub spiffe_trust_domain: Option<String>,
    /// `email`: a JSONPath to the claim recorded as the issuer (.1/.8).
    pub issuer_claim: Option<String>,
    /// Reported by `/api/v2/configuration` only (as in Fulcio).
    pub challenge_claim: Option<String>,
    /// `email`: accept tokens without `email_verified: true`.
    pub skip_email_verification: bool,
    /// `ci-provider`: the `CIIssuerMetadata` key, and its resolved entry.
    pub ci_provider: Option<String>,
    pub ci_metadata: Option<Arc<CiIssuerMetadata>>,
    /// PEM certificates trusted (instead of the web PKI) for this issuer's HTTPS.
    pub ca_cert_pem: Option<String>,
    pub description: Option<String>,
    pub contact: Option<String>,
    pub environment: Option<String>,
}

impl OidcIssuerConfig {
    /// The audience every Sigstore client asks for.
    pub const DEFAULT_CLIENT_ID: &'static str = "sigstore";

    /// An issuer of `issuer_type` with client id "sigstore" and nothing else set.
    pub fn new(issuer_url: impl Into<String>, issuer_type: IssuerType) -> Self {
        Self {
            issuer_url: issuer_url.into(),
            wildcard: false,
            client_id: Self::DEFAULT_CLIENT_ID.to_owned(),
            issuer_type,
            subject_domain: None,
            spiffe_trust_domain: None,
            issuer_claim: None,
            challenge_claim: None,
            skip_email_verification: false,
            ci_provider: None,
            ci_metadata: None,
            ca_cert_pem: None,
            description: None,
            contact: None,
            environment: None,
        }
    }

    /// What `/api/v2/configuration` reports as `challengeClaim`.
    pub fn reported_challenge_claim(&self) -> &str {
        self.challenge_claim
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or(self.issuer_type.challenge_claim())
    }

    /// The concrete issuer a meta-issuer becomes for one matching `iss`.
    pub fn instantiate(&self, issuer_url: &str) -> Self {
        Self {
            issuer_url: issuer_url.to_owned(),
            wildcard: false,
            ..self.clone()
        }
    }
}
