//! The HTTP face of the log: the Rekor v1 API (rekor-wire.md §1), the RFC
//! 6962 §4 CT API (fulcio-wire.md §6), `/healthz`, `/readyz` and `/metrics`.
//! One module per resource, each with `fn router()`, merged here with the
//! state applied and every request counted by [`health::track`].

mod ct;
mod ct_read;
pub(crate) mod error;
mod health;
mod rekor;
mod rekor_search;
mod verify_pool;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::DefaultBodyLimit;
use axum::{middleware, Router};
use shared::keys::{EcdsaP256Signer, LogId};

use crate::metrics::HttpMetrics;
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
    /// For reads no [`LogTree`] method covers (search, ranges, readiness).
    pub(crate) store: Arc<dyn LogStore>,
    pub(crate) metrics: Arc<HttpMetrics>,
}

/// The Rekor personality: its tree and key.
pub(crate) struct RekorLog {
    pub(crate) tree: LogTree,
    pub(crate) signer: EcdsaP256Signer,
    pub(crate) log_id: LogId,
}

/// The CT personality: its tree, key and accepted roots (DER).
pub(crate) struct CtLog {
    pub(crate) tree: LogTree,
    pub(crate) signer: EcdsaP256Signer,
    pub(crate) roots: Vec<Vec<u8>>,
}

/// All routes with `state` applied.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .merge(rekor::router())
        .merge(rekor_search::router())
        .merge(ct::router())
        .merge(ct_read::router())
        .merge(health::router())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            health::track,
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
mod tests;
