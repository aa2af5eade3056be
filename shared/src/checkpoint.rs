//! C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) bodies with the
//! Rekor v1 origin convention `"<hostname> - <treeID>"` (docs/rekor-wire.md §3).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::merkle::Hash;

/// Checkpoint errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
}

/// The body of a checkpoint: origin, tree size, root hash (and no extension lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The Rekor v1 origin line for a tree.
    pub fn rekor_v1_origin(hostname: &str, tree_id: i64) -> String {
        format!("{hostname} - {tree_id}")
    }

    /// `"<origin>\n<size>\n<base64 root>\n"`.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root.0)
        )
    }

    /// Parses a checkpoint body (extension lines, if any, are ignored).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("does not end in a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("needs an origin, a size and a root hash line"));
        };
        if origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        if lines.any(str::is_empty) {
            return Err(malformed("empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
        })
    }
}

fn malformed(msg: &str) -> CheckpointError {
    CheckpointError::Malformed(msg.to_owned())
}

/// A plain decimal: digits only and no leading zeros, so that each size has
/// exactly one spelling.
fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return Err(CheckpointError::Malformed(format!(
            "tree size {s:?} is not a decimal number"
        )));
    }
    s.parse()
        .map_err(|_| CheckpointError::Malformed(format!("tree size {s} is too large")))
}

fn parse_root(s: &str) -> Result<Hash, CheckpointError> {
    let bytes = STANDARD
        .decode(s)
        .map_err(|e| CheckpointError::Malformed(format!("root hash is not base64: {e}")))?;
    Hash::from_slice(&bytes).map_err(|_| {
        CheckpointError::Malformed(format!("root hash is {} bytes, not 32", bytes.len()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{EcdsaP256Signer, PublicKey};
    use crate::note::tests::{REKOR_CHECKPOINT, REKOR_PUB};
    use crate::note::SignedNote;

    #[test]
    fn real_rekor_checkpoint_body() {
        let note = SignedNote::parse(REKOR_CHECKPOINT).unwrap();
        let cp = Checkpoint::parse(&note.text).unwrap();
        assert_eq!(cp.origin, "rekor.sigstore.dev - 1193050959916656506");
        assert_eq!(
            cp.origin,
            Checkpoint::rekor_v1_origin("rekor.sigstore.dev", 1193050959916656506)
        );
        assert_eq!(cp.size, 266676745);
        // GET /api/v1/log served this rootHash alongside the checkpoint.
        assert_eq!(
            cp.root.to_hex(),
            "dd984b288de629496979d43d86220c6c92232abdef4dcfae7958b2c56ab04060"
        );
        assert_eq!(cp.to_text(), note.text);
        note.verify_v1(
            "rekor.sigstore.dev",
            &PublicKey::from_pem(REKOR_PUB.as_bytes()).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn old_checkpoints_with_timestamp_extension_parse() {
        // Rekor emitted a "Timestamp: <ns>" line until Dec 2023.
        let text = "rekor.sigstore.dev - 2605736670972794746\n21428036\nrxnoKyFZlJ7/R6bMh/d3lcqwKqAy5CL1LcNBJP17kgQ=\nTimestamp: 1688058656037355364\n";
        let cp = Checkpoint::parse(text).unwrap();
        assert_eq!(cp.size, 21428036);
        assert_eq!(cp.origin, "rekor.sigstore.dev - 2605736670972794746");
        // The extension is dropped on output.
        assert!(!cp.to_text().contains("Timestamp"));
    }

    #[test]
    fn sign_and_parse_our_own() {
        let signer = EcdsaP256Signer::generate();
        let cp = Checkpoint {
            origin: Checkpoint::rekor_v1_origin("localhost", 7),
            size: 0,
            root: crate::merkle::empty_root(),
        };
        assert_eq!(
            cp.to_text(),
            "localhost - 7\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        let note = SignedNote::sign_ecdsa(cp.to_text(), "localhost", &signer).unwrap();
        let back = SignedNote::parse(&note.to_text()).unwrap();
        back.verify_v1("localhost", &signer.public_key()).unwrap();
        assert_eq!(Checkpoint::parse(&back.text).unwrap(), cp);
    }

    #[test]
    fn malformed_bodies() {
        let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        for bad in [
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            "o\n1\n".to_owned(),
            format!("o\n-1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nAAAA\n".to_owned(),
            "o\n1\nnot base64!\n".to_owned(),
            format!("o\n1\n{root}\n\n"),
        ] {
            assert!(
                matches!(Checkpoint::parse(&bad), Err(CheckpointError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            Checkpoint::parse(&format!("o\n18446744073709551615\n{root}\n"))
                .unwrap()
                .size,
            u64::MAX
        );
    }
}
