//! RFC 6962 §3.2 Signed Certificate Timestamps (v1): the signed input for
//! X.509 and precertificate entries, the TLS encoding of one SCT and of a
//! SignedCertificateTimestampList (§3.3), and the `add-chain` JSON response.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::{Decode as _, Encode as _};

use crate::keys::{EcdsaP256Signer, HashAlgorithm, KeyError, LogId, PublicKey};

/// SCT errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SctError {
    #[error("malformed SCT: {0}")]
    Malformed(String),
    #[error("SCT log ID {sct} does not match the log key {key}")]
    LogIdMismatch { sct: String, key: String },
    #[error("SCT signature verification failed")]
    BadSignature,
}

/// What was logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedEntry {
    /// An X.509 certificate (DER).
    X509(Vec<u8>),
    /// A precertificate: SHA-256 of the issuer's DER SPKI and the TBSCertificate
    /// without the poison extension (DER).
    Precert {
        issuer_key_hash: [u8; 32],
        tbs_certificate: Vec<u8>,
    },
}

/// A v1 SCT signed with ECDSA P-256 / SHA-256 (hash 4, signature 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCertificateTimestamp {
    pub log_id: LogId,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    pub extensions: Vec<u8>,
    /// DER ECDSA signature.
    pub signature: Vec<u8>,
}

/// RFC 6962 §3.2 `Version` v1.
const SCT_VERSION_V1: u8 = 0;
/// RFC 6962 §3.2 `SignatureType.certificate_timestamp`.
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP: u8 = 0;
/// RFC 5246 §7.4.1.4.1 `HashAlgorithm.sha256` and `SignatureAlgorithm.ecdsa`.
const TLS_HASH_SHA256: u8 = 4;
const TLS_SIGNATURE_ECDSA: u8 = 3;
/// RFC 6962 §3.1 `LogEntryType`.
const ENTRY_TYPE_X509: u16 = 0;
const ENTRY_TYPE_PRECERT: u16 = 1;

/// Largest TLS `opaque <1..2^24-1>` body (a certificate or a TBSCertificate).
pub const MAX_U24: usize = 0xFF_FFFF;

/// The bytes a log signs (RFC 6962 §3.2 `digitally-signed struct`).
///
/// Callers keep certificates under [`MAX_U24`] bytes and extensions under
/// 64 KiB (`ct::accept_chain` enforces the former for submissions).
pub fn signed_input(timestamp_ms: u64, entry: &SignedEntry, extensions: &[u8]) -> Vec<u8> {
    let mut out = vec![SCT_VERSION_V1, SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP];
    put_timestamped_entry(&mut out, timestamp_ms, entry, extensions);
    out
}

/// The RFC 6962 §3.4 `TimestampedEntry` (timestamp, entry type, signed entry,
/// extensions): shared by the SCT signed input and the Merkle tree leaf.
pub fn put_timestamped_entry(
    out: &mut Vec<u8>,
    timestamp_ms: u64,
    entry: &SignedEntry,
    extensions: &[u8],
) {
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    match entry {
        SignedEntry::X509(cert) => {
            out.extend_from_slice(&ENTRY_TYPE_X509.to_be_bytes());
            put_u24_opaque(out, cert);
        }
        SignedEntry::Precert {
            issuer_key_hash,
            tbs_certificate,
        } => {
            out.extend_from_slice(&ENTRY_TYPE_PRECERT.to_be_bytes());
            out.extend_from_slice(issuer_key_hash);
            put_u24_opaque(out, tbs_certificate);
        }
    }
    put_u16_opaque(out, extensions);
}

impl SignedCertificateTimestamp {
    /// Signs `entry` at `timestamp_ms`.
    pub fn sign(signer: &EcdsaP256Signer, timestamp_ms: u64, entry: &SignedEntry) -> Self {
        Self::sign_with_extensions(signer, timestamp_ms, entry, Vec::new())
    }

    /// Signs `entry` at `timestamp_ms` with SCT `extensions` (e.g. a static-CT `leaf_index`).
    pub fn sign_with_extensions(
        signer: &EcdsaP256Signer,
        timestamp_ms: u64,
        entry: &SignedEntry,
        extensions: Vec<u8>,
    ) -> Self {
        let signature = signer.sign(&signed_input(timestamp_ms, entry, &extensions));
        Self {
            log_id: signer.log_id(),
            timestamp_ms,
            extensions,
            signature,
        }
    }

    /// Verifies the signature against `key` for `entry`. The SCT's log ID
    /// must be the key's (SHA-256 of its SPKI), as clients match them.
    pub fn verify(&self, key: &PublicKey, entry: &SignedEntry) -> Result<(), SctError> {
        let key_id = key.log_id();
        if key_id != self.log_id {
            return Err(SctError::LogIdMismatch {
                sct: self.log_id.to_hex(),
                key: key_id.to_hex(),
            });
        }
        let input = signed_input(self.timestamp_ms, entry, &self.extensions);
        // The SCT says SHA-256 whatever the key's own preferred hash is.
        let digest = HashAlgorithm::Sha256.digest(&input);
        key.verify_digest(HashAlgorithm::Sha256, &digest, &self.signature)
            .map_err(|e| match e {
                KeyError::BadSignature => SctError::BadSignature,
                other => SctError::Malformed(other.to_string()),
            })
    }

    /// The TLS `SignedCertificateTimestamp` encoding.
    pub fn to_tls(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(47 + self.extensions.len() + 4 + self.signature.len());
        out.push(SCT_VERSION_V1);
        out.extend_from_slice(&self.log_id.0);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        put_u16_opaque(&mut out, &self.extensions);
        out.extend_from_slice(&self.digitally_signed());
        out
    }

    pub fn from_tls(bytes: &[u8]) -> Result<Self, SctError> {
        let mut r = TlsReader(bytes);
        let sct = Self::read(&mut r)?;
        r.finish()?;
        Ok(sct)
    }

    /// The `add-chain`/`add-pre-chain` JSON response.
    pub fn to_add_chain_response(&self) -> AddChainResponse {
        AddChainResponse {
            sct_version: SCT_VERSION_V1,
            id: self.log_id.to_base64(),
            timestamp: self.timestamp_ms,
            extensions: STANDARD.encode(&self.extensions),
            signature: STANDARD.encode(self.digitally_signed()),
        }
    }

    pub fn from_add_chain_response(r: &AddChainResponse) -> Result<Self, SctError> {
        if r.sct_version != SCT_VERSION_V1 {
            return Err(malformed(format!(
                "unsupported sct_version {}",
                r.sct_version
            )));
        }
        let id = decode_b64("id", &r.id)?;
        let log_id = LogId(
            id.try_into()
                .map_err(|_| malformed("id is not 32 bytes".into()))?,
        );
        let extensions = decode_b64("extensions", &r.extensions)?;
        let signed = decode_b64("signature", &r.signature)?;
        let mut reader = TlsReader(&signed);
        let signature = read_digitally_signed(&mut reader)?;
        reader.finish()?;
        Ok(Self {
            log_id,
            timestamp_ms: r.timestamp,
            extensions,
            signature,
        })
    }

    /// TLS `DigitallySigned`: hash, signature algorithm, u16-prefixed signature.
    fn digitally_signed(&self) -> Vec<u8> {
        let mut out = vec![TLS_HASH_SHA256, TLS_SIGNATURE_ECDSA];
        put_u16_opaque(&mut out, &self.signature);
        out
    }

    fn read(r: &mut TlsReader<'_>) -> Result<Self, SctError> {
        let version = r.u8()?;
        if version != SCT_VERSION_V1 {
            return Err(malformed(format!("unsupported SCT version {version}")));
        }
        let log_id = LogId(r.array::<32>()?);
        let timestamp_ms = r.u64()?;
        let extensions = r.u16_opaque()?.to_vec();
        let signature = read_digitally_signed(r)?;
        Ok(Self {
            log_id,
            timestamp_ms,
            extensions,
            signature,
        })
    }
}

/// The TLS `SignedCertificateTimestampList` (u16 total length, u16-prefixed SCTs).
pub fn sct_list_to_tls(scts: &[SignedCertificateTimestamp]) -> Vec<u8> {
    let mut list = Vec::new();
    for sct in scts {
        put_u16_opaque(&mut list, &sct.to_tls());
    }
    let mut out = Vec::with_capacity(list.len() + 2);
    put_u16_opaque(&mut out, &list);
    out
}

pub fn sct_list_from_tls(bytes: &[u8]) -> Result<Vec<SignedCertificateTimestamp>, SctError> {
    let mut outer = TlsReader(bytes);
    let mut list = TlsReader(outer.u16_opaque()?);
    outer.finish()?;
    if list.0.is_empty() {
        // RFC 6962 §3.3: `SerializedSCT sct_list <1..2^16-1>`.
        return Err(malformed("empty SCT list".into()));
    }
    let mut scts = Vec::new();
    while !list.0.is_empty() {
        scts.push(SignedCertificateTimestamp::from_tls(list.u16_opaque()?)?);
    }
    Ok(scts)
}

/// The `extnValue` contents of the X.509 SCT list extension
/// (1.3.6.1.4.1.11129.2.4.2): a DER OCTET STRING wrapping the TLS list.
pub fn sct_list_to_extension_value(scts: &[SignedCertificateTimestamp]) -> Vec<u8> {
    let tls = sct_list_to_tls(scts);
    // An OCTET STRING of at most 2 + 65535 bytes always encodes.
    der::asn1::OctetStringRef::new(&tls)
        .and_then(|o| o.to_der())
        .expect("DER OCTET STRING of a bounded TLS list")
}

/// Parses the `extnValue` contents of the X.509 SCT list extension.
pub fn sct_list_from_extension_value(
    value: &[u8],
) -> Result<Vec<SignedCertificateTimestamp>, SctError> {
    let octets = der::asn1::OctetStringRef::from_der(value)
        .map_err(|e| malformed(format!("SCT list extension is not an OCTET STRING: {e}")))?;
    sct_list_from_tls(octets.as_bytes())
}

/// RFC 6962 §4.1 response: `{"sct_version":0,"id":b64,"timestamp":ms,"extensions":b64,"signature":b64}`
/// where `signature` is the TLS DigitallySigned (hash, sig alg, u16 length, sig).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddChainResponse {
    pub sct_version: u8,
    pub id: String,
    pub timestamp: u64,
    pub extensions: String,
    pub signature: String,
}

fn malformed(msg: String) -> SctError {
    SctError::Malformed(msg)
}

fn decode_b64(field: &str, value: &str) -> Result<Vec<u8>, SctError> {
    STANDARD
        .decode(value)
        .map_err(|e| malformed(format!("{field} is not base64: {e}")))
}

fn read_digitally_signed(r: &mut TlsReader<'_>) -> Result<Vec<u8>, SctError> {
    let hash = r.u8()?;
    let sig_alg = r.u8()?;
    if hash != TLS_HASH_SHA256 || sig_alg != TLS_SIGNATURE_ECDSA {
        return Err(malformed(format!(
            "unsupported signature algorithm (hash {hash}, signature {sig_alg}); only SHA-256 ECDSA (4, 3)"
        )));
    }
    let sig = r.u16_opaque()?;
    if sig.is_empty() {
        return Err(malformed("empty signature".into()));
    }
    Ok(sig.to_vec())
}

/// Writes `data` with a u16 length prefix. `data` must be under 64 KiB;
/// every caller passes an SCT part or extensions, which are.
fn put_u16_opaque(out: &mut Vec<u8>, data: &[u8]) {
    debug_assert!(data.len() <= usize::from(u16::MAX));
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
}

/// Writes `data` with a u24 length prefix; `data` must be at most [`MAX_U24`] bytes.
fn put_u24_opaque(out: &mut Vec<u8>, data: &[u8]) {
    debug_assert!(data.len() <= MAX_U24);
    let len = u32::try_from(data.len().min(MAX_U24))
        .unwrap_or(0)
        .to_be_bytes();
    out.extend_from_slice(&len[1..]);
    out.extend_from_slice(data);
}

/// A cursor over TLS presentation-language bytes (RFC 5246 §4).
struct TlsReader<'a>(&'a [u8]);

impl<'a> TlsReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SctError> {
        if self.0.len() < n {
            return Err(malformed("truncated".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SctError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, SctError> {
        Ok(self.array::<1>()?[0])
    }

    fn u64(&mut self) -> Result<u64, SctError> {
        Ok(u64::from_be_bytes(self.array::<8>()?))
    }

    fn u16_opaque(&mut self) -> Result<&'a [u8], SctError> {
        let len = u16::from_be_bytes(self.array::<2>()?);
        self.take(usize::from(len))
    }

    fn finish(&self) -> Result<(), SctError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(malformed(format!("{} trailing bytes", self.0.len())))
        }
    }
}

#[cfg(test)]
mod tests;
