//! The CA's own chain (issuing CA first, root last) and the load-time checks
//! Fulcio's file CA makes (fulcio-wire.md §5): the first certificate is a CA
//! matching the key, has the SubjectKeyIdentifier leaves point at, each
//! certificate is signed by the next, the last is self-signed, and an
//! intermediate carries the codeSigning EKU (Go verifiers need it).

use std::time::SystemTime;

use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use shared::keys::PublicKey;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::x509::SignedParts;

/// Why a CA chain was refused at startup.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("the CA chain is empty")]
    Empty,
    #[error("certificate {0} of the CA chain does not parse: {1}")]
    Malformed(usize, String),
    #[error("the CA key does not match the first certificate of the chain")]
    KeyMismatch,
    #[error("the issuing CA certificate is not a CA (needs BasicConstraints CA:true)")]
    NotCa,
    #[error("the issuing CA certificate's KeyUsage lacks keyCertSign")]
    NoKeyCertSign,
    #[error(
        "the issuing CA certificate has no SubjectKeyIdentifier (leaves need it as their AKID)"
    )]
    NoSubjectKeyId,
    #[error("the intermediate CA certificate needs the codeSigning EKU")]
    NoCodeSigningEku,
    #[error("certificate {0} of the CA chain is not issued by certificate {1}: {2}")]
    NotIssuedByNext(usize, usize, String),
    #[error("the issuing CA certificate is not valid now")]
    Expired,
}

/// A checked CA chain and what leaf issuance needs from it.
#[derive(Clone, Debug)]
pub struct CaChain {
    /// DER, issuing CA first, root last.
    pub certificates: Vec<Vec<u8>>,
    /// The issuing CA's subject (the leaves' issuer).
    pub subject: Name,
    /// The issuing CA's SubjectKeyIdentifier (the leaves' AKID).
    pub key_id: Vec<u8>,
    /// SHA-256 of the issuing CA's DER SPKI (RFC 6962 `issuer_key_hash`).
    pub issuer_key_hash: [u8; 32],
}

impl CaChain {
    pub fn new(chain_der: &[Vec<u8>], signer_spki_der: &[u8]) -> Result<Self, ChainError> {
        let parsed = chain_der
            .iter()
            .enumerate()
            .map(|(i, der)| {
                Certificate::from_der(der).map_err(|e| ChainError::Malformed(i, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let issuing = parsed.first().ok_or(ChainError::Empty)?;
        let tbs = &issuing.tbs_certificate;

        let signer_spki = SubjectPublicKeyInfoOwned::from_der(signer_spki_der)
            .map_err(|_| ChainError::KeyMismatch)?;
        if tbs.subject_public_key_info != signer_spki {
            return Err(ChainError::KeyMismatch);
        }
        let ext = |e: der::Error| ChainError::Malformed(0, e.to_string());
        match tbs.get::<BasicConstraints>().map_err(ext)? {
            Some((_, bc)) if bc.ca => {}
            _ => return Err(ChainError::NotCa),
        }
        if let Some((_, ku)) = tbs.get::<KeyUsage>().map_err(ext)? {
            if !ku.key_cert_sign() {
                return Err(ChainError::NoKeyCertSign);
            }
        }
        let key_id = match tbs.get::<SubjectKeyIdentifier>().map_err(ext)? {
            Some((_, skid)) => skid.0.as_bytes().to_vec(),
            None => return Err(ChainError::NoSubjectKeyId),
        };
        if parsed.len() > 1 {
            let has_code_signing = tbs
                .get::<ExtendedKeyUsage>()
                .map_err(ext)?
                .is_some_and(|(_, eku)| eku.0.contains(&shared::oids::EKU_CODE_SIGNING));
            if !has_code_signing {
                return Err(ChainError::NoCodeSigningEku);
            }
        }
        let now = SystemTime::now();
        let validity = &tbs.validity;
        if now < validity.not_before.to_system_time() || now > validity.not_after.to_system_time() {
            return Err(ChainError::Expired);
        }
        for i in 0..parsed.len() {
            // The last certificate is the root: it must sign itself.
            let parent = (i + 1).min(parsed.len() - 1);
            check_issued_by(&chain_der[i], &parsed[i], &parsed[parent])
                .map_err(|why| ChainError::NotIssuedByNext(i, parent, why))?;
        }
        Ok(Self {
            certificates: chain_der.to_vec(),
            subject: tbs.subject.clone(),
            key_id,
            issuer_key_hash: Sha256::digest(signer_spki_der).into(),
        })
    }
}

fn check_issued_by(der: &[u8], cert: &Certificate, parent: &Certificate) -> Result<(), String> {
    if cert.tbs_certificate.issuer != parent.tbs_certificate.subject {
        return Err("issuer name differs from the next certificate's subject".into());
    }
    let spki = parent
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let key = PublicKey::from_spki_der(&spki).map_err(|e| e.to_string())?;
    SignedParts::split(der)
        .and_then(|parts| parts.verify(&key, false))
        .map_err(|e| e.to_string())
}
