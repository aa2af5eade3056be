//! Rekor v1 REST API (docs/rekor-wire.md §1, §3): create and fetch entries,
//! log info, the log's public key, consistency proofs. Every LogEntry is a
//! one-key object (80-hex entry ID) whose SET is signed once per entry and
//! process (kept in [`super::entry_cache`]) and whose inclusion proof is
//! against the latest committed checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use shared::entry::canonicalize_proposed;
use shared::merkle::Hash;
use shared::rekor::{
    entry_id, set_payload, ConsistencyProof, EntryRef, InclusionProof, LogEntryValue, LogInfo,
    Verification,
};

use super::entry_cache::SignedEntry;
use super::error::ApiError;
use super::go_json::GoJson;
use super::{body_bytes, verify_pool, AppState, RekorLog, MAX_ENTRY_BODY_BYTES};
use crate::store::{SignedHead, StoredEntry};

/// A Rekor `LogEntry`: `{"<80-hex entry ID>": {...}}`.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub(super) struct LogEntry(BTreeMap<String, LogEntryValue>);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/log/entries",
            // The only route past the default 1 MiB: entries can be large
            // attestations. This inner limit overrides the router-wide one.
            post(create_entry)
                .layer(DefaultBodyLimit::max(MAX_ENTRY_BODY_BYTES))
                .get(entry_by_index),
        )
        .route("/api/v1/log/entries/{id}", get(entry_by_id))
        .route("/api/v1/log", get(log_info))
        .route("/api/v1/log/publicKey", get(public_key))
        .route("/api/v1/log/proof", get(consistency_proof))
}

/// `POST /api/v1/log/entries`: 201 + ETag + Location, or 409 for a known entry.
async fn create_entry(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body, MAX_ENTRY_BODY_BYTES)?;
    let inline = verify_pool::verify_inline(&body, shared::entry::cost::proposed_entry_checks);
    let proposed = verify_pool::run_costed(
        body,
        inline,
        |body| shared::entry::cost::proposed_entry_checks(body),
        |body| canonicalize_proposed(&body),
    )
    .await?
    .map_err(|e| ApiError::BadRequest(format!("error processing entry: {e}")))?;
    let rekor = &state.rekor;
    let done = rekor
        .tree
        .submit(crate::genesis::rekor_submission(proposed))
        .await?;

    let id = entry_id(rekor.tree.id().get(), &done.entry.identity);
    let location = format!("{}/{id}", uri.path().trim_end_matches('/'));
    if done.duplicate {
        return Err(ApiError::Conflict {
            entry_id: id,
            location,
        });
    }
    let entry = rekor.log_entry(&done.entry, &done.head).await?;
    Ok((
        StatusCode::CREATED,
        [(header::ETAG, id), (header::LOCATION, location)],
        GoJson(entry),
    )
        .into_response())
}

/// `GET /api/v1/log/entries?logIndex=N`.
async fn entry_by_index(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<GoJson<LogEntry>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let raw = query
        .get("logIndex")
        .ok_or_else(|| ApiError::BadRequest("logIndex is required".into()))?;
    let index = parse_log_index(raw)?;
    let rekor = &state.rekor;
    let signed = rekor.signed_at(index).await?.ok_or(ApiError::NotFound)?;
    Ok(GoJson(rekor.latest_log_entry(&signed).await?))
}

/// `GET /api/v1/log/entries/{uuid or entry ID}`.
async fn entry_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<GoJson<LogEntry>, ApiError> {
    let reference = EntryRef::parse(&id).map_err(ApiError::BadRequest)?;
    let rekor = &state.rekor;
    if let EntryRef::EntryId { tree_id, .. } = reference {
        if tree_id != rekor.tree.id().get() {
            return Err(ApiError::NotFound);
        }
    }
    let signed = rekor
        .signed_with_leaf(reference.leaf())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(GoJson(rekor.latest_log_entry(&signed).await?))
}

/// `GET /api/v1/log`.
async fn log_info(State(state): State<AppState>) -> Result<GoJson<LogInfo>, ApiError> {
    let head = state.rekor.tree.head();
    Ok(GoJson(LogInfo {
        root_hash: head.root.to_hex(),
        tree_size: head.size,
        signed_tree_head: state.rekor.checkpoints.for_head(&head)?,
        tree_id: state.rekor.tree.id().to_string(),
        inactive_shards: vec![],
    }))
}

/// `GET /api/v1/log/publicKey[?treeID=]`: the PEM key.
async fn public_key(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    check_tree_id(&state.rekor, &query)?;
    Ok((
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.rekor.signer.public_pem(),
    )
        .into_response())
}

/// `GET /api/v1/log/proof?firstSize=&lastSize=`: the RFC 6962 consistency
/// proof; `rootHash` is the current root, as Rekor serves it.
async fn consistency_proof(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<GoJson<ConsistencyProof>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    check_tree_id(&state.rekor, &query)?;
    let first = query
        .get("firstSize")
        .map_or(Ok(1), |v| parse_u64("firstSize", v))?;
    let last = parse_u64(
        "lastSize",
        query
            .get("lastSize")
            .ok_or_else(|| ApiError::BadRequest("lastSize is required".into()))?,
    )?;
    let head = state.rekor.tree.head();
    if first == 0 {
        return Err(ApiError::BadRequest("firstSize must be at least 1".into()));
    }
    if first > last {
        return Err(ApiError::BadRequest(format!(
            "firstSize ({first}) must be <= lastSize ({last})"
        )));
    }
    if last > head.size {
        return Err(ApiError::BadRequest(format!(
            "lastSize ({last}) is larger than the tree size ({})",
            head.size
        )));
    }
    let hashes = state.rekor.tree.consistency_proof(first, last).await?;
    Ok(GoJson(ConsistencyProof {
        root_hash: head.root.to_hex(),
        hashes: hashes.iter().map(|h| h.to_hex()).collect(),
    }))
}

impl RekorLog {
    /// The LogEntry of `entry` with an inclusion proof against `head`.
    pub(super) async fn log_entry(
        &self,
        entry: &StoredEntry,
        head: &SignedHead,
    ) -> Result<LogEntry, ApiError> {
        self.render(&self.signed_entry(entry), head).await
    }

    /// The signed entry at `index`: cached, or read from the store and signed.
    pub(super) async fn signed_at(&self, index: u64) -> Result<Option<Arc<SignedEntry>>, ApiError> {
        if let Some(cached) = self.entries.at(index) {
            return Ok(Some(cached));
        }
        let entry = self.tree.entry_by_index(index).await?;
        Ok(entry.map(|e| self.signed_entry(&e)))
    }

    /// The signed entry whose leaf hash (UUID) is `leaf`: cached, or read
    /// from the store and signed.
    pub(super) async fn signed_with_leaf(
        &self,
        leaf: Hash,
    ) -> Result<Option<Arc<SignedEntry>>, ApiError> {
        if let Some(cached) = self.entries.with_leaf(&leaf) {
            return Ok(Some(cached));
        }
        let entry = self.tree.entry_by_identity(leaf).await?;
        Ok(entry.map(|e| self.signed_entry(&e)))
    }

    /// The LogEntry of a signed entry with its inclusion proof against the
    /// latest committed head (which covers it).
    pub(super) async fn latest_log_entry(
        &self,
        signed: &SignedEntry,
    ) -> Result<LogEntry, ApiError> {
        let head = self.tree.head_covering(signed.index).await?;
        self.render(signed, &head).await
    }

    /// The head-independent part of `entry`'s LogEntry: from the cache, or
    /// signed now (one SET signature per entry and process) and cached.
    pub(super) fn signed_entry(&self, entry: &StoredEntry) -> Arc<SignedEntry> {
        if let Some(cached) = self.entries.at(entry.index) {
            if cached.leaf == entry.identity {
                return cached;
            }
        }
        let body_b64 = B64.encode(&entry.body);
        // Seconds: the time is stored in ms, and ms / 1000 fits i64 for any real clock.
        let integrated_time = (entry.timestamp_ms / 1000) as i64;
        let set = self.signer.sign(&set_payload(
            &body_b64,
            integrated_time,
            &self.log_id,
            entry.index,
        ));
        let signed = Arc::new(SignedEntry {
            index: entry.index,
            leaf: entry.identity,
            entry_id: entry_id(self.tree.id().get(), &entry.identity),
            body_b64,
            integrated_time,
            set_b64: B64.encode(set),
        });
        self.entries.insert(signed.clone());
        signed
    }

    /// The LogEntry of a signed entry with an inclusion proof against `head`.
    pub(super) async fn render(
        &self,
        signed: &SignedEntry,
        head: &SignedHead,
    ) -> Result<LogEntry, ApiError> {
        let proof = self.tree.inclusion_proof(signed.index, head.size).await?;
        let value = LogEntryValue {
            body: signed.body_b64.clone(),
            integrated_time: signed.integrated_time,
            log_id: self.log_id.to_hex(),
            log_index: signed.index,
            verification: Verification {
                inclusion_proof: InclusionProof {
                    checkpoint: self.checkpoints.for_head(head)?,
                    hashes: proof.iter().map(|h| h.to_hex()).collect(),
                    log_index: signed.index,
                    root_hash: head.root.to_hex(),
                    tree_size: head.size,
                },
                signed_entry_timestamp: signed.set_b64.clone(),
            },
        };
        Ok(LogEntry(BTreeMap::from([(signed.entry_id.clone(), value)])))
    }
}

/// `treeID`, when given, must name this log (there are no inactive shards
/// yet); any other is a 400, as on Rekor. An empty one means the active
/// tree, as Rekor reads it (`conv.Value` of the parameter is "").
fn check_tree_id(rekor: &RekorLog, query: &HashMap<String, String>) -> Result<(), ApiError> {
    match query.get("treeID").filter(|raw| !raw.is_empty()) {
        None => Ok(()),
        Some(raw) => {
            let id: i64 = raw
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("treeID {raw:?} is not an integer")))?;
            // Rekor answers an unknown tree with 400 and a JSON message.
            if id == rekor.tree.id().get() {
                Ok(())
            } else {
                Err(ApiError::BadRequest(format!(
                    "treeID {id} is not a tree of this log"
                )))
            }
        }
    }
}

/// A `logIndex`: Rekor's API types it as an int64 with minimum 0, so
/// anything outside `0..=i64::MAX` is a 400 saying so, never a store query.
fn parse_log_index(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "logIndex must be an integer from 0 to {}, got {raw:?}",
                i64::MAX
            ))
        })
}

pub(super) fn parse_u64(name: &str, raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "{name} must be a non-negative integer, got {raw:?}"
        ))
    })
}
