//! RFC 6962 §4 CT log API (docs/ct-wire.md), audit side:
//! `get-sth-consistency` (§4.4), `get-proof-by-hash` (§4.5), `get-entries`
//! (§4.6) and `get-entry-and-proof` (§4.8), with ctfe's parameter rules
//! (certificate-transparency-go trillian/ctfe/handlers.go): bad or missing
//! parameters are 400 with a message; a leaf hash the tree of the asked size
//! does not hold, or a `tree_size` beyond the log's, is 404 with a message;
//! a consistency proof from `first=0` is empty; `get-entries` answers at
//! most [`MAX_GET_ENTRIES`] entries, fewer at the end of the tree.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use shared::merkle::Hash;

use super::error::ApiError;
use super::AppState;
use crate::sequencer::ct_leaf_key;

/// Most entries one `get-entries` answers. Clients page on: RFC 6962 lets a
/// log return fewer than asked for. 256 is one full tile of leaves.
pub(crate) const MAX_GET_ENTRIES: u64 = 256;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/ct/v1/get-sth-consistency", get(get_sth_consistency))
        .route("/ct/v1/get-proof-by-hash", get(get_proof_by_hash))
        .route("/ct/v1/get-entries", get(get_entries))
        .route("/ct/v1/get-entry-and-proof", get(get_entry_and_proof))
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// §4.4 response: base64 node hashes.
#[derive(serde::Serialize)]
struct ConsistencyResponse {
    consistency: Vec<String>,
}

/// §4.5 response.
#[derive(serde::Serialize)]
struct ProofByHashResponse {
    leaf_index: u64,
    audit_path: Vec<String>,
}

/// §4.6 response.
#[derive(serde::Serialize)]
struct GetEntriesResponse {
    entries: Vec<LeafEntry>,
}

/// §4.8 response.
#[derive(serde::Serialize)]
struct EntryAndProofResponse {
    /// Base64 TLS `MerkleTreeLeaf`.
    leaf_input: String,
    /// Base64 TLS chain, as in `get-entries`.
    extra_data: String,
    audit_path: Vec<String>,
}

#[derive(serde::Serialize)]
struct LeafEntry {
    /// Base64 TLS `MerkleTreeLeaf`.
    leaf_input: String,
    /// Base64 TLS chain (`certificate_chain` or `PrecertChainEntry`).
    extra_data: String,
}

/// `GET /ct/v1/get-sth-consistency?first=&second=`.
async fn get_sth_consistency(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<ConsistencyResponse>, ApiError> {
    let params = query(params)?;
    let first = required_u64(&params, "first")?;
    let second = required_u64(&params, "second")?;
    if second < first {
        return Err(ApiError::BadRequest(format!(
            "first ({first}) must not be larger than second ({second})"
        )));
    }
    let size = state.ct.tree.head().size;
    if second > size {
        return Err(ApiError::BadRequest(format!(
            "second ({second}) is larger than the tree size ({size})"
        )));
    }
    // Every tree extends the empty one, and a tree itself: nothing to prove.
    let hashes = if first == 0 || first == second {
        Vec::new()
    } else {
        state.ct.tree.consistency_proof(first, second).await?
    };
    Ok(Json(ConsistencyResponse {
        consistency: base64_hashes(&hashes),
    }))
}

/// `GET /ct/v1/get-proof-by-hash?hash=<base64 leaf hash>&tree_size=`.
async fn get_proof_by_hash(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<ProofByHashResponse>, ApiError> {
    let params = query(params)?;
    let raw = params
        .get("hash")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::BadRequest("parameter 'hash' is required".into()))?;
    // An unescaped '+' arrives as a space after form decoding; a space is
    // never base64, so this only rescues sloppy clients.
    let leaf = B64
        .decode(raw.replace(' ', "+"))
        .ok()
        .and_then(|b| Hash::from_slice(&b).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "parameter 'hash' must be a base64 SHA-256 leaf hash, got {raw:?}"
            ))
        })?;
    let tree_size = required_u64(&params, "tree_size")?;
    if tree_size == 0 {
        return Err(ApiError::BadRequest(
            "parameter 'tree_size' must be greater than zero".into(),
        ));
    }
    // ctfe: a tree the log has not reached yet holds no such leaf: 404.
    check_tree_size(tree_size, state.ct.tree.head().size)?;
    let tree = state.ct.tree.id();
    let index = state
        .store
        .search(tree, &ct_leaf_key(&leaf))
        .await?
        .into_iter()
        .next()
        .filter(|i| *i < tree_size)
        .ok_or_else(|| {
            ApiError::Missing(format!(
                "no leaf with this hash in the tree of size {tree_size}"
            ))
        })?;
    let proof = state.ct.tree.inclusion_proof(index, tree_size).await?;
    Ok(Json(ProofByHashResponse {
        leaf_index: index,
        audit_path: base64_hashes(&proof),
    }))
}

/// `GET /ct/v1/get-entry-and-proof?leaf_index=&tree_size=` (§4.8): one
/// entry with its audit path in the tree of `tree_size`.
async fn get_entry_and_proof(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<EntryAndProofResponse>, ApiError> {
    let params = query(params)?;
    let leaf_index = required_u64(&params, "leaf_index")?;
    let tree_size = required_u64(&params, "tree_size")?;
    if leaf_index >= tree_size {
        return Err(ApiError::BadRequest(format!(
            "leaf_index ({leaf_index}) must be less than tree_size ({tree_size})"
        )));
    }
    check_tree_size(tree_size, state.ct.tree.head().size)?;
    let tree = state.ct.tree.id();
    let row = state
        .store
        .entries_in_range(tree, leaf_index, leaf_index + 1)
        .await?
        .into_iter()
        .next()
        .filter(|r| r.entry.index == leaf_index)
        .ok_or_else(|| ApiError::Internal(format!("committed CT entry {leaf_index} is missing")))?;
    let proof = state.ct.tree.inclusion_proof(leaf_index, tree_size).await?;
    Ok(Json(EntryAndProofResponse {
        leaf_input: B64.encode(&row.entry.body),
        extra_data: B64.encode(&row.extra_data),
        audit_path: base64_hashes(&proof),
    }))
}

/// A proof needs a tree the log has reached; a larger one is ctfe's 404.
fn check_tree_size(tree_size: u64, size: u64) -> Result<(), ApiError> {
    if tree_size > size {
        return Err(ApiError::Missing(format!(
            "tree_size ({tree_size}) is larger than the current tree size ({size})"
        )));
    }
    Ok(())
}

/// `GET /ct/v1/get-entries?start=&end=` (both inclusive).
async fn get_entries(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<GetEntriesResponse>, ApiError> {
    let params = query(params)?;
    let start = required_u64(&params, "start")?;
    let end = required_u64(&params, "end")?;
    if start > end {
        return Err(ApiError::BadRequest(format!(
            "start ({start}) and end ({end}) is not a valid range"
        )));
    }
    let size = state.ct.tree.head().size;
    if start >= size {
        return Err(ApiError::BadRequest(format!(
            "start ({start}) is beyond the tree size ({size})"
        )));
    }
    // Exclusive bound, capped by the page size and the committed tree.
    let stop = end.saturating_add(1).min(start + MAX_GET_ENTRIES).min(size);
    let rows = state
        .store
        .entries_in_range(state.ct.tree.id(), start, stop)
        .await?;
    if rows
        .iter()
        .enumerate()
        .any(|(i, r)| r.entry.index != start + i as u64)
        || rows.len() as u64 != stop - start
    {
        return Err(ApiError::Internal(format!(
            "store returned a gapped range for {start}..{stop}"
        )));
    }
    Ok(Json(GetEntriesResponse {
        entries: rows
            .iter()
            .map(|r| LeafEntry {
                leaf_input: B64.encode(&r.entry.body),
                extra_data: B64.encode(&r.extra_data),
            })
            .collect(),
    }))
}

fn query(params: Params) -> Result<HashMap<String, String>, ApiError> {
    params
        .map(|Query(q)| q)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// A required non-negative integer parameter.
fn required_u64(params: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    let raw = params
        .get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("parameter '{name}' is required")))?;
    raw.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "parameter '{name}' must be a non-negative integer, got {raw:?}"
        ))
    })
}

fn base64_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h.0)).collect()
}
