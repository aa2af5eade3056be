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

/// Largest request body accepted (Rekor entries, CT chains). Rekor leaves
/// this to deployment (rekor#2808); 1 MiB holds any realistic hashedrekord,
/// DSSE envelope or certificate chain while bounding memory per request.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

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

/// The request body, or the right 400/413.
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|r| ApiError::from_body_rejection(r, MAX_BODY_BYTES))
}

#[cfg(test)]
mod tests;
