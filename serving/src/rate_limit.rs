//! Per-client rate limits (docs/design.md, "Rate limits"): a GCRA token bucket
//! per client IP (governor's keyed limiter). A client over its rate gets 429
//! with `Retry-After` and costs nothing more; everyone else is unaffected.
//!
//! The defaults (20,000 requests/s, bursts of 40,000) are far above what a
//! CI fleet behind one NAT sends and above what a small machine serves, so
//! only a client flooding a large deployment meets them; set tighter
//! limits for the deployment's size. Benchmarks from one load generator
//! run with the limit off (`--rate-limit-per-ip 0`). Behind a
//! reverse proxy every request comes from the proxy's address: name the
//! header it writes the client's address in (`--client-ip-header`), and
//! only then, since clients can write that header themselves.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// A per-IP limiter and where to find the client's address.
pub(crate) struct IpLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    client_ip_header: Option<HeaderName>,
}

impl IpLimiter {
    /// `None` when `per_second` is 0 (limits off).
    pub(crate) fn new(
        per_second: u32,
        burst: u32,
        client_ip_header: Option<&str>,
    ) -> Result<Option<Self>, String> {
        let Some(rate) = NonZeroU32::new(per_second) else {
            return Ok(None);
        };
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        let client_ip_header = client_ip_header
            .map(|name| {
                HeaderName::try_from(name).map_err(|e| format!("--client-ip-header {name:?}: {e}"))
            })
            .transpose()?;
        Ok(Some(Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
            client_ip_header,
        }))
    }

    /// Forgets clients whose bucket is full again (bounds memory).
    pub(crate) fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    fn client(&self, request: &Request) -> Option<IpAddr> {
        if let Some(name) = &self.client_ip_header {
            // The first address a proxy chain lists is the client's.
            return request
                .headers()
                .get(name)?
                .to_str()
                .ok()?
                .split(',')
                .next()?
                .trim()
                .parse()
                .ok();
        }
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
    }
}

/// Middleware: 429 + Retry-After for a client over its rate.
pub(crate) async fn limit(
    State(limiter): State<Arc<IpLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(client) = limiter.client(&request) else {
        return next.run(request).await;
    };
    match limiter.limiter.check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(limiter.clock.now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let body = format!(
                "{{\"code\":429,\"message\":\"too many requests from {client}; retry after {secs} s\"}}\n"
            );
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::RETRY_AFTER, HeaderValue::from(secs.max(1))),
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    ),
                ],
                body,
            )
                .into_response()
        }
    }
}
