//! The CA reaches its CT log over TLS (docs/design.md, "Connections"): a log
//! served over HTTPS by the `serving` crate with a certificate of a private CA,
//! which ca-server trusts through `ct_log_ca_pem` (`--ct-log-ca-cert`) instead
//! of the system's roots.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{ca_config, public_key_request, serve_ca, FakeCtLog, TestIssuer};
use serde_json::Value;
use shared::keys::EcdsaP256Signer;

const EMAIL: &str = "alice@example.com";

/// A CA whose CT log is `ct`, trusting `ct_ca_pem` for its TLS; its URL.
async fn ca_with_ct(
    ct: &FakeCtLog,
    ct_ca_pem: Option<String>,
    iss: &TestIssuer,
    root_key: EcdsaP256Signer,
    root: Vec<u8>,
) -> String {
    let issuers = vec![ca_server::OidcIssuerConfig::new(
        &iss.url,
        ca_server::IssuerType::Email,
    )];
    serve_ca(ca_server::CaConfig {
        ct_log_ca_pem: ct_ca_pem,
        ..ca_config(Arc::new(root_key), vec![root], ct, issuers)
    })
    .await
}

async fn issue(ca_url: &str, iss: &TestIssuer) -> (u16, Value) {
    let client = EcdsaP256Signer::generate();
    let body = public_key_request(Some(&iss.es256(&iss.claims(EMAIL))), &client, EMAIL);
    let resp = reqwest::Client::new()
        .post(format!("{ca_url}/api/v2/signingCert"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn certificates_get_their_sct_from_a_log_behind_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let identity = test_support::tls::localhost_identity(dir.path(), "ct").unwrap();
    let files = serving::tls::TlsFiles {
        cert: identity.cert,
        key: identity.key,
    };
    let root_key = EcdsaP256Signer::generate();
    let root = ca_server::generate_root_certificate(&root_key, "sigil", "r").unwrap();
    let ct = FakeCtLog::start_tls(vec![root.clone()], files).await;
    assert!(ct.url.starts_with("https://"), "{}", ct.url);
    let iss = TestIssuer::start().await;

    // Trusting the log's CA: a certificate with its SCT.
    let ca = ca_with_ct(
        &ct,
        Some(identity.cert_pem),
        &iss,
        root_key.clone(),
        root.clone(),
    )
    .await;
    let (status, body) = issue(&ca, &iss).await;
    assert_eq!(status, 200, "{body}");
    let logged = ct.submissions.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(logged, 1, "the precertificate went over TLS");

    // Trusting another CA only: the TLS handshake fails, nothing is issued.
    let stranger = test_support::tls::localhost_identity(dir.path(), "stranger").unwrap();
    let ca = ca_with_ct(&ct, Some(stranger.cert_pem), &iss, root_key, root).await;
    let (status, body) = issue(&ca, &iss).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["message"], "Error entering certificate in CTL");
    assert_eq!(
        ct.submissions.load(std::sync::atomic::Ordering::SeqCst),
        logged,
        "no request reached the log"
    );
}
