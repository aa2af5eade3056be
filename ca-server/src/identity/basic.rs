//! Identity types of people and workloads (Fulcio `pkg/identity/{email,
//! username,uri,spiffe,kubernetes,chainguard}`, docs/fulcio-wire.md §4).

use super::claims::{email_verified, required_claim, string_claim};
use super::extensions::Extensions;
use super::gourl::join_path;
use super::{IdentityError, Principal, SubjectName};
use crate::config::{valid_trust_domain, JsonPath, OidcIssuerConfig};
use crate::oidc::VerifiedToken;

/// `email`: SAN rfc822Name; `email_verified` must be true unless the issuer
/// skips the check; the issuer extension is `iss` or the IssuerClaim value.
pub(super) fn email(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let claims = &token.claims;
    let email = required_claim(&claims.other, "email")?;
    let verified = email_verified(&claims.other);
    if !verified && !token.issuer.skip_email_verification {
        return Err(IdentityError::EmailNotVerified);
    }
    if !email.is_ascii() {
        return Err(IdentityError::NotAscii { claim: "email" });
    }
    if !is_email(email) {
        return Err(IdentityError::InvalidEmail(email.to_owned()));
    }
    let issuer = match &token.issuer.issuer_claim {
        None => claims.iss.clone(),
        Some(path) => issuer_from_claim(path, &claims.other)?,
    };
    Ok(Principal {
        name: email.to_owned(),
        san: SubjectName::Email(email.to_owned()),
        extensions: Extensions::new(issuer, sub(token)),
    })
}

/// The issuer an `IssuerClaim` JSONPath selects: it must be a non-empty
/// string, or .1/.8 would certify an issuer no one named.
fn issuer_from_claim(
    path: &str,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, IdentityError> {
    let parsed = JsonPath::parse(path).map_err(IdentityError::IssuerClaim)?;
    match parsed.get(claims) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        None | Some(serde_json::Value::Null) => Err(IdentityError::IssuerClaim(format!(
            "the token has no issuer at {path}"
        ))),
        Some(serde_json::Value::String(_)) => Err(IdentityError::IssuerClaim(format!(
            "the issuer at {path} is empty"
        ))),
        Some(_) => Err(IdentityError::IssuerClaim(format!(
            "the issuer at {path} is not a string"
        ))),
    }
}

/// `username`: SAN otherName `sub!SubjectDomain`.
pub(super) fn username(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let sub = required_sub(token)?;
    if sub.contains('!') {
        return Err(IdentityError::InvalidSubject {
            sub: sub.to_owned(),
            reason: "a username cannot contain '!'".into(),
        });
    }
    if is_email(sub) {
        return Err(IdentityError::InvalidSubject {
            sub: sub.to_owned(),
            reason: "a username must not be an email address".into(),
        });
    }
    let domain = configured(&token.issuer.subject_domain, "SubjectDomain")?;
    Ok(Principal {
        name: sub.to_owned(),
        san: SubjectName::OtherName(format!("{sub}!{domain}")),
        extensions: Extensions::new(&token.claims.iss, sub),
    })
}

/// `uri`: SAN URI = `sub`, whose scheme and host must be the subject domain's.
pub(super) fn uri(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let sub = required_sub(token)?;
    if is_email(sub) {
        return Err(IdentityError::InvalidSubject {
            sub: sub.to_owned(),
            reason: "a URI subject must not be an email address".into(),
        });
    }
    check_uri_subject(sub, &token.issuer)?;
    Ok(Principal {
        name: sub.to_owned(),
        san: SubjectName::Uri(sub.to_owned()),
        extensions: Extensions::new(&token.claims.iss, sub),
    })
}

/// `spiffe`: SAN URI = `sub`, a SPIFFE ID in the configured trust domain.
pub(super) fn spiffe(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let sub = required_sub(token)?;
    let configured_domain = configured(&token.issuer.spiffe_trust_domain, "SPIFFETrustDomain")?;
    let domain = spiffe_trust_domain(sub).map_err(|reason| IdentityError::InvalidSubject {
        sub: sub.to_owned(),
        reason,
    })?;
    if domain != configured_domain {
        return Err(IdentityError::InvalidSubject {
            sub: sub.to_owned(),
            reason: format!(
                "SPIFFE trust domain {domain} is not the configured trust domain {configured_domain}"
            ),
        });
    }
    Ok(Principal {
        name: sub.to_owned(),
        san: SubjectName::Uri(sub.to_owned()),
        extensions: Extensions::new(&token.claims.iss, sub),
    })
}

/// `kubernetes`: SAN URI from the `kubernetes.io` claim's namespace and service account.
pub(super) fn kubernetes(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let k8s = token.claims.other.get("kubernetes.io");
    let field = |path: &[&str]| -> Option<String> {
        let mut v = k8s?;
        for key in path {
            v = v.get(key)?;
        }
        v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let namespace =
        field(&["namespace"]).ok_or(IdentityError::MissingClaim("kubernetes.io.namespace"))?;
    let account = field(&["serviceaccount", "name"]).ok_or(IdentityError::MissingClaim(
        "kubernetes.io.serviceaccount.name",
    ))?;
    let sub = sub(token);
    Ok(Principal {
        name: sub.clone(),
        san: SubjectName::Uri(format!(
            "https://kubernetes.io/namespaces/{namespace}/serviceaccounts/{account}"
        )),
        extensions: Extensions::new(&token.claims.iss, sub),
    })
}

/// `chainguard-identity`: SAN URI `iss` + `/` + `sub`; the PoP signs the
/// verified email if the token has one (as cosign does), else `sub`.
pub(super) fn chainguard(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let sub = required_sub(token)?;
    let name = match string_claim(&token.claims.other, "email")? {
        "" => sub.to_owned(),
        email if email_verified(&token.claims.other) => email.to_owned(),
        _ => return Err(IdentityError::EmailNotVerified),
    };
    let iss = &token.claims.iss;
    Ok(Principal {
        name,
        san: SubjectName::Uri(join_path(iss, &[sub])?),
        extensions: Extensions::new(iss, sub),
    })
}

/// `sub`, or "" (then .24 is omitted).
fn sub(token: &VerifiedToken) -> String {
    token.claims.sub.clone().unwrap_or_default()
}

fn required_sub(token: &VerifiedToken) -> Result<&str, IdentityError> {
    token
        .claims
        .sub
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(IdentityError::MissingClaim("sub"))
}

fn configured<'a>(value: &'a Option<String>, what: &'static str) -> Result<&'a str, IdentityError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or(IdentityError::Misconfigured(what))
}

/// A plausible address: one `@`, a non-empty local part, a dotted domain, no spaces.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.split('.').all(|label| !label.is_empty())
}

/// `sub` must be an absolute ASCII URI with a host, written exactly as the
/// WHATWG parser normalises it; with a subject domain its scheme and host
/// must be the domain's.
pub(super) fn check_uri_subject(sub: &str, issuer: &OidcIssuerConfig) -> Result<(), IdentityError> {
    if !sub.is_ascii() {
        return Err(IdentityError::NotAscii { claim: "sub" });
    }
    let uri = url::Url::parse(sub).map_err(|_| IdentityError::SubNotUri(sub.to_owned()))?;
    if uri.host_str().is_none_or(str::is_empty) {
        return Err(IdentityError::SubNotUri(sub.to_owned()));
    }
    let invalid = |reason: &str| IdentityError::InvalidSubject {
        sub: sub.to_owned(),
        reason: reason.to_owned(),
    };
    if sub
        .chars()
        .any(|c| c == '\\' || c.is_ascii_control() || c.is_whitespace())
    {
        return Err(invalid(
            "a URI subject must not contain '\\', control characters or whitespace",
        ));
    }
    // The domain check reads the parsed URI and the SAN is the raw string:
    // they must be the same text, or a lenient parse could pass a SAN that
    // other URI parsers read as a different host.
    if uri.as_str() != sub {
        return Err(invalid(&format!(
            "a URI subject must be in normal form (it parses as {:?})",
            uri.as_str()
        )));
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

/// The trust domain of a SPIFFE ID (SPIFFE-ID §2): `spiffe://<td>[/<path>]`,
/// path segments of `[A-Za-z0-9._-]`, none empty, `.` or `..`; no query or fragment.
fn spiffe_trust_domain(id: &str) -> Result<&str, String> {
    let rest = id
        .strip_prefix("spiffe://")
        .ok_or("not a SPIFFE ID (must start with spiffe://)")?;
    let (domain, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if !valid_trust_domain(domain) {
        return Err(format!("invalid SPIFFE trust domain {domain:?}"));
    }
    if !path.is_empty() {
        for segment in path[1..].split('/') {
            let ok_chars = segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if segment.is_empty() || segment == "." || segment == ".." || !ok_chars {
                return Err(format!("invalid SPIFFE ID path segment {segment:?}"));
            }
        }
    }
    Ok(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_ids() {
        assert_eq!(
            spiffe_trust_domain("spiffe://example.org/ns/prod/sa/web").unwrap(),
            "example.org"
        );
        assert_eq!(
            spiffe_trust_domain("spiffe://example.org").unwrap(),
            "example.org"
        );
        for bad in [
            "https://example.org/x",
            "spiffe://Example.org/x",
            "spiffe://example.org/",
            "spiffe://example.org//x",
            "spiffe://example.org/a/../b",
            "spiffe://example.org/a?b",
            "spiffe:///x",
        ] {
            assert!(spiffe_trust_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(is_email("a@b.c"));
        for bad in ["a", "a@", "@b", "a@b@c", "a b@c.d", "a@b..c"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
