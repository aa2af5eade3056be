//! Proof of possession (Fulcio `pkg/challenges`, docs/fulcio-wire.md §2): either a
//! public key plus a signature over the principal's name, or a PKCS#10 CSR
//! (RFC 2986) whose self-signature is the proof. Only the key algorithms of
//! Fulcio's default allowlist pass ("goodkey").

use der::Decode;
use rsa::traits::PublicKeyParts;
use shared::keys::{KeyError, PublicKey};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::CertReq;

use crate::identity::Principal;
use crate::x509::{SignedParts, X509Error};

/// Why the client's key or proof was refused (HTTP 400).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    #[error("no public key: send publicKeyRequest or certificateSigningRequest")]
    MissingKey,
    #[error("no proof of possession: publicKeyRequest.proofOfPossession is empty")]
    MissingProof,
    #[error("invalid public key: {0}")]
    BadKey(KeyError),
    #[error("public key not allowed: {0}")]
    KeyNotAllowed(String),
    #[error("proof of possession does not verify: it must be a signature over {0:?}")]
    BadProof(String),
    #[error("invalid certificate signing request: {0}")]
    BadCsr(String),
    #[error("certificate signing request signature does not verify: {0}")]
    BadCsrSignature(X509Error),
}

/// What the client sent to prove it holds a key.
#[derive(Clone, Debug)]
pub enum KeyProof {
    /// `publicKeyRequest`: the key as PEM or DER and a signature over the principal's name.
    PublicKey {
        content: Vec<u8>,
        signature: Vec<u8>,
    },
    /// `certificateSigningRequest`: the PEM CSR bytes.
    Csr(Vec<u8>),
}

/// A client key whose possession was proven.
#[derive(Clone, Debug)]
pub struct ProvenKey {
    pub spki: SubjectPublicKeyInfoOwned,
}

impl KeyProof {
    /// Checks the proof for `principal` and returns the key to certify.
    pub fn verify(&self, principal: &Principal) -> Result<ProvenKey, ChallengeError> {
        let key = match self {
            Self::PublicKey { content, signature } => {
                let key = PublicKey::from_pem_or_der(content).map_err(ChallengeError::BadKey)?;
                check_allowed(&key)?;
                if signature.is_empty() {
                    return Err(ChallengeError::MissingProof);
                }
                key.verify(principal.name().as_bytes(), signature)
                    .map_err(|_| ChallengeError::BadProof(principal.name().to_owned()))?;
                key
            }
            Self::Csr(pem) => verify_csr(pem)?,
        };
        let spki = SubjectPublicKeyInfoOwned::from_der(&key.to_spki_der())
            .map_err(|e| ChallengeError::BadKey(KeyError::MalformedKey(e.to_string())))?;
        Ok(ProvenKey { spki })
    }
}

/// Fulcio's default `--client-signing-algorithms`: ECDSA P-256/384/521, RSA
/// 2048/3072/4096 with e = 65537, Ed25519.
fn check_allowed(key: &PublicKey) -> Result<(), ChallengeError> {
    match key {
        PublicKey::EcdsaP256(_)
        | PublicKey::EcdsaP384(_)
        | PublicKey::EcdsaP521(_)
        | PublicKey::Ed25519(_) => Ok(()),
        PublicKey::Rsa(rsa) => {
            let bits = rsa.size() * 8;
            if ![2048, 3072, 4096].contains(&bits) {
                return Err(ChallengeError::KeyNotAllowed(format!(
                    "RSA key of {bits} bits (allowed: 2048, 3072, 4096)"
                )));
            }
            if *rsa.e() != rsa::BigUint::from(65537u32) {
                return Err(ChallengeError::KeyNotAllowed(
                    "RSA public exponent must be 65537".into(),
                ));
            }
            Ok(())
        }
        _ => Err(ChallengeError::KeyNotAllowed("unsupported key type".into())),
    }
}

/// Parses a PEM CSR and checks its self-signature (with the key's natural
/// hash); subject and requested extensions are ignored, as in Fulcio.
fn verify_csr(pem: &[u8]) -> Result<PublicKey, ChallengeError> {
    let blocks =
        shared::keys::pem_blocks(pem).map_err(|e| ChallengeError::BadCsr(e.to_string()))?;
    let der = blocks
        .into_iter()
        .find(|(label, _)| label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST")
        .map(|(_, der)| der)
        .ok_or_else(|| ChallengeError::BadCsr("no CERTIFICATE REQUEST PEM block".into()))?;
    let csr = CertReq::from_der(&der).map_err(|e| ChallengeError::BadCsr(e.to_string()))?;
    let spki_der = der::Encode::to_der(&csr.info.public_key)
        .map_err(|e| ChallengeError::BadCsr(e.to_string()))?;
    let key = PublicKey::from_spki_der(&spki_der).map_err(ChallengeError::BadKey)?;
    check_allowed(&key)?;
    let parts = SignedParts::split(&der).map_err(|e| ChallengeError::BadCsr(e.to_string()))?;
    parts
        .verify(&key, true)
        .map_err(ChallengeError::BadCsrSignature)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{IssuerType, OidcIssuerConfig};
    use crate::oidc::VerifiedToken;
    use base64::Engine;
    use der::Encode;
    use std::sync::Arc;

    fn alice() -> Principal {
        let token = VerifiedToken {
            issuer: Arc::new(OidcIssuerConfig::new("https://i", IssuerType::Email)),
            claims: serde_json::from_value(serde_json::json!({
                "iss":"https://i","email":"alice@example.com","email_verified":true}))
            .unwrap(),
        };
        Principal::from_token(&token).unwrap()
    }

    #[test]
    fn pop_with_each_allowed_key_type() {
        use signature::Signer;
        let msg = b"alice@example.com";
        let p384 = p384::ecdsa::SigningKey::from_slice(&[3u8; 48]).unwrap();
        let p384_sig: p384::ecdsa::Signature = p384.sign(msg);
        let p384_spki = spki::EncodePublicKey::to_public_key_der(p384.verifying_key()).unwrap();
        let ed = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
        let ed_spki = spki::EncodePublicKey::to_public_key_der(&ed.verifying_key()).unwrap();
        let rsa = test_support::keys::rsa2048();
        let rsa_sig: rsa::pkcs1v15::Signature =
            rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa.clone()).sign(msg);
        let rsa_spki = spki::EncodePublicKey::to_public_key_der(&rsa.to_public_key()).unwrap();
        for (spki, sig) in [
            (
                p384_spki.as_bytes().to_vec(),
                p384_sig.to_der().as_bytes().to_vec(),
            ),
            (
                ed_spki.as_bytes().to_vec(),
                ed.sign(msg).to_bytes().to_vec(),
            ),
            (
                rsa_spki.as_bytes().to_vec(),
                Box::<[u8]>::from(rsa_sig).to_vec(),
            ),
        ] {
            let proof = KeyProof::PublicKey {
                content: spki.clone(),
                signature: sig.clone(),
            };
            let proven = proof.verify(&alice()).unwrap();
            assert_eq!(proven.spki.to_der().unwrap(), spki);
            let mut bad = sig;
            let last = bad.len() - 1;
            bad[last] ^= 1;
            let proof = KeyProof::PublicKey {
                content: spki,
                signature: bad,
            };
            assert!(matches!(
                proof.verify(&alice()),
                Err(ChallengeError::BadProof(_))
            ));
        }
    }

    #[test]
    fn goodkey_refuses_weak_rsa() {
        let n = rsa::BigUint::from_bytes_be(&[0xab; 128]); // 1024 bits
        let weak = rsa::RsaPublicKey::new(n, 65537u32.into()).unwrap();
        assert!(matches!(
            check_allowed(&PublicKey::Rsa(weak)),
            Err(ChallengeError::KeyNotAllowed(_))
        ));
        let n = test_support::keys::rsa2048().n().clone();
        let e3 = rsa::RsaPublicKey::new(n, 3u32.into()).unwrap();
        assert!(
            matches!(check_allowed(&PublicKey::Rsa(e3)), Err(ChallengeError::KeyNotAllowed(m)) if m.contains("65537"))
        );
    }

    #[test]
    fn empty_proof_and_non_csr_pem() {
        let key = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let spki = spki::EncodePublicKey::to_public_key_der(key.verifying_key()).unwrap();
        let proof = KeyProof::PublicKey {
            content: spki.as_bytes().to_vec(),
            signature: vec![],
        };
        assert!(matches!(
            proof.verify(&alice()),
            Err(ChallengeError::MissingProof)
        ));
        let pem = shared::keys::pem_encode("PUBLIC KEY", spki.as_bytes());
        let proof = KeyProof::Csr(pem.into_bytes());
        assert!(
            matches!(proof.verify(&alice()), Err(ChallengeError::BadCsr(m)) if m.contains("CERTIFICATE REQUEST"))
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"junk");
        assert!(KeyProof::Csr(b64.into_bytes()).verify(&alice()).is_err());
    }
}
