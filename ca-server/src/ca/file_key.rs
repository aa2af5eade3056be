//! The file CA backend (Fulcio `fileca`, docs/fulcio-wire.md §5): a CA private key
//! read from PEM — PKCS#8 `PRIVATE KEY` (RFC 5958), PKCS#8 `ENCRYPTED PRIVATE
//! KEY` (RFC 5958 §3, PBES2 of RFC 8018 with scrypt or PBKDF2 and AES-CBC),
//! SEC1 `EC PRIVATE KEY` (RFC 5915) or PKCS#1 `RSA PRIVATE KEY` (RFC 8017) —
//! held in memory. P-256, P-384 and RSA ≥ 2048 bits; Ed25519 is refused
//! because WebPKI verifiers reject an Ed25519 CA (docs/fulcio-wire.md §8.6).

use const_oid::db::{rfc5912, rfc8410};
use der::Decode;
use pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use shared::keys::pem_blocks;
use signature::Signer;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::secret::Secret;
use super::signer::{CaKeyKind, CaSigner, SignerError};

/// The smallest RSA CA key accepted (Fulcio's goodkey).
const RSA_MIN_BITS: usize = 2048;

/// Why a CA key file was refused. Messages never contain key material or the password.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("the CA key file is not PEM: {0}")]
    Pem(String),
    #[error("the CA key file has no PRIVATE KEY, ENCRYPTED PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block")]
    NoKey,
    #[error("the CA key is encrypted (ENCRYPTED PRIVATE KEY) but no password was given: set SIGIL_CA_KEY_PASSWORD or --ca-key-password-file")]
    PasswordRequired,
    #[error("cannot decrypt the CA key: wrong password, or the file is corrupt")]
    WrongPassword,
    #[error("the CA key is encrypted with a scheme other than PBES2 (scrypt or PBKDF2 with AES-CBC): {0}")]
    UnsupportedEncryption(String),
    #[error("the CA key uses legacy OpenSSL PEM encryption (Proc-Type: 4,ENCRYPTED); convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`")]
    LegacyEncryption,
    #[error("Ed25519 CA keys are refused: WebPKI verifiers (sigstore-python, browsers) reject an Ed25519 CA; use P-256, P-384 or RSA")]
    Ed25519,
    #[error("unsupported CA key: {0}")]
    Unsupported(String),
    #[error("the CA key does not parse: {0}")]
    Malformed(String),
    #[error("the RSA CA key has {0} bits; at least 2048 are required")]
    RsaTooSmall(usize),
}

/// An in-memory CA key: the file backend's signer (the ephemeral backend uses
/// the P-256 form too).
pub struct SoftwareKey {
    key: SoftwareKeyInner,
    spki_der: Vec<u8>,
}

enum SoftwareKeyInner {
    /// Signs through `ring` (see [`EcdsaP256Signer`]): the hot path of every certificate.
    P256(shared::keys::EcdsaP256Signer),
    P384(p384::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
}

impl SoftwareKey {
    /// Parses the first private-key block of `pem`, decrypting it with
    /// `password` when it is an `ENCRYPTED PRIVATE KEY`.
    pub fn from_pem(pem: &[u8], password: Option<&Secret>) -> Result<Self, KeyFileError> {
        if std::str::from_utf8(pem).is_ok_and(|text| text.contains("Proc-Type: 4,ENCRYPTED")) {
            return Err(KeyFileError::LegacyEncryption);
        }
        let blocks = pem_blocks(pem).map_err(|e| KeyFileError::Pem(e.to_string()))?;
        let (label, der) = blocks
            .into_iter()
            .find(|(label, _)| {
                matches!(
                    label.as_str(),
                    "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY"
                )
            })
            .ok_or(KeyFileError::NoKey)?;
        let der = Zeroizing::new(der);
        match label.as_str() {
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or(KeyFileError::PasswordRequired)?;
                Self::from_encrypted_pkcs8_der(&der, password)
            }
            "EC PRIVATE KEY" => Self::from_sec1_der(&der),
            "RSA PRIVATE KEY" => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                let key = rsa::RsaPrivateKey::from_pkcs1_der(&der)
                    .map_err(|e| KeyFileError::Malformed(format!("PKCS#1 RSA key: {e}")))?;
                Self::from_rsa(key)
            }
            _ => Self::from_pkcs8_der(&der),
        }
    }

    /// Decrypts an `EncryptedPrivateKeyInfo` (RFC 5958 §3) and parses the result.
    pub fn from_encrypted_pkcs8_der(der: &[u8], password: &Secret) -> Result<Self, KeyFileError> {
        let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der)
            .map_err(|e| KeyFileError::Malformed(format!("ENCRYPTED PRIVATE KEY: {e}")))?;
        if !matches!(info.encryption_algorithm, pkcs5::EncryptionScheme::Pbes2(_)) {
            return Err(KeyFileError::UnsupportedEncryption(
                info.encryption_algorithm.oid().to_string(),
            ));
        }
        let document = info
            .decrypt(password.expose().as_bytes())
            .map_err(|e| match e {
                pkcs8::Error::EncryptedPrivateKey(
                    unsupported @ (pkcs5::Error::UnsupportedAlgorithm { .. }
                    | pkcs5::Error::AlgorithmParametersInvalid { .. }
                    | pkcs5::Error::NoPbes1CryptSupport),
                ) => KeyFileError::UnsupportedEncryption(unsupported.to_string()),
                // A bad CBC padding (pkcs5 reports it as a failed
                // "encryption"): almost always a wrong password.
                _ => KeyFileError::WrongPassword,
            })?;
        // AES-CBC padding passes by chance for about 1 in 256 wrong passwords;
        // the PKCS#8 parse below then fails, which is the same mistake.
        match Self::from_pkcs8_der(document.as_bytes()) {
            Err(KeyFileError::Malformed(_)) => Err(KeyFileError::WrongPassword),
            other => other,
        }
    }

    /// Parses a `PrivateKeyInfo` (RFC 5958 §2), dispatching on its algorithm.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyFileError> {
        let info = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|e| KeyFileError::Malformed(format!("PKCS#8: {e}")))?;
        let algorithm = info.algorithm.oid;
        if algorithm == rfc8410::ID_ED_25519 {
            return Err(KeyFileError::Ed25519);
        }
        if algorithm == rfc5912::RSA_ENCRYPTION {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|e| KeyFileError::Malformed(format!("PKCS#8 RSA key: {e}")))?;
            return Self::from_rsa(key);
        }
        if algorithm != rfc5912::ID_EC_PUBLIC_KEY {
            return Err(KeyFileError::Unsupported(format!(
                "key algorithm {algorithm}"
            )));
        }
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|e| KeyFileError::Malformed(format!("EC key without a named curve: {e}")))?;
        match curve {
            rfc5912::SECP_256_R_1 => p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map_err(|e| KeyFileError::Malformed(format!("PKCS#8 P-256 key: {e}")))
                .and_then(|k| Self::new(SoftwareKeyInner::P256(k.into()))),
            rfc5912::SECP_384_R_1 => p384::ecdsa::SigningKey::from_pkcs8_der(der)
                .map_err(|e| KeyFileError::Malformed(format!("PKCS#8 P-384 key: {e}")))
                .and_then(|k| Self::new(SoftwareKeyInner::P384(k))),
            other => Err(KeyFileError::Unsupported(format!(
                "EC curve {other} (use P-256 or P-384)"
            ))),
        }
    }

    /// SEC1 `ECPrivateKey` (RFC 5915); the embedded curve OID picks P-256 or P-384.
    fn from_sec1_der(der: &[u8]) -> Result<Self, KeyFileError> {
        if let Ok(key) = p256::SecretKey::from_sec1_der(der) {
            return Self::new(SoftwareKeyInner::P256(
                p256::ecdsa::SigningKey::from(key).into(),
            ));
        }
        if let Ok(key) = p384::SecretKey::from_sec1_der(der) {
            return Self::new(SoftwareKeyInner::P384(key.into()));
        }
        Err(KeyFileError::Unsupported(
            "EC PRIVATE KEY is neither a P-256 nor a P-384 key".into(),
        ))
    }

    fn from_rsa(key: rsa::RsaPrivateKey) -> Result<Self, KeyFileError> {
        let bits = key.size() * 8;
        if bits < RSA_MIN_BITS {
            return Err(KeyFileError::RsaTooSmall(bits));
        }
        Self::new(SoftwareKeyInner::Rsa(Box::new(
            rsa::pkcs1v15::SigningKey::new(key),
        )))
    }

    /// A fresh random P-256 key (the ephemeral backend).
    pub fn generate_p256() -> Result<Self, KeyFileError> {
        Self::new(SoftwareKeyInner::P256(
            shared::keys::EcdsaP256Signer::generate(),
        ))
    }

    fn new(key: SoftwareKeyInner) -> Result<Self, KeyFileError> {
        let spki = match &key {
            SoftwareKeyInner::P256(k) => {
                return Ok(Self {
                    spki_der: k.public_spki_der(),
                    key,
                })
            }
            SoftwareKeyInner::P384(k) => k.verifying_key().to_public_key_der(),
            SoftwareKeyInner::Rsa(k) => k.as_ref().as_ref().to_public_key().to_public_key_der(),
        }
        .map_err(|e| KeyFileError::Malformed(format!("encoding the public key: {e}")))?;
        Ok(Self {
            key,
            spki_der: spki.into_vec(),
        })
    }

    pub fn kind(&self) -> CaKeyKind {
        match self.key {
            SoftwareKeyInner::P256(_) => CaKeyKind::P256,
            SoftwareKeyInner::P384(_) => CaKeyKind::P384,
            SoftwareKeyInner::Rsa(_) => CaKeyKind::Rsa,
        }
    }
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key: the public key's hash identifies it.
        let id = shared::keys::LogId::from_spki_der(&self.spki_der);
        write!(f, "SoftwareKey({:?}, {})", self.kind(), id.to_hex())
    }
}

impl CaSigner for SoftwareKey {
    fn public_spki_der(&self) -> Vec<u8> {
        self.spki_der.clone()
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.kind().signature_algorithm()
    }

    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, SignerError> {
        let failed = |e: signature::Error| SignerError(e.to_string());
        Ok(match &self.key {
            SoftwareKeyInner::P256(k) => k.sign(tbs_der),
            SoftwareKeyInner::P384(k) => {
                let sig: p384::ecdsa::DerSignature = k.try_sign(tbs_der).map_err(failed)?;
                sig.as_bytes().to_vec()
            }
            SoftwareKeyInner::Rsa(k) => {
                let sig: rsa::pkcs1v15::Signature = k.try_sign(tbs_der).map_err(failed)?;
                Box::<[u8]>::from(sig).to_vec()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pkcs8::EncodePrivateKey;
    use shared::keys::PublicKey;

    fn verify(key: &SoftwareKey, msg: &[u8]) {
        let sig = key.sign(msg).unwrap();
        let public = PublicKey::from_spki_der(&key.public_spki_der()).unwrap();
        public.verify(msg, &sig).unwrap();
    }

    fn p384_pem() -> (p384::ecdsa::SigningKey, String) {
        let key = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let pem = key.to_pkcs8_pem(Default::default()).unwrap();
        (key, pem.to_string())
    }

    #[test]
    fn plain_pkcs8_p256_and_p384() {
        let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let pem = p256.to_pkcs8_pem(Default::default()).unwrap();
        let key = SoftwareKey::from_pem(pem.as_bytes(), None).unwrap();
        assert_eq!(key.kind(), CaKeyKind::P256);
        assert_eq!(key.signature_algorithm().oid, rfc5912::ECDSA_WITH_SHA_256);
        verify(&key, b"tbs");

        let (p384, pem) = p384_pem();
        let key = SoftwareKey::from_pem(pem.as_bytes(), None).unwrap();
        assert_eq!(key.kind(), CaKeyKind::P384);
        assert_eq!(key.signature_algorithm().oid, rfc5912::ECDSA_WITH_SHA_384);
        assert_eq!(
            key.public_spki_der(),
            p384.verifying_key().to_public_key_der().unwrap().as_bytes()
        );
        verify(&key, b"tbs");
    }

    #[test]
    fn sec1_p384() {
        let secret = p384::SecretKey::random(&mut rand_core::OsRng);
        let pem = secret.to_sec1_pem(Default::default()).unwrap();
        let key = SoftwareKey::from_pem(pem.as_bytes(), None).unwrap();
        assert_eq!(key.kind(), CaKeyKind::P384);
        verify(&key, b"x");
    }

    #[test]
    fn encrypted_scrypt_right_and_wrong_password() {
        let (_, pem) = p384_pem();
        let doc = pkcs8::SecretDocument::from_pkcs8_pem(&pem).unwrap();
        let info = pkcs8::PrivateKeyInfo::from_der(doc.as_bytes()).unwrap();
        // `encrypt` uses PBES2 with scrypt and AES-256-CBC.
        let encrypted = info
            .encrypt(rand_core::OsRng, b"correct horse")
            .unwrap()
            .to_pem("ENCRYPTED PRIVATE KEY", Default::default())
            .unwrap();
        let right = Secret::new("correct horse".into());
        let key = SoftwareKey::from_pem(encrypted.as_bytes(), Some(&right)).unwrap();
        assert_eq!(key.kind(), CaKeyKind::P384);
        verify(&key, b"m");

        let wrong = Secret::new("battery staple".into());
        let err = SoftwareKey::from_pem(encrypted.as_bytes(), Some(&wrong)).unwrap_err();
        assert!(matches!(err, KeyFileError::WrongPassword), "{err}");
        assert!(!err.to_string().contains("battery"));
        let err = SoftwareKey::from_pem(encrypted.as_bytes(), None).unwrap_err();
        assert!(matches!(err, KeyFileError::PasswordRequired), "{err}");
    }

    #[test]
    fn encrypted_pbkdf2_aes() {
        let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let doc = p256.to_pkcs8_der().unwrap();
        let info = pkcs8::PrivateKeyInfo::from_der(doc.as_bytes()).unwrap();
        let params = pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(
            2048,
            b"saltsaltsaltsalt",
            b"0123456789abcdef",
        )
        .unwrap();
        let encrypted = info
            .encrypt_with_params(params, b"pw")
            .unwrap()
            .to_pem("ENCRYPTED PRIVATE KEY", Default::default())
            .unwrap();
        let key =
            SoftwareKey::from_pem(encrypted.as_bytes(), Some(&Secret::new("pw".into()))).unwrap();
        assert_eq!(
            key.public_spki_der(),
            p256.verifying_key().to_public_key_der().unwrap().as_bytes()
        );
        assert!(matches!(
            SoftwareKey::from_pem(encrypted.as_bytes(), Some(&Secret::new("PW".into()))),
            Err(KeyFileError::WrongPassword)
        ));
    }

    /// Keys encrypted by OpenSSL 3 (`genpkey -aes-256-cbc`: PBKDF2-SHA256;
    /// `pkcs8 -topk8 -scrypt`; `-v2prf hmacWithSHA1` as older OpenSSL wrote).
    #[test]
    fn openssl_encrypted_keys() {
        let password = Secret::new("sigil-test".into());
        for (pem, kind) in [
            (
                include_str!("../../tests/fixtures/ca-p384-openssl.pem"),
                CaKeyKind::P384,
            ),
            (
                include_str!("../../tests/fixtures/ca-p256-scrypt-openssl.pem"),
                CaKeyKind::P256,
            ),
            (
                include_str!("../../tests/fixtures/ca-p256-pbkdf2-sha1.pem"),
                CaKeyKind::P256,
            ),
        ] {
            let key = SoftwareKey::from_pem(pem.as_bytes(), Some(&password)).unwrap();
            assert_eq!(key.kind(), kind);
            verify(&key, b"openssl");
            assert!(matches!(
                SoftwareKey::from_pem(pem.as_bytes(), Some(&Secret::new("nope".into()))),
                Err(KeyFileError::WrongPassword)
            ));
        }
    }

    #[test]
    fn rsa_pkcs8() {
        let pem = test_support::keys::RSA2048_PEM;
        let key = SoftwareKey::from_pem(pem.as_bytes(), None).unwrap();
        assert_eq!(key.kind(), CaKeyKind::Rsa);
        assert_eq!(
            key.signature_algorithm().oid,
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION
        );
        verify(&key, b"rsa");
    }

    #[test]
    fn refusals_are_clear() {
        let ed = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let pem = ed.to_pkcs8_pem(Default::default()).unwrap();
        assert!(matches!(
            SoftwareKey::from_pem(pem.as_bytes(), None),
            Err(KeyFileError::Ed25519)
        ));
        assert!(matches!(
            SoftwareKey::from_pem(
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                None
            ),
            Err(KeyFileError::NoKey)
        ));
        assert!(matches!(
            SoftwareKey::from_pem(b"not pem", None),
            Err(KeyFileError::Pem(_))
        ));
        let legacy = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert!(matches!(
            SoftwareKey::from_pem(legacy.as_bytes(), None),
            Err(KeyFileError::LegacyEncryption)
        ));
        let p521 = p521_pkcs8();
        assert!(matches!(
            SoftwareKey::from_pkcs8_der(&p521),
            Err(KeyFileError::Unsupported(m)) if m.contains("curve")
        ));
    }

    /// A syntactically valid PKCS#8 header naming secp521r1 (the key bytes are not read).
    fn p521_pkcs8() -> Vec<u8> {
        use der::Encode;
        let algorithm = pkcs8::AlgorithmIdentifierRef {
            oid: rfc5912::ID_EC_PUBLIC_KEY,
            parameters: Some(der::asn1::AnyRef::from(&rfc5912::SECP_521_R_1)),
        };
        pkcs8::PrivateKeyInfo::new(algorithm, &[0x30, 0x00])
            .to_der()
            .unwrap()
    }
}
