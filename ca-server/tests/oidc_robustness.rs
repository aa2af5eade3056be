//! OIDC transport robustness (docs/fulcio-wire.md §4): a per-issuer
//! `CACert` is the only TLS root for that issuer's HTTPS (Fulcio #1665,
//! #2097), discovery follows same-host redirects only, and a JWKS rotation is picked up on an unknown `kid` once the
//! refetch rate limit allows.

#![allow(clippy::unwrap_used)]

mod common;
mod idp;

use idp::{san, uri_san, Idp, Stack};
use serde_json::json;
use test_support::jwt::es256 as sign_jwt;

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("      {l}\n")).collect()
}

#[tokio::test]
async fn ca_cert_is_the_tls_root_for_its_issuer() {
    let (idp, cert_pem) = Idp::start_https().await;
    let trusted = idp.url("trusted");
    let untrusted = idp.url("untrusted");
    let other_ca = {
        let key = shared::keys::EcdsaP256Signer::generate();
        let root = ca_server::generate_root_certificate(&key, "other", "other CA").unwrap();
        shared::keys::pem_encode("CERTIFICATE", &root)
    };
    let wrong = idp.url("wrong-ca");
    let config = format!(
        "oidc-issuers:\n  {trusted}:\n    client-id: sigstore\n    type: uri\n    subject-domain: https://localhost\n    ca-cert: |\n{}  {untrusted}:\n    client-id: sigstore\n    type: uri\n    subject-domain: https://localhost\n  {wrong}:\n    client-id: sigstore\n    type: uri\n    subject-domain: https://localhost\n    ca-cert: |\n{}",
        indent(&cert_pem),
        indent(&other_ca),
    );
    let stack = Stack::start(&config).await;
    let sub = "https://localhost/pipelines/42";

    let token = idp.sign(&idp.claims(&trusted, json!({ "sub": sub })));
    let cert = stack.certificate(&token, sub).await;
    assert_eq!(san(&cert), (true, uri_san(sub)));
    assert_eq!(idp.jwks_fetches(), 1);

    // Without its CACert the self-signed issuer is not trusted (web PKI roots
    // don't know it), and with another CA's certificate neither.
    for iss in [&untrusted, &wrong] {
        let token = idp.sign(&idp.claims(iss, json!({ "sub": sub })));
        // The client learns which issuer failed; the TLS details are logged.
        let generic = format!("error fetching OIDC configuration for issuer {iss}");
        stack.refused(&token, sub, &generic).await;
    }
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "the refused issuers never got that far"
    );
}

#[tokio::test]
async fn jwks_rotation_is_picked_up_after_the_rate_limit() {
    let idp = Idp::start_http().await;
    let iss = idp.url("rotating");
    let stack = Stack::start(&format!(
        "oidc-issuers:\n  {iss}:\n    client-id: sigstore\n    type: uri\n    subject-domain: http://localhost\n"
    ))
    .await;
    let sub = "http://localhost/jobs/1";
    let claims = idp.claims(&iss, json!({ "sub": sub }));
    stack.certificate(&idp.sign(&claims), sub).await;
    assert_eq!(idp.jwks_fetches(), 1, "fetched once, then cached");
    stack.certificate(&idp.sign(&claims), sub).await;
    assert_eq!(idp.jwks_fetches(), 1, "served from the cache");

    // The issuer publishes a new key. A token under it right away finds an
    // unknown kid, but the JWKS was fetched under 10 s ago: no refetch.
    let (key, kid) = idp.rotate();
    stack
        .refused(&sign_jwt(&key, &kid, &claims), sub, "kid")
        .await;
    assert_eq!(idp.jwks_fetches(), 1, "rate-limited");

    tokio::time::sleep(std::time::Duration::from_millis(10_500)).await;
    let claims = idp.claims(&iss, json!({ "sub": sub }));
    stack.certificate(&sign_jwt(&key, &kid, &claims), sub).await;
    assert_eq!(idp.jwks_fetches(), 2, "one refetch for the new kid");
    // Made-up kids now hit the limit again instead of the issuer.
    for _ in 0..5 {
        stack
            .refused(&sign_jwt(&key, "made-up", &claims), sub, "kid")
            .await;
    }
    assert_eq!(idp.jwks_fetches(), 2);
}

#[tokio::test]
async fn discovery_follows_same_host_redirects_only() {
    let idp = Idp::start_http().await;
    let (same, cross) = (idp.url("same"), idp.url("cross"));
    let stack = Stack::start(&format!(
        "oidc-issuers:\n  {same}:\n    client-id: sigstore\n    type: kubernetes\n  {cross}:\n    client-id: sigstore\n    type: kubernetes\n"
    ))
    .await;
    let claims = |iss: &str| {
        idp.claims(
            iss,
            json!({"sub": "system:serviceaccount:a:b",
                   "kubernetes.io": {"namespace": "a", "serviceaccount": {"name": "b"}}}),
        )
    };
    stack
        .certificate(&idp.sign(&claims(&same)), "system:serviceaccount:a:b")
        .await;
    assert_eq!(idp.jwks_fetches(), 1);
    // The cross-host target would serve a valid document; the redirect is
    // refused (the HTTP 302 is in the log, the client sees a generic message).
    stack
        .refused(
            &idp.sign(&claims(&cross)),
            "system:serviceaccount:a:b",
            &format!("error fetching OIDC configuration for issuer {cross}"),
        )
        .await;
    assert_eq!(idp.jwks_fetches(), 1);
}
