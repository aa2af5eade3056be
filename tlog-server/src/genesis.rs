//! The genesis entry that opens every Rekor tree Sigil creates.
//!
//! Protobuf-JSON leaves out fields that hold their default value, so a
//! bundle whose transparency-log entry sits at `logIndex` 0 carries no
//! `logIndex` at all when sigstore-js writes it, and sigstore-python refuses
//! such a bundle (`tlogEntries.0.logIndex Field required`). On a public log
//! nobody meets this; on every new private log the first signature would.
//! So a new tree's first commit holds one entry of the log's own: a
//! `hashedrekord` 0.0.1 (Rekor's own kind, readable by every monitor) whose
//! key is the log's key and whose signed digest is SHA-256 of
//! [`statement`]. No submitted entry ever gets index 0, and an auditor can
//! check that entry 0 was made by the log key (README, "The first entry of
//! a log").

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use shared::keys::EcdsaP256Signer;
use shared::note::CheckpointKey;

use crate::sequencer::{LeafData, Submission};
use crate::store::TreeId;

/// The text whose SHA-256 the genesis entry signs.
pub(crate) fn statement(tree: TreeId, signer: &EcdsaP256Signer) -> String {
    format!(
        "Sigil transparency log genesis entry\nlog ID {}\ntree ID {tree}\n",
        signer.log_id().to_hex()
    )
}

/// The genesis submission of Rekor tree `tree`, signed by the log's key.
/// It goes through the same parser and canonicaliser as a client's entry,
/// so it is logged exactly as if a client had sent it.
pub(crate) fn rekor_genesis(
    tree: TreeId,
    signer: &EcdsaP256Signer,
) -> Result<Submission, shared::entry::EntryError> {
    let text = statement(tree, signer);
    let digest = Sha256::digest(text.as_bytes());
    // `sign` hashes with SHA-256 and signs, so the signature verifies over
    // `digest` as hashedrekord requires.
    let signature = signer.sign(text.as_bytes());
    let proposed = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": B64.encode(signature),
                "publicKey": {"content": B64.encode(signer.public_pem())},
            },
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
        },
    });
    let canonical = shared::entry::canonicalize_proposed(proposed.to_string().as_bytes())?;
    Ok(rekor_submission(canonical))
}

/// The genesis submission of Rekor v2 tree `tree`: a `hashedrekord` 0.0.2
/// signed by the log's own checkpoint key over [`statement_v2`]: an Ed25519
/// key signs as Ed25519ph over its SHA-512 (pure Ed25519 is not a
/// hashedrekord key type), a P-256 key as ECDSA over its SHA-256.
pub(crate) fn rekor_v2_genesis(
    tree: TreeId,
    key: &CheckpointKey,
) -> Result<Submission, shared::entry::EntryError> {
    use sha2::Sha512;
    let text = statement_v2(tree, key);
    let (digest, signature, key_details) = match key {
        CheckpointKey::Ed25519(key) => {
            let digest = Sha512::digest(text.as_bytes());
            let signature = key.sign_ed25519ph(&digest).to_vec();
            (digest.to_vec(), signature, "PKIX_ED25519_PH")
        }
        CheckpointKey::EcdsaP256 { signer, .. } => {
            // `sign` hashes with SHA-256 itself, so the signature verifies
            // over `digest` as hashedrekord requires.
            let digest = Sha256::digest(text.as_bytes());
            (
                digest.to_vec(),
                signer.sign(text.as_bytes()),
                "PKIX_ECDSA_P256_SHA_256",
            )
        }
    };
    let request = serde_json::json!({
        "hashedRekordRequestV002": {
            "digest": B64.encode(digest),
            "signature": {
                "content": B64.encode(signature),
                "verifier": {
                    "publicKey": {"rawBytes": B64.encode(key.public_spki_der())},
                    "keyDetails": key_details,
                },
            },
        },
    });
    let canonical = shared::entry::v2::canonicalize_v2_request(request.to_string().as_bytes())?;
    Ok(rekor_submission(canonical))
}

/// The text whose SHA-512 the v2 genesis entry signs.
pub(crate) fn statement_v2(tree: TreeId, key: &CheckpointKey) -> String {
    format!(
        "Sigil transparency log genesis entry\norigin {}\nkey hash {}\ntree ID {tree}\n",
        key.name(),
        hex::encode(key.key_hash())
    )
}

/// The submission that logs a canonical Rekor entry under its leaf hash and
/// every search-index key it yields.
pub(crate) fn rekor_submission(entry: shared::entry::CanonicalEntry) -> Submission {
    let identity = entry.leaf_hash();
    let index = entry.index;
    Submission {
        identity,
        data: LeafData::Raw(entry.body),
        index_keys: index
            .hashes
            .into_iter()
            .chain(index.public_keys)
            .chain(index.identities)
            .collect(),
        extra_data: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_a_hashedrekord_by_the_log_key_over_the_statement() {
        let signer = EcdsaP256Signer::generate();
        let tree = TreeId::new(42).unwrap();
        let submission = rekor_genesis(tree, &signer).unwrap();
        let LeafData::Raw(body) = &submission.data else {
            panic!("a Rekor entry is raw bytes")
        };
        let value: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(value["kind"], "hashedrekord");
        let digest = Sha256::digest(statement(tree, &signer).as_bytes());
        assert_eq!(
            value["spec"]["data"]["hash"]["value"],
            hex::encode(digest),
            "the signed digest is the statement's"
        );
        let pem = B64
            .decode(
                value["spec"]["signature"]["publicKey"]["content"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(String::from_utf8(pem).unwrap(), signer.public_pem());
        let sig = B64
            .decode(value["spec"]["signature"]["content"].as_str().unwrap())
            .unwrap();
        signer
            .public_key()
            .verify(statement(tree, &signer).as_bytes(), &sig)
            .unwrap();
        assert_eq!(submission.identity, shared::merkle::leaf_hash(body));
        assert!(
            submission
                .index_keys
                .contains(&format!("sha256:{}", hex::encode(digest))),
            "findable by its digest: {:?}",
            submission.index_keys
        );
    }

    #[test]
    fn the_v2_genesis_verifies_for_either_checkpoint_key_kind() {
        use shared::note::CheckpointAlgorithm;
        let tree = TreeId::new(7).unwrap();
        for (algorithm, details) in [
            (CheckpointAlgorithm::Ed25519, "PKIX_ED25519_PH"),
            (CheckpointAlgorithm::EcdsaP256, "PKIX_ECDSA_P256_SHA_256"),
        ] {
            let key = CheckpointKey::generate(algorithm, "log.example").unwrap();
            // Building the submission runs the v2 parser, which verifies
            // the signature over the digest.
            let submission = rekor_v2_genesis(tree, &key).unwrap();
            let LeafData::Raw(body) = &submission.data else {
                panic!("a Rekor entry is raw bytes")
            };
            let value: serde_json::Value = serde_json::from_slice(body).unwrap();
            let verifier = &value["spec"]["hashedRekordV002"]["signature"]["verifier"];
            assert_eq!(verifier["keyDetails"], details, "{algorithm:?}");
            assert_eq!(
                verifier["publicKey"]["rawBytes"],
                B64.encode(key.public_spki_der())
            );
        }
    }
}
