//! Rekor v2 entries (docs/rekor-v2.md §1): the protobuf-JSON `CreateEntryRequest`
//! of `POST /api/v2/log/entries`, verified and turned into the canonical body
//! the log stores, and the protobuf-JSON `TransparencyLogEntry` answer.
//!
//! Follows sigstore/rekor-tiles `pkg/types/hashedrekord/hashedrekord.go`
//! (`ToLogEntry`), `internal/algorithmregistry/algorithmregistry.go` (the
//! default permitted algorithms) and `internal/server/service.go`
//! (`CreateEntry`: the entry's protojson, then RFC 8785), with the key
//! details of sigstore/sigstore `pkg/signature/algorithm_registry.go`; the
//! messages are sigstore/protobuf-specs `service-protos/rekor/v2/{entry,
//! hashedrekord,verifier,dsse}.proto` and `protos/sigstore_rekor.proto`.
//! `dsseRequestV002` (removed upstream) is in `v2/dsse.rs`.
//!
//! The request is read as Go's `protojson` reads it: lowerCamelCase or proto
//! field names, a repeated or both-named field is an error, an unknown field is
//! an error, `null` is an absent field, bytes are standard or URL-safe base64
//! with or without padding, an enum is its name or number. (serde also takes
//! a JSON array as a message's fields in order, which protojson does not;
//! such a request still verifies, and stores, exactly as its object form.)
//!
//! `keyDetails` only selects the hash: as upstream, the pair (actual key,
//! that hash) must be one of the default permitted pairs (RSA PKCS#1 v1.5
//! 2048/3072/4096 with SHA-256, ECDSA P-256/SHA-256, P-384/SHA-384,
//! P-521/SHA-512, Ed25519ph), and the signature is checked over the digest
//! (RSA always as PKCS#1 v1.5, Ed25519 as Ed25519ph). No chain or validity
//! period is checked. The stored body keeps `keyDetails` (by name) and the raw
//! bytes as sent, re-encoded as standard padded base64.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use der::{Decode as _, Encode as _};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::hashedrekord::check_algorithm;
use super::{invalid, CanonicalEntry, EntryError, EntryKind, IndexKeys};
use crate::keys::{HashAlgorithm, PublicKey};
use crate::merkle::Hash;

mod dsse;

/// The `apiVersion` of every v2 entry kind.
const API_VERSION: &str = "0.0.2";

/// Largest canonical body: C2SP tlog-tiles entry bundles prefix each entry
/// with its length as a big-endian uint16.
pub const MAX_BODY_BYTES: usize = 65_535;

const HR_DIGEST: &str = "hashedRekordRequestV002.digest";
const HR_SIGNATURE: &str = "hashedRekordRequestV002.signature";
const HR_CONTENT: &str = "hashedRekordRequestV002.signature.content";
const HR_VERIFIER: VerifierFields = VerifierFields {
    verifier: "hashedRekordRequestV002.signature.verifier",
    public_key: "hashedRekordRequestV002.signature.verifier.publicKey.rawBytes",
    certificate: "hashedRekordRequestV002.signature.verifier.x509Certificate.rawBytes",
    key_details: "hashedRekordRequestV002.signature.verifier.keyDetails",
};

/// Parses and verifies a v2 `CreateEntryRequest` (the POST body) and returns
/// the entry to log. v2 has no search API, so the index keys are empty.
pub fn canonicalize_v2_request(json: &[u8]) -> Result<CanonicalEntry, EntryError> {
    let request: CreateEntryRequest =
        serde_json::from_slice(json).map_err(|e| EntryError::MalformedJson(e.to_string()))?;
    match (
        request.hashed_rekord_request_v002,
        request.dsse_request_v002,
    ) {
        (Some(hr), None) => finish(EntryKind::HashedRekord, hashedrekord_spec(hr)?),
        (None, Some(ds)) => finish(EntryKind::Dsse, dsse::canonical_spec(ds)?),
        (Some(_), Some(_)) => Err(invalid(
            "request",
            "holds both hashedRekordRequestV002 and dsseRequestV002; send one",
        )),
        (None, None) => Err(invalid(
            "request",
            "missing hashedRekordRequestV002 (or dsseRequestV002)",
        )),
    }
}

/// The stored body: RFC 8785 of `{apiVersion, kind, spec}`, at most
/// [`MAX_BODY_BYTES`].
fn finish(kind: EntryKind, spec: Value) -> Result<CanonicalEntry, EntryError> {
    let body = json!({ "apiVersion": API_VERSION, "kind": kind.name(), "spec": spec });
    let body = crate::jcs::canonicalize(&body)
        // The spec is built from strings only, so JCS has no number to refuse.
        .map_err(|e| EntryError::MalformedJson(e.to_string()))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(invalid(
            "request",
            format!(
                "the logged entry would be {} bytes; at most {MAX_BODY_BYTES} fit in a tile entry bundle",
                body.len()
            ),
        ));
    }
    Ok(CanonicalEntry {
        kind,
        api_version: API_VERSION.to_owned(),
        body,
        index: IndexKeys::default(),
    })
}

// ── The request, as protojson reads it ──────────────────────────────────────
//
// Every field is optional, as in proto3: absent and `null` read as the empty
// value, and the checks below say which are required. `alias` admits the
// proto field name; serde refuses a field given twice under either name.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateEntryRequest {
    #[serde(default, alias = "hashed_rekord_request_v002")]
    hashed_rekord_request_v002: Option<HashedRekordRequest>,
    #[serde(default, alias = "dsse_request_v002")]
    dsse_request_v002: Option<dsse::DsseRequest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashedRekordRequest {
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    signature: Option<SignatureJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureJson {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    verifier: Option<VerifierJson>,
}

/// `dev.sigstore.rekor.v2.Verifier`: a key or certificate, and its `keyDetails`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifierJson {
    #[serde(default, alias = "public_key")]
    public_key: Option<RawBytesJson>,
    #[serde(default, alias = "x509_certificate")]
    x509_certificate: Option<RawBytesJson>,
    /// An enum: its name or number.
    #[serde(default, alias = "key_details")]
    key_details: Option<Value>,
}

/// `PublicKey` and `X509Certificate`: DER bytes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawBytesJson {
    #[serde(default, alias = "raw_bytes")]
    raw_bytes: Option<String>,
}

/// protojson's bytes decoders: the alphabet is URL-safe if the string holds
/// `-` or `_`, padding is expected if its length is a multiple of 4, and
/// stray trailing bits are allowed (Go's non-strict decoding).
const fn protojson_engine(alphabet: &alphabet::Alphabet, padded: bool) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(if padded {
                DecodePaddingMode::RequireCanonical
            } else {
                DecodePaddingMode::RequireNone
            }),
    )
}
const STD_PADDED: GeneralPurpose = protojson_engine(&alphabet::STANDARD, true);
const STD_UNPADDED: GeneralPurpose = protojson_engine(&alphabet::STANDARD, false);
const URL_PADDED: GeneralPurpose = protojson_engine(&alphabet::URL_SAFE, true);
const URL_UNPADDED: GeneralPurpose = protojson_engine(&alphabet::URL_SAFE, false);

/// A protojson `bytes` field; absent reads as empty, as in proto3.
fn proto_bytes(s: Option<&str>, field: &'static str) -> Result<Vec<u8>, EntryError> {
    let s = s.unwrap_or_default();
    let engine = match (s.contains(['-', '_']), s.len().is_multiple_of(4)) {
        (false, true) => &STD_PADDED,
        (false, false) => &STD_UNPADDED,
        (true, true) => &URL_PADDED,
        (true, false) => &URL_UNPADDED,
    };
    // Go's decoder skips line breaks wherever they are.
    let cleaned: String = s.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    engine
        .decode(cleaned)
        .map_err(|e| invalid(field, format!("not valid base64: {e}")))
}

/// A protojson `bytes` field that must not be empty.
fn required_bytes(s: Option<&str>, field: &'static str) -> Result<Vec<u8>, EntryError> {
    let bytes = proto_bytes(s, field)?;
    if bytes.is_empty() {
        return Err(invalid(field, "missing"));
    }
    Ok(bytes)
}

// ── Key details and verifiers ───────────────────────────────────────────────

/// A `PublicKeyDetails` value sigstore knows the algorithm of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KeyDetails {
    name: &'static str,
    /// The digest the signature is over; None for pure Ed25519.
    hash: Option<HashAlgorithm>,
}

/// sigstore/sigstore's `supportedAlgorithms`, with the enum numbers of
/// protobuf-specs `sigstore_common.proto`. Which pairs are permitted is
/// [`check_algorithm`]'s business; this only names the hash.
const KEY_DETAILS: [(&str, i64, Option<HashAlgorithm>); 13] = {
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    [
        ("PKIX_RSA_PKCS1V15_2048_SHA256", 9, Some(Sha256)),
        ("PKIX_RSA_PKCS1V15_3072_SHA256", 10, Some(Sha256)),
        ("PKIX_RSA_PKCS1V15_4096_SHA256", 11, Some(Sha256)),
        ("PKIX_RSA_PSS_2048_SHA256", 16, Some(Sha256)),
        ("PKIX_RSA_PSS_3072_SHA256", 17, Some(Sha256)),
        ("PKIX_RSA_PSS_4096_SHA256", 18, Some(Sha256)),
        ("PKIX_ECDSA_P256_SHA_256", 5, Some(Sha256)),
        ("PKIX_ECDSA_P384_SHA_384", 12, Some(Sha384)),
        ("PKIX_ECDSA_P384_SHA_256", 19, Some(Sha256)),
        ("PKIX_ECDSA_P521_SHA_512", 13, Some(Sha512)),
        ("PKIX_ECDSA_P521_SHA_256", 20, Some(Sha256)),
        ("PKIX_ED25519", 7, None),
        ("PKIX_ED25519_PH", 8, Some(Sha512)),
    ]
};

impl KeyDetails {
    /// Reads a `keyDetails` enum value: a name or an enum number.
    fn parse(value: Option<&Value>, field: &'static str) -> Result<Self, EntryError> {
        let found = match value {
            None | Some(Value::Null) => return Err(invalid(field, "missing")),
            Some(Value::String(s)) if s == "PUBLIC_KEY_DETAILS_UNSPECIFIED" => {
                return Err(invalid(field, "missing"))
            }
            Some(Value::Number(n)) if n.as_i64() == Some(0) => {
                return Err(invalid(field, "missing"))
            }
            Some(Value::String(s)) => KEY_DETAILS.iter().find(|(name, _, _)| name == s),
            Some(Value::Number(n)) => KEY_DETAILS
                .iter()
                .find(|(_, number, _)| Some(*number) == n.as_i64()),
            Some(_) => return Err(invalid(field, "must be a PublicKeyDetails name")),
        };
        match found {
            Some(&(name, _, hash)) => Ok(Self { name, hash }),
            None => {
                let shown: String = value
                    .map(Value::to_string)
                    .unwrap_or_default()
                    .chars()
                    .take(80)
                    .collect();
                Err(invalid(
                    field,
                    format!(
                        "{shown} is not a signing algorithm this log knows \
                         (PKIX_ECDSA_P256_SHA_256, PKIX_ECDSA_P384_SHA_384, PKIX_ECDSA_P521_SHA_512, \
                         PKIX_RSA_PKCS1V15_{{2048,3072,4096}}_SHA256, PKIX_ED25519_PH are accepted)"
                    ),
                ))
            }
        }
    }
}

/// protobuf-specs `HashAlgorithm` name of a digest.
fn proto_hash_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "SHA2_256",
        HashAlgorithm::Sha384 => "SHA2_384",
        HashAlgorithm::Sha512 => "SHA2_512",
    }
}

/// Field paths for a verifier's errors.
struct VerifierFields {
    verifier: &'static str,
    public_key: &'static str,
    certificate: &'static str,
    key_details: &'static str,
}

/// A parsed `Verifier`: the key that verifies, and what the body stores.
struct Verifier {
    key: PublicKey,
    details: KeyDetails,
    /// DER as sent: a SubjectPublicKeyInfo, or a certificate.
    raw: Vec<u8>,
    is_certificate: bool,
}

impl Verifier {
    /// Reads a verifier: exactly one of `publicKey` (DER SPKI) and
    /// `x509Certificate` (DER certificate) with bytes, and a `keyDetails`.
    fn parse(v: &VerifierJson, fields: &VerifierFields) -> Result<Self, EntryError> {
        let raw_of = |r: &RawBytesJson, field| required_bytes(r.raw_bytes.as_deref(), field);
        let (raw, is_certificate) = match (&v.public_key, &v.x509_certificate) {
            (Some(k), None) => (raw_of(k, fields.public_key)?, false),
            (None, Some(c)) => (raw_of(c, fields.certificate)?, true),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    fields.verifier,
                    "holds both publicKey and x509Certificate; send one",
                ))
            }
            (None, None) => {
                return Err(invalid(
                    fields.verifier,
                    "missing publicKey or x509Certificate",
                ))
            }
        };
        let key = if is_certificate {
            let cert = x509_cert::Certificate::from_der(&raw).map_err(|e| {
                invalid(
                    fields.certificate,
                    format!("not a DER X.509 certificate: {e}"),
                )
            })?;
            let spki = cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| invalid(fields.certificate, format!("certificate key: {e}")))?;
            PublicKey::from_spki_der(&spki)
                .map_err(|e| invalid(fields.certificate, format!("certificate key: {e}")))?
        } else {
            PublicKey::from_spki_der(&raw).map_err(|e| invalid(fields.public_key, e.to_string()))?
        };
        let details = KeyDetails::parse(v.key_details.as_ref(), fields.key_details)?;
        Ok(Self {
            key,
            details,
            raw,
            is_certificate,
        })
    }

    /// The verifier as the stored body holds it.
    fn to_json(&self) -> Value {
        let member = if self.is_certificate {
            "x509Certificate"
        } else {
            "publicKey"
        };
        json!({
            "keyDetails": self.details.name,
            member: { "rawBytes": STANDARD.encode(&self.raw) },
        })
    }

    /// Checks that (this key, `hash`) is a permitted pair, naming the key
    /// details in the refusal.
    fn check_pair(&self, hash: HashAlgorithm) -> Result<(), EntryError> {
        check_algorithm(&self.key, hash).map_err(|e| match e {
            EntryError::AlgorithmNotAllowed(m) => {
                EntryError::AlgorithmNotAllowed(format!("{m} (keyDetails {})", self.details.name))
            }
            other => other,
        })
    }
}

// ── hashedrekord 0.0.2 ──────────────────────────────────────────────────────

/// Verifies a `hashedRekordRequestV002` and returns its stored `spec`.
fn hashedrekord_spec(hr: HashedRekordRequest) -> Result<Value, EntryError> {
    let sig = hr
        .signature
        .ok_or_else(|| invalid(HR_SIGNATURE, "missing"))?;
    let content = required_bytes(sig.content.as_deref(), HR_CONTENT)?;
    let verifier = sig
        .verifier
        .ok_or_else(|| invalid(HR_VERIFIER.verifier, "missing"))?;
    let digest = required_bytes(hr.digest.as_deref(), HR_DIGEST)?;
    let verifier = Verifier::parse(&verifier, &HR_VERIFIER)?;

    let details = verifier.details;
    let Some(hash) = details.hash else {
        return Err(EntryError::AlgorithmNotAllowed(format!(
            "{} is pure Ed25519, which signs messages, not digests; a hashedrekord needs PKIX_ED25519_PH",
            details.name
        )));
    };
    verifier.check_pair(hash)?;
    if digest.len() != hash.len() {
        return Err(invalid(
            HR_DIGEST,
            format!(
                "{} bytes, but {} signs a {}-byte {} digest",
                digest.len(),
                details.name,
                hash.len(),
                proto_hash_name(hash)
            ),
        ));
    }
    verifier
        .key
        .verify_digest(hash, &digest, &content)
        .map_err(|e| {
            let note = if details.name.starts_with("PKIX_RSA_PSS_") {
                " (as in rekor-tiles, RSA signatures are checked as PKCS#1 v1.5 whatever keyDetails says)"
            } else {
                ""
            };
            EntryError::BadSignature(format!("{e}{note}"))
        })?;

    Ok(json!({
        "hashedRekordV002": {
            "data": { "algorithm": proto_hash_name(hash), "digest": STANDARD.encode(&digest) },
            "signature": { "content": STANDARD.encode(&content), "verifier": verifier.to_json() },
        },
    }))
}

// ── The answer ──────────────────────────────────────────────────────────────

/// The 201 answer: protobuf-JSON of `dev.sigstore.rekor.v1.TransparencyLogEntry`
/// as rekor-tiles' gateway writes it (`EmitUnpopulated`): members in proto
/// order, int64 as decimal strings, bytes as standard base64, an
/// `integratedTime` of "0" and a null `inclusionPromise` (v2 has neither).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogEntry {
    pub log_index: String,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    pub integrated_time: String,
    pub inclusion_promise: Option<InclusionPromise>,
    pub inclusion_proof: InclusionProof,
    pub canonicalized_body: String,
}

/// `dev.sigstore.common.v1.LogId`: base64 of the log's 32-byte key hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    pub key_id: String,
}

/// `dev.sigstore.rekor.v1.KindVersion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

/// `dev.sigstore.rekor.v1.InclusionPromise` (never sent by a v2 log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    pub signed_entry_timestamp: String,
}

/// `dev.sigstore.rekor.v1.InclusionProof`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    pub log_index: String,
    pub root_hash: String,
    pub tree_size: String,
    pub hashes: Vec<String>,
    pub checkpoint: Checkpoint,
}

/// `dev.sigstore.rekor.v1.Checkpoint`: the whole signed note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub envelope: String,
}

impl TransparencyLogEntry {
    /// The entry at `index` with its inclusion proof (`hashes`) in the tree of
    /// `tree_size` leaves and root `root` that the signed note `checkpoint`
    /// commits to. `key_id` is the log's key hash, `body` the canonical body.
    #[allow(clippy::too_many_arguments)] // one per proto field; a builder would add nothing
    pub fn new(
        index: u64,
        key_id: [u8; 32],
        kind: &str,
        version: &str,
        root: &Hash,
        tree_size: u64,
        hashes: &[Hash],
        checkpoint: String,
        body: &[u8],
    ) -> Self {
        Self {
            log_index: index.to_string(),
            log_id: LogId {
                key_id: STANDARD.encode(key_id),
            },
            kind_version: KindVersion {
                kind: kind.to_owned(),
                version: version.to_owned(),
            },
            integrated_time: "0".to_owned(),
            inclusion_promise: None,
            inclusion_proof: InclusionProof {
                log_index: index.to_string(),
                root_hash: STANDARD.encode(root.0),
                tree_size: tree_size.to_string(),
                hashes: hashes.iter().map(|h| STANDARD.encode(h.0)).collect(),
                checkpoint: Checkpoint {
                    envelope: checkpoint,
                },
            },
            canonicalized_body: STANDARD.encode(body),
        }
    }
}

#[cfg(test)]
mod tests;
