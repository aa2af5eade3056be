//! A small keyless Sigstore client built on **sigstore-rs 0.15.0** (crates.io
//! `sigstore`), for a private Sigstore deployment such as Sigil.
//!
//! sigstore-rs's own `SigningContext::new` takes a `Keyring` that lives in a
//! private module, so outside the crate signing can only target the public-good
//! instance. This module assembles the same flow from sigstore-rs's public
//! pieces, driven by a `ClientTrustConfig` file (what `sigil dev` writes and
//! sigstore-python takes as `--trust-config`):
//!
//! - the trust config (`dev.sigstore.trustroot.v1.ClientTrustConfig`,
//!   protobuf-specs `sigstore_trustroot.proto`): its `trustedRoot` becomes a
//!   [`SigstoreTrustRoot`], its `signingConfig` names the CA and the log;
//! - a certificate from the CA's Fulcio v2 API (`POST /api/v2/signingCert`,
//!   Fulcio's `fulcio.proto`) through [`FulcioClient::request_cert_v2`], for a
//!   fresh ECDSA P-256 key;
//! - a Rekor v1 `hashedrekord` 0.0.1 entry (`POST /api/v1/log/entries`, Rekor's
//!   OpenAPI) through [`create_log_entry`], whose inclusion proof and signed
//!   checkpoint are checked against the trusted log key;
//! - a Sigstore bundle v0.3 (protobuf-specs `sigstore_bundle.proto`), checked
//!   with sigstore-rs's [`Verifier`] before it is handed out.
//!
//! [`verify_blob`] is sigstore-rs's bundle verification with an identity +
//! issuer policy, as `sigstore verify identity` does it.

use std::path::Path;

use anyhow::{anyhow, Context as _};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::elliptic_curve::Generate as _;
use prost_reflect::{ReflectMessage as _, SerializeOptions};
use sha2::{Digest as _, Sha256};
use sigstore::bundle::verify::{policy, PolicyError, VerificationPolicy, Verifier};
use sigstore::bundle::Bundle;
use sigstore::crypto::CosignVerificationKey;
use sigstore::fulcio::{FulcioClient, TokenProvider};
use sigstore::oauth::IdentityToken;
use sigstore::rekor::apis::configuration::Configuration as RekorConfiguration;
use sigstore::rekor::apis::entries_api::create_log_entry;
use sigstore::rekor::models::{hashedrekord, LogEntry, ProposedEntry};
use sigstore::trust::sigstore::SigstoreTrustRoot;
use sigstore::trust::TrustRoot as _;
use sigstore_protobuf_specs::dev::sigstore::bundle::v1::{
    bundle, verification_material, VerificationMaterial,
};
use sigstore_protobuf_specs::dev::sigstore::common::v1::{
    HashAlgorithm, HashOutput, MessageSignature, X509Certificate,
};
use sigstore_protobuf_specs::dev::sigstore::rekor::v1::TransparencyLogEntry;
use sigstore_protobuf_specs::dev::sigstore::trustroot::v1::{
    ClientTrustConfig, Service, SigningConfig,
};
use url::Url;
use x509_cert::attr::{AttributeTypeAndValue, AttributeValue};
use x509_cert::builder::Builder as _;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::pem::{self, LineEnding, PemLabel as _};
use x509_cert::der::{Decode as _, Encode as _, Tag};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::name::{Name, RdnSequence};
use x509_cert::request::{CertReq, RequestBuilder};
use x509_cert::Certificate;

/// The media type of a v0.3 bundle (protobuf-specs `sigstore_bundle.proto`).
pub const BUNDLE_V0_3_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// PKCS #9 `emailAddress` (RFC 2985), the CSR subject sigstore-rs's own signer uses.
const EMAIL_ADDRESS_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

/// A parsed `ClientTrustConfig`: the keys to trust and the services to sign with.
#[derive(Debug, Clone)]
pub struct TrustConfig {
    config: ClientTrustConfig,
}

impl TrustConfig {
    /// Reads a `ClientTrustConfig` JSON file (`sigil dev` writes one as
    /// `<data-dir>/trust_config.json`).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let json = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let config: ClientTrustConfig = serde_json::from_slice(&json)
            .with_context(|| format!("parsing the ClientTrustConfig {}", path.display()))?;
        Ok(Self { config })
    }

    /// The trusted root (CA certificates, CT log and transparency log keys).
    pub fn trust_root(&self) -> anyhow::Result<SigstoreTrustRoot> {
        Ok(SigstoreTrustRoot::try_from(self.config.clone())?)
    }

    /// The Fulcio-compatible CA to request certificates from.
    pub fn ca_url(&self) -> anyhow::Result<Url> {
        service_url(&self.signing_config()?.ca_urls, 1, "caUrls")
    }

    /// The Rekor v1 log to enter signatures into.
    pub fn rekor_url(&self) -> anyhow::Result<Url> {
        service_url(&self.signing_config()?.rekor_tlog_urls, 1, "rekorTlogUrls")
    }

    fn signing_config(&self) -> anyhow::Result<&SigningConfig> {
        self.config
            .signing_config
            .as_ref()
            .ok_or_else(|| anyhow!("the trust config has no signingConfig"))
    }
}

/// The first of `services` that speaks `major_api_version` (a signing config
/// lists services in order of preference).
fn service_url(services: &[Service], major_api_version: u32, field: &str) -> anyhow::Result<Url> {
    let service = services
        .iter()
        .find(|service| service.major_api_version == major_api_version)
        .ok_or_else(|| {
            anyhow!(
                "signingConfig.{field} has no service with major API version {major_api_version}"
            )
        })?;
    Url::parse(&service.url).with_context(|| format!("signingConfig.{field}: {}", service.url))
}

/// Signs `artifact` keylessly as the holder of `identity_token` and returns
/// the Sigstore bundle (v0.3, message signature over SHA-256).
pub async fn sign_blob(
    trust: &TrustConfig,
    identity_token: &str,
    artifact: &[u8],
) -> anyhow::Result<Bundle> {
    // sigstore-rs reads the claims it needs (aud "sigstore", exp, email) itself.
    let token = IdentityToken::try_from(identity_token)?;

    // 1. An ephemeral key and a certificate for it from the CA.
    let signing_key = p256::ecdsa::SigningKey::generate();
    let csr = certificate_request(&signing_key, &token.unverified_claims().email)?;
    let fulcio = FulcioClient::new(
        trust.ca_url()?,
        // Only request_cert (v1) reads the provider; request_cert_v2 takes the token itself.
        TokenProvider::Static((
            identity_token.parse()?,
            token.unverified_claims().email.clone(),
        )),
    );
    let issued = fulcio.request_cert_v2(csr, &token).await?;

    // 2. The signature over the artifact's SHA-256 digest.
    let digest = Sha256::digest(artifact);
    let signature: p256::ecdsa::Signature = signing_key.sign_prehash(&digest)?;
    let signature = signature.to_der().as_bytes().to_vec();

    // 3. The Rekor v1 hashedrekord entry; its public key is the certificate's
    //    PEM, as every Sigstore client writes it.
    //    Encode the DER as received: a re-encoded certificate may differ.
    let certificate_pem =
        pem::encode_string(Certificate::PEM_LABEL, LineEnding::LF, &issued.cert_der)
            .context("encoding the certificate as PEM")?;
    let proposed = ProposedEntry::Hashedrekord {
        api_version: "0.0.1".to_owned(),
        spec: hashedrekord::Spec::new(
            hashedrekord::Signature::new(
                BASE64.encode(&signature),
                hashedrekord::PublicKey::new(BASE64.encode(certificate_pem)),
            ),
            hashedrekord::Data::new(hashedrekord::Hash::new(
                hashedrekord::AlgorithmKind::sha256,
                hex::encode(digest),
            )),
        ),
    };
    let rekor = RekorConfiguration {
        base_path: trust.rekor_url()?.as_str().trim_end_matches('/').to_owned(),
        ..RekorConfiguration::default()
    };
    let log_entry = create_log_entry(&rekor, proposed)
        .await
        .map_err(|e| anyhow!("creating the Rekor entry: {e}"))?;

    // sigstore-rs's Verifier checks neither the inclusion proof nor the SET
    // (sigstore-rs#285), so check the proof and its signed checkpoint here.
    verify_inclusion(&trust.trust_root()?, &log_entry)?;

    // 4. The bundle.
    let tlog_entry = TransparencyLogEntry::try_from(log_entry)
        .map_err(|()| anyhow!("Rekor returned a log entry that does not fit a bundle"))?;
    let bundle = Bundle {
        media_type: BUNDLE_V0_3_MEDIA_TYPE.to_owned(),
        verification_material: Some(VerificationMaterial {
            content: Some(verification_material::Content::Certificate(
                X509Certificate {
                    raw_bytes: issued.cert_der,
                },
            )),
            tlog_entries: vec![tlog_entry],
            timestamp_verification_data: None,
        }),
        content: Some(bundle::Content::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2256.into(),
                digest: digest.to_vec(),
            }),
            signature,
        })),
    };

    // 5. What a verifier will check (chain, SCT, signature, log entry), before
    //    the bundle leaves: a CA or log that is not the trusted one fails here.
    Verifier::new(RekorConfiguration::default(), trust.trust_root()?)?
        .verify(artifact, bundle.clone(), &AnyIdentity, true)
        .await
        .context("the new bundle does not verify against the trust config")?;
    Ok(bundle)
}

/// Verifies `bundle` over `artifact`: a certificate from a trusted CA (with an
/// SCT from a trusted CT log) for `identity` issued by `issuer`, a signature
/// by its key, and a transparency log entry for both.
pub async fn verify_blob(
    trust: &TrustConfig,
    bundle: Bundle,
    artifact: &[u8],
    identity: &str,
    issuer: &str,
) -> anyhow::Result<()> {
    let verifier = Verifier::new(RekorConfiguration::default(), trust.trust_root()?)?;
    let policy = policy::Identity::new(identity, issuer);
    // offline: the bundle carries its inclusion proof, nothing is fetched.
    verifier
        .verify(artifact, bundle, &policy, true)
        .await
        .map_err(|e| anyhow!("{e}: {e:?}"))
}

/// Parses a bundle's JSON (protobuf JSON mapping).
pub fn bundle_from_json(json: &[u8]) -> anyhow::Result<Bundle> {
    serde_json::from_slice(json).context("parsing the Sigstore bundle")
}

/// A bundle's JSON, with fields at their default value written out.
///
/// `Bundle`'s own `Serialize` follows the protobuf JSON mapping, which leaves
/// out default values: for the log's first entry that drops `logIndex: "0"`
/// (and the empty `hashes` of a one-entry tree), and sigstore-python 4.5.1
/// then refuses the bundle as missing required fields.
pub fn bundle_to_json(bundle: &Bundle) -> anyhow::Result<String> {
    let mut json = serde_json::Serializer::pretty(Vec::new());
    bundle
        .transcode_to_dynamic()
        .serialize_with_options(
            &mut json,
            &SerializeOptions::new().skip_default_fields(false),
        )
        .context("serialising the bundle")?;
    Ok(String::from_utf8(json.into_inner())?)
}

/// A PKCS #10 request for `signing_key`, subject `emailAddress=<email>` and
/// not a CA, as sigstore-rs's `SigningSession` builds it.
fn certificate_request(
    signing_key: &p256::ecdsa::SigningKey,
    email: &str,
) -> anyhow::Result<CertReq> {
    let mut rdns = RdnSequence::default();
    rdns.push(
        vec![AttributeTypeAndValue {
            oid: EMAIL_ADDRESS_OID,
            value: AttributeValue::new(Tag::Utf8String, email.as_bytes())?,
        }]
        .try_into()?,
    );
    // A `Name` is built from an `RdnSequence` through DER (x509-cert 0.3).
    let subject = Name::from_der(&rdns.to_der()?)?;
    let mut builder = RequestBuilder::new(subject)?;
    builder.add_extension(&BasicConstraints {
        ca: false,
        path_len_constraint: None,
    })?;
    Ok(builder.build::<_, p256::ecdsa::DerSignature>(signing_key)?)
}

/// Checks the entry's inclusion proof and the checkpoint it ends in, signed by
/// the trusted log that `logID` names.
fn verify_inclusion(trust_root: &SigstoreTrustRoot, entry: &LogEntry) -> anyhow::Result<()> {
    let log_keys = trust_root.rekor_keys()?;
    let log_key = log_keys.get(&entry.log_i_d).ok_or_else(|| {
        anyhow!(
            "the entry's log {} is not in the trusted root",
            entry.log_i_d
        )
    })?;
    let log_key = CosignVerificationKey::try_from_der(log_key)?;
    entry
        .verify_inclusion(&log_key)
        .context("the entry's inclusion proof or checkpoint does not verify")
}

/// A policy that accepts every signer: the checks before a bundle is handed
/// out are about the CA and the log, not about who signed.
struct AnyIdentity;

impl VerificationPolicy for AnyIdentity {
    fn verify(&self, _certificate: &Certificate) -> Result<(), PolicyError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sigstore_protobuf_specs::dev::sigstore::common::v1::LogId;
    use sigstore_protobuf_specs::dev::sigstore::rekor::v1::{
        Checkpoint, InclusionPromise, InclusionProof, KindVersion,
    };

    use super::*;

    /// A bundle for the entry at index 0 of a one-entry tree: every value
    /// that the protobuf JSON mapping would leave out is at its default.
    fn first_entry_bundle() -> Bundle {
        let tlog_entry = TransparencyLogEntry {
            log_index: 0,
            log_id: Some(LogId {
                key_id: vec![7; 32],
            }),
            kind_version: Some(KindVersion {
                kind: "hashedrekord".to_owned(),
                version: "0.0.1".to_owned(),
            }),
            integrated_time: 1_700_000_000,
            inclusion_promise: Some(InclusionPromise {
                signed_entry_timestamp: vec![1, 2, 3],
            }),
            inclusion_proof: Some(InclusionProof {
                log_index: 0,
                root_hash: vec![9; 32],
                tree_size: 1,
                hashes: Vec::new(),
                checkpoint: Some(Checkpoint {
                    envelope: "origin\n1\nroot\n".to_owned(),
                }),
            }),
            canonicalized_body: b"{}".to_vec(),
        };
        Bundle {
            media_type: BUNDLE_V0_3_MEDIA_TYPE.to_owned(),
            verification_material: Some(VerificationMaterial {
                content: Some(verification_material::Content::Certificate(
                    X509Certificate {
                        raw_bytes: vec![0x30, 0x00],
                    },
                )),
                tlog_entries: vec![tlog_entry],
                timestamp_verification_data: None,
            }),
            content: Some(bundle::Content::MessageSignature(MessageSignature {
                message_digest: Some(HashOutput {
                    algorithm: HashAlgorithm::Sha2256.into(),
                    digest: vec![0; 32],
                }),
                signature: vec![0x30, 0x00],
            })),
        }
    }

    #[test]
    fn bundle_json_keeps_the_first_entrys_zero_index_and_empty_proof() {
        let bundle = first_entry_bundle();
        let plain: serde_json::Value = serde_json::to_value(&bundle).unwrap();
        let entry = &plain["verificationMaterial"]["tlogEntries"][0];
        assert!(
            entry.get("logIndex").is_none(),
            "protobuf JSON drops the default; this is what bundle_to_json works around"
        );

        let json: serde_json::Value =
            serde_json::from_str(&bundle_to_json(&bundle).unwrap()).unwrap();
        let entry = &json["verificationMaterial"]["tlogEntries"][0];
        assert_eq!(entry["logIndex"], "0");
        assert_eq!(entry["inclusionProof"]["logIndex"], "0");
        assert_eq!(entry["inclusionProof"]["treeSize"], "1");
        assert_eq!(entry["inclusionProof"]["hashes"], serde_json::json!([]));
        assert_eq!(json["mediaType"], BUNDLE_V0_3_MEDIA_TYPE);
        assert!(
            json["verificationMaterial"]
                .get("timestampVerificationData")
                .is_none(),
            "unset messages stay out"
        );
    }

    #[test]
    fn bundle_json_round_trips() {
        let bundle = first_entry_bundle();
        let json = bundle_to_json(&bundle).unwrap();
        assert_eq!(bundle_from_json(json.as_bytes()).unwrap(), bundle);
    }

    #[test]
    fn trust_config_picks_the_v1_services() {
        let config = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"},
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [{"url": "https://ca.example.com", "majorApiVersion": 1}],
                "rekorTlogUrls": [
                    {"url": "https://log2.example.com", "majorApiVersion": 2},
                    {"url": "https://log.example.com", "majorApiVersion": 1}
                ]
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust_config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        let trust = TrustConfig::load(&path).unwrap();
        assert_eq!(trust.ca_url().unwrap().as_str(), "https://ca.example.com/");
        assert_eq!(
            trust.rekor_url().unwrap().as_str(),
            "https://log.example.com/"
        );

        let no_signing = dir.path().join("root_only.json");
        std::fs::write(
            &no_signing,
            serde_json::json!({"trustedRoot": config["trustedRoot"]}).to_string(),
        )
        .unwrap();
        let err = TrustConfig::load(&no_signing)
            .unwrap()
            .ca_url()
            .unwrap_err();
        assert!(err.to_string().contains("no signingConfig"), "{err}");
    }
}
