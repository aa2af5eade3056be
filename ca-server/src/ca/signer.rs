//! The CA key seam (Fulcio `pkg/ca/baseca`'s crypto.Signer, docs/fulcio-wire.md §5):
//! what every CA key backend (file, PKCS#11, ephemeral) provides, and the
//! X.509 signature algorithm each key type implies (docs/clients.md §6: a P-256 CA
//! signs with ecdsa-with-SHA256, a P-384 CA with ecdsa-with-SHA384).
//!
//! # Contract
//! - **Ownership.** The backend owns the private key (in memory, or as a handle
//!   into an HSM session) for the signer's whole life; nothing else can read it.
//!   The key is chosen once at start-up and never changes: the precert flow
//!   signs the precertificate and the final certificate with the same key and
//!   the same `signature_algorithm`, and verifiers rebuild one from the other.
//! - **Failure.** `public_spki_der` and `signature_algorithm` are fixed at load
//!   and cannot fail. `sign` may fail (an HSM that went away, a session that
//!   closed); the error becomes an HTTP 500 and must not contain secrets.
//! - **Threads.** Signers are `Send + Sync` and `sign` takes `&self`: handlers
//!   call it concurrently. A backend that needs exclusive access (a PKCS#11
//!   session) serialises internally. `sign` is synchronous and may block for
//!   the duration of one signature (an HSM round trip).

use const_oid::db::rfc5912;
use shared::keys::{EcdsaP256Signer, PublicKey};
use spki::AlgorithmIdentifierOwned;

use crate::x509::SignedParts;

/// Why a CA key could not sign.
#[derive(Debug, thiserror::Error)]
#[error("CA key could not sign: {0}")]
pub struct SignerError(pub String);

/// A CA private key. `sign` receives the DER TBSCertificate and returns the
/// signature value in the form `signature_algorithm` names (DER ECDSA-Sig-Value
/// for ECDSA, the raw PKCS#1 v1.5 block for RSA).
pub trait CaSigner: std::fmt::Debug + Send + Sync + 'static {
    /// DER SubjectPublicKeyInfo of the key (must equal the issuing CA certificate's).
    fn public_spki_der(&self) -> Vec<u8>;
    /// The AlgorithmIdentifier placed in the TBS and the certificate.
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned;
    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, SignerError>;
}

impl CaSigner for EcdsaP256Signer {
    fn public_spki_der(&self) -> Vec<u8> {
        Self::public_spki_der(self)
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        crate::x509::ecdsa_with_sha256()
    }

    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(Self::sign(self, tbs_der))
    }
}

/// The CA key types WebPKI verifiers accept for a CA (docs/fulcio-wire.md §8.6),
/// each with the one signature algorithm Sigil issues with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaKeyKind {
    /// NIST P-256, ecdsa-with-SHA256.
    P256,
    /// NIST P-384, ecdsa-with-SHA384.
    P384,
    /// RSA ≥ 2048 bits, sha256WithRSAEncryption (PKCS#1 v1.5).
    Rsa,
}

impl CaKeyKind {
    /// The signature AlgorithmIdentifier for certificates this key signs.
    /// ECDSA parameters are absent (RFC 5758 §3.2); RSA's are NULL (RFC 4055 §5).
    pub fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        match self {
            Self::P256 => AlgorithmIdentifierOwned {
                oid: rfc5912::ECDSA_WITH_SHA_256,
                parameters: None,
            },
            Self::P384 => AlgorithmIdentifierOwned {
                oid: rfc5912::ECDSA_WITH_SHA_384,
                parameters: None,
            },
            Self::Rsa => AlgorithmIdentifierOwned {
                oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(der::Any::null()),
            },
        }
    }
}

/// Signs a fixed probe with `signer` and verifies it with the signer's own
/// public key: catches, at start-up, an HSM label that names a private key
/// from one pair and a public key from another, or a key that cannot sign.
pub fn self_test(signer: &dyn CaSigner) -> Result<(), SignerError> {
    const PROBE: &[u8] = b"sigil CA key self-test";
    let key = PublicKey::from_spki_der(&signer.public_spki_der())
        .map_err(|e| SignerError(format!("the CA public key does not parse: {e}")))?;
    let signature = der::asn1::BitString::from_bytes(&signer.sign(PROBE)?)
        .map_err(|e| SignerError(format!("encoding the self-test signature: {e}")))?;
    // The certificate verifier checks algorithm, key and hash together.
    let parts = SignedParts {
        to_be_signed: PROBE,
        algorithm: signer.signature_algorithm(),
        signature,
    };
    parts.verify(&key, true).map_err(|e| {
        SignerError(format!(
            "a signature by the CA key does not verify with its public key: {e}"
        ))
    })
}
