//! `GET /api/v2/configuration` (docs/fulcio-wire.md §1): the configured issuers,
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

/// One issuer; exactly one of `issuerUrl` / `wildcardIssuerUrl` (a protobuf
/// oneof) is present, every other field always is.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Issuer {
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wildcard_issuer_url: Option<String>,
    audience: String,
    challenge_claim: String,
    spiffe_trust_domain: String,
    issuer_type: &'static str,
    subject_domain: String,
    skip_email_verification: bool,
}

async fn configuration(State(state): State<AppState>) -> Json<Configuration> {
    let issuers = state
        .issuers
        .iter()
        .map(|i| {
            let url = Some(i.issuer_url.clone());
            let (issuer_url, wildcard_issuer_url) =
                if i.wildcard { (None, url) } else { (url, None) };
            Issuer {
                issuer_url,
                wildcard_issuer_url,
                audience: i.client_id.clone(),
                challenge_claim: i.reported_challenge_claim().to_owned(),
                spiffe_trust_domain: i.spiffe_trust_domain.clone().unwrap_or_default(),
                issuer_type: i.issuer_type.as_str(),
                subject_domain: i.subject_domain.clone().unwrap_or_default(),
                skip_email_verification: i.skip_email_verification,
            }
        })
        .collect();
    Json(Configuration { issuers })
}
