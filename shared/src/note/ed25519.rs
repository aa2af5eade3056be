//! Ed25519 signed notes (https://c2sp.org/signed-note#ed25519-signatures):
//! RFC 8032 signatures over the note text, under the key ID
//! SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], and the verifier key text
//! `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`
//! (https://c2sp.org/signed-note#verifier-keys). Tiled logs sign their
//! checkpoints this way (https://c2sp.org/tlog-tiles#checkpoints); Rekor v2
//! names its log by the whole 32-byte hash (`logId.keyId`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, KeypairBytes};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::RngCore as _;
use sha2::{Digest as _, Sha256, Sha512};
use spki::EncodePublicKey as _;

use super::{check_characters, check_key_name, malformed, NoteError, NoteSignature, SignedNote};
use crate::keys::{pem_blocks, pem_encode, PrecomputedSha512};

/// The signed-note signature type of Ed25519 (§ Signature types).
const ED25519_TYPE: u8 = 0x01;

/// An Ed25519 key that signs notes under a key name (for a checkpoint, the
/// log's origin).
#[derive(Clone)]
pub struct Ed25519NoteKey {
    name: String,
    key: SigningKey,
}

impl Ed25519NoteKey {
    /// A fresh random key for `name`, which must be a valid key name
    /// (non-empty, no spaces, no '+', no control characters).
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        let mut seed = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut seed);
        Self::new(name, SigningKey::from_bytes(&seed))
    }

    /// Reads a PKCS#8 `PRIVATE KEY` PEM (RFC 8410) for `name`.
    pub fn from_pkcs8_pem(name: &str, pem: &str) -> Result<Self, NoteError> {
        let bad = |e: String| NoteError::MalformedKey(e);
        let blocks = pem_blocks(pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let (_, der) = blocks
            .iter()
            .find(|(label, _)| label == "PRIVATE KEY")
            .ok_or_else(|| bad("expected a PRIVATE KEY PEM block".into()))?;
        let key = SigningKey::from_pkcs8_der(der)
            .map_err(|e| bad(format!("PKCS#8 Ed25519 private key: {e}")))?;
        Self::new(name, key)
    }

    fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key,
        })
    }

    /// PKCS#8 v1 `PRIVATE KEY` PEM (the seed only, as OpenSSL writes it).
    /// Treat the result as a secret.
    pub fn to_pkcs8_pem(&self) -> String {
        let bytes = KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        };
        // Encoding 32 bytes into a fixed structure only fails on allocation.
        let doc = bytes
            .to_pkcs8_der()
            .expect("PKCS#8 encoding of an Ed25519 seed");
        pem_encode("PRIVATE KEY", doc.as_bytes())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The RFC 8032 public key.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// DER SubjectPublicKeyInfo of the public key (RFC 8410), as a trusted
    /// root's `publicKey.rawBytes` carries it.
    pub fn public_spki_der(&self) -> Vec<u8> {
        // A valid Ed25519 key always encodes; only allocation could fail.
        self.key
            .verifying_key()
            .to_public_key_der()
            .expect("SPKI encoding of an Ed25519 key")
            .into_vec()
    }

    /// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key): Rekor v2's `logId.keyId`.
    pub fn key_hash(&self) -> [u8; 32] {
        key_hash(&self.name, &self.public_key_bytes())
    }

    /// The signed-note key ID: the first 4 bytes of [`Self::key_hash`].
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, &self.public_key_bytes())
    }

    /// The verifier key, `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`.
    pub fn vkey(&self) -> String {
        let mut typed = [0u8; 33];
        typed[0] = ED25519_TYPE;
        typed[1..].copy_from_slice(&self.public_key_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            STANDARD.encode(typed)
        )
    }

    /// Signs `text` and returns the whole note: the text, a blank line and
    /// the signature line `— <name> <base64(key ID ‖ signature)>`.
    ///
    /// The text is signed as given. It must be a note text (ending in a
    /// newline, no control characters other than newlines), as a checkpoint
    /// body always is; [`SignedNote::sign_ed25519`] checks that first.
    pub fn sign_note(&self, text: &str) -> String {
        SignedNote {
            text: text.to_owned(),
            signatures: vec![self.note_signature(text)],
        }
        .to_text()
    }

    fn note_signature(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_hint: self.key_id(),
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        }
    }

    /// An Ed25519ph signature (RFC 8032 §5.1, no context) over a message
    /// whose SHA-512 digest is given: what a `hashedrekord` with key details
    /// `PKIX_ED25519_PH` carries. Ed25519ph and the pure Ed25519 of notes
    /// are domain-separated, so one key may make both.
    pub fn sign_ed25519ph(&self, sha512_digest: &sha2::digest::Output<Sha512>) -> [u8; 64] {
        let mut digest = [0u8; 64];
        digest.copy_from_slice(sha512_digest);
        // Ed25519ph fails only for a context over 255 bytes; there is none.
        self.key
            .sign_prehashed(PrecomputedSha512(digest), None)
            .expect("Ed25519ph without a context")
            .to_bytes()
    }
}

impl std::fmt::Debug for Ed25519NoteKey {
    // The verifier key identifies the key; the private half stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519NoteKey({})", self.vkey())
    }
}

impl SignedNote {
    /// Signs `text`, which must be a note text: ending in a newline and
    /// free of control characters other than newlines. Unlike the Rekor v1
    /// [`SignedNote::sign_ecdsa`], blank lines inside the text are allowed, as
    /// C2SP allows them (a checkpoint body never has one).
    pub fn sign_ed25519(text: String, key: &Ed25519NoteKey) -> Result<Self, NoteError> {
        check_characters(&text)?;
        if !text.ends_with('\n') {
            return Err(malformed("the text does not end in a newline".into()));
        }
        let signature = key.note_signature(&text);
        Ok(Self {
            text,
            signatures: vec![signature],
        })
    }

    /// Verifies that the note carries a valid Ed25519 signature by
    /// `public_key` under key name `name`.
    ///
    /// Only lines with both that name and that key's ID count; lines by
    /// other keys (witness cosignatures, say) are ignored. A line that
    /// claims to be by this key but does not verify fails the whole note, as
    /// C2SP recommends.
    pub fn verify_ed25519(&self, name: &str, public_key: &[u8; 32]) -> Result<(), NoteError> {
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| NoteError::MalformedKey("not an Ed25519 public key".into()))?;
        let id = key_id(name, public_key);
        let mut known = self
            .signatures
            .iter()
            .filter(|s| s.name == name && s.key_hint == id)
            .peekable();
        if known.peek().is_none() {
            return Err(NoteError::NoKnownSignature);
        }
        for sig in known {
            let sig = Signature::from_slice(&sig.signature).map_err(|_| NoteError::BadSignature)?;
            key.verify_strict(self.text.as_bytes(), &sig)
                .map_err(|_| NoteError::BadSignature)?;
        }
        Ok(())
    }
}

/// Parses an Ed25519 verifier key `<name>+<hex key ID>+<base64(0x01 ‖ key)>`
/// into its key name and public key, checking that the key ID is the one
/// that name and key give.
pub fn parse_vkey(vkey: &str) -> Result<(String, [u8; 32]), NoteError> {
    parse_typed_vkey(vkey, ED25519_TYPE, "Ed25519 (0x01)")
}

/// Parses a verifier key whose public key is 32 Ed25519 bytes under the
/// signature type `kind` (0x01 for notes, 0x04 for tlog cosignatures).
pub(super) fn parse_typed_vkey(
    vkey: &str,
    expected_kind: u8,
    kind_name: &str,
) -> Result<(String, [u8; 32]), NoteError> {
    let bad = |msg: String| NoteError::MalformedKey(format!("verifier key: {msg}"));
    // Names have no '+' and hex has none, so the first two '+' split the
    // parts; base64 may contain more.
    let (name, rest) = vkey
        .split_once('+')
        .ok_or_else(|| bad("expected <name>+<key ID>+<key>".into()))?;
    let (id_hex, key_b64) = rest
        .split_once('+')
        .ok_or_else(|| bad("expected <name>+<key ID>+<key>".into()))?;
    check_key_name(name)?;
    // § Conventions: hex is fixed-length and lower-case.
    let mut id = [0u8; 4];
    let lower_hex = id_hex
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !lower_hex || hex::decode_to_slice(id_hex, &mut id).is_err() {
        return Err(bad(format!(
            "key ID {id_hex:?} is not 8 lower-case hex digits"
        )));
    }
    let typed = STANDARD
        .decode(key_b64)
        .map_err(|e| bad(format!("key is not base64: {e}")))?;
    let Some((&kind, key)) = typed.split_first() else {
        return Err(bad("empty key".into()));
    };
    if kind != expected_kind {
        return Err(bad(format!(
            "signature type 0x{kind:02x} is not {kind_name}"
        )));
    }
    let key = <[u8; 32]>::try_from(key)
        .map_err(|_| bad(format!("an Ed25519 key is 32 bytes, not {}", key.len())))?;
    VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 public key".into()))?;
    if typed_key_id(name, expected_kind, &key) != id {
        return Err(bad(format!(
            "key ID {id_hex} does not match the name and key"
        )));
    }
    Ok((name.to_owned(), key))
}

/// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key): the key hash whose first four
/// bytes are the key ID, and which Rekor v2 uses whole as `logId.keyId`.
pub fn key_hash(name: &str, public_key: &[u8; 32]) -> [u8; 32] {
    typed_key_hash(name, ED25519_TYPE, public_key)
}

/// SHA-256(name ‖ 0x0A ‖ type ‖ public key), the key ID's source for every
/// signature type (https://c2sp.org/signed-note#signatures).
pub(super) fn typed_key_hash(name: &str, kind: u8, public_key: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', kind]);
    h.update(public_key);
    h.finalize().into()
}

pub(super) fn typed_key_id(name: &str, kind: u8, public_key: &[u8]) -> [u8; 4] {
    let hash = typed_key_hash(name, kind, public_key);
    [hash[0], hash[1], hash[2], hash[3]]
}

/// The DER SubjectPublicKeyInfo of a raw Ed25519 key: a fixed 12-byte
/// prefix, then the key (RFC 8410 §4 and its example in §10.1).
pub fn spki_der(public_key: &[u8; 32]) -> Vec<u8> {
    const PREFIX: [u8; 12] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    [&PREFIX[..], public_key].concat()
}

fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    typed_key_id(name, ED25519_TYPE, public_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{HashAlgorithm, PublicKey};
    use crate::note::tests::{GO_SIG, GO_TEXT, GO_VKEY};

    /// golang.org/x/mod/sumdb/note's example signer key,
    /// `PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 ‖ seed)>`.
    const GO_SKEY: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

    /// C2SP signed-note § Verifier keys, Example.
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    /// RFC 8410 §10.3's example private key and its public key (§10.1).
    const RFC8410_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
    const RFC8410_PUBLIC_SPKI: &str =
        "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=";

    fn peter_neumann() -> Ed25519NoteKey {
        let typed = STANDARD.decode(GO_SKEY).unwrap();
        assert_eq!(typed[0], ED25519_TYPE);
        let seed: [u8; 32] = typed[1..].try_into().unwrap();
        Ed25519NoteKey::new("PeterNeumann", SigningKey::from_bytes(&seed)).unwrap()
    }

    fn go_note() -> String {
        format!("{GO_TEXT}\n— PeterNeumann {GO_SIG}\n")
    }

    #[test]
    fn go_example_signs_byte_for_byte() {
        // Ed25519 is deterministic: the Go key must reproduce Go's note.
        let key = peter_neumann();
        assert_eq!(key.vkey(), format!("PeterNeumann+c74f20a3+{GO_VKEY}"));
        assert_eq!(key.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(key.key_hash()[..4], key.key_id());
        assert_eq!(key.sign_note(GO_TEXT), go_note());
        let note = SignedNote::sign_ed25519(GO_TEXT.into(), &key).unwrap();
        assert_eq!(note.to_text(), go_note());
    }

    #[test]
    fn go_example_verifies_from_its_vkey() {
        let (name, public) = parse_vkey(&format!("PeterNeumann+c74f20a3+{GO_VKEY}")).unwrap();
        assert_eq!(name, "PeterNeumann");
        assert_eq!(public, peter_neumann().public_key_bytes());
        let note = SignedNote::parse(&go_note()).unwrap();
        note.verify_ed25519(&name, &public).unwrap();
    }

    #[test]
    fn spec_example_verifies_from_its_vkey() {
        let (name, public) = parse_vkey(SPEC_VKEY).unwrap();
        assert_eq!(name, "example.com/foo");
        let note = SignedNote::parse(SPEC_NOTE).unwrap();
        assert_eq!(note.text, "This is an example message.\n");
        note.verify_ed25519(&name, &public).unwrap();
        // The same key under another name is another key.
        assert_eq!(
            note.verify_ed25519("example.com/bar", &public),
            Err(NoteError::NoKnownSignature)
        );
    }

    #[test]
    fn rfc8410_pem_reads_and_writes_back() {
        let key = Ed25519NoteKey::from_pkcs8_pem("log.example", RFC8410_PRIVATE).unwrap();
        assert_eq!(STANDARD.encode(key.public_spki_der()), RFC8410_PUBLIC_SPKI);
        assert_eq!(key.to_pkcs8_pem(), RFC8410_PRIVATE);
        // A trusted root's rawBytes parse as the same key.
        let parsed = PublicKey::from_spki_der(&key.public_spki_der()).unwrap();
        assert!(matches!(parsed, PublicKey::Ed25519(k) if k.to_bytes() == key.public_key_bytes()));
        // PKCS#8 v2 (with the public key and an attribute) is read too.
        let v2 = "-----BEGIN PRIVATE KEY-----\nMHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\noB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB\nZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PRIVATE KEY-----\n";
        let again = Ed25519NoteKey::from_pkcs8_pem("log.example", v2).unwrap();
        assert_eq!(again.public_key_bytes(), key.public_key_bytes());
    }

    #[test]
    fn bad_keys_and_names_are_refused() {
        for name in ["", "has space", "a+b", "tab\there", "nul\0", "nbsp\u{a0}"] {
            assert!(
                matches!(Ed25519NoteKey::generate(name), Err(NoteError::Malformed(_))),
                "{name:?}"
            );
            assert!(Ed25519NoteKey::from_pkcs8_pem(name, RFC8410_PRIVATE).is_err());
        }
        // A P-256 PKCS#8 key is not an Ed25519 key.
        let p256 = crate::keys::EcdsaP256Signer::generate().to_pkcs8_pem();
        for pem in [p256.as_str(), "", "not a pem", "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"] {
            assert!(
                matches!(
                    Ed25519NoteKey::from_pkcs8_pem("log.example", pem),
                    Err(NoteError::MalformedKey(_))
                ),
                "{pem:?}"
            );
        }
    }

    #[test]
    fn generated_key_round_trips() {
        let key = Ed25519NoteKey::generate("rekor.example/v2").unwrap();
        assert_eq!(key.name(), "rekor.example/v2");
        let (name, public) = parse_vkey(&key.vkey()).unwrap();
        assert_eq!(
            (name.as_str(), public),
            (key.name(), key.public_key_bytes())
        );
        let again = Ed25519NoteKey::from_pkcs8_pem(key.name(), &key.to_pkcs8_pem()).unwrap();
        assert_eq!(again.vkey(), key.vkey());
        assert_eq!(
            key.key_hash(),
            <[u8; 32]>::from(Sha256::digest(
                [b"rekor.example/v2\n\x01".as_slice(), &public].concat()
            ))
        );
        assert!(!format!("{key:?}").contains(&hex::encode(key.key.to_bytes())));
        assert_ne!(
            Ed25519NoteKey::generate("rekor.example/v2").unwrap().vkey(),
            key.vkey()
        );
    }

    #[test]
    fn sign_and_verify_a_checkpoint() {
        let key = Ed25519NoteKey::generate("log.example/v2").unwrap();
        let text = "log.example/v2\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let signed = key.sign_note(text);
        // Exactly the text, a blank line and one signature line.
        let line = signed.strip_prefix(&format!("{text}\n")).unwrap();
        assert!(line.starts_with("\u{2014} log.example/v2 ") && line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1);
        let blob = STANDARD
            .decode(line.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        assert_eq!(blob.len(), 4 + 64);
        assert_eq!(blob[..4], key.key_id());
        // Plain RFC 8032 over the text, checkable with the library directly.
        let vk = VerifyingKey::from_bytes(&key.public_key_bytes()).unwrap();
        vk.verify_strict(text.as_bytes(), &Signature::from_slice(&blob[4..]).unwrap())
            .unwrap();

        let note = SignedNote::parse(&signed).unwrap();
        assert_eq!(note.text, text);
        note.verify_ed25519(key.name(), &key.public_key_bytes())
            .unwrap();
        // Another key under the same name is unknown, not a bad signature.
        let other = Ed25519NoteKey::generate("log.example/v2").unwrap();
        assert_eq!(
            note.verify_ed25519(other.name(), &other.public_key_bytes()),
            Err(NoteError::NoKnownSignature)
        );
        assert_eq!(
            note.verify_ed25519("log.example/other", &key.public_key_bytes()),
            Err(NoteError::NoKnownSignature)
        );
    }

    #[test]
    fn tampered_notes_are_refused() {
        let key = peter_neumann();
        let public = key.public_key_bytes();
        let note = SignedNote::parse(&go_note()).unwrap();

        let mut text = note.clone();
        text.text = text.text.replace("cryptography", "Cryptography");
        assert_eq!(
            text.verify_ed25519("PeterNeumann", &public),
            Err(NoteError::BadSignature)
        );
        let mut sig = note.clone();
        sig.signatures[0].signature[10] ^= 1;
        assert_eq!(
            sig.verify_ed25519("PeterNeumann", &public),
            Err(NoteError::BadSignature)
        );
        let mut short = note.clone();
        short.signatures[0].signature.pop();
        assert_eq!(
            short.verify_ed25519("PeterNeumann", &public),
            Err(NoteError::BadSignature)
        );
        // A second, bad line claiming the same key fails the note.
        let mut forged = note;
        let mut bad = forged.signatures[0].clone();
        bad.signature = vec![0; 64];
        forged.signatures.push(bad);
        let reparsed = SignedNote::parse(&forged.to_text()).unwrap();
        assert_eq!(
            reparsed.verify_ed25519("PeterNeumann", &public),
            Err(NoteError::BadSignature)
        );
        // Not a curve point.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert!(VerifyingKey::from_bytes(&not_a_point).is_err());
        assert!(matches!(
            SignedNote::parse(&go_note())
                .unwrap()
                .verify_ed25519("PeterNeumann", &not_a_point),
            Err(NoteError::MalformedKey(_))
        ));
    }

    #[test]
    fn cosignatures_and_unknown_lines_are_ignored() {
        let key = peter_neumann();
        let witness = Ed25519NoteKey::generate("witness.example/w1").unwrap();
        let mut note = SignedNote::parse(&go_note()).unwrap();
        // A witness line, a line with the same name but another key ID, and
        // one with the same key ID under another name.
        note.signatures.insert(0, witness.note_signature(GO_TEXT));
        note.signatures.push(NoteSignature {
            name: "PeterNeumann".into(),
            key_hint: [1, 2, 3, 4],
            signature: vec![7; 64],
        });
        note.signatures.push(NoteSignature {
            name: "Other".into(),
            key_hint: key.key_id(),
            signature: vec![7; 3],
        });
        let note = SignedNote::parse(&note.to_text()).unwrap();
        note.verify_ed25519("PeterNeumann", &key.public_key_bytes())
            .unwrap();
        note.verify_ed25519(witness.name(), &witness.public_key_bytes())
            .unwrap();
    }

    #[test]
    fn sign_ed25519_checks_the_text() {
        let key = peter_neumann();
        for bad in ["no newline", "", "tab\there\n", "cr\r\n"] {
            assert!(
                matches!(
                    SignedNote::sign_ed25519(bad.into(), &key),
                    Err(NoteError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        // C2SP allows blank lines in the text: the split is at the last one.
        let poem = "Ognuno sta solo\n\ned è subito sera.\n";
        let note = SignedNote::sign_ed25519(poem.into(), &key).unwrap();
        let parsed = SignedNote::parse(&note.to_text()).unwrap();
        assert_eq!(parsed.text, poem);
        parsed
            .verify_ed25519("PeterNeumann", &key.public_key_bytes())
            .unwrap();
        assert_eq!(key.sign_note(poem), note.to_text());
    }

    #[test]
    fn malformed_vkeys_are_refused() {
        let good = format!("PeterNeumann+c74f20a3+{GO_VKEY}");
        parse_vkey(&good).unwrap();
        let mut wrong_type = STANDARD.decode(GO_VKEY).unwrap();
        wrong_type[0] = 0x04;
        let short = &STANDARD.decode(GO_VKEY).unwrap()[..32];
        for bad in [
            String::new(),
            "PeterNeumann".into(),
            "PeterNeumann+c74f20a3".into(),
            format!("+c74f20a3+{GO_VKEY}"),
            format!("Peter Neumann+c74f20a3+{GO_VKEY}"),
            // wrong, upper-case, short and long key IDs
            format!("PeterNeumann+c74f20a4+{GO_VKEY}"),
            format!("PeterNeumann+C74F20A3+{GO_VKEY}"),
            format!("PeterNeumann+c74f20a+{GO_VKEY}"),
            format!("PeterNeumann+c74f20a300+{GO_VKEY}"),
            format!("PeterNeumann+c74f20ag+{GO_VKEY}"),
            // the ID of another name
            format!("PeterNeumanN+c74f20a3+{GO_VKEY}"),
            // not base64, wrong type, wrong length, empty
            format!("PeterNeumann+c74f20a3+{GO_VKEY}!"),
            format!("PeterNeumann+c74f20a3+{}", STANDARD.encode(&wrong_type)),
            format!("PeterNeumann+c74f20a3+{}", STANDARD.encode(short)),
            format!("PeterNeumann+c74f20a3+{GO_VKEY}AAAA"),
            "PeterNeumann+c74f20a3+".into(),
        ] {
            assert!(
                matches!(
                    parse_vkey(&bad),
                    Err(NoteError::MalformedKey(_) | NoteError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ed25519ph_verifies_as_a_hashedrekord_key() {
        let key = Ed25519NoteKey::generate("log.example").unwrap();
        let message = b"genesis";
        let digest = Sha512::digest(message);
        let sig = key.sign_ed25519ph(&digest);
        let public = PublicKey::from_spki_der(&key.public_spki_der()).unwrap();
        public
            .verify_digest(HashAlgorithm::Sha512, &digest, &sig)
            .unwrap();
        // Ed25519ph is not pure Ed25519 over the message or the digest.
        assert!(public.verify(message, &sig).is_err());
        assert!(public.verify(&digest, &sig).is_err());
    }

    #[test]
    fn spki_der_is_the_rfc_8410_encoding() {
        let key = Ed25519NoteKey::generate("log.example").unwrap();
        assert_eq!(spki_der(&key.public_key_bytes()), key.public_spki_der());
    }
}
