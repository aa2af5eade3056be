//! Test stack for the CA over real HTTP: a tiny OIDC issuer (discovery + JWKS
//! with an ES256 P-256 and an RS256 key; tokens signed here), a tiny RFC 6962
//! `add-pre-chain` endpoint that signs SCTs with `shared::sct`, and the CA,
//! each on 127.0.0.1:0.

// Test helpers: panicking on a broken fixture is the point.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ca_server::ca::CaSigner;
use ca_server::{Ca, CaConfig, IssuerType, OidcIssuerConfig};
use const_oid::AssociatedOid;
use der::asn1::OctetString;
use der::{Decode, Encode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::keys::EcdsaP256Signer;
use shared::sct::SignedCertificateTimestamp;
use spki::SubjectPublicKeyInfoOwned;
use test_support::jwt;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::time::Validity;

pub const EC_KID: &str = "ec-1";
pub const RSA_KID: &str = "rsa-1";

pub use test_support::jwt::now;
use test_support::net::serve;

// ---------------------------------------------------------------- OIDC issuer

/// An OIDC issuer serving discovery and a JWKS; it signs tokens for tests.
pub struct TestIssuer {
    pub url: String,
    pub ec: EcdsaP256Signer,
    pub rsa: rsa::RsaPrivateKey,
    pub jwks_fetches: Arc<AtomicUsize>,
}

impl TestIssuer {
    pub async fn start() -> Self {
        let ec = EcdsaP256Signer::generate();
        let (rsa, mut rsa_jwk) = test_support::jwk::rsa_fixture(RSA_KID);
        rsa_jwk["use"] = json!("sig");
        rsa_jwk["alg"] = json!("RS256");
        let jwks = json!({"keys": [jwt::es256_jwk(&ec, EC_KID), rsa_jwk]});
        let (listener, addr) = test_support::net::listener().await;
        let url = format!("http://{addr}");
        let fetches = Arc::new(AtomicUsize::new(0));
        let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/keys"),
            "id_token_signing_alg_values_supported": ["ES256", "RS256"]});
        let counter = fetches.clone();
        let router = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route(
                "/keys",
                get(move || async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Json(jwks)
                }),
            );
        test_support::net::serve_on(listener, router);
        Self {
            url,
            ec,
            rsa,
            jwks_fetches: fetches,
        }
    }

    /// Claims every client accepts: email identity, aud "sigstore", 10 minutes.
    pub fn claims(&self, email: &str) -> Value {
        let now = now();
        json!({"iss": self.url, "sub": "user-123", "aud": "sigstore", "iat": now, "nbf": now,
               "exp": now + 600, "email": email, "email_verified": true})
    }

    pub fn es256(&self, claims: &Value) -> String {
        jwt::es256(&self.ec, EC_KID, claims)
    }

    pub fn rs256(&self, claims: &Value) -> String {
        let header = json!({"alg":"RS256","kid":RSA_KID});
        self.sign_with(&header, claims, test_support::jwk::rs256(&self.rsa))
    }

    pub fn sign_with(
        &self,
        header: &Value,
        claims: &Value,
        sign: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> String {
        jwt::encode(header, claims, sign)
    }
}

/// HMAC-SHA256 (RFC 2104), for forging HS256 tokens.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<_>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

// ---------------------------------------------------------------- CT log

/// `POST /ct/v1/add-pre-chain` that checks the chain with `shared::ct` and signs an SCT.
pub struct FakeCtLog {
    pub url: String,
    pub key: EcdsaP256Signer,
    pub submissions: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct CtState {
    key: EcdsaP256Signer,
    roots: Vec<Vec<u8>>,
    submissions: Arc<AtomicUsize>,
}

impl FakeCtLog {
    pub async fn start(roots: Vec<Vec<u8>>) -> Self {
        Self::start_on(roots, None).await
    }

    /// The same log over HTTPS (`https://localhost:<port>`), with the
    /// certificate and key in `tls`, served as ca-server and tlog-server
    /// serve (the `serving` crate).
    #[allow(dead_code)] // Only the TLS tests use it.
    pub async fn start_tls(roots: Vec<Vec<u8>>, tls: serving::tls::TlsFiles) -> Self {
        Self::start_on(roots, Some(tls)).await
    }

    async fn start_on(roots: Vec<Vec<u8>>, tls: Option<serving::tls::TlsFiles>) -> Self {
        let key = EcdsaP256Signer::generate();
        let submissions = Arc::new(AtomicUsize::new(0));
        let state = CtState {
            key: key.clone(),
            roots,
            submissions: submissions.clone(),
        };
        let router = Router::new()
            .route("/ct/v1/add-pre-chain", post(add_pre_chain))
            .with_state(state);
        let url = match tls {
            None => format!("http://{}", serve(router).await),
            Some(tls) => {
                let (listener, addr) = test_support::net::listener().await;
                let port = addr.port();
                let limits = serving::ConnectionLimits {
                    tls_cert: Some(tls.cert),
                    tls_key: Some(tls.key),
                    ..serving::ConnectionLimits::default()
                };
                tokio::spawn(async move {
                    serving::serve(listener, router, &limits, std::future::pending())
                        .await
                        .unwrap()
                });
                format!("https://localhost:{port}")
            }
        };
        Self {
            url,
            key,
            submissions,
        }
    }
}

async fn add_pre_chain(
    State(state): State<CtState>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, (StatusCode, String)> {
    state.submissions.fetch_add(1, Ordering::SeqCst);
    let chain: Vec<Vec<u8>> = body["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| STANDARD.decode(c.as_str().unwrap()).unwrap())
        .collect();
    let accepted = shared::ct::accept_chain(&chain, &state.roots, true)
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let sct = SignedCertificateTimestamp::sign(&state.key, ms, &accepted.entry);
    Ok(Json(
        serde_json::to_value(sct.to_add_chain_response()).unwrap(),
    ))
}

// ---------------------------------------------------------------- the CA

/// The configuration every test CA starts from: `signer` and its `chain`
/// (DER, issuing CA first), the CT log `ct`, whose SCTs it checks, and
/// `issuers`; no per-identity rate, no timestamp authority. A test that
/// needs another value sets it with struct update syntax.
pub fn ca_config(
    signer: Arc<dyn CaSigner>,
    chain: Vec<Vec<u8>>,
    ct: &FakeCtLog,
    issuers: Vec<OidcIssuerConfig>,
) -> CaConfig {
    CaConfig {
        certs_per_subject_per_sec: 0,
        tsa: None,
        signer,
        chain_der: chain,
        ct_log_url: ct.url.clone(),
        ct_log_ca_pem: None,
        ct_log_public_key: Some(ct.key.public_key()),
        issuers,
    }
}

/// A CA built from `config`, serving on a free port; its base URL.
pub async fn serve_ca(config: CaConfig) -> String {
    let ca = Ca::new(config).await.unwrap();
    format!("http://{}", serve(ca.router()).await)
}

/// A fake CT log that accepts chains to the root of `chain` (DER, issuing
/// CA first, root last), and a CA with `signer`, `chain` and `issuers`
/// logging there ([`ca_config`], [`serve_ca`]): the CA's base URL and the log.
pub async fn serve_ca_with_log(
    signer: Arc<dyn CaSigner>,
    chain: Vec<Vec<u8>>,
    issuers: Vec<OidcIssuerConfig>,
) -> (String, FakeCtLog) {
    let root = chain.last().expect("a chain has a root").clone();
    let ct = FakeCtLog::start(vec![root]).await;
    let ca_url = serve_ca(ca_config(signer, chain, &ct, issuers)).await;
    (ca_url, ct)
}

/// The chain of a v2 `signingCert` reply, DER, leaf first; checks each
/// entry is one trimmed PEM certificate.
pub fn chain_of(reply: &Value) -> Vec<Vec<u8>> {
    reply["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .expect("embedded-SCT chain")
        .iter()
        .map(|pem| {
            let pem = pem.as_str().unwrap();
            assert!(!pem.ends_with('\n'), "PEMs are trimmed");
            let blocks = shared::keys::pem_blocks(pem.as_bytes()).unwrap();
            assert_eq!(blocks.len(), 1);
            assert_eq!(blocks[0].0, "CERTIFICATE");
            blocks[0].1.clone()
        })
        .collect()
}

/// Which CA chain the stack runs with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ChainShape {
    RootOnly,
    WithIntermediate,
}

pub struct Stack {
    pub ca_url: String,
    pub email_issuer: TestIssuer,
    pub uri_issuer: TestIssuer,
    pub ct: FakeCtLog,
    /// DER, issuing CA first, root last.
    pub chain: Vec<Vec<u8>>,
    pub http: reqwest::Client,
}

pub const URI_SUBJECT_DOMAIN: &str = "https://ci.example.com";

impl Stack {
    pub async fn start(shape: ChainShape) -> Self {
        let key = EcdsaP256Signer::generate();
        let chain = match shape {
            ChainShape::RootOnly => vec![root_certificate(&key)],
            ChainShape::WithIntermediate => intermediate_chain(&key.public_spki_der()),
        };
        Self::start_with_ca(Arc::new(key), chain).await
    }

    /// The stack with any CA key backend and its chain (DER, issuing CA first).
    pub async fn start_with_ca(signer: Arc<dyn CaSigner>, chain: Vec<Vec<u8>>) -> Self {
        let email_issuer = TestIssuer::start().await;
        let uri_issuer = TestIssuer::start().await;
        let issuers = vec![
            OidcIssuerConfig::new(&email_issuer.url, IssuerType::Email),
            OidcIssuerConfig {
                subject_domain: Some(URI_SUBJECT_DOMAIN.into()),
                ..OidcIssuerConfig::new(&uri_issuer.url, IssuerType::Uri)
            },
        ];
        let (ca_url, ct) = serve_ca_with_log(signer, chain.clone(), issuers).await;
        Self {
            ca_url,
            email_issuer,
            uri_issuer,
            ct,
            chain,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs `body` to /api/v2/signingCert; returns status and JSON reply.
    pub async fn signing_cert(&self, body: &Value, bearer: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/api/v2/signingCert", self.ca_url))
            .json(body);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.ca_url))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }
}

/// A public-key request body with a PoP over `signed`.
pub fn public_key_request(token: Option<&str>, client: &EcdsaP256Signer, signed: &str) -> Value {
    let mut body = json!({"publicKeyRequest": {
        "publicKey": {"algorithm": "ECDSA", "content": client.public_pem()},
        "proofOfPossession": STANDARD.encode(client.sign(signed.as_bytes())),
    }});
    if let Some(token) = token {
        body["credentials"] = json!({ "oidcIdentityToken": token });
    }
    body
}

/// A PEM PKCS#10 CSR with an empty subject; `tamper` breaks its self-signature.
pub fn csr_pem(client: &EcdsaP256Signer, tamper: bool) -> String {
    use x509_cert::request::{CertReq, CertReqInfo};
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: x509_cert::name::RdnSequence(Vec::new()),
        public_key: SubjectPublicKeyInfoOwned::from_der(&client.public_spki_der()).unwrap(),
        attributes: Default::default(),
    };
    let mut signed = info.to_der().unwrap();
    if tamper {
        signed.push(0);
    }
    let csr = CertReq {
        info,
        algorithm: ca_server::x509::ecdsa_with_sha256(),
        signature: der::asn1::BitString::from_bytes(&client.sign(&signed)).unwrap(),
    };
    shared::keys::pem_encode("CERTIFICATE REQUEST", &csr.to_der().unwrap())
}

/// A self-signed root certificate for `key`, as the CA makes its own.
pub fn root_certificate(key: &EcdsaP256Signer) -> Vec<u8> {
    ca_server::generate_root_certificate(key, "sigil", "sigil test root").unwrap()
}

/// A chain for the CA key `spki_der`, DER, issuing CA first: an
/// intermediate CA (critical BC CA, critical KU keyCertSign, EKU
/// codeSigning, SKID, AKID) under a fresh P-256 root.
pub fn intermediate_chain(spki_der: &[u8]) -> Vec<Vec<u8>> {
    let root_key = EcdsaP256Signer::generate();
    let root_der = root_certificate(&root_key);
    let root = x509_cert::Certificate::from_der(&root_der).unwrap();
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der).unwrap();
    let root_skid = root
        .tbs_certificate
        .get::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap()
        .1;
    let ext = |oid, critical, value: Vec<u8>| Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    };
    let now = SystemTime::now();
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: ca_server::x509::random_serial().unwrap(),
        signature: root_key.signature_algorithm(),
        issuer: root.tbs_certificate.subject,
        validity: Validity {
            not_before: ca_server::x509::x509_time(now).unwrap(),
            not_after: ca_server::x509::x509_time(now + Duration::from_secs(86400)).unwrap(),
        },
        subject: ca_server::x509::org_cn_name("sigil", "sigil test intermediate").unwrap(),
        subject_public_key_info: spki.clone(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(vec![
            ext(
                BasicConstraints::OID,
                true,
                BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                }
                .to_der()
                .unwrap(),
            ),
            ext(
                KeyUsage::OID,
                true,
                KeyUsage(KeyUsages::KeyCertSign.into()).to_der().unwrap(),
            ),
            ext(
                ExtendedKeyUsage::OID,
                false,
                ExtendedKeyUsage(vec![shared::oids::EKU_CODE_SIGNING])
                    .to_der()
                    .unwrap(),
            ),
            ext(
                SubjectKeyIdentifier::OID,
                false,
                SubjectKeyIdentifier(
                    OctetString::new(ca_server::x509::key_identifier(&spki)).unwrap(),
                )
                .to_der()
                .unwrap(),
            ),
            ext(
                AuthorityKeyIdentifier::OID,
                false,
                AuthorityKeyIdentifier {
                    key_identifier: Some(root_skid.0),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                }
                .to_der()
                .unwrap(),
            ),
        ]),
    };
    let intermediate = ca_server::ca::sign_certificate(tbs, &root_key).unwrap();
    vec![intermediate, root_der]
}
