//! Identity types of people and workloads (Fulcio `pkg/identity/{email,
//! username,uri,spiffe,kubernetes,chainguard}`, fulcio-wire.md §4 table).

use super::claims::JsonPath;
use super::extensions::Extensions;
use super::{go_string, IdentityError, Principal, SubjectName};
use crate::config::{valid_trust_domain, OidcIssuerConfig};
use crate::oidc::VerifiedToken;

/// `email`: SAN rfc822Name; `email_verified` must be true unless the issuer
/// skips the check; the issuer extension is `iss` or the IssuerClaim value.
pub(super) fn email(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let claims = &token.claims;
    let email = claims
        .email
        .as_deref()
        .filter(|e| !e.is_empty())
        .ok_or(IdentityError::MissingClaim("email"))?;
    let verified = claims.email_verified.as_ref().is_some_and(|v| v.is_true());
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
        Some(path) => {
            let path = JsonPath::parse(path).map_err(IdentityError::IssuerClaim)?;
            let value = path.get(&claims.other).ok_or_else(|| {
                IdentityError::IssuerClaim(format!(
                    "the token has no claim at {}",
                    token.issuer.issuer_claim.as_deref().unwrap_or_default()
                ))
            })?;
            go_string(value)
        }
    };
    Ok(Principal {
        name: email.to_owned(),
        san: SubjectName::Email(email.to_owned()),
        extensions: Extensions::new(issuer, sub(token)),
    })
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
    let name = match token.claims.email.as_deref().filter(|e| !e.is_empty()) {
        Some(email)
            if token
                .claims
                .email_verified
                .as_ref()
                .is_some_and(|v| v.is_true()) =>
        {
            email.to_owned()
        }
        Some(_) => return Err(IdentityError::EmailNotVerified),
        None => sub.to_owned(),
    };
    let iss = &token.claims.iss;
    Ok(Principal {
        name,
        san: SubjectName::Uri(join_url(iss, &[sub])),
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

/// `sub` must be an absolute ASCII URI with a host; with a subject domain its
/// scheme and host must be the domain's.
pub(super) fn check_uri_subject(sub: &str, issuer: &OidcIssuerConfig) -> Result<(), IdentityError> {
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

/// Go's `url.JoinPath` for the simple cases CI identities need: `base` with
/// the elements appended, one `/` between parts.
pub(super) fn join_url(base: &str, elements: &[&str]) -> String {
    let mut out = base.trim_end_matches('/').to_owned();
    for element in elements {
        for part in element.split('/').filter(|p| !p.is_empty()) {
            out.push('/');
            out.push_str(part);
        }
    }
    out
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
    fn joins_and_emails() {
        assert_eq!(
            join_url(
                "https://github.com/",
                &["o/r", "actions/runs", "1", "attempts", "2"]
            ),
            "https://github.com/o/r/actions/runs/1/attempts/2"
        );
        assert_eq!(
            join_url("https://gitlab.com", &["g/p", "/-/jobs/", "9"]),
            "https://gitlab.com/g/p/-/jobs/9"
        );
        assert!(is_email("a@b.c"));
        for bad in ["a", "a@", "@b", "a@b@c", "a b@c.d", "a@b..c"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
