//! The Rekor v2 write API (docs/rekor-v2.md §1): `POST /api/v2/log/entries`
//! takes a protobuf-JSON `CreateEntryRequest` (`hashedRekordRequestV002`,
//! and the `dsseRequestV002` sigstore-js still sends), and answers 201 with
//! the protobuf-JSON `TransparencyLogEntry` whose inclusion proof is against
//! a published checkpoint of the v2 log.
//!
//! Framing follows rekor-tiles' grpc-gateway: compact JSON without a trailing
//! newline, errors as `google.rpc.Status` (`{"code":<gRPC code>,"message":…,
//! "details":[]}`, [`grpc_status_framing`]), a duplicate as 409 with the
//! existing entry's index in `x-log-index` ([`ApiError::DuplicateAt`]).

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{middleware, Json, Router};
use shared::entry::v2::{canonicalize_v2_request, TransparencyLogEntry};

use super::error::{ApiError, ErrorMessage};
use super::{body_bytes, verify_pool, AppState};

/// Largest request body: rekor-tiles' default `--max-request-body-size`.
/// A logged entry is at most 64 KiB anyway (C2SP entry bundles).
const MAX_REQUEST_BYTES: usize = 4 << 20;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v2/log/entries",
            post(create_entry).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .layer(middleware::map_response(grpc_status_framing))
}

/// `POST /api/v2/log/entries`.
async fn create_entry(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let v2 = state.rekor_v2.clone().ok_or(ApiError::NotFound)?;
    let body = body_bytes(body, MAX_REQUEST_BYTES)?;
    let inline = verify_pool::verify_inline(&body, shared::entry::cost::v2_request_checks);
    let entry = verify_pool::run_costed(
        body,
        inline,
        |body| shared::entry::cost::v2_request_checks(body),
        |body| canonicalize_v2_request(&body),
    )
    .await?
    .map_err(|e| ApiError::BadRequest(format!("invalid request: {e}")))?;
    let kind = entry.kind.name();
    let version = entry.api_version.clone();
    let done = v2
        .tree
        .submit(crate::genesis::rekor_submission(entry))
        .await?;
    let index = done.entry.index;
    if done.duplicate {
        return Err(ApiError::DuplicateAt { index });
    }
    let head = &done.head;
    let proof = v2.tree.inclusion_proof(index, head.size).await?;
    let checkpoint = String::from_utf8(head.signed.clone())
        .map_err(|_| ApiError::Internal("a v2 checkpoint is not UTF-8".into()))?;
    let answer = TransparencyLogEntry::new(
        index,
        v2.key.key_hash(),
        kind,
        &version,
        &head.root,
        head.size,
        &proof,
        checkpoint,
        &done.entry.body,
    );
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The gRPC status code grpc-gateway maps to an HTTP status (the inverse of
/// grpc-gateway's `HTTPStatusFromCode` for the statuses this API answers).
fn grpc_code(status: StatusCode) -> u16 {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => 3, // InvalidArgument
        StatusCode::NOT_FOUND => 5,                                   // NotFound
        StatusCode::CONFLICT => 6,                                    // AlreadyExists
        StatusCode::SERVICE_UNAVAILABLE => 14,                        // Unavailable
        _ => 2,                                                       // Unknown
    }
}

/// Re-frames an error response as grpc-gateway's `google.rpc.Status` JSON,
/// keeping status and headers (`Retry-After`, `x-log-index`).
async fn grpc_status_framing(mut response: Response) -> Response {
    let Some(ErrorMessage(message)) = response.extensions_mut().remove::<ErrorMessage>() else {
        return response;
    };
    let body = serde_json::json!({
        "code": grpc_code(response.status()),
        "message": message,
        "details": [],
    });
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(body.to_string());
    response
}
