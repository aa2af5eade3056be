//! Principals: what a verified token says about its subject, per issuer type
//! (Fulcio `pkg/identity/{email,uri}`, fulcio-wire.md §4 table): the string
//! the proof of possession signs, the one SAN, and the issuer recorded in the
//! 1.3.6.1.4.1.57264.1.1 / .1.8 extensions.

use crate::config::{IssuerType, OidcIssuerConfig};
use crate::oidc::VerifiedToken;

/// Why a verified token cannot become a certificate identity (HTTP 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("identity token has no {0} claim")]
    MissingClaim(&'static str),
    #[error("identity token email is not verified (email_verified must be true)")]
    EmailNotVerified,
    #[error("identity token {claim} is not ASCII and cannot be a certificate SAN")]
    NotAscii { claim: &'static str },
    #[error("identity token sub {0:?} is not an absolute URI")]
    SubNotUri(String),
    #[error("identity token sub {sub:?} does not match the issuer's subject domain {domain:?}")]
    SubjectDomainMismatch { sub: String, domain: String },
}

/// The one SubjectAltName a certificate carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectName {
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
}

/// A token's subject as the CA certifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The string the proof of possession signs (Fulcio's `principal.Name()`).
    name: String,
    san: SubjectName,
    /// The OIDC issuer recorded in the certificate (the token's `iss`).
    issuer: String,
}

impl Principal {
    /// Maps a verified token to a principal according to its issuer's type.
    pub fn from_token(token: &VerifiedToken) -> Result<Self, IdentityError> {
        let claims = &token.claims;
        let issuer_type = match token.issuer.issuer_type {
            IssuerType::EmailOrUri if claims.email.is_some() => IssuerType::Email,
            IssuerType::EmailOrUri => IssuerType::Uri,
            other => other,
        };
        match issuer_type {
            IssuerType::Email | IssuerType::EmailOrUri => {
                let email = non_empty(claims.email.as_deref())
                    .ok_or(IdentityError::MissingClaim("email"))?;
                if !claims.email_verified.as_ref().is_some_and(|v| v.is_true()) {
                    return Err(IdentityError::EmailNotVerified);
                }
                if !email.is_ascii() {
                    return Err(IdentityError::NotAscii { claim: "email" });
                }
                Ok(Self {
                    name: email.to_owned(),
                    san: SubjectName::Email(email.to_owned()),
                    issuer: claims.iss.clone(),
                })
            }
            IssuerType::Uri => {
                let sub =
                    non_empty(claims.sub.as_deref()).ok_or(IdentityError::MissingClaim("sub"))?;
                check_uri_subject(sub, &token.issuer)?;
                Ok(Self {
                    name: sub.to_owned(),
                    san: SubjectName::Uri(sub.to_owned()),
                    issuer: claims.iss.clone(),
                })
            }
        }
    }

    /// The string the proof of possession must sign.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn san(&self) -> &SubjectName {
        &self.san
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// `sub` must be an absolute ASCII URI with a host; with a subject domain its
/// scheme and host must be the domain's.
fn check_uri_subject(sub: &str, issuer: &OidcIssuerConfig) -> Result<(), IdentityError> {
    if !sub.is_ascii() {
        return Err(IdentityError::NotAscii { claim: "sub" });
    }
    let uri = url::Url::parse(sub).map_err(|_| IdentityError::SubNotUri(sub.to_owned()))?;
    if uri.host_str().is_none_or(str::is_empty) {
        return Err(IdentityError::SubNotUri(sub.to_owned()));
    }
    let Some(domain) = &issuer.subject_domain else {
        return Ok(());
    };
    let mismatch = || IdentityError::SubjectDomainMismatch {
        sub: sub.to_owned(),
        domain: domain.clone(),
    };
    let domain_uri = url::Url::parse(domain).map_err(|_| mismatch())?;
    if uri.scheme() != domain_uri.scheme() || uri.host_str() != domain_uri.host_str() {
        return Err(mismatch());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn token(issuer: OidcIssuerConfig, claims: serde_json::Value) -> VerifiedToken {
        VerifiedToken {
            issuer: Arc::new(issuer),
            claims: serde_json::from_value(claims).unwrap(),
        }
    }

    #[test]
    fn email_principal() {
        let iss = OidcIssuerConfig::new("https://issuer", IssuerType::Email);
        for verified in [json!(true), json!("true")] {
            let t = token(
                iss.clone(),
                json!({"iss":"https://issuer","sub":"123","email":"a@b.c","email_verified":verified}),
            );
            let p = Principal::from_token(&t).unwrap();
            assert_eq!(p.name(), "a@b.c");
            assert_eq!(p.san(), &SubjectName::Email("a@b.c".into()));
            assert_eq!(p.issuer(), "https://issuer");
        }
        for (claims, want) in [
            (
                json!({"iss":"x","email":"a@b.c","email_verified":false}),
                IdentityError::EmailNotVerified,
            ),
            (
                json!({"iss":"x","email":"a@b.c","email_verified":"false"}),
                IdentityError::EmailNotVerified,
            ),
            (
                json!({"iss":"x","email":"a@b.c"}),
                IdentityError::EmailNotVerified,
            ),
            (
                json!({"iss":"x","sub":"a@b.c","email_verified":true}),
                IdentityError::MissingClaim("email"),
            ),
            (
                json!({"iss":"x","email":"é@b.c","email_verified":true}),
                IdentityError::NotAscii { claim: "email" },
            ),
        ] {
            assert_eq!(
                Principal::from_token(&token(iss.clone(), claims)).unwrap_err(),
                want
            );
        }
    }

    #[test]
    fn email_or_uri_principal_follows_the_token() {
        let iss = OidcIssuerConfig::new("https://issuer", IssuerType::EmailOrUri);
        let email = token(
            iss.clone(),
            json!({"iss":"https://issuer","sub":"a@b.c","email":"a@b.c","email_verified":true}),
        );
        assert_eq!(
            Principal::from_token(&email).unwrap().san(),
            &SubjectName::Email("a@b.c".into())
        );
        let unverified = token(
            iss.clone(),
            json!({"iss":"https://issuer","sub":"x","email":"a@b.c","email_verified":false}),
        );
        assert_eq!(
            Principal::from_token(&unverified).unwrap_err(),
            IdentityError::EmailNotVerified
        );
        let workload = token(
            iss.clone(),
            json!({"iss":"https://issuer","sub":"https://ci.example.com/job/1"}),
        );
        let p = Principal::from_token(&workload).unwrap();
        assert_eq!(p.name(), "https://ci.example.com/job/1");
        assert_eq!(
            p.san(),
            &SubjectName::Uri("https://ci.example.com/job/1".into())
        );
        let not_uri = token(iss, json!({"iss":"https://issuer","sub":"alice"}));
        assert!(matches!(
            Principal::from_token(&not_uri),
            Err(IdentityError::SubNotUri(_))
        ));
    }

    #[test]
    fn uri_principal() {
        let mut iss = OidcIssuerConfig::new("https://issuer", IssuerType::Uri);
        let t = |iss: &OidcIssuerConfig, sub: &str| {
            token(iss.clone(), json!({"iss":"https://issuer","sub":sub}))
        };
        let p = Principal::from_token(&t(&iss, "https://ci.example.com/job/1")).unwrap();
        assert_eq!(p.name(), "https://ci.example.com/job/1");
        assert_eq!(
            p.san(),
            &SubjectName::Uri("https://ci.example.com/job/1".into())
        );
        assert!(matches!(
            Principal::from_token(&t(&iss, "not a uri")),
            Err(IdentityError::SubNotUri(_))
        ));
        assert!(matches!(
            Principal::from_token(&t(&iss, "mailto:a@b.c")),
            Err(IdentityError::SubNotUri(_))
        ));
        iss.subject_domain = Some("https://ci.example.com".into());
        Principal::from_token(&t(&iss, "https://ci.example.com/job/1")).unwrap();
        for bad in [
            "http://ci.example.com/job/1",
            "https://evil.example.com/job",
            "https://ci.example.com.evil/x",
        ] {
            assert!(
                matches!(
                    Principal::from_token(&t(&iss, bad)),
                    Err(IdentityError::SubjectDomainMismatch { .. })
                ),
                "{bad}"
            );
        }
    }
}
