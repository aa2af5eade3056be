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
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};
use shared::checkpoint::Checkpoint;
use shared::keys::EcdsaP256Signer;
use shared::merkle::{leaf_hash, verify_inclusion, Hash};
use shared::note::SignedNote;
use shared::rekor::{set_payload, LogEntryValue, LogInfo};
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
    /// The Rekor v2 log's checkpoint key, named by its origin `localhost`.
    pub(crate) rekor_v2_key: shared::note::CheckpointKey,
    pub(crate) ct_key: EcdsaP256Signer,
    pub(crate) ca: TestCa,
    pub(crate) dir: tempfile::TempDir,
    /// Witnesses of the v2 log (none unless a test sets them).
    pub(crate) witnesses: tlog_server::WitnessPolicy,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Self {
            rekor_key: EcdsaP256Signer::generate(),
            rekor_v2_key: shared::note::CheckpointKey::generate(
                shared::note::CheckpointAlgorithm::Ed25519,
                "localhost",
            )
            .unwrap(),
            ct_key: EcdsaP256Signer::generate(),
            ca: TestCa::new("Sigil Test Root"),
            dir: tempfile::tempdir().unwrap(),
            witnesses: tlog_server::WitnessPolicy::default(),
        }
    }

    /// The v2 checkpoint key as Ed25519, which witnesses need.
    #[allow(dead_code)] // Not every test binary has witnesses.
    pub(crate) fn rekor_v2_ed25519(&self) -> &shared::note::Ed25519NoteKey {
        match &self.rekor_v2_key {
            shared::note::CheckpointKey::Ed25519(key) => key,
            other => panic!("the fixture's v2 key is {other:?}, not Ed25519"),
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
            entry_cache_bytes: tlog_server::DEFAULT_ENTRY_CACHE_BYTES,
            tile_cache_bytes: tlog_server::DEFAULT_TILE_CACHE_BYTES,
            rekor_v2: Some(tlog_server::RekorV2Config {
                key: self.rekor_v2_key.clone(),
                witnesses: self.witnesses.clone(),
                served_tile_cache_bytes: tlog_server::DEFAULT_SERVED_TILE_CACHE_BYTES,
            }),
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

    pub(crate) async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
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

/// Checks one LogEntry response the way sigstore clients do and returns its
/// (entry ID, value, leaf hash).
pub(crate) fn check_log_entry(
    json: &serde_json::Value,
    server: &Server,
    key: &EcdsaP256Signer,
) -> (String, LogEntryValue, Hash) {
    let map = json.as_object().unwrap();
    assert_eq!(map.len(), 1, "a LogEntry has exactly one key");
    let (id, value) = map.iter().next().unwrap();
    let value: LogEntryValue = serde_json::from_value(value.clone()).unwrap();

    let body = B64.decode(&value.body).unwrap();
    let leaf = leaf_hash(&body);
    assert_eq!(
        id,
        &format!("{:016x}{}", server.tlog_tree_id, leaf.to_hex()),
        "entry ID = %016x tree ‖ uuid"
    );
    assert_eq!(value.log_id, key.log_id().to_hex());

    // The SET covers body, integratedTime (seconds), logID and logIndex.
    let set = B64
        .decode(&value.verification.signed_entry_timestamp)
        .unwrap();
    let payload = set_payload(
        &value.body,
        value.integrated_time,
        &key.log_id(),
        value.log_index,
    );
    key.public_key()
        .verify(&payload, &set)
        .expect("SET verifies with the log key");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (now - 60..=now + 1).contains(&value.integrated_time),
        "integratedTime is in seconds and recent"
    );

    // The proof is against the checkpoint, whose signature verifies.
    let proof = &value.verification.inclusion_proof;
    assert_eq!(proof.log_index, value.log_index);
    let root = Hash::from_hex(&proof.root_hash).unwrap();
    let hashes: Vec<Hash> = proof
        .hashes
        .iter()
        .map(|h| Hash::from_hex(h).unwrap())
        .collect();
    verify_inclusion(&leaf, proof.log_index, proof.tree_size, &hashes, &root)
        .expect("inclusion proof verifies");
    let note = SignedNote::parse(&proof.checkpoint).unwrap();
    assert_eq!(
        note.signatures.len(),
        1,
        "v1 checkpoints carry exactly one signature"
    );
    assert_eq!(note.signatures[0].name, "localhost");
    assert_eq!(note.signatures[0].key_hint, key.log_id().key_hint());
    note.verify_v1("localhost", &key.public_key())
        .expect("checkpoint signature verifies");
    let checkpoint = Checkpoint::parse(&note.text).unwrap();
    assert_eq!(
        checkpoint.origin,
        format!("localhost - {}", server.tlog_tree_id)
    );
    assert_eq!(
        (checkpoint.size, checkpoint.root),
        (proof.tree_size, root),
        "checkpoint matches the proof"
    );
    (id.clone(), value, leaf)
}

/// A hashedrekord ProposedEntry for `artifact`, signed by a fresh P-256 key.
pub(crate) fn hashedrekord(artifact: &[u8]) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(artifact).into();
    hashedrekord_signing(&digest, &digest)
}

/// A hashedrekord that claims `claimed` but whose signature is over `signed`.
pub(crate) fn hashedrekord_signing(claimed: &[u8; 32], signed: &[u8; 32]) -> Vec<u8> {
    test_support::tlog::hashedrekord_signing(claimed, signed).into_bytes()
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
        let subject = format!("CN=leaf {serial}");
        self.leaf(&leaf_key, serial, &subject, |builder| {
            if precert {
                builder.add_extension(&Poison).unwrap();
            }
        })
    }

    /// A leaf certificate for `key` with `email` as its rfc822Name SAN (what
    /// Fulcio issues for an email identity), for search-by-email tests.
    pub(crate) fn issue_for_email(&self, key: &p256::ecdsa::SigningKey, email: &str) -> Vec<u8> {
        use x509_cert::ext::pkix::name::GeneralName;
        use x509_cert::ext::pkix::SubjectAltName;
        let san = SubjectAltName(vec![GeneralName::Rfc822Name(
            der::asn1::Ia5String::new(email).unwrap(),
        )]);
        self.leaf(key, 99, "CN=signer", |builder| {
            builder.add_extension(&san).unwrap();
        })
    }

    /// A ten-minute leaf certificate for `key`, DER, issued by this CA with
    /// whatever extensions `extend` adds.
    fn leaf(
        &self,
        key: &p256::ecdsa::SigningKey,
        serial: u32,
        subject: &str,
        extend: impl FnOnce(&mut CertificateBuilder<'_, p256::ecdsa::SigningKey>),
    ) -> Vec<u8> {
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
        let validity = Validity::from_now(Duration::from_secs(600)).unwrap();
        let profile = Profile::Leaf {
            issuer: self.name.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let mut builder = CertificateBuilder::new(
            profile,
            SerialNumber::from(serial),
            validity,
            Name::from_str(subject).unwrap(),
            spki,
            &self.key,
        )
        .unwrap();
        extend(&mut builder);
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

/// Asserts a Rekor-shaped error answer (`{"code": status, "message": ...}`)
/// and returns its message.
pub(crate) async fn error_message(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status(), status, "{}", r.url());
    let body = r.bytes().await.unwrap();
    assert_eq!(
        body.last(),
        Some(&b'\n'),
        "Rekor's errors end in a newline, as Go's json.Encoder writes them"
    );
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], status, "{v}");
    let m = v["message"].as_str().unwrap().to_owned();
    assert!(!m.is_empty());
    m
}

/// The message of a CT API error, checking ctfe's framing (Go's
/// `http.Error`): `text/plain`, `"<status text>\n<message>\n"`.
pub(crate) async fn ct_error_message(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status(), status, "{}", r.url());
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; charset=utf-8",
        "{}",
        r.url()
    );
    let reason = r.status().canonical_reason().unwrap().to_owned();
    let text = r.text().await.unwrap();
    let message = text
        .strip_prefix(&format!("{reason}\n"))
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("not ctfe's framing: {text:?}"));
    assert!(!message.is_empty());
    message.to_owned()
}

/// A `hashedRekordRequestV002` over `artifact`, signed by a fresh P-256 key.
pub(crate) fn v2_request(artifact: &[u8]) -> serde_json::Value {
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let digest = <Sha256 as Digest>::digest(artifact);
    let signature: p256::ecdsa::Signature = PrehashSigner::sign_prehash(&key, &digest).unwrap();
    let spki = key.verifying_key().to_public_key_der().unwrap();
    serde_json::json!({"hashedRekordRequestV002": {
        "digest": B64.encode(digest),
        "signature": {
            "content": B64.encode(signature.to_der().as_bytes()),
            "verifier": {
                "publicKey": {"rawBytes": B64.encode(spki.as_bytes())},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            },
        },
    }})
}
