//! Fulcio's issuer configuration file (`--config-path`, docs/fulcio-wire.md §4;
//! Fulcio `pkg/config/config.go`): JSON with Go field names (`OIDCIssuers`,
//! `IssuerURL`, …) or YAML with kebab-case keys (`oidc-issuers`,
//! `issuer-url`, …). Like Fulcio, JSON is tried first and unknown keys are
//! ignored (a warning names them, to catch misspellings).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::issuer::{CiIssuerMetadata, IssuerType, OidcIssuerConfig, ValueTemplate};
use super::{validate_issuers, ConfigError};
use super::{ExtensionField, Template};

/// Reads and checks a Fulcio config file.
pub fn load_issuer_config(path: &Path) -> Result<Vec<OidcIssuerConfig>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_issuer_config(&text)
}

/// Parses and checks a Fulcio config (JSON or YAML): `OIDCIssuers` first
/// (sorted by URL), then `MetaIssuers` (with `wildcard` set).
pub fn parse_issuer_config(text: &str) -> Result<Vec<OidcIssuerConfig>, ConfigError> {
    let raw: RawConfig = match serde_json::from_str(text) {
        Ok(raw) => raw,
        Err(e) if text.trim_start().starts_with('{') => {
            return Err(ConfigError::Syntax(format!("invalid JSON: {e}")))
        }
        Err(_) => serde_norway::from_str::<Option<RawConfig>>(text)
            .map_err(|e| ConfigError::Syntax(format!("invalid YAML: {e}")))?
            .unwrap_or_default(),
    };
    let issuers = raw.into_issuers()?;
    validate_issuers(&issuers)?;
    Ok(issuers)
}

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(rename = "OIDCIssuers", alias = "oidc-issuers", default)]
    oidc_issuers: BTreeMap<String, RawIssuer>,
    #[serde(rename = "MetaIssuers", alias = "meta-issuers", default)]
    meta_issuers: BTreeMap<String, RawIssuer>,
    #[serde(rename = "CIIssuerMetadata", alias = "ci-issuer-metadata", default)]
    ci_issuer_metadata: BTreeMap<String, RawMetadata>,
}

#[derive(Deserialize, Default)]
struct RawIssuer {
    #[serde(rename = "IssuerURL", alias = "issuer-url", default)]
    issuer_url: Option<String>,
    #[serde(rename = "ClientID", alias = "client-id", default)]
    client_id: Option<String>,
    #[serde(rename = "Type", alias = "type", default)]
    issuer_type: Option<String>,
    #[serde(rename = "CIProvider", alias = "ci-provider", default)]
    ci_provider: Option<String>,
    #[serde(rename = "IssuerClaim", alias = "issuer-claim", default)]
    issuer_claim: Option<String>,
    #[serde(rename = "SubjectDomain", alias = "subject-domain", default)]
    subject_domain: Option<String>,
    #[serde(rename = "SPIFFETrustDomain", alias = "spiffe-trust-domain", default)]
    spiffe_trust_domain: Option<String>,
    #[serde(rename = "ChallengeClaim", alias = "challenge-claim", default)]
    challenge_claim: Option<String>,
    #[serde(rename = "Description", alias = "description", default)]
    description: Option<String>,
    #[serde(rename = "Contact", alias = "contact", default)]
    contact: Option<String>,
    #[serde(rename = "Environment", alias = "environment", default)]
    environment: Option<String>,
    #[serde(rename = "CACert", alias = "ca-cert", default)]
    ca_cert: Option<String>,
    #[serde(
        rename = "SkipEmailVerification",
        alias = "skip-email-verification",
        default
    )]
    skip_email_verification: Option<bool>,
    #[serde(flatten)]
    unknown: BTreeMap<String, serde::de::IgnoredAny>,
}

#[derive(Deserialize, Default)]
struct RawMetadata {
    #[serde(
        rename = "DefaultTemplateValues",
        alias = "default-template-values",
        default
    )]
    default_template_values: BTreeMap<String, String>,
    #[serde(rename = "ExtensionTemplates", alias = "extension-templates", default)]
    extension_templates: BTreeMap<String, String>,
    #[serde(
        rename = "SubjectAlternativeNameTemplate",
        alias = "subject-alternative-name-template",
        default
    )]
    subject_alternative_name_template: Option<String>,
}

impl RawConfig {
    fn into_issuers(self) -> Result<Vec<OidcIssuerConfig>, ConfigError> {
        let mut metadata = BTreeMap::new();
        for (name, raw) in self.ci_issuer_metadata {
            let parsed = raw.parse().map_err(|reason| ConfigError::CiMetadata {
                name: name.clone(),
                reason,
            })?;
            metadata.insert(name, Arc::new(parsed));
        }
        let mut issuers = Vec::new();
        for (key, raw) in self.oidc_issuers {
            issuers.push(raw.into_issuer(&key, false, &metadata)?);
        }
        for (pattern, raw) in self.meta_issuers {
            issuers.push(raw.into_issuer(&pattern, true, &metadata)?);
        }
        Ok(issuers)
    }
}

impl RawIssuer {
    fn into_issuer(
        self,
        key: &str,
        wildcard: bool,
        metadata: &BTreeMap<String, Arc<CiIssuerMetadata>>,
    ) -> Result<OidcIssuerConfig, ConfigError> {
        let fail = |reason: String| ConfigError::Issuer {
            issuer: key.to_owned(),
            reason,
        };
        if !self.unknown.is_empty() {
            let keys: Vec<&str> = self.unknown.keys().map(String::as_str).collect();
            tracing::warn!(issuer = key, ?keys, "ignoring unknown issuer config keys");
        }
        let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let issuer_url = match (wildcard, non_empty(self.issuer_url)) {
            (false, Some(url)) if url != key => {
                return Err(fail(format!(
                    "the map key and IssuerURL {url:?} differ; they must be the same URL"
                )))
            }
            _ => key.to_owned(),
        };
        let type_name =
            non_empty(self.issuer_type).ok_or_else(|| fail("Type is required".into()))?;
        let issuer_type = IssuerType::parse(&type_name).ok_or_else(|| {
            let known: Vec<&str> = IssuerType::CONFIGURABLE
                .iter()
                .map(|t| t.as_str())
                .collect();
            fail(format!(
                "unknown Type {type_name:?} (known: {})",
                known.join(", ")
            ))
        })?;
        let ci_provider = non_empty(self.ci_provider);
        let ci_metadata = match (&ci_provider, issuer_type) {
            (Some(name), IssuerType::CiProvider) => {
                Some(metadata.get(name).cloned().ok_or_else(|| {
                    fail(format!(
                        "CIProvider {name:?} has no entry in CIIssuerMetadata"
                    ))
                })?)
            }
            _ => None,
        };
        Ok(OidcIssuerConfig {
            issuer_url,
            wildcard,
            client_id: self.client_id.unwrap_or_default(),
            issuer_type,
            subject_domain: non_empty(self.subject_domain),
            spiffe_trust_domain: non_empty(self.spiffe_trust_domain),
            issuer_claim: non_empty(self.issuer_claim),
            challenge_claim: non_empty(self.challenge_claim),
            skip_email_verification: self.skip_email_verification.unwrap_or(false),
            ci_provider,
            ci_metadata,
            ca_cert_pem: non_empty(self.ca_cert),
            description: non_empty(self.description),
            contact: non_empty(self.contact),
            environment: non_empty(self.environment),
        })
    }
}

impl RawMetadata {
    fn parse(self) -> Result<CiIssuerMetadata, String> {
        let mut extension_templates = BTreeMap::new();
        for (key, value) in self.extension_templates {
            if value.trim().is_empty() {
                continue;
            }
            let Some(field) = ExtensionField::from_config_key(&key) else {
                if matches!(key.as_str(), "Issuer" | "issuer" | "Subject" | "subject") {
                    // Fulcio always takes these from the token; a template is ignored.
                    continue;
                }
                return Err(format!("unknown extension template key {key:?}"));
            };
            extension_templates.insert(field, value_template(&value)?);
        }
        let san = self
            .subject_alternative_name_template
            .filter(|t| !t.trim().is_empty())
            .map(|t| value_template(&t))
            .transpose()?;
        Ok(CiIssuerMetadata {
            default_template_values: self.default_template_values,
            extension_templates,
            subject_alternative_name_template: san,
        })
    }
}

/// A value with `{{` is a Go template, anything else names a claim.
fn value_template(value: &str) -> Result<ValueTemplate, String> {
    if value.contains("{{") {
        Template::parse(value)
            .map(ValueTemplate::Template)
            .map_err(|e| e.to_string())
    } else {
        Ok(ValueTemplate::Claim(value.to_owned()))
    }
}

#[cfg(test)]
mod tests;
