//! Operations endpoints over HTTP on a fresh SQLite file: `/metrics` has the
//! named series with values that match the requests made, `/readyz` is 200
//! while the database and sequencers work and 503 with reasons after the
//! log shut down, `/healthz` always answers.

// A test crate: its helper fns should panic on failure just as its tests do.
#![allow(clippy::unwrap_used)]

mod common;

use common::{hashedrekord, Fixture};
use test_support::scrape::Scrape;
use tlog_server::Tlog;

/// The value of the sample named `name` whose labels are exactly `labels`,
/// read through a Prometheus text-format parser.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    Scrape::parse(text)
        .unwrap()
        .value(name, labels)
        .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_show_the_sequencer() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = server
            .post_entry(hashedrekord(format!("m{i}").as_bytes()))
            .await;
        assert_eq!(r.status(), 201);
        ids.push(r.headers()["etag"].to_str().unwrap().to_owned());
    }
    for id in &ids[..3] {
        assert_eq!(
            server
                .get(&format!("/api/v1/log/entries/{id}"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(server.post_entry(b"{".to_vec()).await.status(), 400);
    assert_eq!(server.get("/no/such/route").await.status(), 404);
    assert_eq!(server.get("/ct/v1/get-sth").await.status(), 200);
    // A scrape before the one read below: scrapes are requests too.
    assert_eq!(server.get("/metrics").await.status(), 200);

    let r = server.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();

    let requests = |route: &str, method: &str, status: &str| {
        let labels = [("route", route), ("method", method), ("status", status)];
        sample(&text, "sigil_http_requests_total", &labels)
    };
    assert_eq!(requests("/api/v1/log/entries", "POST", "201"), 5.0);
    assert_eq!(requests("/api/v1/log/entries", "POST", "400"), 1.0);
    // The template, not the three different URLs.
    assert_eq!(requests("/api/v1/log/entries/{id}", "GET", "200"), 3.0);
    assert_eq!(requests("unmatched", "GET", "404"), 1.0);
    assert_eq!(requests("/metrics", "GET", "200"), 1.0);
    assert_eq!(requests("/ct/v1/get-sth", "GET", "200"), 1.0);
    assert!(!text.contains(&ids[0]), "raw URLs never become labels");
    let latency = "sigil_http_request_duration_seconds";
    let labels = [
        ("route", "/api/v1/log/entries"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert_eq!(sample(&text, &format!("{latency}_count"), &labels), 5.0);
    let sum = sample(&text, &format!("{latency}_sum"), &labels);
    assert!(sum > 0.0 && sum < 30.0, "{sum}");

    // Rekor's own families, under Rekor's names: every entry appended to a
    // Rekor tree counts, each tree's genesis entry too (v1 and v2 here);
    // latency in nanoseconds, for the 201s and the 400 alike.
    assert_eq!(sample(&text, "rekor_new_entries", &[]), 7.0);
    let created = [
        ("path", "/api/v1/log/entries"),
        ("method", "POST"),
        ("code", "201"),
    ];
    assert_eq!(sample(&text, "rekor_qps_by_api", &created), 5.0);
    // Rekor's template for an entry by UUID, as Rekor's dashboards expect.
    let by_uuid = [
        ("path", "/api/v1/log/entries/{entryUUID}"),
        ("method", "GET"),
        ("code", "200"),
    ];
    assert_eq!(sample(&text, "rekor_qps_by_api", &by_uuid), 3.0);
    // Only Rekor API calls: no CT, scrape or unmatched series.
    let rekor_series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("rekor_qps_by_api{"))
        .collect();
    assert_eq!(rekor_series.len(), 3, "{rekor_series:#?}");
    let by_api = [("path", "/api/v1/log/entries"), ("method", "POST")];
    assert_eq!(sample(&text, "rekor_latency_by_api_count", &by_api), 6.0);
    let nanos = sample(&text, "rekor_latency_by_api_sum", &by_api);
    assert!(
        nanos >= sum * 1e9 * 0.99 && nanos < 30e9,
        "{nanos} ns, {sum} s"
    );

    // Sequencer series per tree: five entries after the genesis entry.
    assert_eq!(
        sample(&text, "sigil_tlog_tree_size", &[("tree", "rekor")]),
        6.0
    );
    assert_eq!(
        sample(&text, "sigil_tlog_tree_size", &[("tree", "ct")]),
        0.0
    );
    assert_eq!(
        sample(&text, "sigil_tlog_pool_depth", &[("tree", "rekor")]),
        0.0
    );
    assert_eq!(
        sample(&text, "sigil_tlog_pool_capacity", &[("tree", "rekor")]),
        4096.0
    );
    assert_eq!(
        sample(&text, "sigil_tlog_sequencer_running", &[("tree", "ct")]),
        1.0
    );
    // Every entry, the genesis entry too, was in exactly one committed batch.
    assert_eq!(
        sample(&text, "sigil_tlog_batch_size_sum", &[("tree", "rekor")]),
        6.0
    );
    let batches = sample(&text, "sigil_tlog_batch_size_count", &[("tree", "rekor")]);
    assert!((2.0..=6.0).contains(&batches), "{batches}");
    assert_eq!(
        sample(
            &text,
            "sigil_tlog_flush_duration_seconds_count",
            &[("tree", "rekor")]
        ),
        batches
    );
    let flush = sample(
        &text,
        "sigil_tlog_flush_duration_seconds_sum",
        &[("tree", "rekor")],
    );
    assert!(flush > 0.0 && flush < 30.0, "{flush}");
    for family in [
        "# TYPE sigil_http_requests_total counter",
        "# TYPE sigil_http_request_duration_seconds histogram",
        "# TYPE sigil_tlog_batch_size histogram",
        "# TYPE sigil_tlog_flush_duration_seconds histogram",
        "# TYPE sigil_tlog_pool_depth gauge",
        "# TYPE sigil_tlog_tree_size gauge",
    ] {
        assert!(text.lines().any(|l| l == family), "{family}");
    }
    server.stop().await;
}

#[tokio::test]
async fn readyz_is_503_with_reasons_once_the_log_is_down() {
    let fx = Fixture::new();
    // Served by hand so the HTTP side outlives the log it reports on.
    let tlog = Tlog::open(fx.config()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = tlog.router();
    let serving = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();

    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ready");
    assert_eq!(get("/healthz").await.unwrap().status(), 200);

    tlog.shutdown().await;
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], 503);
    let message = v["message"].as_str().unwrap();
    for reason in [
        "the rekor sequencer is not running",
        "the ct sequencer is not running",
        "the database",
    ] {
        assert!(message.contains(reason), "{message}");
    }
    // Alive, though not ready.
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    serving.abort();
}
