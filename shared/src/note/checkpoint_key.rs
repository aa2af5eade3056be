//! The checkpoint key of a Rekor v2 log (docs/rekor-v2.md §3): Ed25519, the
//! C2SP signed-note type 0x01 (https://c2sp.org/signed-note#ed25519-signatures)
//! and the default, or ECDSA P-256, which rekor-tiles also accepts.
//!
//! An ECDSA checkpoint is signed the way Rekor v1 signs its notes: a DER
//! ECDSA signature over SHA-256(text), under the key ID SHA-256(DER SPKI)[:4];
//! the whole SHA-256(SPKI) is the log's `logId.keyId`, as for a v1 log. The
//! clients (sigstore-python, sigstore-js, sigstore-go) pick the verifier by
//! that key ID and the trusted root's `keyDetails`, so both kinds verify with
//! no client-side setting.

use super::{Ed25519NoteKey, NoteError, SignedNote};
use crate::keys::{EcdsaP256Signer, LogId, PublicKey};

/// The signature algorithm of a checkpoint key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointAlgorithm {
    Ed25519,
    EcdsaP256,
}

impl CheckpointAlgorithm {
    /// The protobuf-specs `PublicKeyDetails` name a trusted root gives the key.
    pub fn key_details(self) -> &'static str {
        match self {
            Self::Ed25519 => "PKIX_ED25519",
            Self::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
        }
    }

    /// The name on the command line (`ed25519`, `ecdsa-p256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::EcdsaP256 => "ecdsa-p256",
        }
    }
}

impl std::str::FromStr for CheckpointAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ed25519" => Ok(Self::Ed25519),
            "ecdsa-p256" => Ok(Self::EcdsaP256),
            other => Err(format!(
                "unknown checkpoint key algorithm {other:?} (expected ed25519 or ecdsa-p256)"
            )),
        }
    }
}

/// A log's checkpoint key, named by the log's origin.
#[derive(Clone)]
pub enum CheckpointKey {
    Ed25519(Ed25519NoteKey),
    EcdsaP256 {
        name: String,
        signer: EcdsaP256Signer,
    },
}

impl CheckpointKey {
    /// A fresh random key of `algorithm` for the origin `name`.
    pub fn generate(algorithm: CheckpointAlgorithm, name: &str) -> Result<Self, NoteError> {
        match algorithm {
            CheckpointAlgorithm::Ed25519 => Ed25519NoteKey::generate(name).map(Self::Ed25519),
            CheckpointAlgorithm::EcdsaP256 => Self::ecdsa(name, EcdsaP256Signer::generate()),
        }
    }

    /// Reads a PKCS#8 `PRIVATE KEY` PEM (Ed25519 or P-256) or a SEC1 `EC
    /// PRIVATE KEY` PEM; the key's own algorithm decides the kind.
    pub fn from_pem(name: &str, pem: &str) -> Result<Self, NoteError> {
        let ed25519 = match Ed25519NoteKey::from_pkcs8_pem(name, pem) {
            Ok(key) => return Ok(Self::Ed25519(key)),
            // A bad name is the caller's fault whatever the key is.
            Err(e @ NoteError::Malformed(_)) => return Err(e),
            Err(e) => e,
        };
        match EcdsaP256Signer::from_pem(pem) {
            Ok(signer) => Self::ecdsa(name, signer),
            Err(ecdsa) => Err(NoteError::MalformedKey(format!(
                "neither an Ed25519 nor a P-256 private key ({ed25519}; {ecdsa})"
            ))),
        }
    }

    fn ecdsa(name: &str, signer: EcdsaP256Signer) -> Result<Self, NoteError> {
        super::check_key_name(name)?;
        Ok(Self::EcdsaP256 {
            name: name.to_owned(),
            signer,
        })
    }

    /// PKCS#8 `PRIVATE KEY` PEM. Treat the result as a secret.
    pub fn to_pkcs8_pem(&self) -> String {
        match self {
            Self::Ed25519(key) => key.to_pkcs8_pem(),
            Self::EcdsaP256 { signer, .. } => signer.to_pkcs8_pem(),
        }
    }

    pub fn algorithm(&self) -> CheckpointAlgorithm {
        match self {
            Self::Ed25519(_) => CheckpointAlgorithm::Ed25519,
            Self::EcdsaP256 { .. } => CheckpointAlgorithm::EcdsaP256,
        }
    }

    /// The key name: the log's origin.
    pub fn name(&self) -> &str {
        match self {
            Self::Ed25519(key) => key.name(),
            Self::EcdsaP256 { name, .. } => name,
        }
    }

    /// DER SubjectPublicKeyInfo, as a trusted root's `publicKey.rawBytes`.
    pub fn public_spki_der(&self) -> Vec<u8> {
        match self {
            Self::Ed25519(key) => key.public_spki_der(),
            Self::EcdsaP256 { signer, .. } => signer.public_spki_der(),
        }
    }

    /// The log ID (`logId.keyId`): the signed-note key hash for Ed25519,
    /// SHA-256 of the SPKI for ECDSA.
    pub fn key_hash(&self) -> [u8; 32] {
        match self {
            Self::Ed25519(key) => key.key_hash(),
            Self::EcdsaP256 { signer, .. } => signer.log_id().0,
        }
    }

    /// The key ID of its signature lines: the first four bytes of
    /// [`Self::key_hash`].
    pub fn key_id(&self) -> [u8; 4] {
        let hash = self.key_hash();
        [hash[0], hash[1], hash[2], hash[3]]
    }

    /// The C2SP verifier key, which only Ed25519 keys have.
    pub fn vkey(&self) -> Option<String> {
        match self {
            Self::Ed25519(key) => Some(key.vkey()),
            Self::EcdsaP256 { .. } => None,
        }
    }

    /// `PUBLIC KEY` PEM of the public half.
    pub fn public_pem(&self) -> String {
        crate::keys::pem_encode("PUBLIC KEY", &self.public_spki_der())
    }

    /// The public key as a verifier.
    pub fn verifier(&self) -> CheckpointVerifier {
        match self {
            Self::Ed25519(key) => CheckpointVerifier::Ed25519 {
                name: key.name().to_owned(),
                public_key: key.public_key_bytes(),
            },
            Self::EcdsaP256 { name, signer } => CheckpointVerifier::EcdsaP256 {
                name: name.clone(),
                public_key: signer.public_key(),
            },
        }
    }

    /// Signs a note text (ending in a newline, no blank line, no control
    /// characters, as a checkpoint body always is) and returns the whole
    /// note with one signature line.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        match self {
            Self::Ed25519(key) => Ok(SignedNote::sign_ed25519(text.to_owned(), key)?.to_text()),
            Self::EcdsaP256 { name, signer } => {
                Ok(SignedNote::sign_ecdsa(text.to_owned(), name, signer)?.to_text())
            }
        }
    }
}

impl std::fmt::Debug for CheckpointKey {
    // The public half identifies the key; the private half stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CheckpointKey({}, {}, key hash {})",
            self.algorithm().name(),
            self.name(),
            hex::encode(self.key_hash())
        )
    }
}

/// The public half of a [`CheckpointKey`], as an auditor or `sigil
/// trust-root` holds it.
#[derive(Clone, Debug)]
pub enum CheckpointVerifier {
    Ed25519 { name: String, public_key: [u8; 32] },
    EcdsaP256 { name: String, public_key: PublicKey },
}

impl CheckpointVerifier {
    /// From a C2SP verifier key (Ed25519).
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, public_key) = super::parse_vkey(vkey)?;
        Ok(Self::Ed25519 { name, public_key })
    }

    /// From a P-256 `PUBLIC KEY` PEM, under the origin `name`.
    pub fn from_ecdsa_pem(name: &str, pem: &str) -> Result<Self, NoteError> {
        super::check_key_name(name)?;
        let public_key = PublicKey::from_pem(pem.as_bytes())
            .map_err(|e| NoteError::MalformedKey(e.to_string()))?;
        if !matches!(public_key, PublicKey::EcdsaP256(_)) {
            return Err(NoteError::MalformedKey(
                "a checkpoint's ECDSA key must be on P-256".into(),
            ));
        }
        Ok(Self::EcdsaP256 {
            name: name.to_owned(),
            public_key,
        })
    }

    /// From a `PUBLIC KEY` PEM of either kind (Ed25519 or P-256), as a
    /// trusted root carries it, under the origin `name`.
    pub fn from_public_pem(name: &str, pem: &str) -> Result<Self, NoteError> {
        super::check_key_name(name)?;
        match PublicKey::from_pem(pem.as_bytes())
            .map_err(|e| NoteError::MalformedKey(e.to_string()))?
        {
            PublicKey::Ed25519(key) => Ok(Self::Ed25519 {
                name: name.to_owned(),
                public_key: key.to_bytes(),
            }),
            PublicKey::EcdsaP256(_) => Self::from_ecdsa_pem(name, pem),
            _ => Err(NoteError::MalformedKey(
                "a checkpoint key is Ed25519 or ECDSA P-256".into(),
            )),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Ed25519 { name, .. } | Self::EcdsaP256 { name, .. } => name,
        }
    }

    pub fn algorithm(&self) -> CheckpointAlgorithm {
        match self {
            Self::Ed25519 { .. } => CheckpointAlgorithm::Ed25519,
            Self::EcdsaP256 { .. } => CheckpointAlgorithm::EcdsaP256,
        }
    }

    pub fn public_spki_der(&self) -> Vec<u8> {
        match self {
            Self::Ed25519 { public_key, .. } => super::ed25519::spki_der(public_key),
            Self::EcdsaP256 { public_key, .. } => public_key.to_spki_der(),
        }
    }

    /// The log ID, as [`CheckpointKey::key_hash`].
    pub fn key_hash(&self) -> [u8; 32] {
        match self {
            Self::Ed25519 { name, public_key } => super::ed25519_key_hash(name, public_key),
            Self::EcdsaP256 { public_key, .. } => LogId::from_spki_der(&public_key.to_spki_der()).0,
        }
    }

    /// Checks that a signature line of this key, under its name, signs the
    /// note's text; lines of other keys (witnesses) are ignored.
    pub fn verify(&self, note: &SignedNote) -> Result<(), NoteError> {
        match self {
            Self::Ed25519 { name, public_key } => note.verify_ed25519(name, public_key),
            Self::EcdsaP256 { name, public_key } => note.verify_v1(name, public_key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "log.example/v2\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    #[test]
    fn each_kind_signs_a_checkpoint_its_verifier_accepts() {
        for algorithm in [CheckpointAlgorithm::Ed25519, CheckpointAlgorithm::EcdsaP256] {
            let key = CheckpointKey::generate(algorithm, "log.example/v2").unwrap();
            let note = SignedNote::parse(&key.sign_note(TEXT).unwrap()).unwrap();
            assert_eq!(note.signatures.len(), 1);
            assert_eq!(note.signatures[0].name, "log.example/v2");
            assert_eq!(note.signatures[0].key_hint, key.key_id());
            key.verifier().verify(&note).unwrap();
            let from_pem =
                CheckpointVerifier::from_public_pem("log.example/v2", &key.public_pem()).unwrap();
            from_pem.verify(&note).unwrap();
            assert_eq!(from_pem.key_hash(), key.key_hash());
            assert!(
                CheckpointVerifier::from_public_pem("other.example", &key.public_pem())
                    .unwrap()
                    .verify(&note)
                    .is_err(),
                "{algorithm:?}: the name is part of what verifies"
            );
            assert_eq!(key.verifier().key_hash(), key.key_hash());
            assert_eq!(key.verifier().public_spki_der(), key.public_spki_der());

            let other = CheckpointKey::generate(algorithm, "log.example/v2").unwrap();
            assert_eq!(
                other.verifier().verify(&note),
                Err(NoteError::NoKnownSignature),
                "{algorithm:?}: another key's note is not this key's"
            );
            let mut forged = note.clone();
            forged.text = TEXT.replace('7', "8");
            assert_eq!(key.verifier().verify(&forged), Err(NoteError::BadSignature));
        }
    }

    #[test]
    fn the_ecdsa_log_id_is_the_sha256_of_its_spki_as_rekor_tiles_computes_it() {
        use sha2::{Digest as _, Sha256};
        let key = CheckpointKey::generate(CheckpointAlgorithm::EcdsaP256, "log.example").unwrap();
        let expected: [u8; 32] = Sha256::digest(key.public_spki_der()).into();
        assert_eq!(key.key_hash(), expected);
        assert_eq!(key.algorithm().key_details(), "PKIX_ECDSA_P256_SHA_256");
    }

    #[test]
    fn a_pem_round_trips_and_keeps_its_algorithm() {
        for algorithm in [CheckpointAlgorithm::Ed25519, CheckpointAlgorithm::EcdsaP256] {
            let key = CheckpointKey::generate(algorithm, "log.example").unwrap();
            let again = CheckpointKey::from_pem("log.example", &key.to_pkcs8_pem()).unwrap();
            assert_eq!(again.algorithm(), algorithm);
            assert_eq!(again.key_hash(), key.key_hash());
        }
        assert!(matches!(
            CheckpointKey::from_pem("log.example", "not a pem"),
            Err(NoteError::MalformedKey(_))
        ));
        let key = CheckpointKey::generate(CheckpointAlgorithm::EcdsaP256, "log.example").unwrap();
        assert!(
            matches!(
                CheckpointKey::from_pem("bad name", &key.to_pkcs8_pem()),
                Err(NoteError::Malformed(_))
            ),
            "a key name with a space is refused for either kind"
        );
    }

    #[test]
    fn an_ecdsa_verifier_comes_from_a_public_pem_and_refuses_other_curves() {
        let key = CheckpointKey::generate(CheckpointAlgorithm::EcdsaP256, "log.example").unwrap();
        let CheckpointKey::EcdsaP256 { signer, .. } = &key else {
            unreachable!()
        };
        let verifier =
            CheckpointVerifier::from_ecdsa_pem("log.example", &signer.public_pem()).unwrap();
        assert_eq!(verifier.key_hash(), key.key_hash());
        let ed = Ed25519NoteKey::generate("log.example").unwrap();
        let ed_pem = crate::keys::pem_encode("PUBLIC KEY", &ed.public_spki_der());
        assert!(CheckpointVerifier::from_ecdsa_pem("log.example", &ed_pem).is_err());
    }
}
