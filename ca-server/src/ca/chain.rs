//! The CA's own chain (issuing CA first, root last) and the load-time checks
//! Fulcio makes (`ca.VerifyCertChain`, docs/fulcio-wire.md §5 and §8.6): the first
//! certificate is a CA whose key is the signer's and that has the
//! SubjectKeyIdentifier leaves point at; the CA key is one WebPKI verifiers
//! accept (P-256/384/521, RSA ≥ 2048; never Ed25519); every certificate is
//! valid now and signed by the next, every issuer is a CA, the last is
//! self-signed; an intermediate carries the codeSigning EKU and no certificate
//! has an EKU without it (Go's EKU nesting, which cosign and sigstore-go apply).

use std::time::SystemTime;

use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use shared::keys::PublicKey;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::x509::SignedParts;

/// `anyExtendedKeyUsage` (RFC 5280 §4.2.1.12), which also satisfies Go's nesting.
const ANY_EKU: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// Why a CA chain was refused at startup.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("the CA chain is empty")]
    Empty,
    #[error("certificate {0} of the CA chain does not parse: {1}")]
    Malformed(usize, String),
    #[error("the CA key does not match the first certificate of the chain (the issuing CA's public key differs from the signer's)")]
    KeyMismatch,
    #[error("the issuing CA certificate is not a CA (needs BasicConstraints CA:true)")]
    NotCa,
    #[error("certificate {0} of the CA chain issues certificate {1} but is not a CA (needs BasicConstraints CA:true)")]
    IssuerNotCa(usize, usize),
    #[error("the issuing CA certificate's KeyUsage lacks keyCertSign")]
    NoKeyCertSign,
    #[error(
        "the issuing CA certificate has no SubjectKeyIdentifier (leaves need it as their AKID)"
    )]
    NoSubjectKeyId,
    #[error("the intermediate CA certificate needs the codeSigning EKU (1.3.6.1.5.5.7.3.3)")]
    NoCodeSigningEku,
    #[error("certificate {0} of the CA chain has an ExtendedKeyUsage without codeSigning, so it cannot issue code-signing certificates")]
    EkuWithoutCodeSigning(usize),
    #[error("certificate {0} of the CA chain is not issued by certificate {1}: {2}")]
    NotIssuedByNext(usize, usize, String),
    #[error("certificate {index} of the CA chain ({subject}) is not valid now: valid from {not_before} to {not_after}")]
    NotValidNow {
        index: usize,
        subject: String,
        not_before: String,
        not_after: String,
    },
    #[error("the CA key is not one WebPKI verifiers accept for a CA: {0}")]
    UnacceptableKey(String),
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
        check_ca_key(&signer_spki)?;
        let now = SystemTime::now();
        for (i, cert) in parsed.iter().enumerate() {
            let tbs = &cert.tbs_certificate;
            let validity = &tbs.validity;
            if now < validity.not_before.to_system_time()
                || now > validity.not_after.to_system_time()
            {
                return Err(ChainError::NotValidNow {
                    index: i,
                    subject: tbs.subject.to_string(),
                    not_before: validity.not_before.to_string(),
                    not_after: validity.not_after.to_string(),
                });
            }
            let ext = |e: der::Error| ChainError::Malformed(i, e.to_string());
            if i > 0 {
                match tbs.get::<BasicConstraints>().map_err(ext)? {
                    Some((_, bc)) if bc.ca => {}
                    _ => return Err(ChainError::IssuerNotCa(i, i - 1)),
                }
            }
            if let Some((_, eku)) = tbs.get::<ExtendedKeyUsage>().map_err(ext)? {
                if !eku
                    .0
                    .iter()
                    .any(|oid| *oid == shared::oids::EKU_CODE_SIGNING || *oid == ANY_EKU)
                {
                    return Err(ChainError::EkuWithoutCodeSigning(i));
                }
            }
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

/// Fulcio's goodkey for the CA key, minus Ed25519 (docs/fulcio-wire.md §8.6).
fn check_ca_key(spki: &SubjectPublicKeyInfoOwned) -> Result<(), ChainError> {
    if spki.algorithm.oid == const_oid::db::rfc8410::ID_ED_25519 {
        return Err(ChainError::UnacceptableKey(
            "Ed25519 (use P-256, P-384 or RSA)".into(),
        ));
    }
    let der = spki
        .to_der()
        .map_err(|e| ChainError::UnacceptableKey(e.to_string()))?;
    // The shared parser enforces the curves and RSA ≥ 2048 with e = 65537.
    PublicKey::from_spki_der(&der).map_err(|e| ChainError::UnacceptableKey(e.to_string()))?;
    Ok(())
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

#[cfg(test)]
mod tests;
