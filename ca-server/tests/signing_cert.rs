//! `POST /api/v2/signingCert` and friends over real HTTP, against a real
//! OIDC discovery/JWKS endpoint and a CT endpoint (see `common`).

// Helpers outside #[test] fns panic on broken fixtures by design.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{
    chain_of, csr_pem, hmac_sha256, public_key_request, ChainShape, Stack, EC_KID, RSA_KID,
};
use der::Decode;
use serde_json::{json, Value};
use shared::keys::{pem_blocks, EcdsaP256Signer};
use shared::oids;
use shared::sct::SignedEntry;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

const EMAIL: &str = "alice@example.com";

/// Checks the leaf's SAN, issuer extensions, key and embedded SCT.
fn check_leaf(
    stack: &Stack,
    chain: &[Vec<u8>],
    san: GeneralName,
    issuer: &str,
    key: &EcdsaP256Signer,
) {
    assert_eq!(
        &chain[1..],
        stack.chain.as_slice(),
        "leaf, then the CA chain"
    );
    let leaf = Certificate::from_der(&chain[0]).unwrap();
    let tbs = &leaf.tbs_certificate;
    let (critical, sans) = tbs.get::<SubjectAltName>().unwrap().unwrap();
    assert!(critical);
    assert_eq!(sans.0, vec![san]);
    let ext = |oid| {
        tbs.extensions
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.extn_id == oid)
            .unwrap()
            .extn_value
            .as_bytes()
            .to_vec()
    };
    assert_eq!(ext(oids::FULCIO_ISSUER_V1), issuer.as_bytes());
    let v2 = ext(oids::FULCIO_ISSUER_V2);
    let v2 = der::asn1::Utf8StringRef::from_der(&v2).unwrap();
    assert_eq!(v2.as_str(), issuer);
    assert_eq!(
        der::Encode::to_der(&tbs.subject_public_key_info).unwrap(),
        key.public_spki_der()
    );
    let list = shared::sct::sct_list_from_extension_value(&ext(oids::CT_SCT_LIST)).unwrap();
    assert_eq!(list.len(), 1, "exactly one SCT");
    let entry = SignedEntry::Precert {
        issuer_key_hash: shared::ct::issuer_key_hash(&chain[1]).unwrap(),
        tbs_certificate: shared::ct::tbs_without_extension(&chain[0], &oids::CT_SCT_LIST).unwrap(),
    };
    list[0].verify(&stack.ct.key.public_key(), &entry).unwrap();
}

fn email_san(email: &str) -> GeneralName {
    GeneralName::Rfc822Name(der::asn1::Ia5String::new(email).unwrap())
}

/// Asserts a Fulcio InvalidArgument reply whose message mentions `needle`.
fn assert_400(reply: (u16, Value), needle: &str) {
    let (status, body) = reply;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 3, "{body}");
    assert_eq!(body["details"], json!([]));
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
}

#[tokio::test]
async fn es256_token_and_pop_root_only() {
    let stack = Stack::start(ChainShape::RootOnly).await;
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    let token = iss.es256(&iss.claims(EMAIL));
    let (status, reply) = stack
        .signing_cert(&public_key_request(Some(&token), &client, EMAIL), None)
        .await;
    assert_eq!(status, 200, "{reply}");
    let chain = chain_of(&reply);
    assert_eq!(chain.len(), 2, "leaf + root");
    check_leaf(&stack, &chain, email_san(EMAIL), &iss.url, &client);
    assert_eq!(
        stack
            .ct
            .submissions
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn rs256_bearer_snake_case_with_intermediate() {
    let stack = Stack::start(ChainShape::WithIntermediate).await;
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    // aud as an array and email_verified as a string are both accepted.
    let mut claims = iss.claims(EMAIL);
    claims["aud"] = json!(["other", "sigstore"]);
    claims["email_verified"] = json!("true");
    let token = iss.rs256(&claims);
    let body = json!({"public_key_request": {
        "public_key": {"algorithm": "ECDSA", "content": STANDARD.encode(client.public_spki_der())},
        "proof_of_possession": STANDARD.encode(client.sign(EMAIL.as_bytes())),
    }});
    let (status, reply) = stack.signing_cert(&body, Some(&token)).await;
    assert_eq!(status, 200, "{reply}");
    let chain = chain_of(&reply);
    assert_eq!(chain.len(), 3, "leaf + intermediate + root");
    check_leaf(&stack, &chain, email_san(EMAIL), &iss.url, &client);
}

#[tokio::test]
async fn csr_path() {
    let stack = Stack::start(ChainShape::RootOnly).await;
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    let token = iss.es256(&iss.claims(EMAIL));
    let body = json!({"certificateSigningRequest": STANDARD.encode(csr_pem(&client, false))});
    let (status, reply) = stack.signing_cert(&body, Some(&token)).await;
    assert_eq!(status, 200, "{reply}");
    check_leaf(
        &stack,
        &chain_of(&reply),
        email_san(EMAIL),
        &iss.url,
        &client,
    );

    // The CSR wins over a public key request, even one with a broken proof.
    let other = EcdsaP256Signer::generate();
    let mut body = public_key_request(None, &other, "wrong");
    body["certificateSigningRequest"] = json!(STANDARD.encode(csr_pem(&client, false)));
    let (status, reply) = stack.signing_cert(&body, Some(&token)).await;
    assert_eq!(status, 200, "{reply}");
    check_leaf(
        &stack,
        &chain_of(&reply),
        email_san(EMAIL),
        &iss.url,
        &client,
    );
}

#[tokio::test]
async fn uri_issuer_signs_sub() {
    let stack = Stack::start(ChainShape::RootOnly).await;
    let iss = &stack.uri_issuer;
    let client = EcdsaP256Signer::generate();
    let sub = format!("{}/pipelines/42", common::URI_SUBJECT_DOMAIN);
    let mut claims = iss.claims(EMAIL);
    claims["sub"] = json!(sub);
    let token = iss.es256(&claims);
    let (status, reply) = stack
        .signing_cert(&public_key_request(Some(&token), &client, &sub), None)
        .await;
    assert_eq!(status, 200, "{reply}");
    let uri = GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(&sub).unwrap());
    check_leaf(&stack, &chain_of(&reply), uri, &iss.url, &client);

    claims["sub"] = json!("https://evil.example.net/x");
    let token = iss.es256(&claims);
    let body = public_key_request(Some(&token), &client, "https://evil.example.net/x");
    assert_400(stack.signing_cert(&body, None).await, "subject domain");
}

#[tokio::test]
async fn token_refusals() {
    let stack = Stack::start(ChainShape::RootOnly).await;
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    let good = iss.claims(EMAIL);
    let send = |token: String| {
        let body = public_key_request(Some(&token), &client, EMAIL);
        let stack = &stack;
        async move { stack.signing_cert(&body, None).await }
    };

    // alg none, with and without a signature part
    let none = iss.sign_with(&json!({"alg":"none"}), &good, |_| Vec::new());
    assert_400(send(none).await, "alg none");

    // HS256 keyed with the issuer's public key bytes (the classic confusion attack)
    let hs = iss.sign_with(&json!({"alg":"HS256","kid":EC_KID}), &good, |input| {
        hmac_sha256(iss.ec.public_pem().as_bytes(), input)
    });
    assert_400(send(hs).await, "HMAC");
    let hs = iss.sign_with(&json!({"alg":"HS256","kid":EC_KID}), &good, |input| {
        hmac_sha256(&iss.ec.public_spki_der(), input)
    });
    assert_400(send(hs).await, "HMAC");

    // unknown kid
    let unknown = iss.sign_with(&json!({"alg":"ES256","kid":"nope"}), &good, |input| {
        iss.ec.sign_fixed(input).to_vec()
    });
    assert_400(send(unknown).await, "kid");

    // alg that does not fit the named key
    let mismatch = iss.sign_with(&json!({"alg":"RS256","kid":EC_KID}), &good, |input| {
        iss.ec.sign_fixed(input).to_vec()
    });
    assert_400(send(mismatch).await, "does not match");

    // signed by a stranger under the issuer's kid
    let stranger = EcdsaP256Signer::generate();
    let forged = iss.sign_with(&json!({"alg":"ES256","kid":EC_KID}), &good, |input| {
        stranger.sign_fixed(input).to_vec()
    });
    assert_400(send(forged).await, "signature does not verify");

    // claims checks
    let now = common::now();
    let mut expired = good.clone();
    expired["exp"] = json!(now - 1);
    assert_400(send(iss.es256(&expired)).await, "expired");

    let mut future = good.clone();
    future["nbf"] = json!(now + 3600);
    assert_400(send(iss.es256(&future)).await, "not valid yet");

    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("not-sigstore");
    assert_400(send(iss.es256(&wrong_aud)).await, "audience");

    let mut unknown_iss = good.clone();
    unknown_iss["iss"] = json!("https://accounts.example.org");
    assert_400(
        send(iss.es256(&unknown_iss)).await,
        "not a configured OIDC issuer",
    );

    let mut unverified = good.clone();
    unverified["email_verified"] = json!(false);
    assert_400(send(iss.es256(&unverified)).await, "not verified");

    assert_400(send("not-a-jwt".into()).await, "malformed");
    assert_400(send("a".repeat(70_000)).await, "64 KiB");

    // no token at all
    let body = public_key_request(None, &client, EMAIL);
    assert_400(stack.signing_cert(&body, None).await, "no identity token");

    // an unknown kid caused at most one JWKS refetch beyond the first fetch
    assert!(iss.jwks_fetches.load(std::sync::atomic::Ordering::SeqCst) <= 2);
}

#[tokio::test]
async fn key_and_proof_refusals() {
    let stack = Stack::start(ChainShape::RootOnly).await;
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    let token = iss.es256(&iss.claims(EMAIL));

    // PoP over the wrong string
    let body = public_key_request(Some(&token), &client, "bob@example.com");
    assert_400(stack.signing_cert(&body, None).await, "proof of possession");

    // PoP by another key
    let mut body = public_key_request(Some(&token), &client, EMAIL);
    let other = EcdsaP256Signer::generate();
    body["publicKeyRequest"]["proofOfPossession"] =
        json!(STANDARD.encode(other.sign(EMAIL.as_bytes())));
    assert_400(stack.signing_cert(&body, None).await, "proof of possession");

    // garbage key
    let mut body = public_key_request(Some(&token), &client, EMAIL);
    body["publicKeyRequest"]["publicKey"]["content"] =
        json!("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    assert_400(stack.signing_cert(&body, None).await, "public key");

    // CSR with a bad self-signature
    let body = json!({"certificateSigningRequest": STANDARD.encode(csr_pem(&client, true))});
    assert_400(
        stack.signing_cert(&body, Some(&token)).await,
        "signing request signature",
    );

    // CSR that is not a CSR
    let body = json!({"certificateSigningRequest": STANDARD.encode("hello")});
    assert_400(
        stack.signing_cert(&body, Some(&token)).await,
        "certificate signing request",
    );

    // not JSON
    let resp = stack
        .http
        .post(format!("{}/api/v2/signingCert", stack.ca_url))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_400((resp.status().as_u16(), resp.json().await.unwrap()), "JSON");
    assert_eq!(
        stack
            .ct
            .submissions
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing logged"
    );
}

#[tokio::test]
async fn ct_log_failure_is_internal() {
    let root_key = EcdsaP256Signer::generate();
    let root = ca_server::generate_root_certificate(&root_key, "sigil", "r").unwrap();
    let iss = common::TestIssuer::start().await;
    // The CT log trusts another root, so it refuses the precertificate.
    let ct = common::FakeCtLog::start(vec![]).await;
    let issuers = vec![ca_server::OidcIssuerConfig::new(
        &iss.url,
        ca_server::IssuerType::Email,
    )];
    let url = common::serve_ca(ca_server::CaConfig {
        ct_log_public_key: None,
        ..common::ca_config(std::sync::Arc::new(root_key), vec![root], &ct, issuers)
    })
    .await;
    let client = EcdsaP256Signer::generate();
    let body = public_key_request(Some(&iss.es256(&iss.claims(EMAIL))), &client, EMAIL);
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v2/signingCert"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 500);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 13);
    // the CT log's own answer stays in the CA's log
    assert_eq!(
        body["message"], "Error entering certificate in CTL",
        "{body}"
    );
}

#[tokio::test]
async fn trust_bundle_configuration_health() {
    let stack = Stack::start(ChainShape::WithIntermediate).await;
    let (status, bundle) = stack.get("/api/v2/trustBundle").await;
    assert_eq!(status, 200);
    let pems = bundle["chains"][0]["certificates"].as_array().unwrap();
    let ders: Vec<Vec<u8>> = pems
        .iter()
        .map(|p| {
            pem_blocks(p.as_str().unwrap().as_bytes()).unwrap()[0]
                .1
                .clone()
        })
        .collect();
    assert_eq!(ders, stack.chain);

    let (status, config) = stack.get("/api/v2/configuration").await;
    assert_eq!(status, 200);
    assert_eq!(
        config["issuers"][0],
        json!({"issuerUrl": stack.email_issuer.url, "audience": "sigstore", "challengeClaim": "email",
               "spiffeTrustDomain": "", "issuerType": "email", "subjectDomain": "",
               "skipEmailVerification": false})
    );
    assert_eq!(config["issuers"][1]["issuerType"], "uri");
    assert_eq!(config["issuers"][1]["challengeClaim"], "sub");
    assert_eq!(
        config["issuers"][1]["subjectDomain"],
        common::URI_SUBJECT_DOMAIN
    );

    let (status, _) = stack.get("/healthz").await;
    assert_eq!(status, 200);
    let _ = RSA_KID;
}

/// docs/design.md, "Rate limits": a certificate rate per identity. Over it, 429
/// with gRPC ResourceExhausted (8) and Retry-After, before the key proof or any
/// signature; another identity is unaffected.
#[tokio::test]
async fn an_identity_over_its_certificate_rate_gets_429() {
    let root_key = EcdsaP256Signer::generate();
    let root = ca_server::generate_root_certificate(&root_key, "sigil", "r").unwrap();
    let iss = common::TestIssuer::start().await;
    let ct = common::FakeCtLog::start(vec![root.clone()]).await;
    let issuers = vec![ca_server::OidcIssuerConfig::new(
        &iss.url,
        ca_server::IssuerType::Email,
    )];
    let url = common::serve_ca(ca_server::CaConfig {
        // One per second, bursts of ten.
        certs_per_subject_per_sec: 1,
        ct_log_public_key: None,
        ..common::ca_config(std::sync::Arc::new(root_key), vec![root], &ct, issuers)
    })
    .await;
    let http = reqwest::Client::new();
    let request = |email: &'static str| {
        let client = EcdsaP256Signer::generate();
        let body = public_key_request(Some(&iss.es256(&iss.claims(email))), &client, email);
        http.post(format!("{url}/api/v2/signingCert"))
            .json(&body)
            .send()
    };
    for _ in 0..10 {
        assert_eq!(request(EMAIL).await.unwrap().status(), 200);
    }
    let refused = request(EMAIL).await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 8);
    assert!(body["message"].as_str().unwrap().contains(EMAIL), "{body}");
    assert_eq!(
        ct.submissions.load(std::sync::atomic::Ordering::SeqCst),
        10,
        "the refused request logged nothing"
    );
    assert_eq!(request("bob@example.com").await.unwrap().status(), 200);
}

/// `/metrics` parses as the Prometheus text format and counts what happened
/// under Fulcio's names: one certificate issued, one request refused.
#[tokio::test]
async fn metrics_count_issued_certificates_under_fulcios_names() {
    let stack = Stack::start(ChainShape::RootOnly).await;
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    let token = iss.es256(&iss.claims(EMAIL));
    let body = public_key_request(Some(&token), &client, EMAIL);
    assert_eq!(stack.signing_cert(&body, None).await.0, 200);
    let refused = public_key_request(Some("not-a-token"), &client, EMAIL);
    assert_eq!(stack.signing_cert(&refused, None).await.0, 400);
    // A scrape before the one read below: Fulcio's families must not count it.
    let metrics = format!("{}/metrics", stack.ca_url);
    assert_eq!(reqwest::get(&metrics).await.unwrap().status(), 200);

    let response = reqwest::get(&metrics).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    let scrape = test_support::scrape::Scrape::parse(&text).unwrap();
    let value = |name: &str, labels: &[(&str, &str)]| {
        scrape
            .value(name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    assert_eq!(value("fulcio_new_certs", &[]), 1.0);
    assert_eq!(scrape.kind("fulcio_new_certs"), Some("counter"));
    let ok = [("code", "200"), ("method", "post")];
    assert_eq!(value("http_requests_total", &ok), 1.0);
    assert_eq!(value("fulcio_api_latency_count", &ok), 1.0);
    let refused = [("code", "400"), ("method", "post")];
    assert_eq!(value("http_requests_total", &refused), 1.0);
    assert_eq!(scrape.kind("fulcio_api_latency"), Some("histogram"));
    let route = [
        ("route", "/api/v2/signingCert"),
        ("method", "POST"),
        ("status", "400"),
    ];
    assert_eq!(value("sigil_http_requests_total", &route), 1.0);
    let scraped = [("route", "/metrics"), ("method", "GET"), ("status", "200")];
    assert_eq!(value("sigil_http_requests_total", &scraped), 1.0);
    let fulcio_gets = [("code", "200"), ("method", "get")];
    assert_eq!(scrape.value("http_requests_total", &fulcio_gets), None);
    assert_eq!(scrape.value("fulcio_api_latency_count", &fulcio_gets), None);
}
