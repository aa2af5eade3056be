//! The time-stamp authority over HTTP, as sigstore/timestamp-authority
//! answers (docs/rekor-v2.md §5): DER and JSON requests, upstream's error shape,
//! the PEM chain, and nothing at all on a CA that runs no TSA.

#![allow(clippy::unwrap_used)]

use test_support::softhsm;

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ca_server::ca::{self_signed_root, CaSigner, SoftwareKey};
use ca_server::tsa::{issue_tsa_certificate, TsaConfig};
use ca_server::{Ca, CaConfig};
use der::{Decode, Encode};
use serde_json::Value;
use sha2::Digest;

struct Served {
    url: String,
    chain: Vec<Vec<u8>>,
    http: reqwest::Client,
}

async fn serve(with_tsa: bool) -> Served {
    let tsa_key: Arc<dyn CaSigner> = Arc::new(SoftwareKey::generate_p256().unwrap());
    serve_with(tsa_key, with_tsa).await
}

async fn serve_with(tsa_key: Arc<dyn CaSigner>, with_tsa: bool) -> Served {
    let root_key = SoftwareKey::generate_p256().unwrap();
    let root = self_signed_root(&root_key, "sigil", "tsa test root").unwrap();
    let tsa_cert = issue_tsa_certificate(
        &root_key,
        &root,
        &tsa_key.public_spki_der(),
        "sigil",
        "tsa test",
        Duration::from_secs(3600),
    )
    .unwrap();
    let chain = vec![tsa_cert, root.clone()];
    let ca = Ca::new(CaConfig {
        certs_per_subject_per_sec: 0,
        tsa: with_tsa.then(|| TsaConfig {
            signer: tsa_key,
            chain_der: chain.clone(),
            policies: Default::default(),
        }),
        signer: Arc::new(root_key),
        chain_der: vec![root],
        // Never called: these tests issue no certificates.
        ct_log_url: "http://127.0.0.1:9".into(),
        ct_log_ca_pem: None,
        ct_log_public_key: None,
        issuers: vec![],
    })
    .await
    .unwrap();
    let addr = test_support::net::serve(ca.router()).await;
    Served {
        url: format!("http://{addr}"),
        chain,
        http: reqwest::Client::new(),
    }
}

impl Served {
    async fn post(&self, content_type: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
        let resp = self
            .http
            .post(format!("{}/api/v1/timestamp", self.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, ctype, resp.bytes().await.unwrap().to_vec())
    }

    async fn refused(&self, content_type: &str, body: &str) -> (u16, String) {
        let (status, _, body) = self.post(content_type, body.as_bytes().to_vec()).await;
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error["code"], status, "{error}");
        (status, error["message"].as_str().unwrap().to_owned())
    }
}

fn granted_imprint(response: &[u8]) -> Vec<u8> {
    let resp = x509_tsp::TimeStampResp::from_der(response).unwrap();
    assert_eq!(resp.status.status, cmpv2::status::PkiStatus::Accepted);
    let signed: cms::signed_data::SignedData =
        resp.time_stamp_token.unwrap().content.decode_as().unwrap();
    let tst_der = signed
        .encap_content_info
        .econtent
        .unwrap()
        .decode_as::<der::asn1::OctetString>()
        .unwrap();
    let tst = x509_tsp::TstInfo::from_der(tst_der.as_bytes()).unwrap();
    tst.message_imprint.hashed_message.as_bytes().to_vec()
}

#[tokio::test]
async fn answers_der_and_json_requests_with_a_granted_token() {
    let s = serve(true).await;
    let digest = sha2::Sha256::digest(b"a signature").to_vec();

    let request = x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: const_oid::db::rfc5912::ID_SHA_256,
                parameters: None,
            },
            hashed_message: der::asn1::OctetString::new(digest.clone()).unwrap(),
        },
        req_policy: None,
        nonce: None,
        cert_req: true,
        extensions: None,
    };
    let (status, ctype, body) = s
        .post("application/timestamp-query", request.to_der().unwrap())
        .await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/timestamp-reply")
    );
    assert_eq!(granted_imprint(&body), digest);

    let json = format!(
        r#"{{"artifactHash":"{}","hashAlgorithm":"sha256"}}"#,
        STANDARD.encode(&digest)
    );
    let (status, ctype, body) = s
        .post("application/json; charset=utf-8", json.into_bytes())
        .await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/timestamp-reply")
    );
    assert_eq!(granted_imprint(&body), digest);
}

#[tokio::test]
async fn refuses_bad_requests_with_upstreams_error_shape() {
    let s = serve(true).await;
    let h32 = STANDARD.encode([7u8; 32]);
    let json =
        |alg: &str, hash: &str| format!(r#"{{"artifactHash":"{hash}","hashAlgorithm":"{alg}"}}"#);
    let (status, message) = s.refused("application/json", &json("sha1", &h32)).await;
    assert_eq!(status, 400);
    assert!(message.starts_with("Weak hash algorithm"), "{message}");
    let (status, message) = s.refused("application/json", &json("sha512", &h32)).await;
    assert_eq!(status, 400);
    assert!(message.contains("incorrect length"), "{message}");
    let (status, message) = s.refused("application/json", "{not json").await;
    assert_eq!(status, 400);
    assert!(message.contains("invalid JSON"), "{message}");
    let (status, message) = s.refused("application/timestamp-query", "junk").await;
    assert_eq!(status, 400);
    assert!(message.contains("not a DER TimeStampReq"), "{message}");
    let (status, _) = s.refused("application/xml", &json("sha256", &h32)).await;
    assert_eq!(status, 400);
    let (status, _) = s.refused("text/plain", &json("sha256", &h32)).await;
    assert_eq!(status, 415);
}

#[tokio::test]
async fn serves_the_pem_chain_tsa_certificate_first() {
    let s = serve(true).await;
    let resp = s
        .http
        .get(format!("{}/api/v1/timestamp/certchain", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let pem = resp.bytes().await.unwrap();
    let chain: Vec<Vec<u8>> = shared::keys::pem_blocks(&pem)
        .unwrap()
        .into_iter()
        .map(|(label, der)| {
            assert_eq!(label, "CERTIFICATE");
            der
        })
        .collect();
    assert_eq!(chain, s.chain);
    x509_cert::Certificate::from_der(&chain[0]).unwrap();
}

#[tokio::test]
async fn a_ca_without_a_tsa_serves_no_timestamps() {
    let s = serve(false).await;
    let h32 = STANDARD.encode([7u8; 32]);
    let (status, message) = s
        .refused(
            "application/json",
            &format!(r#"{{"artifactHash":"{h32}","hashAlgorithm":"sha256"}}"#),
        )
        .await;
    assert_eq!(status, 404, "{message}");
    let resp = s
        .http
        .get(format!("{}/api/v1/timestamp/certchain", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// A P-384 TSA key inside a PKCS#11 token (SoftHSM2) signs tokens that
/// OpenSSL verifies: the HSM backend, the SHA-384 signature path and the
/// HTTP route together, on a request OpenSSL itself wrote.
#[tokio::test]
async fn a_p384_tsa_key_on_a_pkcs11_token_stamps_what_openssl_verifies() {
    let hsm = softhsm::softhsm();
    let config = ca_server::ca::Pkcs11Config {
        module: hsm.module.clone(),
        token_label: hsm.token_label.clone(),
        key_label: softhsm::unique_label("tsa384"),
        pin: ca_server::ca::Secret::new(hsm.pin.clone()),
    };
    let key =
        ca_server::ca::Pkcs11Signer::generate(config, ca_server::ca::CaKeyKind::P384).unwrap();
    let s = serve_with(Arc::new(key), true).await;

    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("data"), b"signature bytes").unwrap();
    std::fs::write(
        path("root.pem"),
        shared::keys::pem_encode("CERTIFICATE", &s.chain[1]),
    )
    .unwrap();
    std::fs::write(
        path("tsa.pem"),
        shared::keys::pem_encode("CERTIFICATE", &s.chain[0]),
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, out) = openssl(&[
        "ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "req.tsq",
    ]);
    assert!(ok, "{out}");
    let (status, _, reply) = s
        .post(
            "application/timestamp-query",
            std::fs::read(path("req.tsq")).unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    std::fs::write(path("resp.tsr"), reply).unwrap();
    let (ok, out) = openssl(&[
        "ts",
        "-verify",
        "-queryfile",
        "req.tsq",
        "-in",
        "resp.tsr",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "tsa.pem",
    ]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
}
