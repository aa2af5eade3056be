//! Rekor v1 wire types and the signed entry timestamp (docs/rekor-wire.md §1, §3):
//! entry UUIDs and 80-hex entry IDs, the LogEntry response, log info,
//! consistency proofs, and the SET payload.

use crate::jcs;
use crate::keys::LogId;
use crate::merkle::Hash;

/// The JCS bytes the log signs as a SET:
/// `{"body":"<b64>","integratedTime":N,"logID":"<hex>","logIndex":N}`.
///
/// Written directly rather than through a `Value`: the members are already in
/// RFC 8785 order, and integers print exactly as JCS prints them up to 2^53
/// (no log comes near that; past it they stay exact instead of rounding).
pub fn set_payload(
    body_b64: &str,
    integrated_time: i64,
    log_id: &LogId,
    log_index: u64,
) -> Vec<u8> {
    format!(
        "{{\"body\":{},\"integratedTime\":{integrated_time},\"logID\":{},\"logIndex\":{log_index}}}",
        jcs::quote(body_b64),
        jcs::quote(&log_id.to_hex()),
    )
    .into_bytes()
}

/// A reference to an entry: a 64-hex UUID (leaf hash) or an 80-hex entry ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryRef {
    Uuid(Hash),
    EntryId { tree_id: i64, leaf: Hash },
}

impl EntryRef {
    /// Parses 64 or 80 hex digits; anything else is an error saying so.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(bad) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!(
                "invalid entry UUID {s:?}: {bad:?} is not a hex digit (expected a 64-hex UUID or an 80-hex entry ID)"
            ));
        }
        match s.len() {
            64 => Ok(Self::Uuid(parse_leaf(s)?)),
            80 => {
                let (tree, leaf) = s.split_at(16);
                let tree_id = i64::from_str_radix(tree, 16).map_err(|_| {
                    format!("invalid entry ID {s:?}: tree ID {tree} is out of range")
                })?;
                Ok(Self::EntryId {
                    tree_id,
                    leaf: parse_leaf(leaf)?,
                })
            }
            n => Err(format!(
                "invalid entry UUID {s:?}: {n} hex digits (expected a 64-hex UUID or an 80-hex entry ID)"
            )),
        }
    }

    pub fn leaf(&self) -> Hash {
        match self {
            Self::Uuid(leaf) | Self::EntryId { leaf, .. } => *leaf,
        }
    }
}

fn parse_leaf(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|e| format!("invalid entry UUID {s:?}: {e}"))
}

/// `%016x(treeID) ‖ hex(leaf)`.
pub fn entry_id(tree_id: i64, leaf: &Hash) -> String {
    format!("{tree_id:016x}{}", leaf.to_hex())
}

/// `verification.inclusionProof`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    pub checkpoint: String,
    pub hashes: Vec<String>,
    pub log_index: u64,
    pub root_hash: String,
    pub tree_size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub inclusion_proof: InclusionProof,
    pub signed_entry_timestamp: String,
}

/// The value of the one-key LogEntry object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogEntryValue {
    pub body: String,
    #[serde(rename = "integratedTime")]
    pub integrated_time: i64,
    #[serde(rename = "logID")]
    pub log_id: String,
    #[serde(rename = "logIndex")]
    pub log_index: u64,
    pub verification: Verification,
}

/// `GET /api/v1/log` response.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogInfo {
    pub root_hash: String,
    pub tree_size: u64,
    pub signed_tree_head: String,
    #[serde(rename = "treeID")]
    pub tree_id: String,
    #[serde(default)]
    pub inactive_shards: Vec<serde_json::Value>,
}

/// `GET /api/v1/log/proof` response.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsistencyProof {
    pub root_hash: String,
    pub hashes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

    use super::*;
    use crate::keys::{EcdsaP256Signer, PublicKey};

    const LEAF: &str = "3a9f3bc5f8e6f2b1a9a5d7e4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4";

    #[test]
    fn set_payload_is_jcs() {
        let log_id = LogId([0xc0; 32]);
        let got = set_payload("eyJhIjoxfQ==", 1_700_000_000, &log_id, 12345);
        let want = jcs::canonicalize(&serde_json::json!({
            "logIndex": 12345,
            "logID": log_id.to_hex(),
            "integratedTime": 1_700_000_000,
            "body": "eyJhIjoxfQ==",
        }))
        .unwrap();
        assert_eq!(got, want);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            format!(
                r#"{{"body":"eyJhIjoxfQ==","integratedTime":1700000000,"logID":"{}","logIndex":12345}}"#,
                "c0".repeat(32)
            )
        );
    }

    /// A real SET from the public log (entry 5064958, whose body the entry
    /// tests also use) verifies over our payload with the public log key.
    #[test]
    fn real_set_verifies_over_our_payload() {
        let key = PublicKey::from_pem(crate::note::tests::REKOR_PUB.as_bytes()).unwrap();
        let log_id = LogId(key.log_id().0);
        let set = STANDARD
            .decode("MEUCIQCAgqPpAOAPL+L1+REoMwZ4WV8L4POTVGvYVkRE02mAVgIgW78DTbRmZp6My1BO1Yycvz8nkh13I7C1I1pkPkXjetU=")
            .unwrap();
        let body = crate::entry::tests::PUBLIC_LOG_BODY;
        let payload = set_payload(body, 1665713225, &log_id, 5064958);
        key.verify(&payload, &set).unwrap();
        // Any other index or time breaks it.
        assert!(key
            .verify(&set_payload(body, 1665713225, &log_id, 5064959), &set)
            .is_err());
        assert!(key
            .verify(&set_payload(body, 1665713226, &log_id, 5064958), &set)
            .is_err());
    }

    #[test]
    fn set_payload_signature_round_trip() {
        let signer = EcdsaP256Signer::generate();
        let body = STANDARD.encode(br#"{"apiVersion":"0.0.1"}"#);
        let payload = set_payload(&body, 1, &signer.log_id(), 0);
        let sig = signer.sign(&payload);
        let key: PublicKey = signer.public_key();
        key.verify(&payload, &sig).unwrap();
        assert!(key
            .verify(&set_payload(&body, 1, &signer.log_id(), 1), &sig)
            .is_err());
    }

    #[test]
    fn entry_refs() {
        let leaf = Hash::from_hex(LEAF).unwrap();
        assert_eq!(EntryRef::parse(LEAF), Ok(EntryRef::Uuid(leaf)));
        assert_eq!(
            EntryRef::parse(&LEAF.to_uppercase()),
            Ok(EntryRef::Uuid(leaf))
        );
        let id = entry_id(1193050959916656506, &leaf);
        assert_eq!(id, format!("108e9186e8c5677a{LEAF}"));
        assert_eq!(
            EntryRef::parse(&id),
            Ok(EntryRef::EntryId {
                tree_id: 1193050959916656506,
                leaf
            })
        );
        assert_eq!(EntryRef::parse(&id).unwrap().leaf(), leaf);
        assert_eq!(entry_id(1, &leaf), format!("0000000000000001{LEAF}"));

        for (bad, needle) in [
            ("", "0 hex digits"),
            (&LEAF[..63], "63 hex digits"),
            (&format!("{LEAF}00"), "66 hex digits"),
            (&format!("{LEAF}0"), "65 hex digits"),
            (&format!("ffffffffffffffff{LEAF}"), "out of range"),
            (&LEAF.replace('3', "g"), "'g' is not a hex digit"),
            (&format!(" {LEAF}"), "' ' is not a hex digit"),
        ] {
            let err = EntryRef::parse(bad).unwrap_err();
            assert!(err.contains(needle), "{bad:?}: {err}");
        }
    }
}
