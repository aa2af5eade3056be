//! RFC 6962 log-side certificate handling, pure: the `MerkleTreeLeaf` for
//! X.509 and precertificate entries (§3.4), the TBSCertificate of a
//! precertificate with its poison extension removed (§3.2), the issuer key
//! hash, and the checks `add-chain` / `add-pre-chain` make on a chain.

use der::{Decode as _, Encode as _, Reader as _};
use sha2::{Digest as _, Sha256};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::keys::{HashAlgorithm, PublicKey};
use crate::oids;
use crate::sct::{put_timestamped_entry, SignedEntry, MAX_U24};

/// CT submission errors (shown to the submitter).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CtError {
    #[error("malformed certificate at position {0}: {1}")]
    MalformedCertificate(usize, String),
    #[error("empty chain")]
    EmptyChain,
    #[error("chain of {0} certificates: at most {MAX_CHAIN_CERTS} are accepted")]
    ChainTooLong(usize),
    #[error("not a precertificate: no critical poison extension")]
    NotPrecert,
    #[error("a precertificate was submitted to add-chain")]
    UnexpectedPrecert,
    #[error("chain does not verify: {0}")]
    ChainInvalid(String),
    #[error("chain does not end at an accepted root")]
    UnknownRoot,
}

/// A chain accepted by the log: the entry to log and the chain (DER) as submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedChain {
    pub entry: SignedEntry,
    pub chain: Vec<Vec<u8>>,
    /// The accepted root (DER) the chain ends at: its last certificate, or
    /// the root that signed it when the submitter left the root out.
    pub root: Vec<u8>,
}

/// Most certificates a submitted chain may hold (leaf, intermediates and
/// root). Web PKI and Fulcio chains hold three or four; a long chain only
/// buys signature checks (1,400 P-521 certificates cost 2.3 s; docs/design.md,
/// "Hostile input").
pub const MAX_CHAIN_CERTS: usize = 10;

/// Validates an `add-chain` (precert = false) or `add-pre-chain` (precert = true)
/// submission: at most [`MAX_CHAIN_CERTS`] certificates, every one parses, each is signed by the next, and the
/// last is (or is signed by) one of `roots` (DER). For a precert the leaf must
/// carry the critical poison and the issuer is `chain[1]` (no precert-signing CA).
///
/// Validity periods are not checked here (this module has no clock).
pub fn accept_chain(
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    precert: bool,
) -> Result<AcceptedChain, CtError> {
    // Checked before anything is parsed or verified: each certificate costs
    // a signature check, and real chains hold a leaf and a few CAs.
    if chain.len() > MAX_CHAIN_CERTS {
        return Err(CtError::ChainTooLong(chain.len()));
    }
    let certs = chain
        .iter()
        .enumerate()
        .map(|(i, der)| ParsedCert::parse(i, der))
        .collect::<Result<Vec<_>, _>>()?;
    let (leaf, last) = match (certs.first(), certs.last()) {
        (Some(leaf), Some(last)) => (leaf, last),
        _ => return Err(CtError::EmptyChain),
    };

    match (precert, poison(&leaf.cert)) {
        (true, Poison::Valid) | (false, Poison::Absent) => {}
        (true, _) => return Err(CtError::NotPrecert),
        (false, _) => return Err(CtError::UnexpectedPrecert),
    }

    for (i, pair) in certs.windows(2).enumerate() {
        let (child, parent) = (&pair[0], &pair[1]);
        if child.cert.tbs_certificate.issuer != parent.cert.tbs_certificate.subject {
            return Err(CtError::ChainInvalid(format!(
                "certificate {i}'s issuer is not certificate {}'s subject",
                i + 1
            )));
        }
        verify_signed_by(child, &parent.cert.tbs_certificate.subject_public_key_info).map_err(
            |e| {
                CtError::ChainInvalid(format!(
                    "certificate {i} is not signed by certificate {}: {e}",
                    i + 1
                ))
            },
        )?;
        let parent_is_root = roots.iter().any(|r| r.as_slice() == parent.der);
        if !parent_is_root && !is_ca(&parent.cert) {
            return Err(CtError::ChainInvalid(format!(
                "certificate {} issues certificates but is not a CA",
                i + 1
            )));
        }
    }

    let anchor = find_anchor(last, roots).ok_or(CtError::UnknownRoot)?;

    let entry = if precert {
        // With a one-element chain the precertificate was issued by the root itself.
        let issuer_der = certs.get(1).map_or(anchor, |c| c.der);
        let issuer = certs.get(1).map_or_else(
            || {
                Certificate::from_der(anchor)
                    .map_err(|e| CtError::MalformedCertificate(1, e.to_string()))
            },
            |c| Ok(c.cert.clone()),
        )?;
        if has_eku(&issuer, &oids::CT_PRECERT_SIGNING_EKU) {
            return Err(CtError::ChainInvalid(
                "precertificate signing certificates are not supported".into(),
            ));
        }
        SignedEntry::Precert {
            issuer_key_hash: issuer_key_hash(issuer_der)?,
            tbs_certificate: tbs_without_extension(leaf.der, &oids::CT_POISON)?,
        }
    } else {
        SignedEntry::X509(leaf.der.to_vec())
    };
    Ok(AcceptedChain {
        entry,
        chain: chain.to_vec(),
        root: anchor.to_vec(),
    })
}

/// The TBSCertificate (DER) of a certificate with the extension `oid` removed,
/// everything else byte-identical. Used to strip the poison (log side) and the
/// SCT list (verifier side). A certificate without the extension gives its
/// TBSCertificate unchanged; the extensions field is omitted when none remain.
pub fn tbs_without_extension(
    cert_der: &[u8],
    oid: &const_oid::ObjectIdentifier,
) -> Result<Vec<u8>, CtError> {
    let parsed = ParsedCert::parse(0, cert_der)?;
    let bad = |e: der::Error| CtError::MalformedCertificate(0, e.to_string());
    let mut tbs = parsed.cert.tbs_certificate;
    // Re-encoding is only byte-identical if the input was canonical DER;
    // refuse rather than silently produce a TBS the issuer never signed.
    if tbs.to_der().map_err(bad)? != parsed.tbs_raw {
        return Err(CtError::MalformedCertificate(
            0,
            "TBSCertificate is not canonical DER".into(),
        ));
    }
    if let Some(exts) = tbs.extensions.take() {
        let kept: Vec<_> = exts.into_iter().filter(|e| &e.extn_id != oid).collect();
        tbs.extensions = (!kept.is_empty()).then_some(kept);
    }
    tbs.to_der().map_err(bad)
}

/// SHA-256 of the certificate's DER SubjectPublicKeyInfo.
pub fn issuer_key_hash(issuer_cert_der: &[u8]) -> Result<[u8; 32], CtError> {
    let cert = Certificate::from_der(issuer_cert_der)
        .map_err(|e| CtError::MalformedCertificate(1, e.to_string()))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| CtError::MalformedCertificate(1, e.to_string()))?;
    Ok(Sha256::digest(spki).into())
}

/// The TLS-encoded `MerkleTreeLeaf` (v1, timestamped_entry) whose leaf hash goes into the CT tree.
pub fn merkle_tree_leaf(timestamp_ms: u64, entry: &SignedEntry, extensions: &[u8]) -> Vec<u8> {
    // RFC 6962 §3.4: Version v1 = 0, MerkleLeafType timestamped_entry = 0.
    let mut out = vec![0u8, 0u8];
    put_timestamped_entry(&mut out, timestamp_ms, entry, extensions);
    out
}

/// A submitted certificate: its DER, the exact TBSCertificate bytes that were
/// signed, and the decoded form.
struct ParsedCert<'a> {
    der: &'a [u8],
    tbs_raw: &'a [u8],
    cert: Certificate,
}

impl<'a> ParsedCert<'a> {
    fn parse(index: usize, der: &'a [u8]) -> Result<Self, CtError> {
        let bad = |e: der::Error| CtError::MalformedCertificate(index, e.to_string());
        if der.len() > MAX_U24 {
            return Err(CtError::MalformedCertificate(
                index,
                "larger than 16 MiB".into(),
            ));
        }
        let cert = Certificate::from_der(der).map_err(bad)?;
        Ok(Self {
            der,
            tbs_raw: raw_tbs(der).map_err(bad)?,
            cert,
        })
    }
}

/// The TBSCertificate TLV exactly as it appears in a DER certificate.
fn raw_tbs(cert_der: &[u8]) -> der::Result<&[u8]> {
    let mut reader = der::SliceReader::new(cert_der)?;
    let header = der::Header::decode(&mut reader)?;
    header.tag.assert_eq(der::Tag::Sequence)?;
    reader.tlv_bytes()
}

enum Poison {
    Absent,
    Valid,
    /// Present but not critical, or with a value other than ASN.1 NULL.
    Invalid,
}

fn poison(cert: &Certificate) -> Poison {
    let exts = cert
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default();
    match exts.iter().find(|e| e.extn_id == oids::CT_POISON) {
        None => Poison::Absent,
        Some(e) if e.critical && e.extn_value.as_bytes() == [0x05, 0x00] => Poison::Valid,
        Some(_) => Poison::Invalid,
    }
}

fn is_ca(cert: &Certificate) -> bool {
    matches!(
        cert.tbs_certificate.get::<BasicConstraints>(),
        Ok(Some((_, BasicConstraints { ca: true, .. })))
    )
}

fn has_eku(cert: &Certificate, eku: &const_oid::ObjectIdentifier) -> bool {
    matches!(
        cert.tbs_certificate.get::<ExtendedKeyUsage>(),
        Ok(Some((_, ExtendedKeyUsage(list)))) if list.contains(eku)
    )
}

/// The accepted root that `last` is, or that signed it.
fn find_anchor<'r>(last: &ParsedCert<'_>, roots: &'r [Vec<u8>]) -> Option<&'r [u8]> {
    if let Some(root) = roots.iter().find(|r| r.as_slice() == last.der) {
        return Some(root);
    }
    roots.iter().map(Vec::as_slice).find(|root_der| {
        // A root that does not parse can still match by DER above, never by key.
        Certificate::from_der(root_der).is_ok_and(|root| {
            root.tbs_certificate.subject == last.cert.tbs_certificate.issuer
                && verify_signed_by(last, &root.tbs_certificate.subject_public_key_info).is_ok()
        })
    })
}

/// Checks `child`'s signature with the issuer key `spki`.
fn verify_signed_by(
    child: &ParsedCert<'_>,
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<(), String> {
    let cert = &child.cert;
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err("signatureAlgorithm differs from the TBSCertificate's".into());
    }
    let spki_der = spki.to_der().map_err(|e| e.to_string())?;
    let key = PublicKey::from_spki_der(&spki_der).map_err(|e| e.to_string())?;
    let sig = cert
        .signature
        .as_bytes()
        .ok_or("signature BIT STRING has unused bits")?;
    let oid = cert.signature_algorithm.oid;
    let is_ecdsa = matches!(
        key,
        PublicKey::EcdsaP256(_) | PublicKey::EcdsaP384(_) | PublicKey::EcdsaP521(_)
    );
    let is_rsa = matches!(key, PublicKey::Rsa(_));
    let (hash, key_fits) = match oid {
        oids::ECDSA_WITH_SHA256 => (Some(HashAlgorithm::Sha256), is_ecdsa),
        oids::ECDSA_WITH_SHA384 => (Some(HashAlgorithm::Sha384), is_ecdsa),
        oids::ECDSA_WITH_SHA512 => (Some(HashAlgorithm::Sha512), is_ecdsa),
        oids::SHA256_WITH_RSA => (Some(HashAlgorithm::Sha256), is_rsa),
        oids::SHA384_WITH_RSA => (Some(HashAlgorithm::Sha384), is_rsa),
        oids::SHA512_WITH_RSA => (Some(HashAlgorithm::Sha512), is_rsa),
        // Pure Ed25519 signs the TBSCertificate itself.
        oids::ED25519 => (None, matches!(key, PublicKey::Ed25519(_))),
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    if !key_fits {
        return Err(format!("issuer key cannot make {oid} signatures"));
    }
    let result = match hash {
        Some(hash) => key.verify_digest(hash, &hash.digest(child.tbs_raw), sig),
        None => key.verify(child.tbs_raw, sig),
    };
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
pub(crate) mod tests;
