//! `GET /api/v2/configuration` (fulcio-wire.md §1): the configured issuers,
//! protojson style (camelCase, zero values emitted).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v2/configuration", get(configuration))
}

#[derive(Serialize)]
struct Configuration {
    issuers: Vec<Issuer>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Issuer {
    issuer_url: String,
    audience: String,
    challenge_claim: &'static str,
    spiffe_trust_domain: String,
    issuer_type: &'static str,
    subject_domain: String,
}

async fn configuration(State(state): State<AppState>) -> Json<Configuration> {
    let issuers = state
        .issuers
        .iter()
        .map(|i| Issuer {
            issuer_url: i.issuer_url.clone(),
            audience: i.client_id.clone(),
            challenge_claim: i.issuer_type.challenge_claim(),
            spiffe_trust_domain: String::new(),
            issuer_type: i.issuer_type.as_str(),
            subject_domain: i.subject_domain.clone().unwrap_or_default(),
        })
        .collect();
    Json(Configuration { issuers })
}
