//! CA key backends end to end over HTTP (docs/fulcio-wire.md §5, docs/clients.md §6):
//! a PKCS#11 key in SoftHSM2 and a P-384 (encrypted) file key issue through
//! the precert flow and the real CT log checks, with the signature algorithm
//! following the CA key; and the legacy v1 API cosign uses (§1 "Legacy").

// Helpers outside #[test] fns panic on broken fixtures by design.
#![allow(clippy::unwrap_used)]

mod common;
use test_support::softhsm;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ca_server::ca::{load_ca, CaBackend, CaKeyKind, CaSigner, Pkcs11Config, Pkcs11Signer, Secret};
use common::{chain_of, csr_pem, intermediate_chain, public_key_request, ChainShape, Stack};
use const_oid::db::rfc5912;
use der::{Decode, Encode};
use serde_json::{json, Value};
use shared::keys::{pem_blocks, EcdsaP256Signer, PublicKey};
use shared::oids;
use x509_cert::Certificate;

const EMAIL: &str = "alice@example.com";

/// Verifies each certificate of `chain` (DER, leaf first) with the next one's
/// key (the root with its own), with the hash the issuer's key implies, and
/// returns the signature algorithm OIDs.
fn verify_chain(chain: &[Vec<u8>]) -> Vec<const_oid::ObjectIdentifier> {
    let mut algorithms = Vec::new();
    for (i, der) in chain.iter().enumerate() {
        let issuer = Certificate::from_der(&chain[(i + 1).min(chain.len() - 1)]).unwrap();
        let key = PublicKey::from_spki_der(
            &issuer
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .unwrap(),
        )
        .unwrap();
        let parts = ca_server::x509::SignedParts::split(der).unwrap();
        parts.verify(&key, true).unwrap();
        let cert = Certificate::from_der(der).unwrap();
        assert_eq!(cert.signature_algorithm, cert.tbs_certificate.signature);
        algorithms.push(cert.signature_algorithm.oid);
    }
    algorithms
}

fn has_one_sct(leaf: &[u8]) -> bool {
    let cert = Certificate::from_der(leaf).unwrap();
    let exts = cert.tbs_certificate.extensions.unwrap();
    let sct = exts.iter().find(|e| e.extn_id == oids::CT_SCT_LIST);
    let poison = exts.iter().any(|e| e.extn_id == oids::CT_POISON);
    !poison
        && sct.is_some_and(|e| {
            shared::sct::sct_list_from_extension_value(e.extn_value.as_bytes())
                .unwrap()
                .len()
                == 1
        })
}

async fn issue_v2(stack: &Stack) -> Vec<Vec<u8>> {
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    let token = iss.es256(&iss.claims(EMAIL));
    let (status, reply) = stack
        .signing_cert(&public_key_request(Some(&token), &client, EMAIL), None)
        .await;
    assert_eq!(status, 200, "{reply}");
    chain_of(&reply)
}

fn pkcs11_config(key_label: &str) -> Pkcs11Config {
    let hsm = softhsm::softhsm();
    Pkcs11Config {
        module: hsm.module.clone(),
        token_label: hsm.token_label.clone(),
        key_label: key_label.into(),
        pin: Secret::new(hsm.pin.clone()),
    }
}

#[tokio::test]
async fn pkcs11_p384_root_issues_through_precert_flow() {
    let label = softhsm::unique_label("root384");
    Pkcs11Signer::generate(pkcs11_config(&label), CaKeyKind::P384).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Through the loader, as `ca-server --ca pkcs11` does.
    let signer = Pkcs11Signer::open(pkcs11_config(&label)).unwrap();
    let root = ca_server::ca::self_signed_root(&signer, "sigil", "hsm root").unwrap();
    let chain_path = dir.path().join("chain.pem");
    std::fs::write(&chain_path, shared::keys::pem_encode("CERTIFICATE", &root)).unwrap();
    let loaded = load_ca(&CaBackend::Pkcs11(pkcs11_config(&label)), Some(&chain_path)).unwrap();
    assert_eq!(loaded.chain_der, vec![root.clone()]);

    let stack = Stack::start_with_ca(loaded.signer, loaded.chain_der).await;
    let chain = issue_v2(&stack).await;
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1], root);
    assert!(has_one_sct(&chain[0]));
    assert_eq!(
        verify_chain(&chain),
        [rfc5912::ECDSA_WITH_SHA_384, rfc5912::ECDSA_WITH_SHA_384]
    );
}

#[tokio::test]
async fn pkcs11_p256_intermediate_issues() {
    let label = softhsm::unique_label("inter256");
    let hsm_key = Pkcs11Signer::generate(pkcs11_config(&label), CaKeyKind::P256).unwrap();
    let chain = intermediate_chain(&hsm_key.public_spki_der());
    let stack = Stack::start_with_ca(Arc::new(hsm_key), chain).await;
    let chain = issue_v2(&stack).await;
    assert_eq!(chain.len(), 3);
    assert!(has_one_sct(&chain[0]));
    assert_eq!(verify_chain(&chain), [rfc5912::ECDSA_WITH_SHA_256; 3]);
}

#[tokio::test]
async fn encrypted_p384_file_key_under_p256_root() {
    use pkcs8::EncodePrivateKey;
    let dir = tempfile::tempdir().unwrap();
    let key = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pem = key
        .to_pkcs8_encrypted_pem(rand_core::OsRng, b"hunter2", Default::default())
        .unwrap();
    let key_path = dir.path().join("ca.key");
    std::fs::write(&key_path, pem.as_bytes()).unwrap();
    let backend = CaBackend::File {
        key: key_path,
        password: Some(Secret::new("hunter2".into())),
    };
    let spki = {
        use pkcs8::EncodePublicKey;
        key.verifying_key().to_public_key_der().unwrap().into_vec()
    };
    let chain_path = dir.path().join("chain.pem");
    let chain_pem = intermediate_chain(&spki)
        .iter()
        .map(|der| shared::keys::pem_encode("CERTIFICATE", der))
        .collect::<String>();
    std::fs::write(&chain_path, chain_pem).unwrap();
    let loaded = load_ca(&backend, Some(&chain_path)).unwrap();
    assert_eq!(loaded.signer.public_spki_der(), spki);

    let stack = Stack::start_with_ca(loaded.signer, loaded.chain_der).await;
    let chain = issue_v2(&stack).await;
    assert!(has_one_sct(&chain[0]));
    // The leaf follows the P-384 issuing key; the intermediate, its P-256 root.
    assert_eq!(
        verify_chain(&chain),
        [
            rfc5912::ECDSA_WITH_SHA_384,
            rfc5912::ECDSA_WITH_SHA_256,
            rfc5912::ECDSA_WITH_SHA_256
        ]
    );

    // A wrong password is a clear start-up error, not a panic.
    let wrong = CaBackend::File {
        key: dir.path().join("ca.key"),
        password: Some(Secret::new("hunter3".into())),
    };
    let err = load_ca(&wrong, Some(&chain_path)).unwrap_err().to_string();
    assert!(err.contains("wrong password"), "{err}");
    assert!(!err.contains("hunter"), "{err}");
}

// ---------------------------------------------------------------- legacy v1

async fn post_v1(stack: &Stack, body: &Value, bearer: Option<&str>) -> reqwest::Response {
    let mut req = stack
        .http
        .post(format!("{}/api/v1/signingCert", stack.ca_url))
        .json(body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

/// Splits a `application/pem-certificate-chain` body into DER certificates.
fn pem_chain(body: &str) -> Vec<Vec<u8>> {
    assert!(!body.ends_with('\n'), "the body is trimmed");
    pem_blocks(body.as_bytes())
        .unwrap()
        .into_iter()
        .map(|(label, der)| {
            assert_eq!(label, "CERTIFICATE");
            der
        })
        .collect()
}

fn v1_body(client: &EcdsaP256Signer, signed: &str) -> Value {
    json!({
        "publicKey": {"content": STANDARD.encode(client.public_pem()), "algorithm": "ecdsa"},
        "signedEmailAddress": STANDARD.encode(client.sign(signed.as_bytes())),
    })
}

async fn assert_v1_400(resp: reqwest::Response, needle: &str) {
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 3, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
}

#[tokio::test]
async fn legacy_signing_cert_is_201_pem_chain() {
    let stack = Stack::start(ChainShape::WithIntermediate).await;
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    let token = iss.es256(&iss.claims(EMAIL));

    let resp = post_v1(&stack, &v1_body(&client, EMAIL), Some(&token)).await;
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(
        resp.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    assert!(
        resp.headers().get("sct").is_none(),
        "embedded, not detached"
    );
    let body = resp.text().await.unwrap();
    assert_eq!(body.matches("-----BEGIN CERTIFICATE-----\n").count(), 3);
    assert!(body.contains("-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----"));
    let chain = pem_chain(&body);
    assert_eq!(&chain[1..], stack.chain.as_slice(), "leaf, CA, root");
    assert!(has_one_sct(&chain[0]));
    verify_chain(&chain);
    let leaf = Certificate::from_der(&chain[0]).unwrap();
    assert_eq!(
        leaf.tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap(),
        client.public_spki_der()
    );

    // A CSR works too (PoP = the CSR's self-signature); DER key content too.
    let resp = post_v1(
        &stack,
        &json!({"certificateSigningRequest": STANDARD.encode(csr_pem(&client, false))}),
        Some(&token),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 201);
    let body = json!({
        "publicKey": {"content": STANDARD.encode(client.public_spki_der())},
        "signedEmailAddress": STANDARD.encode(client.sign(EMAIL.as_bytes())),
    });
    assert_eq!(
        post_v1(&stack, &body, Some(&token)).await.status().as_u16(),
        201
    );
}

#[tokio::test]
async fn legacy_signing_cert_errors() {
    let stack = Stack::start(ChainShape::WithIntermediate).await;
    let iss = &stack.email_issuer;
    let client = EcdsaP256Signer::generate();
    let token = iss.es256(&iss.claims(EMAIL));

    // The token is read from the header only.
    let mut body = v1_body(&client, EMAIL);
    body["credentials"] = json!({"oidcIdentityToken": token});
    assert_v1_400(post_v1(&stack, &body, None).await, "Bearer").await;
    // The proof must be over the email.
    let resp = post_v1(&stack, &v1_body(&client, "bob@example.com"), Some(&token)).await;
    assert_eq!(resp.status().as_u16(), 400);
    assert_v1_400(
        post_v1(&stack, &json!({}), Some(&token)).await,
        "public key",
    )
    .await;
    assert_v1_400(
        post_v1(&stack, &v1_body(&client, EMAIL), Some("x.y.z")).await,
        "",
    )
    .await;
    let resp = stack
        .http
        .post(format!("{}/api/v1/signingCert", stack.ca_url))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_v1_400(resp, "JSON").await;
    assert_eq!(
        stack
            .ct
            .submissions
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing issued"
    );
}

#[tokio::test]
async fn legacy_root_cert() {
    let stack = Stack::start(ChainShape::WithIntermediate).await;
    let resp = stack
        .http
        .get(format!("{}/api/v1/rootCert", stack.ca_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let chain = pem_chain(&resp.text().await.unwrap());
    assert_eq!(chain, stack.chain, "every bundle certificate, CA first");
}
