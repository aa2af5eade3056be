//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`; docs/design.md,
//! "Hostile input"): each runs one parser of hostile input on arbitrary bytes,
//! through the same code the servers run, and discards the result. Not an API:
//! hidden from the docs, and free to change with the fuzz targets.

use std::collections::BTreeMap;

/// A bearer token: JWS compact parsing, header and claims.
pub fn jwt(bytes: &[u8]) {
    if let Ok(token) = std::str::from_utf8(bytes) {
        let _ = crate::oidc::jwt::UnverifiedJwt::parse(token);
    }
}

/// An issuer's JWKS document, and each key it yields checking a signature.
pub fn jwks(bytes: &[u8]) {
    if let Ok(keys) = crate::oidc::jwk::parse_jwks(bytes) {
        for key in keys {
            for alg in ["RS256", "ES256", "ES384", "EdDSA", "PS256"] {
                if let Ok(alg) = crate::oidc::jwt::JwsAlg::parse(alg) {
                    let _ = key.verify(alg, b"input", bytes);
                }
            }
        }
    }
}

/// A Fulcio issuer config (JSON or YAML), then its validation.
pub fn issuer_config(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(issuers) = crate::config::parse_issuer_config(text) {
            let _ = crate::config::validate_issuers(&issuers);
        }
    }
}

/// A CI-provider value template, executed on a few claims.
pub fn ci_template(bytes: &[u8]) {
    if let Ok(source) = std::str::from_utf8(bytes) {
        if let Ok(template) = crate::identity::Template::parse(source) {
            let data: BTreeMap<String, String> = [
                ("url", "https://github.com"),
                ("repository", "octo/repo"),
                ("ref", "refs/heads/main"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            let _ = template.execute(&data);
        }
    }
}

/// An RFC 3161 request, as DER (sigstore-python) and as JSON (sigstore-js).
pub fn tsa_request(bytes: &[u8]) {
    let _ = crate::tsa::StampRequest::from_der(bytes);
    let _ = crate::tsa::StampRequest::from_json(bytes);
}
