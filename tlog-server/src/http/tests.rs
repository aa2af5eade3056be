//! Router tests on the in-memory store: the HTTP mapping of pushback and the
//! health check. The full API over SQLite is in `tests/`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use shared::keys::EcdsaP256Signer;
use tower::ServiceExt as _;

use crate::clock::FixedClock;
use crate::store::memory::MemoryStore;
use crate::{SequencerConfig, Tlog, TlogConfig};

fn config(sequencer: SequencerConfig) -> TlogConfig {
    TlogConfig {
        database_url: "memory".into(),
        rekor_signer: EcdsaP256Signer::generate(),
        ct_signer: EcdsaP256Signer::generate(),
        ct_roots: vec![],
        hostname: "localhost".into(),
        sequencer,
        entry_cache_bytes: crate::DEFAULT_ENTRY_CACHE_BYTES,
        tile_cache_bytes: crate::store::DEFAULT_TILE_CACHE_BYTES,
        rekor_v2: None,
    }
}

/// A hashedrekord ProposedEntry over `digest`, signed by a fresh key.
pub(crate) fn hashedrekord(digest: [u8; 32]) -> Vec<u8> {
    test_support::tlog::hashedrekord_of_digest(&digest).into_bytes()
}

fn post_entry(body: Vec<u8>) -> Request<Body> {
    Request::post("/api/v1/log/entries")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn healthz_says_ok() {
    let tlog = Tlog::open_on(
        Arc::new(MemoryStore::new()),
        config(SequencerConfig::default()),
        Arc::new(FixedClock(1)),
    )
    .await
    .unwrap();
    let r = tlog
        .router()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(axum::body::to_bytes(r.into_body(), 16).await.unwrap(), "ok");
    tlog.shutdown().await;
}

#[tokio::test]
async fn a_full_pool_answers_503_with_retry_after() {
    let (store, gate) = MemoryStore::gated();
    gate.add_permits(2); // the two initial empty heads
    let sequencer = SequencerConfig {
        batch_size: 1,
        pool_size: 1,
        flush_interval: Duration::from_millis(1),
        retry_after: Duration::from_secs(3),
    };
    let tlog = Tlog::open_on(
        Arc::new(store.clone()),
        config(sequencer),
        Arc::new(FixedClock(1_700_000_000_000)),
    )
    .await
    .unwrap();
    let router = tlog.router();

    // The first submission blocks in its commit (after the two trees'
    // initial heads), the second fills the pool. Waiting for those states,
    // not for a fixed time: verification runs on a pool other tests share.
    let first = tokio::spawn(router.clone().oneshot(post_entry(hashedrekord([1; 32]))));
    wait_until("the first commit to block", || store.commits_started() == 3).await;
    let second = tokio::spawn(router.clone().oneshot(post_entry(hashedrekord([2; 32]))));
    let pool = tlog.state.rekor.tree.sequencer();
    wait_until("the second to be pooled", || pool.pool_depth() == 1).await;

    let refused = router
        .clone()
        .oneshot(post_entry(hashedrekord([3; 32])))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "3");
    let body: serde_json::Value = serde_json::from_slice(
        &axum::body::to_bytes(refused.into_body(), 4096)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["code"], 503);

    gate.add_permits(2);
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::CREATED);
    assert_eq!(second.await.unwrap().unwrap().status(), StatusCode::CREATED);
    tlog.shutdown().await;
}

#[tokio::test]
async fn readyz_reports_a_sequencer_whose_commits_keep_failing() {
    // The store refuses every batch holding this artifact digest.
    let refused = format!("sha256:{}", hex::encode([9u8; 32]));
    let tlog = Tlog::open_on(
        Arc::new(MemoryStore::refusing(&refused)),
        config(SequencerConfig::default()),
        Arc::new(FixedClock(1_700_000_000_000)),
    )
    .await
    .unwrap();
    let router = tlog.router();
    let readyz = || async {
        let r = router
            .clone()
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    };
    assert_eq!(readyz().await.0, StatusCode::OK);
    for _ in 0..3 {
        let r = router
            .clone()
            .oneshot(post_entry(hashedrekord([9; 32])))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    let (status, body) = readyz().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("the rekor sequencer's last 3 commits failed"),
        "{body}"
    );
    // One commit that succeeds makes it ready again.
    let r = router
        .clone()
        .oneshot(post_entry(hashedrekord([8; 32])))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(readyz().await.0, StatusCode::OK);
    tlog.shutdown().await;
}

/// Polls `done` every millisecond; panics after 30 s.
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn bodies_over_the_buffered_bytes_budget_wait_outside_with_503() {
    let tlog = Tlog::open_on(
        Arc::new(MemoryStore::new()),
        config(SequencerConfig::default()),
        Arc::new(FixedClock(1_700_000_000_000)),
    )
    .await
    .unwrap();
    let router = tlog.router();
    let budget = tlog.state.body_budget.clone();
    let full = budget.available_kib();
    let body = hashedrekord([9; 32]);
    let with_length = |body: Vec<u8>| {
        let mut request = post_entry(body.clone());
        request
            .headers_mut()
            .insert(header::CONTENT_LENGTH, body.len().into());
        request
    };

    // Other requests' bodies hold the whole budget.
    let held = budget
        .semaphore()
        .clone()
        .try_acquire_many_owned(full as u32)
        .unwrap();
    let refused = router
        .clone()
        .oneshot(with_length(body.clone()))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    // Requests without a body are not charged.
    let info = router
        .clone()
        .oneshot(Request::get("/api/v1/log").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    // Nothing was logged by the refused request.
    assert_eq!(
        tlog.state.rekor.tree.head().size,
        1,
        "the genesis entry alone"
    );

    drop(held);
    let accepted = router.clone().oneshot(with_length(body)).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
    // Every reservation is given back once its answer is written.
    assert_eq!(budget.available_kib(), full);
    tlog.shutdown().await;
}
