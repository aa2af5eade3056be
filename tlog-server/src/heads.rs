//! Signed tree heads, one flavour per log personality:
//! * Rekor v1: a C2SP signed-note checkpoint with origin
//!   `"<hostname> - <treeID>"`, signed under the key name `<hostname>` with
//!   the v1 key hint (docs/rekor-wire.md §3);
//! * Rekor v2: a C2SP tlog-checkpoint whose origin and key name are the
//!   log's scheme-less URL, signed with Ed25519 (docs/rekor-v2.md §3);
//! * CT: the RFC 6962 §3.5 `TreeHeadSignature`, TLS `DigitallySigned`.
//!
//! The sequencer signs one head per committed batch and stores it with the
//! batch; readers serve the stored bytes while they are current (signed by
//! the key the log now runs with and, for CT, recent enough): see
//! `http::CheckpointCache` and `http::sth`.

use shared::checkpoint::Checkpoint;
use shared::keys::EcdsaP256Signer;
use shared::merkle::Hash;
use shared::note::SignedNote;

use crate::store::TreeId;

/// Signs the head of one tree.
pub(crate) trait HeadSigner: Send + Sync + 'static {
    /// The personality-specific signed bytes for a tree of `size` leaves with `root` at `timestamp_ms`.
    fn sign_head(&self, size: u64, root: &Hash, timestamp_ms: u64) -> Result<Vec<u8>, HeadError>;
}

/// A head could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("signing the tree head: {0}")]
pub(crate) struct HeadError(String);

/// Rekor v1 checkpoints.
pub(crate) struct RekorCheckpointSigner {
    pub(crate) hostname: String,
    pub(crate) tree_id: TreeId,
    pub(crate) signer: EcdsaP256Signer,
}

impl HeadSigner for RekorCheckpointSigner {
    fn sign_head(&self, size: u64, root: &Hash, _timestamp_ms: u64) -> Result<Vec<u8>, HeadError> {
        // The v1 note carries no timestamp line since rekor#1888.
        let body = Checkpoint {
            origin: Checkpoint::rekor_v1_origin(&self.hostname, self.tree_id.get()),
            size,
            root: *root,
        };
        let note = SignedNote::sign_ecdsa(body.to_text(), &self.hostname, &self.signer)
            .map_err(|e| HeadError(e.to_string()))?;
        Ok(note.to_text().into_bytes())
    }
}

/// Rekor v2 checkpoints: origin = key name = the log's URL without scheme.
pub(crate) struct RekorV2CheckpointSigner {
    pub(crate) key: shared::note::CheckpointKey,
}

impl HeadSigner for RekorV2CheckpointSigner {
    fn sign_head(&self, size: u64, root: &Hash, _timestamp_ms: u64) -> Result<Vec<u8>, HeadError> {
        let body = Checkpoint {
            origin: self.key.name().to_owned(),
            size,
            root: *root,
        };
        self.key
            .sign_note(&body.to_text())
            .map(String::into_bytes)
            .map_err(|e| HeadError(e.to_string()))
    }
}

/// RFC 6962 signed tree heads.
pub(crate) struct CtSthSigner {
    pub(crate) signer: EcdsaP256Signer,
}

impl HeadSigner for CtSthSigner {
    fn sign_head(&self, size: u64, root: &Hash, timestamp_ms: u64) -> Result<Vec<u8>, HeadError> {
        let input = tree_head_signature_input(timestamp_ms, size, root);
        Ok(digitally_signed_ecdsa_sha256(&self.signer.sign(&input)))
    }
}

/// RFC 6962 §3.5 `TreeHeadSignature`: version v1 (0), signature_type
/// tree_hash (1), u64 timestamp, u64 tree_size, the 32-byte root.
pub(crate) fn tree_head_signature_input(timestamp_ms: u64, size: u64, root: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + 8 + 8 + 32);
    out.push(0);
    out.push(1);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&root.0);
    out
}

/// RFC 5246 §4.7 `DigitallySigned` with hash sha256 (4) and signature ecdsa
/// (3): the two algorithm bytes, a u16 length, the DER signature.
pub(crate) fn digitally_signed_ecdsa_sha256(der_signature: &[u8]) -> Vec<u8> {
    // A DER P-256 signature is at most 72 bytes, so the u16 cannot overflow.
    let len = der_signature.len() as u16;
    let mut out = Vec::with_capacity(4 + der_signature.len());
    out.extend_from_slice(&[4, 3]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(der_signature);
    out
}

/// Splits a `DigitallySigned` back into its DER signature (checks the
/// algorithms and length); `None` for anything else.
pub(crate) fn parse_digitally_signed_ecdsa_sha256(bytes: &[u8]) -> Option<&[u8]> {
    let (head, sig) = bytes.split_at_checked(4)?;
    (head[..2] == [4, 3] && usize::from(u16::from_be_bytes([head[2], head[3]])) == sig.len())
        .then_some(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_head_signature_layout() {
        let root = Hash([0xab; 32]);
        let input = tree_head_signature_input(0x0102030405060708, 9, &root);
        assert_eq!(input.len(), 50);
        assert_eq!(&input[..2], &[0, 1]);
        assert_eq!(&input[2..10], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&input[10..18], &9u64.to_be_bytes());
        assert_eq!(&input[18..], &root.0);
    }

    #[test]
    fn digitally_signed_round_trip() {
        let ds = digitally_signed_ecdsa_sha256(&[9, 8, 7]);
        assert_eq!(ds, vec![4, 3, 0, 3, 9, 8, 7]);
        assert_eq!(
            parse_digitally_signed_ecdsa_sha256(&ds),
            Some(&[9u8, 8, 7][..])
        );
        assert_eq!(parse_digitally_signed_ecdsa_sha256(&[4, 3, 0, 4, 1]), None);
    }

    #[test]
    fn sth_signature_verifies_with_the_log_key() {
        let signer = EcdsaP256Signer::generate();
        let root = Hash([7; 32]);
        let signed = CtSthSigner {
            signer: signer.clone(),
        }
        .sign_head(3, &root, 1234)
        .unwrap();
        let sig = parse_digitally_signed_ecdsa_sha256(&signed).unwrap();
        let key = signer.public_key();
        key.verify(&tree_head_signature_input(1234, 3, &root), sig)
            .unwrap();
        assert!(key
            .verify(&tree_head_signature_input(1235, 3, &root), sig)
            .is_err());
    }

    #[test]
    fn rekor_checkpoint_is_a_signed_note_by_the_hostname() {
        let signer = EcdsaP256Signer::generate();
        let tree_id = TreeId::new(42).unwrap();
        let root = Hash([1; 32]);
        let s = RekorCheckpointSigner {
            hostname: "localhost".into(),
            tree_id,
            signer: signer.clone(),
        };
        let text = String::from_utf8(s.sign_head(5, &root, 0).unwrap()).unwrap();
        assert!(text.starts_with("localhost - 42\n5\n"), "{text}");
        let note = SignedNote::parse(&text).unwrap();
        assert_eq!(note.signatures.len(), 1);
        assert_eq!(note.signatures[0].key_hint, signer.log_id().key_hint());
        note.verify_v1("localhost", &signer.public_key()).unwrap();
        let cp = Checkpoint::parse(&note.text).unwrap();
        assert_eq!(
            (cp.size, cp.root, cp.origin.as_str()),
            (5, root, "localhost - 42")
        );
    }
}
