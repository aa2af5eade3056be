//! The search-index keys of an entry (what Rekor's `POST
//! /api/v1/index/retrieve` matches, rekor `pkg/types/*/entry.go`
//! `IndexKeys`), normalised and bounded before anything is stored.
//!
//! Keys come partly from what a client chose: in-toto subject digests, and
//! SANs of a certificate it may have made itself. A database refuses some of
//! those (Postgres: NUL bytes in text, B-tree rows over ~2.7 KB), and one
//! entry could name hundreds of thousands of them. So every key is checked
//! here, and an entry with a key the log cannot index is refused with a
//! reason, before it reaches a batch it could fail.

use super::{invalid, EntryError};

/// Most search-index keys one entry may file. Real attestations name tens
/// of subjects; each key is one stored row.
pub const MAX_INDEX_KEYS: usize = 256;
/// Longest identity (certificate SAN) indexed, in bytes. Fulcio's longest
/// SANs (CI workflow URIs) are a few hundred bytes.
pub const MAX_IDENTITY_BYTES: usize = 1024;
/// Longest digest algorithm name in a `"<alg>:<hex>"` key.
const MAX_ALGORITHM_CHARS: usize = 32;
/// Longest hex digest of an algorithm this module does not know (512 bits).
const MAX_DIGEST_HEX: usize = 128;

/// Search-index keys of an entry. Everything is lower-cased, as Rekor's
/// index stores and queries it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexKeys {
    /// Lower-case `"<alg>:<hex>"` artifact (and, for DSSE, payload/envelope) hashes.
    pub hashes: Vec<String>,
    /// Lower-case hex SHA-256 of each canonical public key / certificate PEM
    /// (dsse and intoto also file it under `hashes` as `sha256:<hex>`, the
    /// key Rekor uses for those kinds).
    pub public_keys: Vec<String>,
    /// Email addresses and other identities from certificate SANs.
    pub identities: Vec<String>,
}

impl IndexKeys {
    /// Lower-cased and without repeats (first occurrence first), or the
    /// reason a key cannot be indexed.
    pub(super) fn normalized(self) -> Result<Self, EntryError> {
        let keys = Self {
            hashes: dedup_lowercase(self.hashes),
            public_keys: dedup_lowercase(self.public_keys),
            identities: dedup_lowercase(self.identities),
        };
        let total = keys.hashes.len() + keys.public_keys.len() + keys.identities.len();
        if total > MAX_INDEX_KEYS {
            return Err(invalid(
                "entry",
                format!("it would file {total} search-index keys; at most {MAX_INDEX_KEYS} are accepted"),
            ));
        }
        for hash in &keys.hashes {
            check_digest_key(hash)?;
        }
        for key in &keys.public_keys {
            if key.len() != 64 || !is_hex(key) {
                return Err(invalid("publicKey", format!("bad key hash {key:?}")));
            }
        }
        for identity in &keys.identities {
            check_identity(identity)?;
        }
        Ok(keys)
    }
}

fn dedup_lowercase(v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.into_iter()
        .map(|s| s.to_lowercase())
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// A `"<alg>:<hex>"` key: a short algorithm name, and a hex digest of the
/// algorithm's length (any even length up to 512 bits for others).
fn check_digest_key(key: &str) -> Result<(), EntryError> {
    let shown = || truncated(key);
    let Some((alg, digest)) = key.split_once(':') else {
        return Err(invalid(
            "digest",
            format!("{} is not <algorithm>:<hex>", shown()),
        ));
    };
    let alg_ok = !alg.is_empty()
        && alg.len() <= MAX_ALGORITHM_CHARS
        && alg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !alg_ok {
        return Err(invalid(
            "digest",
            format!("{} has an invalid algorithm name", shown()),
        ));
    }
    if !is_hex(digest) {
        return Err(invalid(
            "digest",
            format!("{} is not a hex digest", shown()),
        ));
    }
    let expected = match alg {
        "sha1" => Some(40),
        "sha224" | "sha512_224" => Some(56),
        "sha256" | "sha512_256" | "sha3_256" => Some(64),
        "sha384" | "sha3_384" => Some(96),
        "sha512" | "sha3_512" => Some(128),
        _ => None,
    };
    let length_ok = match expected {
        Some(len) => digest.len() == len,
        None => digest.len() % 2 == 0 && (2..=MAX_DIGEST_HEX).contains(&digest.len()),
    };
    if !length_ok {
        return Err(invalid(
            "digest",
            format!(
                "{} has {} hex digits, which is not a {alg} digest",
                shown(),
                digest.len()
            ),
        ));
    }
    Ok(())
}

/// An identity: at most [`MAX_IDENTITY_BYTES`], no control characters.
fn check_identity(identity: &str) -> Result<(), EntryError> {
    if identity.len() > MAX_IDENTITY_BYTES {
        return Err(invalid(
            "certificate",
            format!(
                "a subject alternative name of {} bytes is longer than the {MAX_IDENTITY_BYTES} the log indexes",
                identity.len()
            ),
        ));
    }
    if identity.chars().any(char::is_control) {
        return Err(invalid(
            "certificate",
            format!(
                "subject alternative name {} holds control characters",
                truncated(identity)
            ),
        ));
    }
    Ok(())
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `s` quoted for an error message, cut to 80 characters.
fn truncated(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    if cut.len() < s.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(hashes: &[&str], identities: &[&str]) -> IndexKeys {
        IndexKeys {
            hashes: hashes.iter().map(|s| s.to_string()).collect(),
            public_keys: vec![],
            identities: identities.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn reason(k: IndexKeys) -> String {
        k.normalized().unwrap_err().to_string()
    }

    #[test]
    fn keys_are_lower_cased_and_deduplicated() {
        let digest = "Ab".repeat(32);
        let upper = format!("SHA256:{digest}");
        let lower = format!("sha256:{}", digest.to_lowercase());
        let k = keys(
            &[&upper, &lower],
            &["Alice@Example.com", "alice@example.com"],
        )
        .normalized()
        .unwrap();
        assert_eq!(k.hashes, vec![lower]);
        assert_eq!(k.identities, vec!["alice@example.com"]);
    }

    #[test]
    fn digests_must_be_hex_of_their_algorithms_length() {
        let ok = [
            format!("sha256:{}", "0".repeat(64)),
            format!("sha1:{}", "0".repeat(40)),
            format!("sha512:{}", "0".repeat(128)),
            format!("gitcommit:{}", "0".repeat(40)),
        ];
        for hash in &ok {
            keys(&[hash], &[]).normalized().unwrap();
        }
        for (hash, needle) in [
            (format!("sha256:{}", "0".repeat(63)), "63 hex digits"),
            (format!("sha256:{}\0", "0".repeat(63)), "not a hex digest"),
            (
                format!("sha256:{}", "0".repeat(3000)),
                "not a sha256 digest",
            ),
            (format!("weird:{}", "0".repeat(130)), "not a weird digest"),
            ("sha256".to_owned(), "not <algorithm>:<hex>"),
            (
                format!("sha 256:{}", "0".repeat(64)),
                "invalid algorithm name",
            ),
            (format!("{}:00", "a".repeat(33)), "invalid algorithm name"),
        ] {
            let m = reason(keys(&[&hash], &[]));
            assert!(m.contains(needle), "{hash:.80}: {m}");
            assert!(m.len() < 300, "the message quotes a bounded prefix: {m}");
        }
    }

    #[test]
    fn identities_are_bounded_and_printable() {
        keys(&[], &[&"a".repeat(MAX_IDENTITY_BYTES)])
            .normalized()
            .unwrap();
        let long = format!("https://{}", "a".repeat(4000));
        assert!(reason(keys(&[], &[&long])).contains("longer than the 1024"));
        assert!(reason(keys(&[], &["a\0b@example.com"])).contains("control characters"));
    }

    #[test]
    fn an_entry_files_a_bounded_number_of_keys() {
        let many: Vec<String> = (0..=MAX_INDEX_KEYS)
            .map(|i| format!("sha256:{i:064x}"))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let m = reason(keys(&refs, &[]));
        assert!(m.contains("257 search-index keys"), "{m}");
        keys(&refs[..MAX_INDEX_KEYS], &[]).normalized().unwrap();
    }
}
