//! Pre-generated Rekor `hashedrekord` entries: v1 proposed entries
//! (docs/rekor-wire.md §2) or v2 `hashedRekordRequestV002` requests
//! (docs/rekor-v2.md §1). ECDSA P-256 keys, SHA-256 artifact digests, DER
//! signatures over the artifact. Every entry is unique (a random run nonce
//! and a counter are in the artifact), so a rerun against the same log gets
//! 201s, not 409s. Generated before the timed run, on every core, so the
//! load generator spends no signing CPU while it measures the server.

use axum::body::Bytes;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand_core::RngCore as _;
use sha2::{Digest as _, Sha256};
use shared::keys::EcdsaP256Signer;

/// Entries signed by one key before a fresh key is made: keys vary (like
/// real signers, and the public-key search index gets many keys) without
/// paying a key generation per entry.
const ENTRIES_PER_KEY: usize = 16;

/// Which Rekor API the entries are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Api {
    #[value(name = "v1")]
    V1,
    #[value(name = "v2")]
    V2,
}

impl Api {
    /// The path entries are posted to.
    pub fn entries_path(self) -> &'static str {
        match self {
            Self::V1 => "/api/v1/log/entries",
            Self::V2 => "/api/v2/log/entries",
        }
    }

    /// What the server does to a body before sequencing it.
    pub fn canonicalize(
        self,
        body: &[u8],
    ) -> Result<shared::entry::CanonicalEntry, shared::entry::EntryError> {
        match self {
            Self::V1 => shared::entry::canonicalize_proposed(body),
            Self::V2 => shared::entry::v2::canonicalize_v2_request(body),
        }
    }
}

/// `count` unique, validly signed proposed entries (POST bodies).
pub(crate) fn generate(count: usize) -> Vec<Bytes> {
    generate_for(Api::V1, count)
}

/// `count` unique, validly signed bodies for `api`.
pub(crate) fn generate_for(api: Api, count: usize) -> Vec<Bytes> {
    let nonce = rand_core::OsRng.next_u64();
    let threads = super::cores().min(count.max(1));
    let per_thread = count.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let start = t * per_thread;
                let end = (start + per_thread).min(count);
                s.spawn(move || (start..end).map(|i| one(api, nonce, i)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            // A generator thread only panics on a bug; propagate it.
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Entry `i` of the run `nonce`; entries `i` with the same `i / ENTRIES_PER_KEY`
/// share a key (derived per block, so threads need no shared state).
fn one(api: Api, nonce: u64, i: usize) -> Bytes {
    thread_local! {
        static KEY: std::cell::RefCell<Option<(usize, EcdsaP256Signer, String)>> =
            const { std::cell::RefCell::new(None) };
    }
    if api == Api::V2 {
        return one_v2(nonce, i);
    }
    let block = i / ENTRIES_PER_KEY;
    KEY.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(b, _, _)| *b != block) {
            let key = EcdsaP256Signer::generate();
            let pem = B64.encode(key.public_pem());
            *cell = Some((block, key, pem));
        }
        let Some((_, key, pem_b64)) = cell.as_ref() else {
            // Set just above.
            return Bytes::new();
        };
        let artifact = format!("sigil bench artifact {nonce:016x} {i}");
        let digest = hex::encode(Sha256::digest(artifact.as_bytes()));
        let sig = B64.encode(key.sign(artifact.as_bytes()));
        Bytes::from(format!(
            concat!(
                r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"#,
                r#""signature":{{"content":"{sig}","publicKey":{{"content":"{pem}"}}}},"#,
                r#""data":{{"hash":{{"algorithm":"sha256","value":"{digest}"}}}}}}}}"#
            ),
            sig = sig,
            pem = pem_b64,
            digest = digest
        ))
    })
}

/// A v2 request; a key per entry (v2 has no public-key index to fill).
fn one_v2(nonce: u64, i: usize) -> Bytes {
    let key = EcdsaP256Signer::generate();
    let artifact = format!("sigil bench v2 artifact {nonce:016x} {i}");
    let body = serde_json::json!({"hashedRekordRequestV002": {
        "digest": B64.encode(Sha256::digest(artifact.as_bytes())),
        "signature": {
            "content": B64.encode(key.sign(artifact.as_bytes())),
            "verifier": {
                "publicKey": {"rawBytes": B64.encode(key.public_spki_der())},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            },
        },
    }});
    Bytes::from(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_valid_and_unique() {
        let entries = generate(40);
        assert_eq!(entries.len(), 40);
        let mut leaves = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for e in &entries {
            let c = shared::entry::canonicalize_proposed(e).unwrap();
            assert!(leaves.insert(c.leaf_hash()), "duplicate entry");
            keys.insert(c.index.public_keys.clone());
        }
        assert!(
            keys.len() >= 3,
            "keys rotate every {ENTRIES_PER_KEY} entries"
        );
    }

    #[test]
    fn v2_requests_are_valid_and_unique() {
        let entries = generate_for(Api::V2, 12);
        let leaves: std::collections::HashSet<_> = entries
            .iter()
            .map(|e| Api::V2.canonicalize(e).unwrap().leaf_hash())
            .collect();
        assert_eq!(leaves.len(), 12);
        assert!(Api::V1.canonicalize(&entries[0]).is_err());
    }
}
