//! Sigstore client trust material (sigstore/protobuf-specs, in the JSON form
//! the clients read): TrustedRoot v0.1, SigningConfig v0.2 and
//! ClientTrustConfig v0.1. Field names and media types follow
//! docs/clients.md §1: sigstore-python parses these strictly and rejects
//! unknown keys, so nothing beyond the schema is emitted. A Rekor v2 log and
//! a timestamp authority appear as docs/rekor-v2.md §3 and §5 describe.

use serde::{Deserialize, Serialize};

/// Media type of a [`ClientTrustConfig`].
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
/// Media type of a [`TrustedRoot`]; sigstore-python refuses version 0.2.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// Media type of a [`SigningConfig`]; sigstore-python refuses v0.1.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// A time range; `start` and `end` are RFC 3339 timestamps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidFor {
    pub start: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end: Option<String>,
}

/// A public key as the trust root carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustPublicKey {
    /// Base64 of the DER SubjectPublicKeyInfo.
    pub raw_bytes: String,
    /// e.g. `PKIX_ECDSA_P256_SHA_256`.
    pub key_details: String,
    pub valid_for: ValidFor,
}

/// A log's identifier: base64 of SHA-256(DER SPKI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustLogId {
    pub key_id: String,
}

/// A transparency log (Rekor) or certificate transparency log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogInstance {
    pub base_url: String,
    pub hash_algorithm: String,
    pub public_key: TrustPublicKey,
    pub log_id: TrustLogId,
}

/// The X.509 name parts a trust root records for a CA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistinguishedName {
    pub organization: String,
    pub common_name: String,
}

/// One DER certificate, base64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCertificate {
    pub raw_bytes: String,
}

/// A chain, issuing CA first and root last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChain {
    pub certificates: Vec<RawCertificate>,
}

/// A certificate authority (Fulcio) in the trust root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAuthority {
    pub subject: DistinguishedName,
    pub uri: String,
    pub cert_chain: CertificateChain,
    pub valid_for: ValidFor,
}

/// `dev.sigstore.trustroot.v1.TrustedRoot`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedRoot {
    pub media_type: String,
    pub tlogs: Vec<TransparencyLogInstance>,
    pub certificate_authorities: Vec<CertificateAuthority>,
    pub ctlogs: Vec<TransparencyLogInstance>,
    /// RFC 3161 timestamp authorities; the schema gives them a CA's shape
    /// (their chain leaf first, root last).
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// A service endpoint in a signing config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub url: String,
    pub major_api_version: u32,
    pub valid_for: ValidFor,
    /// Required by sigstore-python: it keeps one service per operator.
    pub operator: String,
}

/// How a client picks among several services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConfiguration {
    /// `ANY` is the only selector sigstore-js accepts.
    pub selector: String,
}

/// `dev.sigstore.trustroot.v1.SigningConfig` v0.2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningConfig {
    pub media_type: String,
    pub ca_urls: Vec<Service>,
    pub oidc_urls: Vec<Service>,
    pub rekor_tlog_urls: Vec<Service>,
    pub tsa_urls: Vec<Service>,
    /// Without it sigstore-js makes no tlog entry.
    pub rekor_tlog_config: ServiceConfiguration,
    /// Present exactly when `tsa_urls` is not empty: sigstore-js throws
    /// "No valid TSAs found" on a selector with no TSA.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tsa_config: Option<ServiceConfiguration>,
}

/// `dev.sigstore.trustroot.v1.ClientTrustConfig`: what `--trust-config` takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTrustConfig {
    pub media_type: String,
    pub trusted_root: TrustedRoot,
    pub signing_config: SigningConfig,
}

/// Everything needed to describe one Sigil deployment to clients.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub ca_url: String,
    pub oidc_url: String,
    pub rekor_url: String,
    pub ct_url: String,
    /// DER certificates, issuing CA first, root last.
    pub ca_chain_der: Vec<Vec<u8>>,
    pub ca_subject: DistinguishedName,
    pub rekor_spki_der: Vec<u8>,
    pub ct_spki_der: Vec<u8>,
    /// RFC 3339 start of validity of every key and service (before the first entry).
    pub valid_from: String,
    /// Operator name shown in the signing config.
    pub operator: String,
    /// The Rekor v2 log, if the deployment runs one.
    pub rekor_v2: Option<RekorV2Log>,
    /// The RFC 3161 timestamp authority, if the deployment runs one.
    pub tsa: Option<TimestampAuthority>,
    /// Which Rekor API the signing config sends signers to. The trusted root
    /// lists every log either way, so bundles of both verify.
    pub rekor_api: RekorApi,
}

/// A Rekor v2 log (docs/rekor-v2.md §3).
#[derive(Clone, Debug)]
pub struct RekorV2Log {
    /// Base URL of its write API and tiles.
    pub url: String,
    /// DER SPKI of its checkpoint key.
    pub spki_der: Vec<u8>,
    /// Its log ID: the C2SP signed-note key hash of an Ed25519 checkpoint
    /// key, SHA-256 of the SPKI of an ECDSA one.
    pub key_hash: [u8; 32],
    /// The checkpoint key's algorithm, which gives its `keyDetails`.
    pub algorithm: crate::note::CheckpointAlgorithm,
}

/// An RFC 3161 timestamp authority (docs/rekor-v2.md §5).
#[derive(Clone, Debug)]
pub struct TimestampAuthority {
    /// The full URL timestamp requests are posted to (`…/api/v1/timestamp`).
    pub url: String,
    /// DER certificates, the TSA's own first, root last.
    pub chain_der: Vec<Vec<u8>>,
    pub subject: DistinguishedName,
}

/// The Rekor API generation a signing config advertises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RekorApi {
    /// Rekor v1: entries with a signed entry timestamp; no TSA needed.
    #[default]
    V1,
    /// Rekor v2: tiles and checkpoints; clients need a TSA for time.
    V2,
}

impl Deployment {
    /// The trusted root for this deployment.
    pub fn trusted_root(&self) -> TrustedRoot {
        TrustedRoot {
            media_type: TRUSTED_ROOT_MEDIA_TYPE.to_owned(),
            tlogs: std::iter::once(self.log_instance(&self.rekor_url, &self.rekor_spki_der))
                .chain(self.rekor_v2.iter().map(|v2| self.v2_log_instance(v2)))
                .collect(),
            certificate_authorities: vec![CertificateAuthority {
                subject: self.ca_subject.clone(),
                uri: self.ca_url.clone(),
                cert_chain: chain(&self.ca_chain_der),
                valid_for: self.valid_for(),
            }],
            ctlogs: vec![self.log_instance(&self.ct_url, &self.ct_spki_der)],
            timestamp_authorities: self
                .tsa
                .iter()
                .map(|tsa| CertificateAuthority {
                    subject: tsa.subject.clone(),
                    uri: tsa.url.clone(),
                    cert_chain: chain(&tsa.chain_der),
                    valid_for: self.valid_for(),
                })
                .collect(),
        }
    }

    /// The signing config for this deployment: the CA, the OIDC issuer, the
    /// Rekor log of [`Self::rekor_api`] and the TSA, if any.
    ///
    /// # Panics
    /// If `rekor_api` is [`RekorApi::V2`] without a [`Self::rekor_v2`] log.
    pub fn signing_config(&self) -> SigningConfig {
        let service = |url: &str, major_api_version| Service {
            url: url.to_owned(),
            major_api_version,
            valid_for: self.valid_for(),
            operator: self.operator.clone(),
        };
        let rekor = match (self.rekor_api, &self.rekor_v2) {
            (RekorApi::V1, _) => service(&self.rekor_url, 1),
            (RekorApi::V2, Some(v2)) => service(&v2.url, 2),
            (RekorApi::V2, None) => panic!("a Rekor v2 signing config needs a Rekor v2 log"),
        };
        let tsa_urls: Vec<Service> = self.tsa.iter().map(|t| service(&t.url, 1)).collect();
        SigningConfig {
            media_type: SIGNING_CONFIG_MEDIA_TYPE.to_owned(),
            ca_urls: vec![service(&self.ca_url, 1)],
            oidc_urls: vec![service(&self.oidc_url, 1)],
            rekor_tlog_urls: vec![rekor],
            tsa_config: (!tsa_urls.is_empty()).then(any),
            tsa_urls,
            rekor_tlog_config: any(),
        }
    }

    /// Both together, as sigstore-python's `--trust-config` takes them.
    pub fn client_trust_config(&self) -> ClientTrustConfig {
        ClientTrustConfig {
            media_type: CLIENT_TRUST_CONFIG_MEDIA_TYPE.to_owned(),
            trusted_root: self.trusted_root(),
            signing_config: self.signing_config(),
        }
    }

    fn valid_for(&self) -> ValidFor {
        ValidFor {
            start: self.valid_from.clone(),
            end: None,
        }
    }

    fn log_instance(&self, url: &str, spki_der: &[u8]) -> TransparencyLogInstance {
        TransparencyLogInstance {
            base_url: url.to_owned(),
            hash_algorithm: "SHA2_256".to_owned(),
            public_key: TrustPublicKey {
                raw_bytes: b64(spki_der),
                // Every Sigil key is ECDSA P-256 (docs/design.md, "Keys").
                key_details: "PKIX_ECDSA_P256_SHA_256".to_owned(),
                valid_for: self.valid_for(),
            },
            log_id: TrustLogId {
                key_id: crate::keys::LogId::from_spki_der(spki_der).to_base64(),
            },
        }
    }

    /// A v2 log: an Ed25519 checkpoint key, identified by its note key hash.
    fn v2_log_instance(&self, v2: &RekorV2Log) -> TransparencyLogInstance {
        TransparencyLogInstance {
            base_url: v2.url.clone(),
            hash_algorithm: "SHA2_256".to_owned(),
            public_key: TrustPublicKey {
                raw_bytes: b64(&v2.spki_der),
                key_details: v2.algorithm.key_details().to_owned(),
                valid_for: self.valid_for(),
            },
            log_id: TrustLogId {
                key_id: b64(&v2.key_hash),
            },
        }
    }
}

/// The `ANY` selector, the one sigstore-js accepts.
fn any() -> ServiceConfiguration {
    ServiceConfiguration {
        selector: "ANY".to_owned(),
    }
}

fn chain(ders: &[Vec<u8>]) -> CertificateChain {
    CertificateChain {
        certificates: ders
            .iter()
            .map(|der| RawCertificate {
                raw_bytes: b64(der),
            })
            .collect(),
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        Deployment {
            ca_url: "http://localhost:5555".into(),
            oidc_url: "http://localhost:5556".into(),
            rekor_url: "http://localhost:3000".into(),
            ct_url: "http://localhost:3000".into(),
            ca_chain_der: vec![vec![1, 2, 3]],
            ca_subject: DistinguishedName {
                organization: "sigil".into(),
                common_name: "root".into(),
            },
            rekor_spki_der: vec![4, 5, 6],
            ct_spki_der: vec![7, 8, 9],
            valid_from: "2026-01-01T00:00:00Z".into(),
            operator: "local".into(),
            rekor_v2: None,
            tsa: None,
            rekor_api: RekorApi::V1,
        }
    }

    fn with_v2_and_tsa(rekor_api: RekorApi) -> Deployment {
        Deployment {
            rekor_v2: Some(RekorV2Log {
                url: "http://localhost:3000".into(),
                spki_der: vec![10, 11, 12],
                key_hash: [7; 32],
                algorithm: crate::note::CheckpointAlgorithm::Ed25519,
            }),
            tsa: Some(TimestampAuthority {
                url: "http://localhost:5555/api/v1/timestamp".into(),
                chain_der: vec![vec![20], vec![1, 2, 3]],
                subject: DistinguishedName {
                    organization: "sigil".into(),
                    common_name: "tsa".into(),
                },
            }),
            rekor_api,
            ..deployment()
        }
    }

    #[test]
    fn client_trust_config_has_the_schema_field_names() {
        let json = serde_json::to_value(deployment().client_trust_config()).unwrap();
        assert_eq!(json["mediaType"], CLIENT_TRUST_CONFIG_MEDIA_TYPE);
        let root = &json["trustedRoot"];
        assert_eq!(root["mediaType"], TRUSTED_ROOT_MEDIA_TYPE);
        assert_eq!(root["tlogs"][0]["publicKey"]["rawBytes"], "BAUG");
        assert_eq!(
            root["tlogs"][0]["publicKey"]["validFor"]["start"],
            "2026-01-01T00:00:00Z"
        );
        assert!(root["tlogs"][0]["publicKey"]["validFor"]
            .get("end")
            .is_none());
        assert_eq!(
            root["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"],
            "AQID"
        );
        assert_eq!(
            root["certificateAuthorities"][0]["subject"]["commonName"],
            "root"
        );
        assert_eq!(root["ctlogs"][0]["hashAlgorithm"], "SHA2_256");
        assert_eq!(root["timestampAuthorities"], serde_json::json!([]));
        let signing = &json["signingConfig"];
        assert_eq!(signing["mediaType"], SIGNING_CONFIG_MEDIA_TYPE);
        assert_eq!(signing["caUrls"][0]["operator"], "local");
        assert_eq!(signing["rekorTlogUrls"][0]["majorApiVersion"], 1);
        assert_eq!(signing["rekorTlogConfig"]["selector"], "ANY");
        assert!(
            signing.get("tsaConfig").is_none(),
            "sigstore-js throws on a tsaConfig without TSAs"
        );
    }

    #[test]
    fn both_logs_and_the_tsa_are_trusted_whichever_api_signs() {
        for api in [RekorApi::V1, RekorApi::V2] {
            let json = serde_json::to_value(with_v2_and_tsa(api).client_trust_config()).unwrap();
            let root = &json["trustedRoot"];
            assert_eq!(root["tlogs"].as_array().unwrap().len(), 2);
            let v2 = &root["tlogs"][1];
            assert_eq!(v2["publicKey"]["keyDetails"], "PKIX_ED25519");
            assert_eq!(v2["publicKey"]["rawBytes"], "CgsM");
            assert_eq!(v2["logId"]["keyId"], b64(&[7; 32]));
            let tsa = &root["timestampAuthorities"][0];
            assert_eq!(tsa["uri"], "http://localhost:5555/api/v1/timestamp");
            assert_eq!(tsa["subject"]["commonName"], "tsa");
            assert_eq!(tsa["certChain"]["certificates"][0]["rawBytes"], "FA==");
            let signing = &json["signingConfig"];
            let rekor = &signing["rekorTlogUrls"];
            assert_eq!(rekor.as_array().unwrap().len(), 1, "only the chosen log");
            let major = if api == RekorApi::V2 { 2 } else { 1 };
            assert_eq!(rekor[0]["majorApiVersion"], major);
            assert_eq!(
                signing["tsaUrls"][0]["url"],
                "http://localhost:5555/api/v1/timestamp"
            );
            assert_eq!(signing["tsaConfig"]["selector"], "ANY");
        }
    }

    #[test]
    fn log_id_is_sha256_of_the_spki() {
        let root = deployment().trusted_root();
        let expected = crate::keys::LogId::from_spki_der(&[4, 5, 6]).to_base64();
        assert_eq!(root.tlogs[0].log_id.key_id, expected);
    }

    #[test]
    fn round_trips_through_json() {
        let config = deployment().client_trust_config();
        let text = serde_json::to_string(&config).unwrap();
        let back: ClientTrustConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back, config);
    }
}
