//! Rekor v1 entry kinds (docs/rekor-wire.md §2): parse a ProposedEntry, verify its
//! signature(s), and produce the canonical (RFC 8785) body the log stores,
//! whose RFC 6962 leaf hash is the entry's UUID. Also the search-index keys.
//!
//! Stored shapes follow sigstore/rekor's `pkg/types/{hashedrekord,dsse}/v0.0.1`
//! `Canonicalize` byte for byte: clients compare the body we store with what
//! they submitted, and a resubmission must give the same leaf (a 409).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::{Map, Value};

pub mod cost;
pub mod dsse;
pub mod hashedrekord;
mod index_keys;
pub mod intoto;
mod material;
pub mod signers;
pub mod v2;

pub use index_keys::{IndexKeys, MAX_IDENTITY_BYTES, MAX_INDEX_KEYS};

/// Entry errors; `Display` is the message after Rekor's "error processing entry: ".
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryError {
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported entry kind {kind} version {version}")]
    UnsupportedKind { kind: String, version: String },
    #[error("invalid {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("verifying signature: {0}")]
    BadSignature(String),
    /// The key type and digest pair is outside Rekor's default
    /// `client-signing-algorithms` (hashedrekord only).
    #[error("entry algorithms are not allowed: {0}")]
    AlgorithmNotAllowed(String),
}

/// Entry kinds this log accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryKind {
    HashedRekord,
    Dsse,
    Intoto,
}

impl EntryKind {
    /// "hashedrekord", "dsse", "intoto".
    pub fn name(self) -> &'static str {
        match self {
            Self::HashedRekord => "hashedrekord",
            Self::Dsse => "dsse",
            Self::Intoto => "intoto",
        }
    }
}

/// Most signatures one dsse or intoto entry may carry. Each is checked
/// against the entry's keys, so an unbounded count would make one request
/// cost an unbounded number of signature verifications; 16 is far beyond
/// any real multi-signer attestation (Rekor itself sets no limit).
pub const MAX_SIGNATURES: usize = 16;
/// Most verifiers (dsse) or public keys (intoto) one entry may carry, for
/// the same reason as [`MAX_SIGNATURES`].
pub const MAX_VERIFIERS: usize = 16;

/// The 400 reason for a list over its cap: `what` is "signatures" or "verifiers".
fn too_many(field: &'static str, what: &str, max: usize, got: usize) -> EntryError {
    invalid(
        field,
        format!("at most {max} {what} are accepted per entry, got {got}"),
    )
}

/// A verified entry, ready to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalEntry {
    pub kind: EntryKind,
    pub api_version: String,
    /// RFC 8785 bytes of `{apiVersion, kind, spec}`; served base64 as `body`.
    pub body: Vec<u8>,
    pub index: IndexKeys,
}

impl CanonicalEntry {
    /// RFC 6962 leaf hash of `body`.
    pub fn leaf_hash(&self) -> crate::merkle::Hash {
        crate::merkle::leaf_hash(&self.body)
    }
}

/// The only version of hashedrekord and dsse this log speaks.
const API_VERSION: &str = "0.0.1";
/// The only version of intoto this log speaks (0.0.1 stored whole envelopes).
const INTOTO_API_VERSION: &str = "0.0.2";

/// Parses and verifies a ProposedEntry JSON document (the POST body).
pub fn canonicalize_proposed(json: &[u8]) -> Result<CanonicalEntry, EntryError> {
    // Bounded while parsing: a hostile body cannot grow a huge tree
    // (docs/design.md, "Hostile input").
    let doc = crate::json_bounded::from_slice(json, crate::json_bounded::JsonLimits::ENTRY)
        .map_err(|e| EntryError::MalformedJson(e.to_string()))?;
    let Value::Object(doc) = doc else {
        return Err(EntryError::MalformedJson(
            "a proposed entry must be a JSON object".into(),
        ));
    };
    let kind = string(&doc, "kind", "kind")?;
    let version = string(&doc, "apiVersion", "apiVersion")?;
    let spec = doc.get("spec").ok_or(EntryError::InvalidField {
        field: "spec",
        reason: "missing".into(),
    })?;
    let (kind, api_version, spec, index) = match (kind, version) {
        ("hashedrekord", API_VERSION) => {
            let (spec, index) = hashedrekord::canonical_spec(spec)?;
            (EntryKind::HashedRekord, API_VERSION, spec, index)
        }
        ("dsse", API_VERSION) => {
            let (spec, index) = dsse::canonical_spec(spec)?;
            (EntryKind::Dsse, API_VERSION, spec, index)
        }
        ("intoto", INTOTO_API_VERSION) => {
            let (spec, index) = intoto::canonical_spec(spec)?;
            (EntryKind::Intoto, INTOTO_API_VERSION, spec, index)
        }
        (kind, version) => {
            return Err(EntryError::UnsupportedKind {
                kind: kind.to_owned(),
                version: version.to_owned(),
            })
        }
    };
    let body = serde_json::json!({
        "apiVersion": api_version,
        "kind": kind.name(),
        "spec": spec,
    });
    let body = crate::jcs::canonicalize(&body)
        // The spec is built from strings only, so JCS has no number to refuse.
        .map_err(|e| EntryError::MalformedJson(e.to_string()))?;
    Ok(CanonicalEntry {
        kind,
        api_version: api_version.to_owned(),
        body,
        index: index.normalized()?,
    })
}

/// The search-index key of verification material, as `POST
/// /api/v1/index/retrieve` looks a `publicKey` up: the lower-case hex SHA-256
/// of its canonical PEM (a `PUBLIC KEY`, or a certificate or chain, base64
/// already decoded). Rekor's x509 format; other formats are not logged here.
pub fn public_key_index_key(pem: &[u8]) -> Result<String, EntryError> {
    let material = material::Material::parse(pem, "publicKey.content")?;
    Ok(sha256_hex(material.canonical_pem.as_bytes()))
}

// ── Helpers shared by the kinds ─────────────────────────────────────────────

fn invalid(field: &'static str, reason: impl Into<String>) -> EntryError {
    EntryError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// `value` as a JSON object, or an error naming `field`.
fn as_object<'a>(
    value: &'a Value,
    field: &'static str,
) -> Result<&'a Map<String, Value>, EntryError> {
    value
        .as_object()
        .ok_or_else(|| invalid(field, "must be a JSON object"))
}

/// The object member `key` of `obj`; `field` is its full path for errors.
fn object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a Map<String, Value>, EntryError> {
    as_object(
        obj.get(key).ok_or_else(|| invalid(field, "missing"))?,
        field,
    )
}

/// The string member `key` of `obj`; `field` is its full path for errors.
fn string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a str, EntryError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(invalid(field, "missing")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

/// Go's `base64.StdEncoding`, which Rekor decodes `format: byte` fields
/// with: padding required, line breaks ignored, stray trailing bits allowed.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Decodes a base64 field the way Rekor does; an empty string counts as missing.
fn base64_field(s: &str, field: &'static str) -> Result<Vec<u8>, EntryError> {
    if s.is_empty() {
        return Err(invalid(field, "missing"));
    }
    let cleaned: String = s.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    GO_STD
        .decode(cleaned)
        .map_err(|e| invalid(field, format!("not valid base64: {e}")))
}

/// Standard padded base64, as Go's `strfmt.Base64` marshals bytes.
fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
pub(crate) mod tests;
