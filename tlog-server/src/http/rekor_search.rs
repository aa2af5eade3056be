//! Rekor v1 search (docs/rekor-wire.md §1; rekor pkg/api/entries.go
//! `SearchLogQueryHandler` and pkg/api/index.go `SearchIndexHandler`):
//!
//! * `POST /api/v1/log/entries/retrieve`: up to [`MAX_RETRIEVE`] entry UUIDs,
//!   log indexes and proposed entries in total (422 beyond); answers the
//!   LogEntry maps found, in request order (UUIDs, then entries, then
//!   indexes), misses omitted. A proposed entry is verified and
//!   canonicalised exactly as on submission and looked up by its leaf hash.
//! * `POST /api/v1/index/retrieve`: entries by artifact `hash`, `publicKey`,
//!   `email` or `subject`, combined with `operator` `or` (default) or `and`;
//!   answers 80-hex entry IDs in log order, at most [`MAX_SEARCH_RESULTS`]
//!   (the most recent hits). The index rows are committed in
//!   the same transaction as their entries, so a search right after a 201
//!   finds the entry (Rekor writes its index asynchronously).

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::value::RawValue;
use shared::entry::{canonicalize_proposed, public_key_index_key};
use shared::merkle::{Hash, NodeId};
use shared::rekor::{entry_id, EntryRef};

use super::error::ApiError;
use super::go_json::GoJson;
use super::rekor::LogEntry;
use super::{body_bytes, verify_pool, AppState, MAX_BODY_BYTES};
use crate::store::StoredEntry;

/// Rekor's `maxSearchQueries`: items a retrieve request may ask for in total.
pub(crate) const MAX_RETRIEVE: usize = 10;

/// Most entry IDs one `POST /api/v1/index/retrieve` answers: the most recent
/// (highest log index) hits, in log order. Rekor's index search has no
/// pagination either; without a cap, a key shared by many entries (a busy
/// signer's public key) would make one request read and return them all.
pub(crate) const MAX_SEARCH_RESULTS: usize = 1000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/log/entries/retrieve", post(retrieve))
        .route("/api/v1/index/retrieve", post(search_index))
}

/// Rekor's `SearchLogQuery`. Absent and `null` lists are empty.
#[derive(serde::Deserialize)]
struct SearchLogQuery {
    #[serde(default, rename = "entryUUIDs")]
    entry_uuids: Option<Vec<String>>,
    #[serde(default, rename = "logIndexes")]
    log_indexes: Option<Vec<i64>>,
    /// Kept as their bytes: each is parsed once, by the same bounded parser
    /// as a submission, never into a generic tree first.
    #[serde(default)]
    entries: Option<Vec<Box<RawValue>>>,
}

/// `POST /api/v1/log/entries/retrieve`.
async fn retrieve(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<GoJson<Vec<LogEntry>>, ApiError> {
    let body = body_bytes(body, MAX_BODY_BYTES)?;
    let query: SearchLogQuery = query_object(&body)?;
    let uuids = listed("entryUUIDs", query.entry_uuids)?;
    let indexes = listed("logIndexes", query.log_indexes)?;
    let proposed = listed("entries", query.entries)?;
    if uuids.len() + indexes.len() + proposed.len() > MAX_RETRIEVE {
        return Err(ApiError::Unprocessable(format!(
            "more than max allowed {MAX_RETRIEVE} entries in request"
        )));
    }

    // Parse everything before reading anything, so bad input costs no queries.
    let rekor = &state.rekor;
    let mut wanted: Vec<Hash> = Vec::with_capacity(uuids.len() + proposed.len());
    for id in &uuids {
        let reference = EntryRef::parse(id)
            .map_err(|e| ApiError::BadRequest(format!("invalid entryUUID {id:?}: {e}")))?;
        match reference {
            // Another tree's entry ID: this log has no inactive shards.
            EntryRef::EntryId { tree_id, .. } if tree_id != rekor.tree.id().get() => {}
            other => wanted.push(other.leaf()),
        }
    }
    // Verification is CPU work: off the async workers, one job per CPU.
    let leaves = verify_pool::run_costed(
        proposed,
        false,
        |proposed| retrieve_checks(proposed),
        |proposed| proposed_leaves(&proposed),
    )
    .await??;
    wanted.extend(leaves);
    let indexes = indexes
        .into_iter()
        .map(|i| {
            u64::try_from(i).map_err(|_| {
                ApiError::BadRequest(format!("logIndexes must be non-negative, got {i}"))
            })
        })
        .collect::<Result<Vec<u64>, _>>()?;

    let found: HashMap<Hash, StoredEntry> = state
        .store
        .entries_by_identity(rekor.tree.id(), &wanted)
        .await?
        .into_iter()
        .map(|e| (e.identity, e))
        .collect();
    let mut entries: Vec<_> = wanted
        .iter()
        .filter_map(|leaf| found.get(leaf).map(|e| rekor.signed_entry(e)))
        .collect();
    for index in indexes {
        entries.extend(rekor.signed_at(index).await?);
    }

    let mut out = Vec::with_capacity(entries.len());
    for signed in &entries {
        out.push(rekor.latest_log_entry(signed).await?);
    }
    Ok(GoJson(out))
}

/// A search body as `T`. It must be a JSON object: serde would also read a
/// struct from an array (`[]` as an empty query), which Rekor refuses.
fn query_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest(
            "malformed search query: the body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("malformed search query: {e}")))
}

/// A `SearchLogQuery` list: absent or `null` is empty; a list given empty is
/// Rekor's 422 (its schema's `minItems: 1`, which go-openapi enforces on
/// present lists only).
fn listed<T>(name: &str, list: Option<Vec<T>>) -> Result<Vec<T>, ApiError> {
    match list {
        Some(items) if items.is_empty() => Err(ApiError::Unprocessable(format!(
            "{name} in body should have at least 1 items"
        ))),
        other => Ok(other.unwrap_or_default()),
    }
}

/// Signature checks that verifying every proposed entry of a retrieve may take.
fn retrieve_checks(proposed: &[Box<RawValue>]) -> usize {
    proposed.iter().fold(0, |sum, entry| {
        sum.saturating_add(shared::entry::cost::proposed_entry_checks(
            entry.get().as_bytes(),
        ))
    })
}

/// The leaf hashes of proposed entries, verified and canonicalised exactly
/// as on submission (blocking: run it on the verification pool).
fn proposed_leaves(proposed: &[Box<RawValue>]) -> Result<Vec<Hash>, ApiError> {
    proposed
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let canonical = canonicalize_proposed(entry.get().as_bytes())
                .map_err(|e| ApiError::BadRequest(format!("error processing entry {i}: {e}")))?;
            Ok(canonical.leaf_hash())
        })
        .collect()
}

/// Rekor's `SearchIndex`. Empty strings count as absent, as in Rekor.
#[derive(serde::Deserialize)]
struct SearchIndex {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default, rename = "publicKey")]
    public_key: Option<SearchPublicKey>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    operator: Option<String>,
}

#[derive(serde::Deserialize)]
struct SearchPublicKey {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// How the criteria's results combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    And,
    Or,
}

/// `POST /api/v1/index/retrieve`.
async fn search_index(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<GoJson<Vec<String>>, ApiError> {
    let body = body_bytes(body, MAX_BODY_BYTES)?;
    let query: SearchIndex = query_object(&body)?;
    let (keys, operator) = index_keys(&query)?;

    let tree = state.rekor.tree.id();
    let mut combined: Option<BTreeSet<u64>> = None;
    for key in &keys {
        let hits: BTreeSet<u64> = state.store.search(tree, key).await?.into_iter().collect();
        combined = Some(match (combined, operator) {
            (None, _) => hits,
            (Some(acc), Operator::Or) => acc.union(&hits).copied().collect(),
            (Some(acc), Operator::And) => acc.intersection(&hits).copied().collect(),
        });
    }

    let hits = most_recent(combined.unwrap_or_default());
    // A Rekor entry's identity is its leaf hash, which the tree's tiles hold:
    // one batched node read (a tile row per 256 hits at worst) instead of
    // one entry query per hit.
    let leaves: Vec<NodeId> = hits
        .iter()
        .map(|&index| NodeId { level: 0, index })
        .collect();
    let hashes = state.store.read_nodes(tree, &leaves).await?;
    Ok(GoJson(
        hashes
            .iter()
            .map(|leaf| entry_id(tree.get(), leaf))
            .collect(),
    ))
}

/// The last [`MAX_SEARCH_RESULTS`] of `hits`, in log order.
fn most_recent(hits: BTreeSet<u64>) -> Vec<u64> {
    let skip = hits.len().saturating_sub(MAX_SEARCH_RESULTS);
    hits.into_iter().skip(skip).collect()
}

/// The index keys a query asks for, lower-cased as the index stores them.
fn index_keys(query: &SearchIndex) -> Result<(Vec<String>, Operator), ApiError> {
    let present = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let operator = match query.operator.as_deref() {
        None | Some("") | Some("or") => Operator::Or,
        Some("and") => Operator::And,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "operator must be \"and\" or \"or\", got {other:?}"
            )))
        }
    };
    let mut keys = Vec::new();
    if let Some(hash) = present(&query.hash) {
        keys.push(hash_key(&hash)?);
    }
    if let Some(key) = &query.public_key {
        keys.push(public_key_key(key)?);
    }
    if let Some(email) = present(&query.email) {
        if !looks_like_email(&email) {
            return Err(ApiError::BadRequest(format!(
                "email {email:?} is not an email address"
            )));
        }
        keys.push(email.to_lowercase());
    }
    if let Some(subject) = present(&query.subject) {
        keys.push(subject.to_lowercase());
    }
    Ok((keys, operator))
}

/// `"<alg>:<hex>"` from a prefixed or bare hex digest; a bare one gets the
/// algorithm its length implies (Rekor's `util.PrefixSHA`). Rekor's schema
/// leaves out sha384, but its hashedrekord entries are indexed under it, so
/// it is accepted here too.
pub(super) fn hash_key(raw: &str) -> Result<String, ApiError> {
    let lower = raw.to_ascii_lowercase();
    let by_length = |len: usize| match len {
        40 => Some("sha1"),
        64 => Some("sha256"),
        96 => Some("sha384"),
        128 => Some("sha512"),
        _ => None,
    };
    let (algorithm, digest) = match lower.split_once(':') {
        Some((alg, digest)) => (alg, digest),
        None => (by_length(lower.len()).unwrap_or(""), lower.as_str()),
    };
    let expected = match algorithm {
        "sha1" => 40,
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(ApiError::BadRequest(format!(
                "hash {raw:?} is not a sha1, sha256, sha384 or sha512 hex digest"
            )))
        }
    };
    if digest.len() != expected || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(format!(
            "hash {raw:?}: a {algorithm} digest is {expected} hexadecimal digits"
        )));
    }
    Ok(format!("{algorithm}:{digest}"))
}

/// The hex SHA-256 of the key's canonical PEM. Only `x509` keys (PKIX
/// public keys, certificates and chains) can be in this log.
fn public_key_key(key: &SearchPublicKey) -> Result<String, ApiError> {
    match key.format.as_deref() {
        Some("x509") => {}
        Some("pgp" | "minisign" | "ssh" | "tuf") => {
            return Err(ApiError::BadRequest(
                "the PKI format requested is not supported by this server (only x509)".into(),
            ))
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "publicKey.format must be one of pgp, x509, minisign, ssh, tuf; got {other:?}"
            )))
        }
        None => return Err(ApiError::BadRequest("publicKey.format is required".into())),
    }
    let content = match (key.content.as_deref(), key.url.as_deref()) {
        (Some(c), _) if !c.is_empty() => c,
        (_, Some(u)) if !u.is_empty() => {
            return Err(ApiError::BadRequest(
                "publicKey.url is not supported; send publicKey.content".into(),
            ))
        }
        _ => return Err(ApiError::BadRequest("publicKey.content is required".into())),
    };
    let pem = B64
        .decode(content)
        .map_err(|e| ApiError::BadRequest(format!("publicKey.content is not base64: {e}")))?;
    public_key_index_key(&pem)
        .map_err(|e| ApiError::BadRequest(format!("public key provided could not be parsed: {e}")))
}

/// `local@domain` with nothing odd in it (Rekor validates `strfmt.Email`).
fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: ApiError) -> String {
        match e {
            ApiError::BadRequest(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hashes_are_prefixed_by_length_and_lower_cased() {
        let h256 = "AB".repeat(32);
        assert_eq!(
            hash_key(&h256).unwrap(),
            format!("sha256:{}", "ab".repeat(32))
        );
        assert_eq!(
            hash_key(&format!("SHA256:{h256}")).unwrap(),
            format!("sha256:{}", "ab".repeat(32))
        );
        assert_eq!(
            hash_key(&"0".repeat(40)).unwrap(),
            format!("sha1:{}", "0".repeat(40))
        );
        assert_eq!(
            hash_key(&format!("sha512:{}", "f".repeat(128))).unwrap(),
            format!("sha512:{}", "f".repeat(128))
        );
        assert_eq!(
            hash_key(&"1".repeat(96)).unwrap(),
            format!("sha384:{}", "1".repeat(96))
        );
        for bad in [
            "",
            "abc",
            "md5:00",
            &format!("sha256:{}", "0".repeat(40)),
            &format!("sha256:{}", "g".repeat(64)),
        ] {
            assert!(
                message(hash_key(bad).unwrap_err()).contains("hash"),
                "{bad}"
            );
        }
    }

    #[test]
    fn searches_answer_the_most_recent_hits_in_log_order() {
        let few: BTreeSet<u64> = [9, 3, 5].into();
        assert_eq!(most_recent(few), vec![3, 5, 9]);
        let many: BTreeSet<u64> = (0..2500).collect();
        let kept = most_recent(many);
        assert_eq!(kept.len(), MAX_SEARCH_RESULTS);
        assert_eq!(kept.first(), Some(&1500));
        assert_eq!(kept.last(), Some(&2499));
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn query_errors_say_what_is_wrong() {
        let q = |v: serde_json::Value| -> SearchIndex { serde_json::from_value(v).unwrap() };
        let err = |v| message(index_keys(&q(v)).unwrap_err());
        assert!(err(serde_json::json!({"operator": "xor"})).contains("operator"));
        assert!(err(serde_json::json!({"email": "nobody"})).contains("email"));
        assert!(
            err(serde_json::json!({"publicKey": {"format": "ssh", "content": "AA=="}}))
                .contains("not supported")
        );
        assert!(err(serde_json::json!({"publicKey": {"format": "X509"}})).contains("format"));
        assert!(err(serde_json::json!({"publicKey": {"format": "x509"}})).contains("content"));
        assert!(
            err(serde_json::json!({"publicKey": {"format": "x509", "content": "%%"}}))
                .contains("base64")
        );
        assert!(
            err(serde_json::json!({"publicKey": {"format": "x509", "content": "AAAA"}}))
                .contains("could not be parsed")
        );
        let (keys, op) = index_keys(&q(serde_json::json!({
            "email": "Dev@Example.COM", "subject": "", "operator": "and"
        })))
        .unwrap();
        assert_eq!(
            (keys, op),
            (vec!["dev@example.com".to_owned()], Operator::And)
        );
        let (keys, op) = index_keys(&q(serde_json::json!({}))).unwrap();
        assert_eq!((keys.len(), op), (0, Operator::Or));
    }
}
