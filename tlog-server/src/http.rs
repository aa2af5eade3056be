//! The HTTP face of the log: the Rekor v1 API (docs/rekor-wire.md §1), the RFC
//! 6962 §4 CT API (docs/fulcio-wire.md §6), `/healthz`, `/readyz` and `/metrics`.
//! The Rekor v2 log adds its write API and the C2SP tlog-tiles read API.
//! Each API frames its bodies as its upstream Go server does: Rekor's JSON
//! ends in a newline ([`go_json`]), ctfe's errors are plain text
//! ([`ct::ctfe_error_framing`]).
//! One module per resource, each with `fn router()`, merged here with the
//! state applied and every request counted by [`health::track`].

pub(crate) mod body_budget;
mod ct;
mod ct_read;
pub(crate) mod entry_cache;
pub(crate) mod error;
mod go_json;
mod health;
mod rekor;
mod rekor_search;
mod rekor_v2;
pub(crate) mod served_tiles;
pub(crate) mod sth;
mod tiles;
mod ui;
mod verify_pool;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::DefaultBodyLimit;
use axum::{middleware, Router};
use shared::keys::{EcdsaP256Signer, LogId};

use crate::metrics::Metrics;
use crate::store::LogStore;
use crate::tree::LogTree;
use error::ApiError;

/// Largest request body accepted by default: CT chains, retrieve and
/// index searches. 1 MiB holds any certificate chain or search query while
/// bounding memory per request.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// Largest `POST /api/v1/log/entries` body. Rekor sets no default limit
/// (rekor#2808), and intoto entries carry large SBOM attestations twice
/// base64-encoded (DSSE, then Rekor's byte field), so 1 MiB turned real
/// ones away; 32 MiB holds them while still bounding memory per request.
/// A constant, not a setting: a configurable value would need a
/// `TlogConfig` field.
pub(crate) const MAX_ENTRY_BODY_BYTES: usize = 32 << 20;

/// Shared state of all handlers.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) rekor: Arc<RekorLog>,
    pub(crate) ct: Arc<CtLog>,
    /// The Rekor v2 log, when configured; its routes answer 404 otherwise.
    pub(crate) rekor_v2: Option<Arc<RekorV2Log>>,
    /// For reads no [`LogTree`] method covers (search, ranges, readiness).
    pub(crate) store: Arc<dyn LogStore>,
    pub(crate) metrics: Arc<Metrics>,
    /// Request bodies held at once ([`body_budget`]).
    pub(crate) body_budget: body_budget::BodyBudget,
}

/// The Rekor personality: its tree and key.
pub(crate) struct RekorLog {
    pub(crate) tree: LogTree,
    pub(crate) signer: EcdsaP256Signer,
    pub(crate) log_id: LogId,
    pub(crate) checkpoints: CheckpointCache,
    pub(crate) entries: entry_cache::EntryCache,
}

/// The checkpoint served for a head, signed under the *current* host name
/// and key. The sequencer stores a signed note with every head, and that
/// stored note is what is served while it matches; after the host name or
/// the key changes (a restart with other settings), stored notes would fail
/// in every client (sigstore-js matches the name against the log URL, all of
/// them check the key), so the head is signed again. Rekor signs on every
/// request; one signature per head and process is enough.
pub(crate) struct CheckpointCache {
    signer: crate::heads::RekorCheckpointSigner,
    latest: std::sync::Mutex<Option<(u64, shared::merkle::Hash, String)>>,
}

impl CheckpointCache {
    pub(crate) fn new(
        hostname: String,
        tree_id: crate::store::TreeId,
        signer: EcdsaP256Signer,
    ) -> Self {
        Self {
            signer: crate::heads::RekorCheckpointSigner {
                hostname,
                tree_id,
                signer,
            },
            latest: std::sync::Mutex::new(None),
        }
    }

    /// The checkpoint text for `head`.
    pub(crate) fn for_head(&self, head: &crate::store::SignedHead) -> Result<String, ApiError> {
        use crate::heads::HeadSigner as _;
        // A poisoned lock only means another reader panicked mid-update; the
        // cached value is either complete or absent, so keep using it.
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((size, root, text)) = latest.as_ref() {
            if *size == head.size && *root == head.root {
                return Ok(text.clone());
            }
        }
        let stored = String::from_utf8(head.signed.clone()).ok();
        let text = match stored.filter(|note| self.is_current(note, head)) {
            Some(note) => note,
            None => {
                let signed = self
                    .signer
                    .sign_head(head.size, &head.root, head.timestamp_ms)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                String::from_utf8(signed)
                    .map_err(|_| ApiError::Internal("signed checkpoint is not UTF-8".into()))?
            }
        };
        *latest = Some((head.size, head.root, text.clone()));
        Ok(text)
    }

    /// Whether a stored note is this head's checkpoint under the current
    /// origin, name and key, with that one signature only.
    fn is_current(&self, note: &str, head: &crate::store::SignedHead) -> bool {
        let Ok(parsed) = shared::note::SignedNote::parse(note) else {
            return false;
        };
        let expected = shared::checkpoint::Checkpoint {
            origin: shared::checkpoint::Checkpoint::rekor_v1_origin(
                &self.signer.hostname,
                self.signer.tree_id.get(),
            ),
            size: head.size,
            root: head.root,
        };
        parsed.text == expected.to_text()
            && parsed.signatures.len() == 1
            && parsed
                .verify_v1(&self.signer.hostname, &self.signer.signer.public_key())
                .is_ok()
    }
}

/// The Rekor v2 personality (docs/rekor-v2.md): its tree and checkpoint key.
pub(crate) struct RekorV2Log {
    pub(crate) tree: LogTree,
    pub(crate) key: shared::note::CheckpointKey,
    /// The cosigned checkpoint and the publication policy (crate::witness).
    pub(crate) witnessed: Arc<crate::witness::Witnessed>,
    /// Full tiles and entry bundles as served.
    pub(crate) served: served_tiles::ServedTiles,
}

/// The CT personality: its tree, key and accepted roots (DER), the STHs
/// `get-sth` serves, and the clock that says when those are too old.
pub(crate) struct CtLog {
    pub(crate) tree: LogTree,
    pub(crate) signer: EcdsaP256Signer,
    pub(crate) roots: Vec<Vec<u8>>,
    pub(crate) sths: sth::SthCache,
    pub(crate) clock: Arc<dyn crate::clock::Clock>,
}

/// All routes with `state` applied.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .merge(rekor::router())
        .merge(rekor_search::router())
        .merge(rekor_v2::router())
        .merge(tiles::router())
        .merge(
            ct::router()
                .merge(ct_read::router())
                .layer(middleware::map_response(ct::ctfe_error_framing)),
        )
        .merge(health::router())
        .merge(ui::router())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.body_budget.clone(),
            body_budget::reserve,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            serving::metrics::track::<Metrics>,
        ))
        .with_state(state)
}

/// The request body, or the right 400/413 (`limit` is the route's body
/// limit, named in the 413 message).
pub(crate) fn body_bytes(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Bytes, ApiError> {
    body.map_err(|r| ApiError::from_body_rejection(r, limit))
}

#[cfg(test)]
pub(crate) mod tests;
