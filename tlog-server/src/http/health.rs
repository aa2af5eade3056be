//! Operations endpoints (docs/design.md "Observability"): `/healthz` (the process
//! answers), `/readyz` (the database answers a trivial query and both
//! sequencers take submissions; 503 with the reasons otherwise) and the
//! Prometheus `/metrics` exposition (crate::metrics).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use crate::metrics::TreeSnapshot;
use crate::tree::LogTree;

/// How long `/readyz` waits for the database before calling it unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
}

/// Failed commits in a row after which `/readyz` says the log is not ready.
/// One refused entry fails at most one commit of its own before the
/// sequencer commits the rest (see `sequencer.rs`), so only a store that
/// refuses every batch gets here.
const FAILED_COMMITS_NOT_READY: u64 = 3;

#[derive(serde::Serialize)]
struct NotReady {
    code: u16,
    message: String,
}

/// `GET /readyz`: 200 `ready`, or 503 `{code, message}` naming what is wrong.
async fn readyz(State(state): State<AppState>) -> Response {
    let mut problems = Vec::new();
    for (name, tree) in trees(&state) {
        let sequencer = tree.sequencer();
        if !sequencer.is_running() {
            problems.push(format!("the {name} sequencer is not running"));
        }
        let failed = sequencer.stats().failed_in_a_row();
        if failed >= FAILED_COMMITS_NOT_READY {
            problems.push(format!(
                "the {name} sequencer's last {failed} commits failed"
            ));
        }
    }
    let probe = state.store.latest_head(state.rekor.tree.id());
    match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            // The detail may name hosts or users; it goes to the log only.
            tracing::warn!(error = %e, "readiness probe: database query failed");
            problems.push("the database does not answer queries".to_owned());
        }
        Err(_) => problems.push(format!(
            "the database did not answer within {} s",
            READY_TIMEOUT.as_secs()
        )),
    }
    if problems.is_empty() {
        return "ready".into_response();
    }
    let status = StatusCode::SERVICE_UNAVAILABLE;
    (
        status,
        Json(NotReady {
            code: status.as_u16(),
            message: problems.join("; "),
        }),
    )
        .into_response()
}

/// `GET /metrics`: Prometheus text format.
async fn metrics_text(State(state): State<AppState>) -> Response {
    let snapshots: Vec<TreeSnapshot<'_>> = trees(&state)
        .into_iter()
        .map(|(name, tree)| {
            let sequencer = tree.sequencer();
            TreeSnapshot {
                name,
                size: tree.head().size,
                pool_depth: sequencer.pool_depth(),
                pool_capacity: sequencer.pool_capacity(),
                running: sequencer.is_running(),
            }
        })
        .collect();
    state.metrics.exposition(&snapshots)
}

/// The trees with their metric label names.
fn trees(state: &AppState) -> Vec<(&'static str, &LogTree)> {
    let mut trees = vec![("rekor", &state.rekor.tree), ("ct", &state.ct.tree)];
    if let Some(v2) = &state.rekor_v2 {
        trees.push(("rekor-v2", &v2.tree));
    }
    trees
}
