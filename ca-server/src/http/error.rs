//! The one HTTP error type: Fulcio's grpc-gateway error body
//! `{"code":n,"message":"…","details":[]}` (docs/fulcio-wire.md §1) with gRPC code
//! InvalidArgument (3) → 400 for everything the client got wrong and
//! Internal (13) → 500 for CA and CT failures. Never 401. Unknown routes and
//! methods get grpc-gateway's routing errors in the same shape: NotFound (5)
//! → 404, Unimplemented (12) → 405.

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
    /// gRPC ResourceExhausted (429, as grpc-gateway maps it): an identity
    /// over its certificate rate; retry after this many seconds.
    #[error("{message}")]
    ResourceExhausted {
        message: String,
        retry_after_secs: u64,
    },
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, u8) {
        match self {
            Self::InvalidArgument(_) => (StatusCode::BAD_REQUEST, 3),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, 13),
            Self::ResourceExhausted { .. } => (StatusCode::TOO_MANY_REQUESTS, 8),
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
        let mut response = (status, Json(body)).into_response();
        if let Self::ResourceExhausted {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                retry_after_secs.max(1).into(),
            );
        }
        response
    }
}

/// The router's fallback for a path no route serves.
pub(super) async fn not_found() -> Response {
    routing_error(StatusCode::NOT_FOUND, 5)
}

/// The router's fallback for a known path with an unsupported method.
pub(super) async fn method_not_allowed() -> Response {
    routing_error(StatusCode::METHOD_NOT_ALLOWED, 12)
}

fn routing_error(status: StatusCode, code: u8) -> Response {
    let message = status.canonical_reason().unwrap_or_default();
    let body = json!({"code": code, "message": message, "details": []});
    (status, Json(body)).into_response()
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
        match e {
            // The CT log's URL, status and reply are the operator's business.
            IssueError::CtLog(_) | IssueError::BadSct(_) => {
                tracing::warn!(error = %e, "CT log submission failed");
                Self::Internal("Error entering certificate in CTL".into())
            }
            other => Self::Internal(other.to_string()),
        }
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

    #[tokio::test]
    async fn ct_and_discovery_details_stay_in_the_log() {
        let ct = IssueError::CtLog(crate::ct_client::CtClientError::Status {
            status: 502,
            body: "secret upstream detail".into(),
        });
        let (s, b) = body(ct.into()).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            b,
            json!({"code":13,"message":"Error entering certificate in CTL","details":[]})
        );
        let sct = IssueError::BadSct("key mismatch at http://ct.internal".into());
        let (_, b) = body(sct.into()).await;
        assert_eq!(b["message"], "Error entering certificate in CTL");
        let discovery = TokenError::Discovery {
            issuer: "https://issuer.example".into(),
            reason: "GET http://10.0.0.1/jwks: HTTP 500".into(),
        };
        let (s, b) = body(discovery.into()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(
            b["message"],
            "error fetching OIDC configuration for issuer https://issuer.example"
        );
    }

    #[tokio::test]
    async fn unknown_routes_and_methods_get_json_errors() {
        use axum::routing::get;
        use tower::ServiceExt;
        let app = axum::Router::new()
            .route("/x", get(|| async { "ok" }))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed);
        let call = |method: &str, uri: &str| {
            axum::http::Request::builder()
                .method(method)
                .uri(uri)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let resp = app.clone().oneshot(call("GET", "/nope")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let b = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let b: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(b, json!({"code":5,"message":"Not Found","details":[]}));
        let resp = app.oneshot(call("DELETE", "/x")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        let b = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let b: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            b,
            json!({"code":12,"message":"Method Not Allowed","details":[]})
        );
    }
}
