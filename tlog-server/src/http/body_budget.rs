//! One budget for the request bodies the server holds at once
//! (docs/design.md, "Hostile input").
//!
//! Each route caps its own body (32 MiB for Rekor entries), but requests
//! wait for a verification slot with their body already buffered, so
//! without a global cap a few hundred large posts hold gigabytes. Every
//! request with a body reserves its declared `Content-Length` (a chunked
//! body reserves the largest any route takes) before the body is read, and
//! gives it back when its answer is written. A request that does not fit
//! is answered 503 with `Retry-After`, like any other pushback, and its
//! body is never read.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::error::ApiError;
use super::MAX_ENTRY_BODY_BYTES;

/// Bytes of request bodies held at once: eight of the largest entries.
pub(crate) const MAX_BUFFERED_BODY_BYTES: usize = 8 * MAX_ENTRY_BODY_BYTES;
/// The budget counts kibibytes, so a permit count fits in a u32.
const UNIT: usize = 1024;

/// The shared budget (cheap to clone).
#[derive(Clone)]
pub(crate) struct BodyBudget(Arc<Semaphore>);

impl BodyBudget {
    pub(crate) fn new(bytes: usize) -> Self {
        Self(Arc::new(Semaphore::new(bytes.div_ceil(UNIT))))
    }

    /// Kibibytes still free.
    #[cfg(test)]
    pub(crate) fn available_kib(&self) -> usize {
        self.0.available_permits()
    }

    #[cfg(test)]
    pub(crate) fn semaphore(&self) -> &Arc<Semaphore> {
        &self.0
    }
}

/// Middleware: reserve the body's size, or answer 503.
pub(crate) async fn reserve(
    State(budget): State<BodyBudget>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let bytes = match declared {
        Some(0) => return next.run(request).await,
        Some(n) => n,
        None if request.method() == axum::http::Method::GET => return next.run(request).await,
        None => MAX_ENTRY_BODY_BYTES,
    };
    // Over the largest route limit the route answers 413 after reading at
    // most its limit, so that is all it can hold.
    let units = bytes.min(MAX_ENTRY_BODY_BYTES).div_ceil(UNIT);
    let Ok(permit) = budget.0.clone().try_acquire_many_owned(units as u32) else {
        tracing::debug!(bytes, "request body over the buffered-bytes budget");
        return ApiError::Pushback {
            retry_after: Duration::from_secs(1),
        }
        .into_response();
    };
    let response = next.run(request).await;
    drop(permit);
    response
}
