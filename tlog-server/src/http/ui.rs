//! The log explorer at `/ui`: server-rendered HTML (maud, auto-escaped) that
//! works without JavaScript and loads nothing from elsewhere, in the spirit
//! of search.sigstore.dev, over the Rekor v1 tree.
//!
//! - `/ui`: size, the signed checkpoint, the latest entries and an SVG chart
//!   of entries per hour over the last day.
//! - `/ui/search?q=`: a log index, an entry UUID or 80-hex entry ID, an
//!   artifact hash (`sha256:<hex>` or bare hex), an email address or other
//!   SAN, or a public key's index hash (Rekor's `publicKey` search key).
//! - `/ui/entry/{index}`: the entry, its signers (SANs, OIDC issuer, every
//!   Sigstore certificate extension, validity), its inclusion proof checked
//!   here against the current checkpoint, and `/ui/entry/{index}/body.json`,
//!   the canonical body for download.
//!
//! Every query goes through the same bounded paths as the API: the search
//! index caps its answers ([`super::rekor_search::MAX_SEARCH_RESULTS`]) and
//! the pages read at most [`CHART_ENTRIES`] entries.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use shared::merkle::{leaf_hash, verify_inclusion, Hash};
use shared::rekor::EntryRef;

use super::error::ApiError;
use super::AppState;

mod pages;

/// Latest entries listed on the log page.
const RECENT: u64 = 20;
/// Entries read for the per-hour chart (the latest ones).
const CHART_ENTRIES: u64 = 2000;
/// Search hits shown (the latest ones).
const SHOWN_HITS: usize = 100;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(log_page))
        .route("/ui/search", get(search))
        .route("/ui/entry/{index}", get(entry_page))
        .route("/ui/entry/{index}/body.json", get(entry_body))
}

/// One row of an entry list.
pub(crate) struct EntryRow {
    pub(crate) index: u64,
    pub(crate) uuid: String,
    pub(crate) kind: String,
    pub(crate) time: String,
}

async fn log_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    let rekor = &state.rekor;
    let head = rekor.tree.head();
    let checkpoint = rekor.checkpoints.for_head(&head)?;
    let start = head.size.saturating_sub(CHART_ENTRIES);
    let entries = state
        .store
        .entries_in_range(rekor.tree.id(), start, head.size)
        .await?;
    let now_ms = unix_ms();
    let mut per_hour = [0u64; 24];
    for e in &entries {
        // Slot 23 is the current hour; older than a day is off the chart.
        let age_h = now_ms.saturating_sub(e.entry.timestamp_ms) / 3_600_000;
        if let Some(slot) = 23u64.checked_sub(age_h) {
            per_hour[slot as usize] += 1;
        }
    }
    let recent: Vec<EntryRow> = entries
        .iter()
        .rev()
        .take(RECENT as usize)
        .map(|e| row(&e.entry))
        .collect();
    Ok(page(pages::log(
        head.size,
        &head.root.to_hex(),
        &checkpoint,
        &recent,
        &per_hour,
    )))
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let q = query.q.trim();
    if q.is_empty() {
        return Ok(Redirect::to("/ui").into_response());
    }
    let rekor = &state.rekor;
    let tree = rekor.tree.id();
    if let Ok(index) = q.parse::<u64>() {
        return Ok(Redirect::to(&format!("/ui/entry/{index}")).into_response());
    }
    let mut hits: BTreeSet<u64> = BTreeSet::new();
    let lower = q.to_ascii_lowercase();
    // An entry UUID (64 hex) or entry ID (80 hex).
    if let Ok(reference) = EntryRef::parse(&lower) {
        let found = state
            .store
            .entries_by_identity(tree, &[reference.leaf()])
            .await?;
        hits.extend(found.iter().map(|e| e.index));
    }
    for key in search_keys(q) {
        hits.extend(state.store.search(tree, &key).await?);
    }
    let total = hits.len();
    let mut rows = Vec::new();
    for index in hits.into_iter().rev().take(SHOWN_HITS) {
        if let Some(entry) = rekor.tree.entry_by_index(index).await? {
            rows.push(row(&entry));
        }
    }
    Ok(page(pages::search(q, total, &rows)))
}

/// The search-index keys a query may mean (the index stores them
/// lower-case): an artifact hash as the API's `hash` search reads it, and
/// the text itself (an email address or other SAN, or a key's index hash).
fn search_keys(q: &str) -> Vec<String> {
    let lower = q.to_ascii_lowercase();
    let mut keys: Vec<String> = super::rekor_search::hash_key(&lower)
        .ok()
        .into_iter()
        .collect();
    if !keys.contains(&lower) {
        keys.push(lower);
    }
    keys
}

async fn entry_page(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<Response, ApiError> {
    let index: u64 = index
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{index:?} is not a log index")))?;
    let rekor = &state.rekor;
    let Some(signed) = rekor.signed_at(index).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            Html(pages::not_found(index).into_string()),
        )
            .into_response());
    };
    let body = B64
        .decode(&signed.body_b64)
        .map_err(|e| ApiError::Internal(format!("stored body: {e}")))?;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let signers = shared::entry::signers::signers(&json);
    let head = rekor.tree.head();
    let proof = rekor
        .tree
        .inclusion_proof(index, head.size)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let verified =
        verify_inclusion(&leaf_hash(&body), index, head.size, &proof, &head.root).is_ok();
    let entry = pages::Entry {
        index,
        uuid: signed.leaf.to_hex(),
        entry_id: signed.entry_id.clone(),
        kind: kind_of(&json),
        time: rfc3339(signed.integrated_time.saturating_mul(1000).max(0) as u64),
        signers: &signers,
        tree_size: head.size,
        root: head.root.to_hex(),
        proof: proof.iter().map(Hash::to_hex).collect(),
        verified,
        body: serde_json::to_string_pretty(&json).unwrap_or_default(),
    };
    Ok(page(pages::entry(&entry)))
}

async fn entry_body(
    State(state): State<AppState>,
    Path(index): Path<u64>,
) -> Result<Response, ApiError> {
    let signed = state
        .rekor
        .signed_at(index)
        .await?
        .ok_or(ApiError::NotFound)?;
    let body = B64
        .decode(&signed.body_b64)
        .map_err(|e| ApiError::Internal(format!("stored body: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"entry-{index}.json\""),
            ),
        ],
        body,
    )
        .into_response())
}

fn page(markup: maud::Markup) -> Response {
    Html(markup.into_string()).into_response()
}

fn row(entry: &crate::store::StoredEntry) -> EntryRow {
    let json: serde_json::Value = serde_json::from_slice(&entry.body).unwrap_or_default();
    EntryRow {
        index: entry.index,
        uuid: entry.identity.to_hex(),
        kind: kind_of(&json),
        time: rfc3339(entry.timestamp_ms),
    }
}

fn kind_of(body: &serde_json::Value) -> String {
    match (body["kind"].as_str(), body["apiVersion"].as_str()) {
        (Some(kind), Some(version)) => format!("{kind} {version}"),
        _ => "unknown".to_owned(),
    }
}

fn rfc3339(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_map_to_the_index_keys_rekor_files() {
        let digest = "AB".repeat(32);
        assert_eq!(
            search_keys(&digest),
            vec![
                format!("sha256:{}", digest.to_lowercase()),
                digest.to_lowercase()
            ]
        );
        assert_eq!(search_keys("sha512:ABCD"), vec!["sha512:abcd".to_owned()]);
        assert_eq!(
            search_keys("Alice@Example.com"),
            vec!["alice@example.com".to_owned()]
        );
        assert_eq!(
            search_keys("https://ci.example.com/p/7"),
            vec!["https://ci.example.com/p/7".to_owned()]
        );
    }
}
