//! Ed25519 tlog cosignatures (https://c2sp.org/tlog-cosignature, type 0x04):
//! a witness's note signature over a checkpoint, whose signature bytes are
//! `timestamp (u64, big-endian) ‖ Ed25519 signature` over
//! `"cosignature/v1\ntime <timestamp>\n" ‖ checkpoint text`, under the key ID
//! SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]. Verifier keys use the same
//! signed-note vkey text with type byte 0x04.
//!
//! The ML-DSA-44 type (0x06) is not supported: its vkeys are refused.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::RngCore as _;

use super::ed25519::{parse_typed_vkey, typed_key_id};
use super::{check_key_name, NoteError, NoteSignature};

/// The signature type of Ed25519 cosignatures (§ Format).
const COSIGNATURE_TYPE: u8 = 0x04;

/// The message a v1 cosignature signs (§ Ed25519 signed message).
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// A witness as a log sees it: its name and Ed25519 cosigning key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigner {
    name: String,
    public_key: [u8; 32],
}

impl Cosigner {
    /// Parses `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, public_key) = parse_typed_vkey(vkey, COSIGNATURE_TYPE, "a cosignature (0x04)")?;
        Ok(Self { name, public_key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> [u8; 4] {
        typed_key_id(&self.name, COSIGNATURE_TYPE, &self.public_key)
    }

    /// Whether `sig` claims to be by this cosigner (name and key ID match).
    pub fn claims(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_hint == self.key_id()
    }

    /// Verifies a cosignature line over `checkpoint_text` (the note text,
    /// final newline included) and returns its timestamp.
    pub fn verify(&self, checkpoint_text: &str, sig: &NoteSignature) -> Result<u64, NoteError> {
        if !self.claims(sig) {
            return Err(NoteError::NoKnownSignature);
        }
        // The key was checked when the vkey was parsed.
        let key = VerifyingKey::from_bytes(&self.public_key)
            .map_err(|_| NoteError::MalformedKey("not an Ed25519 public key".into()))?;
        if sig.signature.len() != 72 {
            return Err(NoteError::BadSignature);
        }
        let (time, signature) = sig.signature.split_at(8);
        let mut time_bytes = [0u8; 8];
        time_bytes.copy_from_slice(time);
        let timestamp = u64::from_be_bytes(time_bytes);
        if timestamp == 0 || timestamp > i64::MAX as u64 {
            return Err(NoteError::BadSignature);
        }
        let signature = Signature::from_slice(signature).map_err(|_| NoteError::BadSignature)?;
        key.verify_strict(&cosigned_message(checkpoint_text, timestamp), &signature)
            .map_err(|_| NoteError::BadSignature)?;
        Ok(timestamp)
    }
}

/// A cosigning key, for witnesses (Sigil's tests run one).
#[derive(Clone)]
pub struct CosignerKey {
    name: String,
    key: SigningKey,
}

impl CosignerKey {
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let mut seed = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut seed);
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`.
    pub fn vkey(&self) -> String {
        let public = self.key.verifying_key().to_bytes();
        let mut typed = [0u8; 33];
        typed[0] = COSIGNATURE_TYPE;
        typed[1..].copy_from_slice(&public);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(typed_key_id(&self.name, COSIGNATURE_TYPE, &public)),
            STANDARD.encode(typed)
        )
    }

    /// The cosignature line over `checkpoint_text` at `timestamp` (seconds).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> NoteSignature {
        let public = self.key.verifying_key().to_bytes();
        let signature = self
            .key
            .sign(&cosigned_message(checkpoint_text, timestamp))
            .to_bytes();
        let mut bytes = Vec::with_capacity(72);
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&signature);
        NoteSignature {
            name: self.name.clone(),
            key_hint: typed_key_id(&self.name, COSIGNATURE_TYPE, &public),
            signature: bytes,
        }
    }
}

impl std::fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosignerKey")
            .field("name", &self.name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Ed25519NoteKey, SignedNote};

    const TEXT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn the_signed_message_is_the_two_header_lines_then_the_checkpoint() {
        assert_eq!(
            cosigned_message(TEXT, 1679315147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn a_cosignature_verifies_under_its_vkey_and_nothing_else() {
        let witness = CosignerKey::generate("witness.example/w1").unwrap();
        let cosigner = Cosigner::from_vkey(&witness.vkey()).unwrap();
        let sig = witness.cosign(TEXT, 1_700_000_000);
        assert_eq!(sig.signature.len(), 72);
        assert_eq!(cosigner.verify(TEXT, &sig), Ok(1_700_000_000));

        // Another checkpoint, another timestamp, another key: refused.
        let other_text = TEXT.replace("20852163", "20852164");
        assert_eq!(
            cosigner.verify(&other_text, &sig),
            Err(NoteError::BadSignature)
        );
        let mut retimed = sig.clone();
        retimed.signature[7] ^= 1;
        assert_eq!(
            cosigner.verify(TEXT, &retimed),
            Err(NoteError::BadSignature)
        );
        let stranger = CosignerKey::generate("witness.example/w1").unwrap();
        assert_eq!(
            cosigner.verify(TEXT, &stranger.cosign(TEXT, 1)),
            Err(NoteError::NoKnownSignature)
        );

        // Appended to the log's note, the line survives a parse round trip.
        let log = Ed25519NoteKey::generate("example.com/behind-the-sofa").unwrap();
        let mut note = SignedNote::parse(&log.sign_note(TEXT)).unwrap();
        note.signatures.push(sig);
        let parsed = SignedNote::parse(&note.to_text()).unwrap();
        assert_eq!(
            cosigner.verify(&parsed.text, &parsed.signatures[1]),
            Ok(1_700_000_000)
        );
        parsed
            .verify_ed25519(log.name(), &log.public_key_bytes())
            .unwrap();
    }

    #[test]
    fn a_note_vkey_is_not_a_cosigner_vkey() {
        let log = Ed25519NoteKey::generate("example.com/log").unwrap();
        let err = Cosigner::from_vkey(&log.vkey()).unwrap_err();
        assert!(err.to_string().contains("0x01"), "{err}");
    }
}
