//! The one HTTP error type of the log's APIs, shaped like Rekor's
//! (docs/rekor-wire.md §1): JSON `{"code":<status>,"message":"..."}` followed by a
//! newline (Rekor's handlers write errors with Go's `json.Encoder`, see
//! [`super::go_json`]), 404 with an empty body, 409 with the existing entry's
//! `Location`, 413 for an oversized body, 422 for a retrieve over its item
//! limit, 503 with `Retry-After` when the sequencer pushes back. Server-side
//! failures are logged in full and answered with a generic message.
//!
//! Every error response carries its message as an [`ErrorMessage`]
//! extension, so an API personality with other framing (the CT API's
//! `text/plain`, `super::ct::ctfe_error_framing`) can re-frame it.

use std::time::Duration;

use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::go_json::GoJson;

use crate::sequencer::SequenceError;
use crate::store::StoreError;
use crate::tree::TreeError;

/// An error answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The request is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// Rekor's 404: an empty body.
    #[error("not found")]
    NotFound,
    /// A 404 that says what is missing (the CT API).
    #[error("{0}")]
    Missing(String),
    /// Rekor: the entry is already logged under `entry_id`.
    #[error("an equivalent entry already exists in the transparency log with UUID {entry_id}")]
    Conflict { entry_id: String, location: String },
    /// Rekor v2: the entry is already logged at `index` (409 + `x-log-index`).
    #[error("an equivalent entry already exists in the transparency log with index {index}")]
    DuplicateAt { index: u64 },
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// Well-formed but over a limit (Rekor: more than 10 retrieve items).
    #[error("{0}")]
    Unprocessable(String),
    #[error("the log is busy; retry later")]
    Pushback { retry_after: Duration },
    #[error("the log is shutting down")]
    ShuttingDown,
    /// 503 with this message: a follower replica refusing writes, or the
    /// database being unreachable (added by the storage owner).
    #[error("{0}")]
    Unavailable(String),
    /// Not the client's fault; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Maps a body-extraction failure: too large is 413, anything else 400.
    pub(crate) fn from_body_rejection(rejection: BytesRejection, limit: usize) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::PayloadTooLarge(limit)
        } else {
            Self::BadRequest(format!("reading request body: {}", rejection.body_text()))
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound | Self::Missing(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::DuplicateAt { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Pushback { .. } | Self::ShuttingDown | Self::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The message of an error response, attached to it as an extension.
#[derive(Clone, Debug)]
pub(crate) struct ErrorMessage(pub(crate) String);

#[derive(serde::Serialize)]
struct ErrorBody {
    code: u16,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::NotFound => {
                let mut response = status.into_response();
                response
                    .extensions_mut()
                    .insert(ErrorMessage(self.to_string()));
                return response;
            }
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                "internal server error".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = (
            status,
            GoJson(ErrorBody {
                code: status.as_u16(),
                message: message.clone(),
            }),
        )
            .into_response();
        response.extensions_mut().insert(ErrorMessage(message));
        let headers = response.headers_mut();
        match &self {
            Self::Conflict { location, .. } => {
                if let Ok(v) = HeaderValue::from_str(location) {
                    headers.insert(header::LOCATION, v);
                }
            }
            Self::DuplicateAt { index } => {
                headers.insert("x-log-index", HeaderValue::from(*index));
            }
            Self::Pushback { retry_after } => {
                // Whole seconds, at least 1: Retry-After has no fractions.
                let secs = retry_after.as_secs().max(1);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unreachable");
            return Self::Unavailable(SequenceError::Unavailable.to_string());
        }
        Self::Internal(e.to_string())
    }
}

impl From<TreeError> for ApiError {
    fn from(e: TreeError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<SequenceError> for ApiError {
    fn from(e: SequenceError) -> Self {
        match e {
            SequenceError::Pushback { retry_after } => Self::Pushback { retry_after },
            SequenceError::ShuttingDown => Self::ShuttingDown,
            SequenceError::NotLeader | SequenceError::Unavailable => {
                Self::Unavailable(e.to_string())
            }
            SequenceError::Failed(detail) => Self::Internal(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(e: ApiError) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let r = e.into_response();
        let (parts, body) = r.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, bytes.to_vec())
    }

    #[tokio::test]
    async fn shapes() {
        let (s, _, b) = parts(ApiError::BadRequest("error processing entry: x".into())).await;
        assert_eq!(s, 400);
        assert_eq!(b.last(), Some(&b'\n'), "framed as Go's json.Encoder");
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"code": 400, "message": "error processing entry: x"})
        );

        let (s, _, b) = parts(ApiError::NotFound).await;
        assert_eq!((s.as_u16(), b.len()), (404, 0));

        let (s, h, b) = parts(ApiError::Conflict {
            entry_id: "ab".into(),
            location: "/api/v1/log/entries/ab".into(),
        })
        .await;
        assert_eq!(s, 409);
        assert_eq!(h[header::LOCATION], "/api/v1/log/entries/ab");
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            v["message"],
            "an equivalent entry already exists in the transparency log with UUID ab"
        );

        let (s, _, b) = parts(ApiError::Unprocessable("too many".into())).await;
        assert_eq!(s, 422);
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v, serde_json::json!({"code": 422, "message": "too many"}));

        let (s, h, _) = parts(ApiError::Pushback {
            retry_after: Duration::from_millis(10),
        })
        .await;
        assert_eq!(s, 503);
        assert_eq!(h[header::RETRY_AFTER], "1");

        let (s, _, b) = parts(ApiError::Internal("db password=hunter2".into())).await;
        assert_eq!(s, 500);
        assert!(
            !String::from_utf8(b).unwrap().contains("hunter2"),
            "details stay in the log"
        );
    }
}
