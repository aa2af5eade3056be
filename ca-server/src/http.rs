//! The CA's HTTP API, Fulcio's REST surface (docs/fulcio-wire.md §1): one module
//! per resource, each with `fn router()`, merged here with the shared state;
//! `legacy` serves the v1 endpoints cosign's keyless path uses.

mod configuration;
mod error;
mod health;
mod legacy;
pub(crate) mod metrics;
mod signing_cert;
pub(crate) mod subject_limit;
mod timestamp;
mod trust_bundle;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use serde::Serialize;

pub use error::ApiError;

use crate::ca::IssuingCa;
use crate::config::OidcIssuerConfig;
use crate::oidc::IssuerPool;

/// Fulcio's request body cap.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The handlers' shared state (cheap to clone).
#[derive(Clone)]
pub(crate) struct AppState(Arc<State>);

impl std::ops::Deref for AppState {
    type Target = State;

    fn deref(&self) -> &State {
        &self.0
    }
}

/// What the handlers share.
pub(crate) struct State {
    pub(crate) pool: IssuerPool,
    pub(crate) ca: IssuingCa,
    pub(crate) issuers: Vec<OidcIssuerConfig>,
    /// The CA chain as trimmed PEMs, issuing CA first.
    pub(crate) chain_pems: Vec<String>,
    /// The RFC 3161 time-stamp authority, when the CA runs one.
    pub(crate) tsa: Option<Arc<crate::tsa::TimestampAuthority>>,
    /// Certificates per identity per second, when limited.
    pub(crate) subject_limit: Option<subject_limit::SubjectLimiter>,
    /// What `/metrics` exports.
    pub(crate) metrics: Arc<metrics::Metrics>,
}

/// `{"certificates":[PEM…]}`, shared by signingCert and trustBundle.
#[derive(Serialize)]
struct CertificateChain {
    certificates: Vec<String>,
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .merge(signing_cert::router())
        .merge(trust_bundle::router())
        .merge(configuration::router())
        .merge(health::router())
        .merge(legacy::router())
        .merge(timestamp::router())
        .merge(metrics::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::cors::CorsLayer::permissive())
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            serving::metrics::track::<metrics::Metrics>,
        ))
        .with_state(AppState(state))
}

/// A PEM block without its trailing newline (Fulcio trims its PEMs).
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    shared::keys::pem_encode(label, der).trim_end().to_owned()
}
