//! Test identity providers for the identity-type tests: one server that acts
//! as any number of OIDC issuers (`<base>/<name>` each, discovery for every
//! path, one JWKS at `/keys` that can be rotated), over HTTP or over HTTPS
//! with a self-signed certificate; a CA stack built from a config file; and
//! certificate inspection helpers.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::{Decode, Encode};
use serde_json::Value;
use shared::keys::{pem_blocks, EcdsaP256Signer};
use test_support::oidc::Issuers;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

use crate::common::{public_key_request, root_certificate, serve_ca_with_log, FakeCtLog};

// ---------------------------------------------------------------- issuers

/// Many OIDC issuers on one port, sharing one signing key
/// (`test_support::oidc::Issuers`), with two redirecting discovery paths:
/// `/same/…` redirects within the host, `/cross/…` to another host name
/// (127.0.0.1 instead of localhost) for the same server.
pub struct Idp {
    pub base: String,
    issuers: Issuers,
}

impl Idp {
    fn new(base: String) -> Self {
        Self {
            issuers: Issuers::new(base.clone()),
            base,
        }
    }

    /// Serves over plain HTTP on `http://localhost:<port>`.
    pub async fn start_http() -> Self {
        let (listener, addr) = test_support::net::listener().await;
        let idp = Self::new(format!("http://localhost:{}", addr.port()));
        let issuers = idp.issuers.clone();
        let router = Router::new()
            .route("/keys", get(keys))
            .fallback(discovery)
            .with_state(issuers);
        test_support::net::serve_on(listener, router);
        idp
    }

    /// Serves over HTTPS on `https://localhost:<port>` with a fresh
    /// self-signed certificate for `localhost`, returned as PEM.
    pub async fn start_https() -> (Self, String) {
        let (listener, addr) = test_support::net::listener().await;
        let idp = Self::new(format!("https://localhost:{}", addr.port()));
        let cert = test_support::tls::localhost_cert().unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(cert.cert_der)],
                rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_der.into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let issuers = idp.issuers.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let issuers = issuers.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = serve_one_https(tls, &issuers).await;
                    }
                });
            }
        });
        (idp, cert.cert_pem)
    }

    /// The issuer URL `<base>/<name>`.
    pub fn url(&self, name: &str) -> String {
        self.issuers.url(name)
    }

    pub fn jwks_fetches(&self) -> usize {
        self.issuers.jwks_fetches()
    }

    /// Standard claims for `iss` (aud sigstore, valid for ten minutes) plus `extra`.
    pub fn claims(&self, iss: &str, extra: Value) -> Value {
        self.issuers.claims(iss, extra)
    }

    /// An ES256 JWT over `claims` with the current key.
    pub fn sign(&self, claims: &Value) -> String {
        self.issuers.sign(claims)
    }

    /// Publishes a second key (a rotation) and returns a signer for it.
    pub fn rotate(&self) -> (EcdsaP256Signer, String) {
        self.issuers.rotate()
    }
}

async fn keys(State(issuers): State<Issuers>) -> Json<Value> {
    Json(issuers.jwks())
}

/// A discovery document, where `/<x>-target/…` (where `/<x>/…` redirects
/// to) names issuer `<base>/<x>`.
fn discovery_for(issuers: &Issuers, path: &str) -> Option<Value> {
    let prefix = path.strip_suffix("/.well-known/openid-configuration")?;
    let prefix = prefix.strip_suffix("-target").unwrap_or(prefix);
    issuers.discovery(&format!("{prefix}/.well-known/openid-configuration"))
}

async fn discovery(State(issuers): State<Issuers>, req: Request) -> Response {
    let path = req.uri().path();
    let redirect = |to: String| {
        (
            axum::http::StatusCode::FOUND,
            [(axum::http::header::LOCATION, to)],
        )
            .into_response()
    };
    let well_known = "/.well-known/openid-configuration";
    if path == format!("/same{well_known}") {
        return redirect(format!("{}/same-target{well_known}", issuers.base()));
    }
    if path == format!("/cross{well_known}") {
        let other = issuers.base().replace("localhost", "127.0.0.1");
        return redirect(format!("{other}/cross-target{well_known}"));
    }
    match discovery_for(&issuers, path) {
        Some(doc) => Json(doc).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// One HTTP/1.1 exchange over TLS, answered by hand (GET only).
async fn serve_one_https(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    issuers: &Issuers,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let body = if path == "/keys" {
        Some(issuers.jwks())
    } else {
        discovery_for(issuers, &path)
    };
    let (status, body) = match body {
        Some(v) => ("200 OK", v.to_string()),
        None => ("404 Not Found", String::new()),
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(resp.as_bytes()).await?;
    tls.shutdown().await
}

// ---------------------------------------------------------------- the CA

pub struct Stack {
    pub ca_url: String,
    pub ct: FakeCtLog,
    pub http: reqwest::Client,
}

impl Stack {
    /// A CA trusting the issuers of `config` (a Fulcio config file's text).
    pub async fn start(config: &str) -> Self {
        let issuers = ca_server::parse_issuer_config(config).unwrap();
        let key = EcdsaP256Signer::generate();
        let chain = vec![root_certificate(&key)];
        let (ca_url, ct) = serve_ca_with_log(Arc::new(key), chain, issuers).await;
        Self {
            ca_url,
            ct,
            http: reqwest::Client::new(),
        }
    }

    pub fn issued(&self) -> usize {
        self.ct.submissions.load(Ordering::SeqCst)
    }

    /// Asks for a certificate with a PoP over `signed`; returns status and body.
    pub async fn request(&self, token: &str, signed: &str) -> (u16, Value) {
        let client = EcdsaP256Signer::generate();
        let resp = self
            .http
            .post(format!("{}/api/v2/signingCert", self.ca_url))
            .json(&public_key_request(Some(token), &client, signed))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// Asks for a certificate and returns the leaf, failing on anything but 200.
    pub async fn certificate(&self, token: &str, signed: &str) -> Certificate {
        let (status, body) = self.request(token, signed).await;
        assert_eq!(status, 200, "{body}");
        let pem = body["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
            .as_str()
            .unwrap()
            .to_owned();
        Certificate::from_der(&pem_blocks(pem.as_bytes()).unwrap()[0].1).unwrap()
    }

    /// Expects a 400 whose message contains `needle`, and no certificate issued.
    pub async fn refused(&self, token: &str, signed: &str, needle: &str) {
        let before = self.issued();
        let (status, body) = self.request(token, signed).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], 3);
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        assert_eq!(self.issued(), before, "nothing was sent to the CT log");
    }

    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.ca_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

// ---------------------------------------------------------------- certificates

/// DER of a UTF8String.
pub fn utf8(s: &str) -> Vec<u8> {
    der::asn1::Utf8StringRef::new(s).unwrap().to_der().unwrap()
}

/// The SAN extension: criticality and its one name.
pub fn san(cert: &Certificate) -> (bool, GeneralName) {
    let (critical, san) = cert
        .tbs_certificate
        .get::<SubjectAltName>()
        .unwrap()
        .unwrap();
    assert_eq!(san.0.len(), 1, "exactly one SAN");
    (critical, san.0[0].clone())
}

pub fn uri_san(uri: &str) -> GeneralName {
    GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(uri).unwrap())
}

/// Checks that the extensions right after the SAN are exactly `expected`
/// — (last arc under 57264.1, value) with .1–.6 raw and the rest DER
/// UTF8String — non-critical, in this order, and followed only by the SCT list.
pub fn assert_fulcio_extensions(cert: &Certificate, expected: &[(u32, &str)]) {
    let exts = cert.tbs_certificate.extensions.as_ref().unwrap();
    let san_at = exts
        .iter()
        .position(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
        .unwrap();
    let after: Vec<_> = exts[san_at + 1..].iter().collect();
    assert_eq!(
        after.len(),
        expected.len() + 1,
        "Fulcio extensions then the SCT list: {:?}",
        after
            .iter()
            .map(|e| e.extn_id.to_string())
            .collect::<Vec<_>>()
    );
    for (ext, (arc, value)) in after.iter().zip(expected) {
        assert_eq!(
            ext.extn_id.to_string(),
            format!("1.3.6.1.4.1.57264.1.{arc}")
        );
        assert!(!ext.critical, ".{arc} is not critical");
        let want = if *arc <= 6 {
            value.as_bytes().to_vec()
        } else {
            utf8(value)
        };
        assert_eq!(
            ext.extn_value.as_bytes(),
            want.as_slice(),
            ".{arc}: {:?}",
            String::from_utf8_lossy(ext.extn_value.as_bytes())
        );
    }
    assert_eq!(
        after.last().unwrap().extn_id,
        shared::oids::CT_SCT_LIST,
        "the SCT list is last"
    );
}

/// The base64 of `s` (for readable expected values in messages).
pub fn b64(s: &[u8]) -> String {
    STANDARD.encode(s)
}
