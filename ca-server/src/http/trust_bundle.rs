//! `GET /api/v2/trustBundle` → `{"chains":[{"certificates":[CA…, root]}]}`
//! (docs/fulcio-wire.md §1): the CA chain as trimmed PEMs.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::{AppState, CertificateChain};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v2/trustBundle", get(trust_bundle))
}

#[derive(Serialize)]
struct TrustBundle {
    chains: Vec<CertificateChain>,
}

async fn trust_bundle(State(state): State<AppState>) -> Json<TrustBundle> {
    Json(TrustBundle {
        chains: vec![CertificateChain {
            certificates: state.chain_pems.clone(),
        }],
    })
}
