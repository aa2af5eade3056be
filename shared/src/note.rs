//! C2SP signed-note (https://c2sp.org/signed-note): a UTF-8 text ending in a
//! newline, a blank line, then signature lines `— <name> <base64(hint ‖ sig)>`.
//! Rekor v1 conventions (docs/rekor-wire.md §3): the key name is the log's host
//! name, the hint is SHA-256(DER SPKI)[:4] for every key type, and an ECDSA
//! key signs SHA-256(text). The C2SP Ed25519 signature type, which tiled logs
//! and Rekor v2 use, is in [`Ed25519NoteKey`] and [`SignedNote::verify_ed25519`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::keys::{EcdsaP256Signer, LogId, PublicKey};

mod checkpoint_key;
mod cosignature;
mod ed25519;

pub use checkpoint_key::{CheckpointAlgorithm, CheckpointKey, CheckpointVerifier};

pub use cosignature::{cosigned_message, Cosigner, CosignerKey};
pub use ed25519::{
    key_hash as ed25519_key_hash, parse_vkey, spki_der as ed25519_spki_der, Ed25519NoteKey,
};

/// Note errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("no signature by a known key")]
    NoKnownSignature,
    #[error("invalid signature")]
    BadSignature,
    #[error("malformed key: {0}")]
    MalformedKey(String),
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hint: [u8; 4],
    pub signature: Vec<u8>,
}

/// A parsed signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, including its final newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// The em dash (U+2014) and space that open every signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// More signatures than any honest note carries; the spec asks verifiers for
/// a limit of at least 16.
const MAX_SIGNATURES: usize = 100;

impl SignedNote {
    /// Parses a note; the text ends at the last blank line (C2SP). Signatures
    /// are not checked here.
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        check_characters(note)?;
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line between the text and the signatures".into()))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        if sigs.is_empty() {
            return Err(malformed("no signature lines".into()));
        }
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(malformed(
                "the last signature line does not end in a newline".into(),
            ));
        };
        let signatures = sigs
            .split('\n')
            .map(parse_signature_line)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(malformed(format!(
                "{} signatures (at most {MAX_SIGNATURES} are accepted)",
                signatures.len()
            )));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The serialized note: text, blank line, one line per signature.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for sig in &self.signatures {
            let mut blob = Vec::with_capacity(4 + sig.signature.len());
            blob.extend_from_slice(&sig.key_hint);
            blob.extend_from_slice(&sig.signature);
            out.push_str(SIG_PREFIX);
            out.push_str(&sig.name);
            out.push(' ');
            out.push_str(&STANDARD.encode(blob));
            out.push('\n');
        }
        out
    }

    /// Signs `text` (which must end in '\n') with an ECDSA P-256 key the Rekor v1 way.
    ///
    /// The text must not contain a blank line: sigstore-python and older
    /// sigstore-js split a v1 checkpoint at its *first* blank line.
    pub fn sign_ecdsa(
        text: String,
        name: &str,
        signer: &EcdsaP256Signer,
    ) -> Result<Self, NoteError> {
        check_characters(&text)?;
        check_key_name(name)?;
        if !text.ends_with('\n') {
            return Err(malformed("the text does not end in a newline".into()));
        }
        if text.starts_with('\n') || text.contains("\n\n") {
            return Err(malformed(
                "the text contains a blank line, which Rekor v1 clients cannot split".into(),
            ));
        }
        let signature = signer.sign(text.as_bytes());
        Ok(Self {
            text,
            signatures: vec![NoteSignature {
                name: name.to_owned(),
                key_hint: signer.log_id().key_hint(),
                signature,
            }],
        })
    }

    /// Verifies that some signature line with `name` and the key's v1 hint
    /// (SHA-256(SPKI)[:4]) is a valid signature by `key` over the text.
    ///
    /// Lines by other keys are ignored; a line that claims to be by this key
    /// but does not verify fails the whole note, as C2SP recommends.
    pub fn verify_v1(&self, name: &str, key: &PublicKey) -> Result<(), NoteError> {
        let hint = LogId::from_spki_der(&key.to_spki_der()).key_hint();
        let mut known = self
            .signatures
            .iter()
            .filter(|s| s.name == name && s.key_hint == hint)
            .peekable();
        if known.peek().is_none() {
            return Err(NoteError::NoKnownSignature);
        }
        for sig in known {
            key.verify(self.text.as_bytes(), &sig.signature)
                .map_err(|_| NoteError::BadSignature)?;
        }
        Ok(())
    }
}

fn malformed(msg: String) -> NoteError {
    NoteError::Malformed(msg)
}

/// C2SP: no ASCII control characters other than newline.
fn check_characters(s: &str) -> Result<(), NoteError> {
    match s.chars().find(|&c| c < ' ' && c != '\n') {
        Some(c) => Err(malformed(format!(
            "control character U+{:04X} is not allowed",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// C2SP: key names are non-empty and contain no Unicode spaces or '+' (nor,
/// as part of a note, control characters).
fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() {
        return Err(malformed("empty key name".into()));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == '+' || c < ' ')
    {
        return Err(malformed(format!(
            "key name {name:?} contains a space, '+' or a control character"
        )));
    }
    Ok(())
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, NoteError> {
    let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
        malformed(format!(
            "signature line {line:?} does not start with an em dash and a space"
        ))
    })?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| malformed(format!("signature line {line:?} has no signature")))?;
    check_key_name(name)?;
    let blob = STANDARD
        .decode(b64)
        .map_err(|e| malformed(format!("signature by {name:?} is not base64: {e}")))?;
    // A 4-byte hint and at least one byte of signature.
    if blob.len() < 5 {
        return Err(malformed(format!(
            "signature by {name:?} is too short ({} bytes)",
            blob.len()
        )));
    }
    let (hint, signature) = blob.split_at(4);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_hint: [hint[0], hint[1], hint[2], hint[3]],
        signature: signature.to_vec(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use p256::pkcs8::DecodePublicKey as _;
    use sha2::{Digest as _, Sha256};

    use super::*;

    /// The example in the C2SP signed-note specification (an Ed25519 note
    /// whose text contains a blank line).
    const SPEC_NOTE: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

    /// golang.org/x/mod/sumdb/note's example, with its verifier key
    /// `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`.
    pub(crate) const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    pub(crate) const GO_SIG: &str =
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
    pub(crate) const GO_VKEY: &str = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    /// The public rekor.sigstore.dev key and a checkpoint it signed
    /// (served by GET /api/v1/log; rootHash dd984b28…).
    pub(crate) const REKOR_PUB: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwr\nkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==\n-----END PUBLIC KEY-----\n";
    pub(crate) const REKOR_CHECKPOINT: &str = "rekor.sigstore.dev - 1193050959916656506\n266676745\n3ZhLKI3mKUlpedQ9hiIMbJIjKr3vTc+ueViyxWqwQGA=\n\n— rekor.sigstore.dev wNI9ajBEAiAE7ER4yd8Waq4ZzLQt9BIUyfAvbizhv5PCcxk5Glf28AIgWT6LH4VlkrI8VhZnqCPigxEVzdlwVQpuRo0OsISdPGs=\n";

    #[test]
    fn spec_example_parses_and_round_trips() {
        let note = SignedNote::parse(SPEC_NOTE).unwrap();
        // The text keeps its inner blank line: the split is at the last one.
        assert_eq!(
            note.text,
            "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
        );
        assert_eq!(note.signatures.len(), 1);
        let sig = &note.signatures[0];
        assert_eq!(sig.name, "quasimodo.example/salvatore");
        assert_eq!(sig.key_hint, [0x36, 0x7b, 0xa0, 0x4b]);
        assert_eq!(sig.signature.len(), 64, "Ed25519");
        assert_eq!(note.to_text(), SPEC_NOTE);
    }

    #[test]
    fn go_example_hint_and_ed25519_signature() {
        let note = SignedNote::parse(&format!("{GO_TEXT}\n— PeterNeumann {GO_SIG}\n")).unwrap();
        assert_eq!(note.text, GO_TEXT);
        let sig = &note.signatures[0];
        assert_eq!(sig.key_hint, [0xc7, 0x4f, 0x20, 0xa3]);
        // C2SP Ed25519 key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4].
        let vkey = STANDARD.decode(GO_VKEY).unwrap();
        assert_eq!(vkey[0], 0x01);
        let id = Sha256::digest([b"PeterNeumann\n".as_slice(), &vkey].concat());
        assert_eq!(id[..4], sig.key_hint);
        let key = ed25519_dalek::VerifyingKey::from_bytes(&vkey[1..].try_into().unwrap()).unwrap();
        let ed = ed25519_dalek::Signature::from_slice(&sig.signature).unwrap();
        key.verify_strict(note.text.as_bytes(), &ed).unwrap();
    }

    #[test]
    fn real_rekor_checkpoint_verifies_v1() {
        let key = PublicKey::from_pem(REKOR_PUB.as_bytes()).unwrap();
        assert_eq!(
            key.log_id().to_hex(),
            "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
        );
        let note = SignedNote::parse(REKOR_CHECKPOINT).unwrap();
        assert_eq!(note.to_text(), REKOR_CHECKPOINT);
        assert_eq!(note.signatures[0].key_hint, [0xc0, 0xd2, 0x3d, 0x6a]);
        note.verify_v1("rekor.sigstore.dev", &key).unwrap();
        // The name is part of what identifies the key.
        assert_eq!(
            note.verify_v1("rekor.example", &key),
            Err(NoteError::NoKnownSignature)
        );
        let mut tampered = note;
        tampered.text = tampered.text.replace("266676745", "266676746");
        assert_eq!(
            tampered.verify_v1("rekor.sigstore.dev", &key),
            Err(NoteError::BadSignature)
        );
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let signer = EcdsaP256Signer::generate();
        let text = "localhost - 42\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".to_owned();
        let note = SignedNote::sign_ecdsa(text.clone(), "localhost", &signer).unwrap();
        let serialized = note.to_text();
        // Exactly one blank line, then exactly one "— localhost <b64>\n" line.
        assert_eq!(serialized.matches("\n\n").count(), 1);
        let sig_line = serialized.strip_prefix(&format!("{text}\n")).unwrap();
        assert!(sig_line.starts_with("\u{2014} localhost "));
        assert!(sig_line.ends_with('\n') && sig_line.matches('\n').count() == 1);
        let blob = STANDARD
            .decode(sig_line.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        assert_eq!(blob[..4], signer.log_id().key_hint());
        // The signature is DER ECDSA over SHA-256(text), checkable with p256 directly.
        let vk = p256::ecdsa::VerifyingKey::from_public_key_der(&signer.public_spki_der()).unwrap();
        let der = p256::ecdsa::Signature::from_der(&blob[4..]).unwrap();
        signature::Verifier::verify(&vk, text.as_bytes(), &der).unwrap();

        let parsed = SignedNote::parse(&serialized).unwrap();
        assert_eq!(parsed, note);
        parsed.verify_v1("localhost", &signer.public_key()).unwrap();
        let other = EcdsaP256Signer::generate();
        assert_eq!(
            parsed.verify_v1("localhost", &other.public_key()),
            Err(NoteError::NoKnownSignature)
        );
        // A second line claiming the same key but with a bad signature fails the note.
        let mut forged = parsed.clone();
        let mut bad = forged.signatures[0].clone();
        bad.signature = other.sign(text.as_bytes());
        forged.signatures.push(bad);
        assert_eq!(
            forged.verify_v1("localhost", &signer.public_key()),
            Err(NoteError::BadSignature)
        );
        // Unknown signatures are ignored.
        let mut cosigned = parsed;
        cosigned.signatures.push(NoteSignature {
            name: "witness.example".into(),
            key_hint: [1, 2, 3, 4],
            signature: vec![9; 64],
        });
        let reparsed = SignedNote::parse(&cosigned.to_text()).unwrap();
        reparsed
            .verify_v1("localhost", &signer.public_key())
            .unwrap();
    }

    #[test]
    fn sign_rejects_bad_text_and_names() {
        let signer = EcdsaP256Signer::generate();
        for (text, name) in [
            ("no newline", "log"),
            ("a\n\nb\n", "log"),
            ("\nb\n", "log"),
            ("tab\there\n", "log"),
            ("ok\n", ""),
            ("ok\n", "has space"),
            ("ok\n", "a+b"),
        ] {
            assert!(
                matches!(
                    SignedNote::sign_ecdsa(text.into(), name, &signer),
                    Err(NoteError::Malformed(_))
                ),
                "{text:?} {name:?}"
            );
        }
    }

    #[test]
    fn malformed_notes() {
        let good_line = format!("— PeterNeumann {GO_SIG}\n");
        for bad in [
            // no blank line
            format!("{GO_TEXT}{good_line}"),
            // no signatures
            format!("{GO_TEXT}\n"),
            // signature line without newline
            format!("{GO_TEXT}\n{}", good_line.trim_end()),
            // hyphen instead of em dash
            format!("{GO_TEXT}\n- PeterNeumann {GO_SIG}\n"),
            // missing signature
            format!("{GO_TEXT}\n— PeterNeumann\n"),
            // not base64
            format!("{GO_TEXT}\n— PeterNeumann not*base64\n"),
            // too short
            format!("{GO_TEXT}\n— PeterNeumann AAAA\n"),
            // control character
            format!("{}\r\n\n{good_line}", GO_TEXT.trim_end()),
            // extra field on the line
            format!("{GO_TEXT}\n— PeterNeumann {GO_SIG} extra\n"),
        ] {
            assert!(
                matches!(SignedNote::parse(&bad), Err(NoteError::Malformed(_))),
                "{bad:?}"
            );
        }
        let many = format!("{GO_TEXT}\n{}", good_line.repeat(MAX_SIGNATURES + 1));
        assert!(SignedNote::parse(&many).is_err());
        let ok = format!("{GO_TEXT}\n{}", good_line.repeat(16));
        assert_eq!(SignedNote::parse(&ok).unwrap().signatures.len(), 16);
    }
}
