//! The CA key seam (Fulcio `pkg/ca/baseca`'s crypto.Signer): what every CA
//! key backend provides. Issue 2 has the in-memory ECDSA P-256 key; file,
//! encrypted-file and PKCS#11 backends implement the same trait later.

use shared::keys::EcdsaP256Signer;
use spki::AlgorithmIdentifierOwned;

/// Why a CA key could not sign.
#[derive(Debug, thiserror::Error)]
#[error("CA key could not sign: {0}")]
pub struct SignerError(pub String);

/// A CA private key. `sign` receives the DER TBSCertificate and returns the
/// signature value in the form `signature_algorithm` names.
pub trait CaSigner: Send + Sync + 'static {
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
