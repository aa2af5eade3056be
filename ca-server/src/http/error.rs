//! The one HTTP error type: Fulcio's grpc-gateway error body
//! `{"code":n,"message":"…","details":[]}` (fulcio-wire.md §1) with gRPC code
//! InvalidArgument (3) → 400 for everything the client got wrong and
//! Internal (13) → 500 for CA and CT failures. Never 401.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::ca::IssueError;
use crate::challenge::ChallengeError;
use crate::identity::IdentityError;
use crate::oidc::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// gRPC InvalidArgument: the request was wrong; the message says how.
    #[error("{0}")]
    InvalidArgument(String),
    /// gRPC Internal: the CA could not do its part.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, u8) {
        match self {
            Self::InvalidArgument(_) => (StatusCode::BAD_REQUEST, 3),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, 13),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, "request refused");
        }
        let body = json!({"code": code, "message": self.to_string(), "details": []});
        (status, Json(body)).into_response()
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        Self::InvalidArgument(e.to_string())
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        Self::InvalidArgument(e.to_string())
    }
}

impl From<ChallengeError> for ApiError {
    fn from(e: ChallengeError) -> Self {
        Self::InvalidArgument(e.to_string())
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        Self::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: ApiError) -> (StatusCode, serde_json::Value) {
        let resp = e.into_response();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn shapes() {
        let (s, b) = body(TokenError::Expired.into()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(
            b,
            json!({"code":3,"message":"identity token has expired","details":[]})
        );
        let (s, b) = body(ApiError::Internal("boom".into())).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(b, json!({"code":13,"message":"boom","details":[]}));
    }
}
