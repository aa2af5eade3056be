//! Keys: the ECDSA P-256 keys Sigil signs with (RFC 5480 SPKI, RFC 5208/5958
//! PKCS#8, SEC1 DER signatures), the public keys clients bring (ECDSA
//! P-256/384/521, RSA PKCS#1 v1.5 per RFC 8017, Ed25519/Ed25519ph per RFC
//! 8032), RFC 7468 PEM, and RFC 6962 §3.2 / Rekor log IDs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::{Decode as _, Encode as _};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier as _;
use signature::{Signer as _, Verifier as _};
use spki::EncodePublicKey as _;

/// Key errors. Messages are shown to clients, so they say what is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    #[error("malformed PEM: {0}")]
    MalformedPem(String),
    #[error("malformed key: {0}")]
    MalformedKey(String),
    #[error("unsupported key type: {0}")]
    UnsupportedKey(String),
    #[error("malformed certificate: {0}")]
    MalformedCertificate(String),
    #[error("signature verification failed")]
    BadSignature,
    #[error("digest algorithm {0} not allowed for this key")]
    DigestNotAllowed(String),
    #[error("malformed digest: {0}")]
    MalformedDigest(String),
}

/// SHA-256 of a DER SubjectPublicKeyInfo: the RFC 6962 log ID, Rekor `logID`,
/// and (its first 4 bytes) the v1 checkpoint key hint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LogId(pub [u8; 32]);

impl LogId {
    pub fn from_spki_der(spki_der: &[u8]) -> Self {
        Self(Sha256::digest(spki_der).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The 4-byte key hint of a Rekor v1 checkpoint signature line.
    pub fn key_hint(&self) -> [u8; 4] {
        [self.0[0], self.0[1], self.0[2], self.0[3]]
    }
}

/// An ECDSA P-256 private key that Sigil signs with (log keys, CA key in dev).
/// Signatures are ASN.1 DER over SHA-256(message).
///
/// The key is held twice: as a RustCrypto key for encodings (PKCS#8, SPKI,
/// JWK) and as `ring` key pairs for signing, which is on every hot path (SETs,
/// checkpoints, SCTs, certificates) and several times faster in `ring`.
#[derive(Clone)]
pub struct EcdsaP256Signer {
    key: p256::ecdsa::SigningKey,
    der_signer: std::sync::Arc<ring::signature::EcdsaKeyPair>,
    fixed_signer: std::sync::Arc<ring::signature::EcdsaKeyPair>,
}

impl EcdsaP256Signer {
    pub fn generate() -> Self {
        Self::from_signing_key(p256::ecdsa::SigningKey::random(&mut rand_core::OsRng))
    }

    fn from_signing_key(key: p256::ecdsa::SigningKey) -> Self {
        use ring::signature::{
            EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING,
        };
        // RustCrypto's PKCS#8 carries the public key, which is what ring
        // needs; a valid in-memory P-256 key therefore always converts.
        let pkcs8 = key
            .to_pkcs8_der()
            .expect("PKCS#8 encoding of a valid P-256 key");
        let rng = ring::rand::SystemRandom::new();
        let pair = |alg| {
            EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_bytes(), &rng)
                .map(std::sync::Arc::new)
                .expect("ring accepts the PKCS#8 of a valid P-256 key")
        };
        Self {
            der_signer: pair(&ECDSA_P256_SHA256_ASN1_SIGNING),
            fixed_signer: pair(&ECDSA_P256_SHA256_FIXED_SIGNING),
            key,
        }
    }

    /// Parses a `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let blocks = pem_blocks(pem.as_bytes())?;
        let (label, der) = blocks
            .iter()
            .find(|(label, _)| label == "PRIVATE KEY" || label == "EC PRIVATE KEY")
            .ok_or_else(|| {
                KeyError::MalformedPem("expected a PRIVATE KEY or EC PRIVATE KEY block".into())
            })?;
        if label == "PRIVATE KEY" {
            Self::from_pkcs8_der(der)
        } else {
            // SEC1 checks the optional curve parameters against P-256 itself.
            let secret = p256::SecretKey::from_sec1_der(der)
                .map_err(|e| KeyError::MalformedKey(format!("SEC1 P-256 private key: {e}")))?;
            Ok(Self::from_signing_key(secret.into()))
        }
    }

    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map_err(|e| KeyError::MalformedKey(format!("PKCS#8 P-256 private key: {e}")))?;
        Ok(Self::from_signing_key(key))
    }

    /// PKCS#8 `PRIVATE KEY` PEM. Treat the result as a secret.
    pub fn to_pkcs8_pem(&self) -> String {
        // Encoding a valid in-memory P-256 key only fails on allocation, so
        // this cannot fail in practice.
        let doc = self
            .key
            .to_pkcs8_der()
            .expect("PKCS#8 encoding of a valid P-256 key");
        pem_encode("PRIVATE KEY", doc.as_bytes())
    }

    /// DER SubjectPublicKeyInfo of the public key.
    pub fn public_spki_der(&self) -> Vec<u8> {
        // A valid P-256 point always encodes; only allocation could fail.
        self.key
            .verifying_key()
            .to_public_key_der()
            .expect("SPKI encoding of a valid P-256 key")
            .into_vec()
    }

    /// `PUBLIC KEY` PEM of the public key.
    pub fn public_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.public_spki_der())
    }

    pub fn log_id(&self) -> LogId {
        LogId::from_spki_der(&self.public_spki_der())
    }

    /// DER ECDSA signature over SHA-256(msg).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        // ring fails only when the system RNG does, which nothing here can
        // recover from; fall back to RustCrypto (RFC 6979, no RNG) then.
        match self.der_signer.sign(&ring::rand::SystemRandom::new(), msg) {
            Ok(sig) => sig.as_ref().to_vec(),
            Err(_) => {
                let sig: p256::ecdsa::DerSignature = self.key.sign(msg);
                sig.as_bytes().to_vec()
            }
        }
    }

    /// 64-byte r‖s signature over SHA-256(msg) (JWS ES256).
    pub fn sign_fixed(&self, msg: &[u8]) -> [u8; 64] {
        if let Ok(sig) = self
            .fixed_signer
            .sign(&ring::rand::SystemRandom::new(), msg)
        {
            if let Ok(fixed) = <[u8; 64]>::try_from(sig.as_ref()) {
                return fixed;
            }
        }
        let sig: p256::ecdsa::Signature = self.key.sign(msg);
        sig.to_bytes().into()
    }

    /// The public key as a verifier.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::EcdsaP256(*self.key.verifying_key())
    }

    /// The uncompressed point's affine x and y (32 bytes each), for a JWK.
    pub fn public_xy(&self) -> ([u8; 32], [u8; 32]) {
        let point = self.key.verifying_key().to_encoded_point(false);
        // An uncompressed SEC1 P-256 point is always 0x04 ‖ x(32) ‖ y(32).
        let bytes = point.as_bytes();
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        x.copy_from_slice(&bytes[1..33]);
        y.copy_from_slice(&bytes[33..65]);
        (x, y)
    }
}

impl From<p256::ecdsa::SigningKey> for EcdsaP256Signer {
    fn from(key: p256::ecdsa::SigningKey) -> Self {
        Self::from_signing_key(key)
    }
}

impl std::fmt::Debug for EcdsaP256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcdsaP256Signer({})", self.log_id().to_hex())
    }
}

/// Hash algorithms that clients name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// Digest length in bytes.
    #[allow(clippy::len_without_is_empty)] // a digest length is never zero
    pub fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// "sha256" etc., as Rekor spells them.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Parses Rekor's spelling ("sha256", "sha384", "sha512"), exactly as
    /// Rekor's schema enumerates it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// A client's public key, parsed from a `PUBLIC KEY` PEM, a DER SPKI, or the
/// first certificate of a `CERTIFICATE` PEM (chain).
#[derive(Clone)]
#[non_exhaustive]
pub enum PublicKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    EcdsaP384(p384::ecdsa::VerifyingKey),
    EcdsaP521(Box<p521::ecdsa::VerifyingKey>),
    Rsa(rsa::RsaPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// RFC 5480 id-ecPublicKey and named curves, RFC 8017 rsaEncryption, RFC 8410 id-Ed25519.
const ID_EC_PUBLIC_KEY: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.132.0.35");
const RSA_ENCRYPTION: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_ED25519: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.3.101.112");

/// Fulcio's goodkey policy: RSA moduli of at least 2048 bits and e = 65537.
const RSA_MIN_BITS: usize = 2048;
const RSA_EXPONENT: u64 = 65537;

impl PublicKey {
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::MalformedKey(format!("SubjectPublicKeyInfo: {e}")))?;
        let alg = info.algorithm.oid;
        if alg == ID_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|_| KeyError::MalformedKey("EC key without a named curve".into()))?;
            let bad = |e: spki::Error| KeyError::MalformedKey(format!("EC public key: {e}"));
            match curve {
                SECP256R1 => Ok(Self::EcdsaP256(
                    p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?,
                )),
                SECP384R1 => Ok(Self::EcdsaP384(
                    p384::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?,
                )),
                SECP521R1 => {
                    let key = p521::PublicKey::from_public_key_der(der).map_err(bad)?;
                    let vk = p521::ecdsa::VerifyingKey::from_affine(*key.as_affine())
                        .map_err(|e| KeyError::MalformedKey(format!("EC public key: {e}")))?;
                    Ok(Self::EcdsaP521(Box::new(vk)))
                }
                other => Err(KeyError::UnsupportedKey(format!(
                    "elliptic curve {other} (only P-256, P-384 and P-521 are allowed)"
                ))),
            }
        } else if alg == RSA_ENCRYPTION {
            let key = rsa::RsaPublicKey::from_public_key_der(der)
                .map_err(|e| KeyError::MalformedKey(format!("RSA public key: {e}")))?;
            check_rsa_policy(&key)?;
            Ok(Self::Rsa(key))
        } else if alg == ID_ED25519 {
            let key = ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map_err(|e| KeyError::MalformedKey(format!("Ed25519 public key: {e}")))?;
            Ok(Self::Ed25519(key))
        } else {
            Err(KeyError::UnsupportedKey(format!(
                "public key algorithm {alg} (only ECDSA, RSA and Ed25519 are allowed)"
            )))
        }
    }

    /// Accepts `PUBLIC KEY` or `CERTIFICATE` PEM (the first certificate's key).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let blocks = pem_blocks(pem)?;
        let (label, der) = blocks
            .iter()
            .find(|(label, _)| label == "PUBLIC KEY" || label == "CERTIFICATE")
            .ok_or_else(|| {
                KeyError::MalformedPem("expected a PUBLIC KEY or CERTIFICATE block".into())
            })?;
        if label == "PUBLIC KEY" {
            Self::from_spki_der(der)
        } else {
            Self::from_spki_der(&certificate_spki_der(der)?)
        }
    }

    /// Accepts PEM or DER (SPKI or certificate), as Fulcio's `publicKey.content` may be either.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, KeyError> {
        if contains(bytes, b"-----BEGIN ") {
            return Self::from_pem(bytes);
        }
        match Self::from_spki_der(bytes) {
            // Only a DER that is not an SPKI at all may be a certificate; a
            // parsed but refused key keeps its precise error.
            Err(KeyError::MalformedKey(spki_err)) => match certificate_spki_der(bytes) {
                Ok(spki) => Self::from_spki_der(&spki),
                Err(_) => Err(KeyError::MalformedKey(spki_err)),
            },
            other => other,
        }
    }

    pub fn to_spki_der(&self) -> Vec<u8> {
        // Re-encoding a key that was decoded (or generated) successfully only
        // fails on allocation, so the `expect`s below cannot fire in practice.
        let doc = match self {
            Self::EcdsaP256(k) => k.to_public_key_der(),
            Self::EcdsaP384(k) => k.to_public_key_der(),
            Self::EcdsaP521(k) => p521::PublicKey::from_affine(*k.as_affine())
                .map_err(|_| spki::Error::KeyMalformed)
                .and_then(|pk| pk.to_public_key_der()),
            Self::Rsa(k) => k.to_public_key_der(),
            Self::Ed25519(k) => k.to_public_key_der(),
        };
        doc.expect("SPKI encoding of a parsed key").into_vec()
    }

    /// `PUBLIC KEY` PEM (64-column lines).
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.to_spki_der())
    }

    /// SHA-256 of the DER SPKI (RFC 6962 / Rekor log ID).
    pub fn log_id(&self) -> LogId {
        LogId::from_spki_der(&self.to_spki_der())
    }

    /// The hash a signature over a whole message uses with this key:
    /// P-256 SHA-256, P-384 SHA-384, P-521 SHA-512, RSA SHA-256; None for Ed25519 (pure).
    pub fn natural_hash(&self) -> Option<HashAlgorithm> {
        match self {
            Self::EcdsaP256(_) | Self::Rsa(_) => Some(HashAlgorithm::Sha256),
            Self::EcdsaP384(_) => Some(HashAlgorithm::Sha384),
            Self::EcdsaP521(_) => Some(HashAlgorithm::Sha512),
            Self::Ed25519(_) => None,
        }
    }

    /// Verifies `sig` over the whole message `msg` (ECDSA DER over natural hash,
    /// RSA PKCS#1 v1.5 SHA-256, pure Ed25519).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1};
        // P-256 and P-384 over whole messages (certificate chains, SCTs,
        // proofs of possession, JWTs) go through ring: the hot path of every
        // certificate. Both libraries take the same strict DER signatures.
        match self {
            Self::EcdsaP256(k) => UnparsedPublicKey::new(
                &ECDSA_P256_SHA256_ASN1,
                k.to_encoded_point(false).as_bytes(),
            )
            .verify(msg, sig)
            .map_err(|_| KeyError::BadSignature),
            Self::EcdsaP384(k) => UnparsedPublicKey::new(
                &ECDSA_P384_SHA384_ASN1,
                k.to_encoded_point(false).as_bytes(),
            )
            .verify(msg, sig)
            .map_err(|_| KeyError::BadSignature),
            Self::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(sig)
                    .map_err(|_| KeyError::BadSignature)?;
                k.verify(msg, &sig).map_err(|_| KeyError::BadSignature)
            }
            _ => {
                // Every non-Ed25519 key has a natural hash.
                let alg = self.natural_hash().ok_or(KeyError::BadSignature)?;
                self.verify_digest(alg, &alg.digest(msg), sig)
            }
        }
    }

    /// Verifies `sig` over a precomputed `digest` made with `alg` (hashedrekord):
    /// ECDSA prehash, RSA PKCS#1 v1.5 with that hash, Ed25519ph (SHA-512 only).
    pub fn verify_digest(
        &self,
        alg: HashAlgorithm,
        digest: &[u8],
        sig: &[u8],
    ) -> Result<(), KeyError> {
        if digest.len() != alg.len() {
            return Err(KeyError::MalformedDigest(format!(
                "a {} digest is {} bytes, got {}",
                alg.name(),
                alg.len(),
                digest.len()
            )));
        }
        let bad = |_| KeyError::BadSignature;
        use aws_lc_rs::{digest as lc_digest, signature as lc_sig};
        match self {
            // Each curve with its own hash (all that Rekor's policy admits)
            // goes through AWS-LC: this is the per-entry cost of every
            // hashedrekord write, and ring has no digest-input API.
            Self::EcdsaP256(k) if alg == HashAlgorithm::Sha256 => ecdsa_verify_digest(
                &lc_sig::ECDSA_P256_SHA256_ASN1,
                &lc_digest::SHA256,
                k.to_encoded_point(false).as_bytes(),
                digest,
                sig,
            ),
            Self::EcdsaP384(k) if alg == HashAlgorithm::Sha384 => ecdsa_verify_digest(
                &lc_sig::ECDSA_P384_SHA384_ASN1,
                &lc_digest::SHA384,
                k.to_encoded_point(false).as_bytes(),
                digest,
                sig,
            ),
            Self::EcdsaP256(k) => {
                let sig = p256::ecdsa::Signature::from_der(sig).map_err(bad)?;
                k.verify_prehash(digest, &sig).map_err(bad)
            }
            Self::EcdsaP384(k) => {
                let sig = p384::ecdsa::Signature::from_der(sig).map_err(bad)?;
                k.verify_prehash(digest, &sig).map_err(bad)
            }
            Self::EcdsaP521(k) => {
                let sig = p521::ecdsa::Signature::from_der(sig).map_err(bad)?;
                k.verify_prehash(&p521_prehash(digest), &sig).map_err(bad)
            }
            Self::Rsa(k) => {
                let scheme = match alg {
                    HashAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                    HashAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                    HashAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
                };
                k.verify(scheme, digest, sig)
                    .map_err(|_| KeyError::BadSignature)
            }
            Self::Ed25519(k) => {
                if alg != HashAlgorithm::Sha512 {
                    return Err(KeyError::DigestNotAllowed(alg.name().into()));
                }
                let sig = ed25519_dalek::Signature::from_slice(sig)
                    .map_err(|_| KeyError::BadSignature)?;
                let mut fixed = [0u8; 64];
                fixed.copy_from_slice(digest);
                k.verify_prehashed(PrecomputedSha512(fixed), None, &sig)
                    .map_err(|_| KeyError::BadSignature)
            }
        }
    }
}

impl std::fmt::Debug for PublicKey {
    // Written by hand because p521's verifying key has no Debug; the log ID
    // identifies the key just as well.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::EcdsaP256(_) => "EcdsaP256",
            Self::EcdsaP384(_) => "EcdsaP384",
            Self::EcdsaP521(_) => "EcdsaP521",
            Self::Rsa(_) => "Rsa",
            Self::Ed25519(_) => "Ed25519",
        };
        write!(f, "PublicKey::{kind}({})", self.log_id().to_hex())
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.to_spki_der() == other.to_spki_der()
    }
}

impl Eq for PublicKey {}

fn check_rsa_policy(key: &rsa::RsaPublicKey) -> Result<(), KeyError> {
    use rsa::traits::PublicKeyParts as _;
    let bits = key.n().bits();
    if bits < RSA_MIN_BITS {
        return Err(KeyError::UnsupportedKey(format!(
            "RSA key of {bits} bits is too small (minimum {RSA_MIN_BITS})"
        )));
    }
    if key.e() != &rsa::BigUint::from(RSA_EXPONENT) {
        return Err(KeyError::UnsupportedKey(format!(
            "RSA public exponent {} is not allowed (only {RSA_EXPONENT})",
            key.e()
        )));
    }
    Ok(())
}

/// The DER SubjectPublicKeyInfo of a DER certificate.
fn certificate_spki_der(cert_der: &[u8]) -> Result<Vec<u8>, KeyError> {
    let cert = x509_cert::Certificate::from_der(cert_der)
        .map_err(|e| KeyError::MalformedCertificate(e.to_string()))?;
    cert.tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| KeyError::MalformedCertificate(e.to_string()))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A "hasher" that already holds the SHA-512 digest of the message:
/// ed25519-dalek's Ed25519ph API takes a digest state and finalizes it
/// itself, while hashedrekord gives us only the finished digest (to verify,
/// and to sign a log's genesis entry in `note::Ed25519NoteKey`).
#[derive(Clone)]
pub(crate) struct PrecomputedSha512(pub(crate) [u8; 64]);

impl Default for PrecomputedSha512 {
    // Required by `Digest`; never used, since the value is always built from a digest.
    fn default() -> Self {
        Self([0u8; 64])
    }
}

impl sha2::digest::HashMarker for PrecomputedSha512 {}

impl sha2::digest::OutputSizeUser for PrecomputedSha512 {
    type OutputSize = sha2::digest::consts::U64;
}

impl sha2::digest::Update for PrecomputedSha512 {
    // The message was hashed by the client; nothing more is ever fed in.
    fn update(&mut self, _data: &[u8]) {}
}

impl sha2::digest::FixedOutput for PrecomputedSha512 {
    fn finalize_into(self, out: &mut sha2::digest::Output<Self>) {
        out.copy_from_slice(&self.0);
    }
}

/// A digest as P-521 verification takes it. FIPS 186-5 §6.4.2 (and Go's
/// `crypto/ecdsa`, which Rekor uses) read a digest shorter than the group
/// order as the integer it encodes; RustCrypto refuses one under half the
/// field size (33 bytes), so a SHA-256 digest (DSSE entries verify over
/// SHA-256 whatever the key) is left-padded with zeros, which keeps the
/// integer unchanged.
fn p521_prehash(digest: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const P521_FIELD_BYTES: usize = 66;
    if digest.len() >= P521_FIELD_BYTES / 2 {
        return std::borrow::Cow::Borrowed(digest);
    }
    let mut padded = vec![0u8; P521_FIELD_BYTES - digest.len()];
    padded.extend_from_slice(digest);
    std::borrow::Cow::Owned(padded)
}

/// ECDSA (DER signature) over a digest the caller computed, through AWS-LC.
fn ecdsa_verify_digest(
    algorithm: &'static aws_lc_rs::signature::EcdsaVerificationAlgorithm,
    digest_algorithm: &'static aws_lc_rs::digest::Algorithm,
    uncompressed_point: &[u8],
    digest: &[u8],
    sig: &[u8],
) -> Result<(), KeyError> {
    let digest = aws_lc_rs::digest::Digest::import_less_safe(digest, digest_algorithm)
        .map_err(|_| KeyError::BadSignature)?;
    aws_lc_rs::signature::UnparsedPublicKey::new(algorithm, uncompressed_point)
        .verify_digest(&digest, sig)
        .map_err(|_| KeyError::BadSignature)
}

/// Decodes every RFC 7468 PEM block in `pem`, in order, as (label, DER).
/// Text outside blocks is ignored; at least one block must be present.
pub fn pem_blocks(pem: &[u8]) -> Result<Vec<(String, Vec<u8>)>, KeyError> {
    let text = std::str::from_utf8(pem)
        .map_err(|_| KeyError::MalformedPem("PEM is not valid UTF-8".into()))?;
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = pem_boundary(line, "-----BEGIN ") {
            if current.is_some() {
                return Err(KeyError::MalformedPem(format!(
                    "BEGIN {label} inside another block"
                )));
            }
            current = Some((label.to_owned(), String::new()));
        } else if let Some(label) = pem_boundary(line, "-----END ") {
            let (open, body) = current
                .take()
                .ok_or_else(|| KeyError::MalformedPem(format!("END {label} without BEGIN")))?;
            if open != label {
                return Err(KeyError::MalformedPem(format!(
                    "BEGIN {open} closed by END {label}"
                )));
            }
            let der = STANDARD
                .decode(body.as_bytes())
                .map_err(|e| KeyError::MalformedPem(format!("{label} base64: {e}")))?;
            blocks.push((open, der));
        } else if let Some((_, body)) = current.as_mut() {
            // RFC 1421 headers (e.g. Proc-Type) are not base64; skip them.
            if !line.contains(':') {
                body.extend(line.chars().filter(|c| !c.is_whitespace()));
            }
        }
    }
    if let Some((open, _)) = current {
        return Err(KeyError::MalformedPem(format!("BEGIN {open} without END")));
    }
    if blocks.is_empty() {
        return Err(KeyError::MalformedPem("no PEM block found".into()));
    }
    Ok(blocks)
}

/// The label of a `-----BEGIN X-----` / `-----END X-----` line.
fn pem_boundary<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix("-----")
}

/// Encodes DER as PEM with 64-column lines and a trailing newline (the form Rekor stores).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 output is ASCII, so splitting on byte boundaries is safe.
    for chunk in b64.as_bytes().chunks(64) {
        out.extend(chunk.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
pub(crate) mod tests;
