//! JSON bodies framed as Go's `encoding/json.Encoder` writes them: the
//! compact value followed by one `\n` (Go `encoding/json`, `Encoder.Encode`).
//! Rekor's go-openapi server produces every JSON response, success and error,
//! that way (its `runtime.JSONProducer`), and clients depend on it:
//! sigstore-rs 0.15 cuts LogEntry bodies at offsets that assume the trailing
//! newline (docs/clients.md §4).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A response body of `T` as JSON plus a trailing newline.
pub(crate) struct GoJson<T>(pub(crate) T);

impl<T: Serialize> IntoResponse for GoJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(256);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => {
                body.push(b'\n');
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    body,
                )
                    .into_response()
            }
            // Only a `Serialize` impl that fails can get here (ours are
            // derived over strings, numbers and maps); say so without detail.
            Err(e) => {
                tracing::error!(error = %e, "serialising a response failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn body_is_compact_json_and_one_newline() {
        let response = GoJson(serde_json::json!({"b": [1, 2], "a": "x"})).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(&body[..], b"{\"a\":\"x\",\"b\":[1,2]}\n");
    }
}
