//! A request whose body stalls is answered 408 Request Timeout (RFC 9110
//! §15.5.9), whichever handler was reading it.
//!
//! tower-http's `RequestBodyTimeoutLayer` makes a stalled body fail with a
//! `TimeoutError`, but the extractor that meets the failure decides the
//! answer, and axum's answer 400 ("Failed to buffer the request body"), as
//! if the client had sent bad input. This layer, placed inside the timeout
//! layer, watches the body for that error and, once the handler is done,
//! replaces its answer with a 408 that says what happened and closes the
//! connection, since the rest of that body may still arrive.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tower_http::timeout::TimeoutError;

/// Middleware: run the request with a watched body; 408 if it timed out.
pub(crate) async fn answer_408(request: Request, next: Next) -> Response {
    // Most requests (every GET) have no body to stall: leave them alone.
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let watched = Body::new(Watched {
        inner: body,
        timed_out: timed_out.clone(),
    });
    let response = next.run(Request::from_parts(parts, watched)).await;
    if !timed_out.load(Ordering::Acquire) {
        return response;
    }
    let mut answer = (
        StatusCode::REQUEST_TIMEOUT,
        axum::Json(serde_json::json!({
            "code": 408,
            "message": "the request body stalled: it was not received within the server's body timeout",
        })),
    )
        .into_response();
    answer
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    answer
}

/// A request body that records whether it failed with a timeout.
struct Watched {
    inner: Body,
    timed_out: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(e))) = &polled {
            if is_timeout(e) {
                self.timed_out.store(true, Ordering::Release);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error`, or anything it wraps, is tower-http's body timeout.
fn is_timeout(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}
