//! The time-stamp authority's REST surface, as sigstore/timestamp-authority
//! serves it (docs/rekor-v2.md §5):
//! - `POST /api/v1/timestamp` takes a DER `TimeStampReq`
//!   (`application/timestamp-query`, sigstore-python) or the JSON request
//!   (`application/json`, sigstore-js) and answers 200 with a DER
//!   `TimeStampResp` (`application/timestamp-reply`);
//! - `GET /api/v1/timestamp/certchain` answers the PEM chain, TSA certificate
//!   first (`application/pem-certificate-chain`).
//!
//! Errors are upstream's `{"code":<HTTP status>,"message":"…"}`: 400 for a
//! request the TSA refuses, 415 for a body that is not an `application/*`
//! type, 500 when the key cannot sign.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::tsa::{StampError, StampRequest, MAX_DER_REQUEST_BYTES};

/// Both request forms are far smaller; the parsers give the precise 400.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/timestamp",
            post(timestamp).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/api/v1/timestamp/certchain", get(cert_chain))
}

/// A TSA error in upstream's `models.Error` shape.
struct TsaApiError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for TsaApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(error = %self.message, "time-stamp failed");
        } else {
            tracing::debug!(error = %self.message, "time-stamp refused");
        }
        let body = json!({"code": self.status.as_u16(), "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

impl From<StampError> for TsaApiError {
    fn from(e: StampError) -> Self {
        let status = match e {
            StampError::Refused(_) => StatusCode::BAD_REQUEST,
            StampError::Sign(_) | StampError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            message: e.to_string(),
        }
    }
}

async fn timestamp(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TsaApiError> {
    let Some(tsa) = state.tsa.clone() else {
        return Err(TsaApiError {
            status: StatusCode::NOT_FOUND,
            message: "this CA runs no time-stamp authority".into(),
        });
    };
    let request = match application_subtype(&headers)? {
        "json" => StampRequest::from_json(&body),
        "timestamp-query" => StampRequest::from_der(&body),
        other => {
            return Err(TsaApiError {
                status: StatusCode::BAD_REQUEST,
                message: format!(
                "unsupported content type application/{other}: send application/timestamp-query \
                     (DER, at most {MAX_DER_REQUEST_BYTES} bytes) or application/json"
            ),
            })
        }
    }
    .map_err(StampError::from)?;
    // One signature, which may be an HSM round trip: off the async workers.
    let response = tokio::task::spawn_blocking(move || tsa.stamp(&request, SystemTime::now()))
        .await
        .map_err(|e| TsaApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("time-stamp task failed: {e}"),
        })??;
    Ok((
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        response,
    )
        .into_response())
}

/// The subtype of an `application/*` Content-Type, parameters dropped
/// (upstream parses the media type the same way).
fn application_subtype(headers: &HeaderMap) -> Result<&str, TsaApiError> {
    let unsupported = |why: &str| TsaApiError {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message: format!(
            "Content-Type {why}: send application/timestamp-query or application/json"
        ),
    };
    let value = headers
        .get(header::CONTENT_TYPE)
        .ok_or_else(|| unsupported("is missing"))?
        .to_str()
        .map_err(|_| unsupported("is not text"))?;
    let media_type = value.split(';').next().unwrap_or_default().trim();
    match media_type.split_once('/') {
        Some((kind, subtype))
            if kind.eq_ignore_ascii_case("application") && !subtype.is_empty() =>
        {
            Ok(subtype)
        }
        _ => Err(unsupported("must be an application/* type")),
    }
}

async fn cert_chain(State(state): State<AppState>) -> Result<Response, TsaApiError> {
    let Some(tsa) = state.tsa.as_ref() else {
        return Err(TsaApiError {
            status: StatusCode::NOT_FOUND,
            message: "this CA runs no time-stamp authority".into(),
        });
    };
    let pem: String = tsa
        .chain_der()
        .iter()
        .map(|der| shared::keys::pem_encode("CERTIFICATE", der))
        .collect();
    Ok((
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        pem,
    )
        .into_response())
}
