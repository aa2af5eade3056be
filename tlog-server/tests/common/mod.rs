//! Helpers for the HTTP integration tests: a log on a fresh SQLite file
//! served on 127.0.0.1:0, a tiny test CA, and Rekor entries signed by fresh keys.

#![allow(dead_code)]
// each test binary uses a different part of these helpers
// Test helpers outside #[test] fns: a failure here should panic the test.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use der::asn1::Null;
use der::oid::{AssociatedOid, ObjectIdentifier};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};
use shared::keys::EcdsaP256Signer;
use shared::rekor::LogInfo;
use tlog_server::{SequencerConfig, Tlog, TlogConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::Encode as _;
use x509_cert::ext::AsExtension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// Keys, CA and database file that survive a server restart.
pub(crate) struct Fixture {
    pub(crate) rekor_key: EcdsaP256Signer,
    pub(crate) ct_key: EcdsaP256Signer,
    pub(crate) ca: TestCa,
    pub(crate) dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Self {
            rekor_key: EcdsaP256Signer::generate(),
            ct_key: EcdsaP256Signer::generate(),
            ca: TestCa::new("Sigil Test Root"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn config(&self) -> TlogConfig {
        TlogConfig {
            database_url: format!(
                "sqlite://{}?mode=rwc",
                self.dir.path().join("tlog.db").display()
            ),
            rekor_signer: self.rekor_key.clone(),
            ct_signer: self.ct_key.clone(),
            ct_roots: vec![self.ca.root_der.clone()],
            hostname: "localhost".into(),
            sequencer: SequencerConfig {
                flush_interval: Duration::from_millis(5),
                ..SequencerConfig::default()
            },
        }
    }

    pub(crate) async fn start(&self) -> Server {
        Server::start(self.config()).await
    }
}

/// A running log server.
pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) tlog_tree_id: i64,
    stop: oneshot::Sender<()>,
    join: JoinHandle<()>,
    tlog: Tlog,
}

impl Server {
    pub(crate) async fn start(config: TlogConfig) -> Self {
        let tlog = Tlog::open(config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let router = tlog.router();
        let join = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            tlog_tree_id: tlog.rekor_tree_id(),
            stop,
            join,
            tlog,
        }
    }

    /// Stops serving, then drains the sequencers.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.join.await.unwrap();
        self.tlog.shutdown().await;
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn post_entry(&self, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/log/entries"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub(crate) async fn log_info(&self) -> LogInfo {
        let r = self.get("/api/v1/log").await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

/// A hashedrekord ProposedEntry for `artifact`, signed by a fresh P-256 key.
pub(crate) fn hashedrekord(artifact: &[u8]) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(artifact).into();
    hashedrekord_signing(&digest, &digest)
}

/// A hashedrekord that claims `claimed` but whose signature is over `signed`.
pub(crate) fn hashedrekord_signing(claimed: &[u8; 32], signed: &[u8; 32]) -> Vec<u8> {
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let sig: p256::ecdsa::Signature = key.sign_prehash(signed).unwrap();
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {"content": B64.encode(sig.to_der().as_bytes()), "publicKey": {"content": B64.encode(pem)}},
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(claimed)}}
        }
    }))
    .unwrap()
}

/// A root CA that issues leaf certificates and precertificates.
pub(crate) struct TestCa {
    key: p256::ecdsa::SigningKey,
    name: Name,
    pub(crate) root_der: Vec<u8>,
}

impl TestCa {
    pub(crate) fn new(common_name: &str) -> Self {
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let name = Name::from_str(&format!("CN={common_name},O=Sigil Tests")).unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
        let validity = Validity::from_now(Duration::from_secs(3600)).unwrap();
        let builder = CertificateBuilder::new(
            Profile::Root,
            SerialNumber::from(1u32),
            validity,
            name.clone(),
            spki,
            &key,
        )
        .unwrap();
        let root = builder.build::<p256::ecdsa::DerSignature>().unwrap();
        Self {
            key,
            name,
            root_der: root.to_der().unwrap(),
        }
    }

    /// A leaf for a fresh key; with the critical CT poison when `precert`.
    pub(crate) fn issue(&self, serial: u32, precert: bool) -> Vec<u8> {
        let leaf_key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let spki = SubjectPublicKeyInfoOwned::from_key(*leaf_key.verifying_key()).unwrap();
        let validity = Validity::from_now(Duration::from_secs(600)).unwrap();
        let profile = Profile::Leaf {
            issuer: self.name.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let subject = Name::from_str(&format!("CN=leaf {serial}")).unwrap();
        let mut builder = CertificateBuilder::new(
            profile,
            SerialNumber::from(serial),
            validity,
            subject,
            spki,
            &self.key,
        )
        .unwrap();
        if precert {
            builder.add_extension(&Poison).unwrap();
        }
        builder
            .build::<p256::ecdsa::DerSignature>()
            .unwrap()
            .to_der()
            .unwrap()
    }
}

/// RFC 6962 §3.1 precertificate poison: critical, value ASN.1 NULL.
struct Poison;

impl AssociatedOid for Poison {
    const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
}

impl der::Encode for Poison {
    fn encoded_len(&self) -> der::Result<der::Length> {
        Null.encoded_len()
    }

    fn encode(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        Null.encode(writer)
    }
}

impl AsExtension for Poison {
    fn critical(&self, _subject: &Name, _extensions: &[x509_cert::ext::Extension]) -> bool {
        true
    }
}
