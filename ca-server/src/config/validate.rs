//! Load-time checks on the issuer list, as Fulcio's `validateConfig` makes
//! them (docs/fulcio-wire.md §4) plus a few it leaves to request time, and the
//! meta-issuer pattern match (each `*` is one run of `[-_a-zA-Z0-9]`, the
//! whole URL must match: GHSA-59jp-pj84-45mr).

use std::collections::HashSet;

use der::Decode;

use super::{ConfigError, IssuerType, OidcIssuerConfig};

/// Every hostname compared by the subject-domain rule needs at least a
/// second-level and a top-level label.
const MIN_HOSTNAME_LABELS: usize = 2;
/// Issuer URLs longer than this never match a meta-issuer (bounds the
/// backtracking of the pattern match).
const MAX_META_MATCH_LEN: usize = 2048;

/// Checks every issuer, and that no URL or pattern appears twice: Fulcio's
/// load-time rules, including that a uri/username SubjectDomain shares the
/// issuer's last two DNS labels (the config author is trusted to own both).
pub fn validate_issuers(issuers: &[OidcIssuerConfig]) -> Result<(), ConfigError> {
    check_issuers(issuers, true)
}

/// `validate_issuers` without the subject-domain ownership rule, for issuer
/// lists built in code (embedders and tests pick their own domains).
pub(crate) fn check_issuers(
    issuers: &[OidcIssuerConfig],
    domain_ownership: bool,
) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for issuer in issuers {
        validate_issuer(issuer, domain_ownership).map_err(|reason| ConfigError::Issuer {
            issuer: issuer.issuer_url.clone(),
            reason,
        })?;
        if !seen.insert((issuer.wildcard, issuer.issuer_url.as_str())) {
            return Err(ConfigError::Issuer {
                issuer: issuer.issuer_url.clone(),
                reason: "configured twice".into(),
            });
        }
    }
    Ok(())
}

/// Whether `url` matches the meta-issuer `pattern`, anchored at both ends:
/// Fulcio's `^QuoteMeta(pattern)$` with each `*` as `[-_a-zA-Z0-9]+`
/// (docs/fulcio-wire.md §4).
///
/// The match is a simulation of that pattern's NFA, one set of states per
/// byte of `url`: O(len(url) × len(pattern)), never backtracking. It runs
/// on unverified input (an unsigned token's `iss`) before any signature
/// check, so its cost must not depend on how the input is crafted.
pub fn meta_issuer_matches(pattern: &str, url: &str) -> bool {
    if url.len() > MAX_META_MATCH_LEN {
        return false;
    }
    let tokens: Vec<Option<u8>> = pattern.bytes().map(|b| (b != b'*').then_some(b)).collect();
    let in_class = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    // active[i]: the first i tokens match the bytes read so far.
    let mut active = vec![false; tokens.len() + 1];
    active[0] = true;
    let mut next = vec![false; tokens.len() + 1];
    for byte in url.bytes() {
        next.fill(false);
        let mut any = false;
        for i in (0..=tokens.len()).filter(|&i| active[i]) {
            // Token i consumes this byte: a literal equal to it, or a `*`.
            let advances = match tokens.get(i) {
                Some(Some(literal)) => *literal == byte,
                Some(None) => in_class(byte),
                None => false,
            };
            // A `*` just matched (token i-1) takes more bytes of its class.
            let repeats = i > 0 && tokens[i - 1].is_none() && in_class(byte);
            if advances {
                next[i + 1] = true;
                any = true;
            }
            if repeats {
                next[i] = true;
                any = true;
            }
        }
        if !any {
            return false;
        }
        std::mem::swap(&mut active, &mut next);
    }
    active[tokens.len()]
}

fn validate_issuer(issuer: &OidcIssuerConfig, domain_ownership: bool) -> Result<(), String> {
    let url = issuer_url(issuer)?.filter(|_| domain_ownership);
    if issuer.client_id.trim().is_empty() {
        return Err("ClientID (client-id) is required; Sigstore clients use \"sigstore\"".into());
    }
    if issuer.issuer_claim.is_some() && issuer.issuer_type != IssuerType::Email {
        return Err("only email issuers can use IssuerClaim".into());
    }
    if let Some(path) = &issuer.issuer_claim {
        super::JsonPath::parse(path).map_err(|e| format!("IssuerClaim: {e}"))?;
    }
    if let Some(pem) = &issuer.ca_cert_pem {
        check_ca_cert(pem)?;
    }
    match issuer.issuer_type {
        IssuerType::Spiffe => {
            if issuer.wildcard {
                return Err("SPIFFE meta issuers are not supported".into());
            }
            let domain = issuer
                .spiffe_trust_domain
                .as_deref()
                .filter(|d| !d.is_empty())
                .ok_or("spiffe issuer must have SPIFFETrustDomain set")?;
            if !valid_trust_domain(domain) {
                return Err(format!(
                    "SPIFFETrustDomain {domain:?} is invalid (lowercase letters, digits, '.', '-', '_')"
                ));
            }
        }
        IssuerType::Uri => {
            let domain = subject_domain(issuer, "uri")?;
            let parsed = url::Url::parse(domain)
                .map_err(|_| format!("SubjectDomain {domain:?} for uri must contain a scheme"))?;
            let host = parsed
                .host_str()
                .ok_or_else(|| format!("SubjectDomain {domain:?} has no host"))?;
            if let Some(url) = &url {
                if parsed.scheme() != url.scheme() {
                    return Err(format!(
                        "SubjectDomain scheme ({}) and issuer scheme ({}) do not match",
                        parsed.scheme(),
                        url.scheme()
                    ));
                }
                allowed_domain(host, url.host_str().unwrap_or_default())?;
            }
        }
        IssuerType::Username => {
            let domain = subject_domain(issuer, "username")?;
            if domain.contains("://") || domain.contains(':') || domain.contains('/') {
                return Err(format!(
                    "SubjectDomain {domain:?} for username must be a bare domain, without a scheme"
                ));
            }
            if let Some(url) = &url {
                allowed_domain(domain, url.host_str().unwrap_or_default())?;
            }
        }
        IssuerType::CiProvider => {
            let name = issuer
                .ci_provider
                .as_deref()
                .filter(|n| !n.is_empty())
                .ok_or("ci-provider issuer must name its CIProvider")?;
            let metadata = issuer
                .ci_metadata
                .as_ref()
                .ok_or_else(|| format!("CIProvider {name:?} has no entry in CIIssuerMetadata"))?;
            if metadata.subject_alternative_name_template.is_none() {
                return Err(format!(
                    "CIIssuerMetadata {name:?} has no SubjectAlternativeNameTemplate"
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The parsed URL of an exact issuer; for a pattern, checks its shape and returns None.
fn issuer_url(issuer: &OidcIssuerConfig) -> Result<Option<url::Url>, String> {
    let text = &issuer.issuer_url;
    if issuer.wildcard {
        if text.contains("**") {
            return Err("meta-issuer pattern has adjacent '*'s".into());
        }
        let sample = text.replace('*', "x");
        let parsed = url::Url::parse(&sample)
            .map_err(|e| format!("meta-issuer pattern is not a URL pattern: {e}"))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err("meta-issuer pattern must be an http(s) URL with a host".into());
        }
        if !text.starts_with(&format!("{}://", parsed.scheme())) {
            return Err("the scheme of a meta-issuer pattern cannot be a wildcard".into());
        }
        return Ok(None);
    }
    if text.contains('*') {
        return Err("'*' in an OIDCIssuers URL: wildcards belong in MetaIssuers".into());
    }
    let parsed = url::Url::parse(text).map_err(|e| format!("IssuerURL is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err("IssuerURL must be an http(s) URL with a host".into());
    }
    Ok(Some(parsed))
}

fn subject_domain<'a>(issuer: &'a OidcIssuerConfig, kind: &str) -> Result<&'a str, String> {
    issuer
        .subject_domain
        .as_deref()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| format!("{kind} issuer must have SubjectDomain set"))
}

/// Fulcio `validateAllowedDomain`: equal hosts, or the same last two labels.
fn allowed_domain(subject_host: &str, issuer_host: &str) -> Result<(), String> {
    if subject_host == issuer_host {
        return Ok(());
    }
    let s: Vec<&str> = subject_host.split('.').collect();
    let i: Vec<&str> = issuer_host.split('.').collect();
    if s.len() < MIN_HOSTNAME_LABELS {
        return Err(format!("SubjectDomain hostname too short: {subject_host}"));
    }
    if i.len() < MIN_HOSTNAME_LABELS {
        return Err(format!("issuer hostname too short: {issuer_host}"));
    }
    if s[s.len() - 2..] == i[i.len() - 2..] {
        Ok(())
    } else {
        Err(format!(
            "SubjectDomain {subject_host} and issuer {issuer_host} differ in their top-level and second-level domains"
        ))
    }
}

/// SPIFFE trust domain name (SPIFFE-ID §2.1): lowercase letters, digits, '.', '-', '_'.
pub(crate) fn valid_trust_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

fn check_ca_cert(pem: &str) -> Result<(), String> {
    let blocks =
        shared::keys::pem_blocks(pem.as_bytes()).map_err(|e| format!("CACert is not PEM: {e}"))?;
    let certs: Vec<&Vec<u8>> = blocks
        .iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect();
    if certs.is_empty() {
        return Err("CACert holds no CERTIFICATE PEM block".into());
    }
    for der in certs {
        x509_cert::Certificate::from_der(der)
            .map_err(|e| format!("CACert certificate does not parse: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_patterns_are_anchored_and_literal() {
        let p = "https://oidc.eks.*.amazonaws.com/id/*";
        assert!(meta_issuer_matches(
            p,
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB"
        ));
        for bad in [
            // GHSA-59jp-pj84-45mr: an unanchored match would accept these
            "http://localhost:3000?https://oidc.eks.us-west-2.amazonaws.com/id/X",
            "https://oidc.eks.us-west-2.amazonaws.com/id/X/extra",
            "https://evil.example/https://oidc.eks.a.amazonaws.com/id/X",
            // '.' is literal, not any character
            "https://oidcXeks.us-west-2.amazonaws.com/id/X",
            "https://oidc.eks.us-west-2.amazonawsXcom/id/X",
            // '*' is one label or path segment, never empty, never '.' or '/'
            "https://oidc.eks..amazonaws.com/id/X",
            "https://oidc.eks.a.b.amazonaws.com/id/X",
            "https://oidc.eks.a.amazonaws.com/id/X/Y",
            "https://oidc.eks.a.amazonaws.com/id/",
        ] {
            assert!(!meta_issuer_matches(p, bad), "{bad}");
        }
        assert!(meta_issuer_matches(
            "https://*.oic.prod-aks.azure.com/*/*/",
            "https://eastus.oic.prod-aks.azure.com/0000-1111/2222-3333/"
        ));
        assert!(!meta_issuer_matches(
            "https://*.oic.prod-aks.azure.com/*/*/",
            "https://eastus.oic.prod-aks.azure.com/0000-1111/2222-3333"
        ));
        // backtracking: the literal after '*' also appears inside the run
        assert!(meta_issuer_matches(
            "https://a*b.example.com",
            "https://aXbYb.example.com"
        ));
        assert!(meta_issuer_matches(
            "https://a*b.example.com",
            "https://abbb.example.com"
        ));
        assert!(!meta_issuer_matches(
            "https://a*b.example.com",
            "https://ab.example.com"
        ));
        // Adjacent wildcards each need a byte; the pattern is all there is.
        assert!(meta_issuer_matches("https://**.x", "https://ab.x"));
        assert!(!meta_issuer_matches("https://**.x", "https://a.x"));
        assert!(!meta_issuer_matches("https://*.x", "https://.x"));
        assert!(meta_issuer_matches("https://x", "https://x"));
        assert!(!meta_issuer_matches("https://x", "https://xx"));
        assert!(!meta_issuer_matches("", "a"));
        assert!(meta_issuer_matches("", ""));
    }

    /// The finding behind docs/design.md, "Hostile input":
    /// `https://*-*-*.example.com` against `https://a` followed by thousands of
    /// dashes took 5.5 s with a backtracking match. Now each byte costs one
    /// pass over the pattern's states, so this runs a few hundred thousand
    /// steps; a backtracking matcher would not finish.
    #[test]
    fn a_crafted_issuer_cannot_make_the_match_super_linear() {
        let pattern = "https://*-*-*-*-*.example.com";
        let hostile = format!("https://a{}", "-".repeat(MAX_META_MATCH_LEN - 10));
        assert!(!meta_issuer_matches(pattern, &hostile));
        let near_miss = format!("https://a{}b.example.co", "-a".repeat(900));
        assert!(!meta_issuer_matches(pattern, &near_miss));
        let long_match = format!("https://a{}b.example.com", "-a".repeat(900));
        assert!(meta_issuer_matches(pattern, &long_match));
        // Beyond the length cap nothing matches, whatever the pattern.
        let too_long = format!("https://{}.example.com", "a".repeat(MAX_META_MATCH_LEN));
        assert!(!meta_issuer_matches("https://*.example.com", &too_long));
    }

    fn issuer(url: &str, t: IssuerType) -> OidcIssuerConfig {
        OidcIssuerConfig::new(url, t)
    }

    fn reason(i: &OidcIssuerConfig) -> String {
        match validate_issuers(std::slice::from_ref(i)) {
            Err(ConfigError::Issuer { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn subject_domain_rules() {
        let mut uri = issuer("https://accounts.example.com", IssuerType::Uri);
        assert!(reason(&uri).contains("SubjectDomain set"));
        for ok in [
            "https://example.com",
            "https://ci.example.com",
            "https://accounts.example.com",
        ] {
            uri.subject_domain = Some(ok.into());
            validate_issuers(std::slice::from_ref(&uri)).unwrap();
        }
        uri.subject_domain = Some("example.com".into());
        assert!(reason(&uri).contains("scheme"));
        uri.subject_domain = Some("http://example.com".into());
        assert!(reason(&uri).contains("scheme"));
        uri.subject_domain = Some("https://example.org".into());
        assert!(reason(&uri).contains("second-level"));

        let mut user = issuer("https://accounts.example.com", IssuerType::Username);
        assert!(reason(&user).contains("SubjectDomain set"));
        user.subject_domain = Some("example.com".into());
        validate_issuers(std::slice::from_ref(&user)).unwrap();
        user.subject_domain = Some("https://example.com".into());
        assert!(reason(&user).contains("without a scheme"));
        user.subject_domain = Some("evil.com".into());
        assert!(reason(&user).contains("second-level"));
        user.subject_domain = Some("com".into());
        assert!(reason(&user).contains("too short"));
    }

    #[test]
    fn other_rules() {
        let mut s = issuer("https://spire.example.com", IssuerType::Spiffe);
        assert!(reason(&s).contains("SPIFFETrustDomain"));
        s.spiffe_trust_domain = Some("Example.COM".into());
        assert!(reason(&s).contains("invalid"));
        s.spiffe_trust_domain = Some("example.com".into());
        validate_issuers(std::slice::from_ref(&s)).unwrap();
        s.wildcard = true;
        s.issuer_url = "https://*.example.com".into();
        assert!(reason(&s).contains("SPIFFE meta"));

        let mut e = issuer("https://a.example.com", IssuerType::Kubernetes);
        e.issuer_claim = Some("$.x".into());
        assert!(reason(&e).contains("only email"));
        let mut e = issuer("https://a.example.com", IssuerType::Email);
        e.client_id = String::new();
        assert!(reason(&e).contains("ClientID"));
        let e = issuer("not a url", IssuerType::Email);
        assert!(reason(&e).contains("not a URL"));
        let e = issuer("https://*.example.com", IssuerType::Email);
        assert!(reason(&e).contains("MetaIssuers"));
        let mut e = issuer("https://a.example.com", IssuerType::Email);
        e.ca_cert_pem =
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into());
        assert!(reason(&e).contains("CACert"));
        let ci = issuer("https://ci.example.com", IssuerType::CiProvider);
        assert!(reason(&ci).contains("CIProvider"));
        let mut m = issuer("*://x.example.com", IssuerType::Kubernetes);
        m.wildcard = true;
        assert!(reason(&m).contains("pattern"));

        let dup = vec![
            issuer("https://a.example.com", IssuerType::Email),
            issuer("https://a.example.com", IssuerType::Kubernetes),
        ];
        assert!(matches!(
            validate_issuers(&dup),
            Err(ConfigError::Issuer { reason, .. }) if reason.contains("twice")
        ));
    }
}
