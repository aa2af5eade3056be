//! Hostile request bodies against a standalone `tlog-server` (docs/design.md,
//! "Hostile input"): a 32 MiB body of `[0,0,…]` used to become an 850 MB JSON
//! tree before its shape was checked. It must now be refused with a 400 while
//! raising the process's peak memory by less than 256 MB.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use test_support::tlog::TlogServer;

#[test]
fn a_32_mib_array_body_is_refused_without_building_it() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tlog.db?mode=rwc", tmp.path().display());
    let server = TlogServer::start(&tmp.path().join("log"), &url, &[]).unwrap();
    let client = reqwest::blocking::Client::new();

    let mut body = Vec::with_capacity(32 << 20);
    body.push(b'[');
    while body.len() < (32 << 20) - 4 {
        body.extend_from_slice(b"0,");
    }
    body.extend_from_slice(b"0]");
    // Warm up: one ordinary request, so the baseline holds the runtime.
    assert!(client
        .get(format!("{}/api/v1/log", server.url()))
        .send()
        .unwrap()
        .status()
        .is_success());
    let before = server.peak_rss_bytes().unwrap();
    for shape in [body.clone(), {
        // The same array as the spec of an otherwise valid-looking entry.
        let mut wrapped = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":"#.to_vec();
        wrapped.extend_from_slice(&body[..body.len() - 64]);
        wrapped.extend_from_slice(b"0]}");
        wrapped
    }] {
        let r = client
            .post(format!("{}/api/v1/log/entries", server.url()))
            .header("content-type", "application/json")
            .body(shape)
            .send()
            .unwrap();
        assert_eq!(r.status(), 400);
        let message = r.text().unwrap();
        assert!(message.contains("more than 4096 JSON values"), "{message}");
    }
    let grown = server.peak_rss_bytes().unwrap().saturating_sub(before);
    eprintln!("peak RSS grew by {} MiB", grown >> 20);
    assert!(
        grown < 256 << 20,
        "peak RSS grew by {} MiB for two 32 MiB bodies",
        grown >> 20
    );
}
