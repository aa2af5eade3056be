//! Time-stamp requests as sigstore/timestamp-authority accepts them
//! (docs/rekor-v2.md §5): a DER `TimeStampReq` (RFC 3161 §2.4.1) sent as
//! `application/timestamp-query`, or the JSON form
//! `{"artifactHash":b64,"hashAlgorithm":"sha256",…}` sent as
//! `application/json`. Both parse into one `StampRequest`; what the TSA would
//! refuse (SHA-1, a digest of the wrong length, extensions) is refused here,
//! before any signature is made.

use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use const_oid::ObjectIdentifier;
use der::asn1::Int;
use der::{Any, Decode};
use spki::AlgorithmIdentifier;
use x509_tsp::TimeStampReq;

/// Upstream's cap on a JSON request: only the nonce can grow, and a big
/// decimal nonce costs quadratic time to convert.
pub const MAX_JSON_REQUEST_BYTES: usize = 1024;
/// A DER request holds an imprint of at most 64 bytes, a nonce and a policy:
/// anything larger is not a time-stamp request.
pub const MAX_DER_REQUEST_BYTES: usize = 4096;
/// RFC 3161 §2.4.2: "Time-Stamping users MUST be ready to accommodate
/// integers up to 160 bits"; a longer nonce is refused rather than echoed.
const MAX_NONCE_BYTES: usize = 32;

/// The digests a time-stamp may be requested over (SHA-1 is refused as weak).
pub use shared::keys::HashAlgorithm;

/// The AlgorithmIdentifier OID of a message-imprint digest.
pub fn hash_oid(hash: HashAlgorithm) -> ObjectIdentifier {
    match hash {
        HashAlgorithm::Sha256 => ID_SHA_256,
        HashAlgorithm::Sha384 => ID_SHA_384,
        HashAlgorithm::Sha512 => ID_SHA_512,
    }
}

fn hash_from_oid(oid: ObjectIdentifier) -> Result<HashAlgorithm, RequestError> {
    match oid {
        ID_SHA_256 => Ok(HashAlgorithm::Sha256),
        ID_SHA_384 => Ok(HashAlgorithm::Sha384),
        ID_SHA_512 => Ok(HashAlgorithm::Sha512),
        ID_SHA_1 => Err(RequestError::WeakHash),
        other => Err(RequestError::UnsupportedHash(other.to_string())),
    }
}

/// The JSON request's `hashAlgorithm`, case-insensitive as upstream reads it.
fn hash_from_name(name: &str) -> Result<HashAlgorithm, RequestError> {
    let lower = name.to_ascii_lowercase();
    match HashAlgorithm::from_name(&lower) {
        Some(hash) => Ok(hash),
        None if lower == "sha1" => Err(RequestError::WeakHash),
        None => Err(RequestError::UnsupportedHash(name.to_owned())),
    }
}

/// Why a request was refused (each a 400; the texts lead with upstream's).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("timestamp request is too large: over {0} bytes")]
    TooLarge(usize),
    #[error("Error generating timestamp response: malformed request: {0}")]
    Malformed(String),
    #[error("Weak hash algorithm in timestamp request: SHA-1 is not accepted")]
    WeakHash,
    #[error("Error generating timestamp response: unsupported hash algorithm: {0}")]
    UnsupportedHash(String),
    #[error("Message digest has incorrect length for specified algorithm: {got} bytes, {algorithm:?} needs {want}")]
    DigestLength {
        algorithm: HashAlgorithm,
        got: usize,
        want: usize,
    },
    #[error("unaccepted policy: requested TSA policy {0} is not supported by the TSA")]
    UnacceptedPolicy(String),
    #[error("unaccepted extension: requested extensions are not supported by the TSA")]
    Extensions,
    #[error("Error generating timestamp response: the nonce must be a non-negative integer of at most 256 bits")]
    Nonce,
}

/// A request the TSA will answer: what to stamp and how to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampRequest {
    /// The request's own AlgorithmIdentifier, echoed in the response's
    /// messageImprint (RFC 3161 §2.4.2: the same value as in the request).
    pub hash_algorithm_id: AlgorithmIdentifier<Any>,
    pub hash_algorithm: HashAlgorithm,
    pub hashed_message: Vec<u8>,
    /// Echoed in TSTInfo when present (RFC 3161 §2.4.2).
    pub nonce: Option<Int>,
    /// The policy asked for; the TSA answers only policies it accepts.
    pub policy: Option<ObjectIdentifier>,
    /// Whether the TSA certificate goes into the response (RFC 3161 §2.4.1).
    pub cert_req: bool,
}

impl StampRequest {
    /// Parses a DER `TimeStampReq` (`application/timestamp-query`).
    pub fn from_der(bytes: &[u8]) -> Result<Self, RequestError> {
        if bytes.len() > MAX_DER_REQUEST_BYTES {
            return Err(RequestError::TooLarge(MAX_DER_REQUEST_BYTES));
        }
        let req = TimeStampReq::from_der(bytes)
            .map_err(|e| RequestError::Malformed(format!("not a DER TimeStampReq: {e}")))?;
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return Err(RequestError::Extensions);
        }
        let imprint = req.message_imprint;
        let hash_algorithm = hash_from_oid(imprint.hash_algorithm.oid)?;
        let nonce = match req.nonce {
            Some(n) if negative(&n) || n.as_bytes().len() > MAX_NONCE_BYTES + 1 => {
                return Err(RequestError::Nonce)
            }
            other => other,
        };
        Self::checked(Self {
            hash_algorithm_id: imprint.hash_algorithm,
            hash_algorithm,
            hashed_message: imprint.hashed_message.into_bytes(),
            nonce,
            policy: req.req_policy,
            cert_req: req.cert_req,
        })
    }

    /// Parses the JSON form (`application/json`) sigstore-js sends.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RequestError> {
        if bytes.len() > MAX_JSON_REQUEST_BYTES {
            return Err(RequestError::TooLarge(MAX_JSON_REQUEST_BYTES));
        }
        let req: JsonRequest = serde_json::from_slice(bytes)
            .map_err(|e| RequestError::Malformed(format!("invalid JSON request: {e}")))?;
        let hash_algorithm = hash_from_name(&req.hash_algorithm)?;
        use base64::Engine as _;
        let hashed_message = base64::engine::general_purpose::STANDARD
            .decode(&req.artifact_hash)
            .map_err(|e| RequestError::Malformed(format!("artifactHash is not base64: {e}")))?;
        let policy = match req.tsa_policy_oid.as_deref() {
            None | Some("") => None,
            Some(text) => Some(ObjectIdentifier::new(text).map_err(|_| {
                RequestError::Malformed(format!("tsaPolicyOID {text:?} is not an OID"))
            })?),
        };
        let nonce = match &req.nonce {
            None => None,
            Some(raw) => Some(nonce_from_decimal(raw.get())?),
        };
        Self::checked(Self {
            hash_algorithm_id: AlgorithmIdentifier {
                oid: hash_oid(hash_algorithm),
                // RFC 5754 §2: SHA-2 parameters SHOULD be absent.
                parameters: None,
            },
            hash_algorithm,
            hashed_message,
            nonce,
            policy,
            cert_req: req.certificates,
        })
    }

    fn checked(self) -> Result<Self, RequestError> {
        let want = self.hash_algorithm.len();
        if self.hashed_message.len() != want {
            return Err(RequestError::DigestLength {
                algorithm: self.hash_algorithm,
                got: self.hashed_message.len(),
                want,
            });
        }
        Ok(self)
    }
}

/// The JSON request (sigstore/timestamp-authority `api.JSONRequest`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest {
    artifact_hash: String,
    #[serde(default)]
    certificates: bool,
    hash_algorithm: String,
    /// A JSON number of any size (Go decodes it into a big.Int), or null.
    #[serde(default)]
    nonce: Option<Box<serde_json::value::RawValue>>,
    #[serde(default, rename = "tsaPolicyOID")]
    tsa_policy_oid: Option<String>,
}

/// A non-negative decimal JSON number as a DER INTEGER.
fn nonce_from_decimal(text: &str) -> Result<Int, RequestError> {
    if text == "null" {
        return Err(RequestError::Nonce);
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RequestError::Nonce);
    }
    // Big-endian base-256 digits, grown one decimal digit at a time.
    let mut magnitude: Vec<u8> = Vec::new();
    for digit in text.bytes().map(|b| b - b'0') {
        let mut carry = u16::from(digit);
        for byte in magnitude.iter_mut().rev() {
            let value = u16::from(*byte) * 10 + carry;
            *byte = (value & 0xff) as u8;
            carry = value >> 8;
        }
        if carry > 0 {
            magnitude.insert(0, carry as u8);
        }
        if magnitude.len() > MAX_NONCE_BYTES {
            return Err(RequestError::Nonce);
        }
    }
    Ok(positive_int(&magnitude))
}

fn negative(int: &Int) -> bool {
    int.as_bytes().first().is_some_and(|b| b & 0x80 != 0)
}

/// The minimal DER INTEGER of a big-endian magnitude.
pub(super) fn positive_int(magnitude: &[u8]) -> Int {
    let first = magnitude.iter().position(|b| *b != 0);
    let trimmed = first.map_or(&[0u8][..], |i| &magnitude[i..]);
    let mut bytes = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        bytes.push(0);
    }
    bytes.extend_from_slice(trimmed);
    // Cannot fail: at most 33 bytes, far below der's length limit.
    Int::new(&bytes).expect("a short INTEGER")
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;
    use sha2::Digest;

    fn json(text: &str) -> Result<StampRequest, RequestError> {
        StampRequest::from_json(text.as_bytes())
    }

    #[test]
    fn the_json_form_sigstore_js_sends_parses() {
        let digest = sha2::Sha256::digest(b"signature");
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        let req = json(&format!(
            r#"{{"artifactHash":"{b64}","hashAlgorithm":"sha256"}}"#
        ))
        .unwrap();
        assert_eq!(req.hash_algorithm, HashAlgorithm::Sha256);
        assert_eq!(req.hashed_message, digest.to_vec());
        assert_eq!(req.nonce, None);
        assert!(!req.cert_req);
        assert_eq!(req.hash_algorithm_id.parameters, None);
    }

    #[test]
    fn a_json_nonce_of_any_size_becomes_a_minimal_integer() {
        let hash = "A".repeat(43) + "=";
        let with = |nonce: &str| {
            json(&format!(
                r#"{{"artifactHash":"{hash}","hashAlgorithm":"SHA256","nonce":{nonce}}}"#
            ))
        };
        let int = |n: &str| with(n).unwrap().nonce.unwrap().to_der().unwrap();
        assert_eq!(int("0"), [0x02, 0x01, 0x00]);
        assert_eq!(int("128"), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(int("65535"), [0x02, 0x03, 0x00, 0xff, 0xff]);
        // 2^64 + 1: beyond every machine integer Go's big.Int still takes.
        assert_eq!(
            int("18446744073709551617"),
            [0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01]
        );
        assert_eq!(with("-1"), Err(RequestError::Nonce));
        assert_eq!(with("1.5"), Err(RequestError::Nonce));
        assert_eq!(with(&"9".repeat(90)), Err(RequestError::Nonce));
    }

    #[test]
    fn refuses_what_upstream_refuses() {
        let h32 = "A".repeat(43) + "=";
        let req = |alg: &str, hash: &str| {
            json(&format!(
                r#"{{"artifactHash":"{hash}","hashAlgorithm":"{alg}"}}"#
            ))
        };
        assert_eq!(req("sha1", &h32), Err(RequestError::WeakHash));
        assert!(matches!(
            req("md5", &h32),
            Err(RequestError::UnsupportedHash(_))
        ));
        assert!(matches!(
            req("sha384", &h32),
            Err(RequestError::DigestLength {
                got: 32,
                want: 48,
                ..
            })
        ));
        assert!(matches!(
            req("sha256", "!!"),
            Err(RequestError::Malformed(_))
        ));
        let big = format!(
            r#"{{"artifactHash":"{}","hashAlgorithm":"sha256"}}"#,
            "A".repeat(2000)
        );
        assert_eq!(
            json(&big),
            Err(RequestError::TooLarge(MAX_JSON_REQUEST_BYTES))
        );
        assert!(matches!(
            StampRequest::from_der(b"\x30\x03\x02\x01\x01"),
            Err(RequestError::Malformed(_))
        ));
    }

    #[test]
    fn a_der_request_keeps_its_algorithm_identifier_nonce_and_cert_req() {
        let digest = sha2::Sha384::digest(b"x");
        let null = Any::encode_from(&der::asn1::Null).unwrap();
        let req = TimeStampReq {
            version: x509_tsp::TspVersion::V1,
            message_imprint: x509_tsp::MessageImprint {
                hash_algorithm: AlgorithmIdentifier {
                    oid: ID_SHA_384,
                    parameters: Some(null.clone()),
                },
                hashed_message: der::asn1::OctetString::new(digest.to_vec()).unwrap(),
            },
            req_policy: None,
            nonce: Some(positive_int(&[0xde, 0xad])),
            cert_req: true,
            extensions: None,
        };
        let parsed = StampRequest::from_der(&req.to_der().unwrap()).unwrap();
        assert_eq!(parsed.hash_algorithm, HashAlgorithm::Sha384);
        assert_eq!(parsed.hash_algorithm_id.parameters, Some(null));
        assert_eq!(parsed.nonce, Some(positive_int(&[0xde, 0xad])));
        assert!(parsed.cert_req);
    }
}
