//! Sigstore client trust material (sigstore/protobuf-specs, in the JSON form
//! the clients read): TrustedRoot v0.1, SigningConfig v0.2 and
//! ClientTrustConfig v0.1. Field names and media types follow
//! docs/clients.md §1: sigstore-python parses these strictly and rejects
//! unknown keys, so nothing beyond the schema is emitted.

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
    pub timestamp_authorities: Vec<serde_json::Value>,
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
}

impl Deployment {
    /// The trusted root for this deployment.
    pub fn trusted_root(&self) -> TrustedRoot {
        TrustedRoot {
            media_type: TRUSTED_ROOT_MEDIA_TYPE.to_owned(),
            tlogs: vec![self.log_instance(&self.rekor_url, &self.rekor_spki_der)],
            certificate_authorities: vec![CertificateAuthority {
                subject: self.ca_subject.clone(),
                uri: self.ca_url.clone(),
                cert_chain: CertificateChain {
                    certificates: self
                        .ca_chain_der
                        .iter()
                        .map(|der| RawCertificate {
                            raw_bytes: b64(der),
                        })
                        .collect(),
                },
                valid_for: self.valid_for(),
            }],
            ctlogs: vec![self.log_instance(&self.ct_url, &self.ct_spki_der)],
            timestamp_authorities: Vec::new(),
        }
    }

    /// The signing config for this deployment (Rekor v1, no TSA).
    pub fn signing_config(&self) -> SigningConfig {
        let service = |url: &str| Service {
            url: url.to_owned(),
            major_api_version: 1,
            valid_for: self.valid_for(),
            operator: self.operator.clone(),
        };
        SigningConfig {
            media_type: SIGNING_CONFIG_MEDIA_TYPE.to_owned(),
            ca_urls: vec![service(&self.ca_url)],
            oidc_urls: vec![service(&self.oidc_url)],
            rekor_tlog_urls: vec![service(&self.rekor_url)],
            tsa_urls: Vec::new(),
            rekor_tlog_config: ServiceConfiguration {
                selector: "ANY".to_owned(),
            },
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
                // Every Sigil key is ECDSA P-256 (DESIGN.md, "Keys").
                key_details: "PKIX_ECDSA_P256_SHA_256".to_owned(),
                valid_for: self.valid_for(),
            },
            log_id: TrustLogId {
                key_id: crate::keys::LogId::from_spki_der(spki_der).to_base64(),
            },
        }
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
