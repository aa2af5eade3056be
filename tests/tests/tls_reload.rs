//! `tlog-server --tls-cert/--tls-key` serves HTTPS, and SIGHUP makes it
//! read both files again (docs/design.md, "Connections"): new connections get
//! the renewed certificate, a broken file leaves the previous one in use, and
//! the process keeps running throughout.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use test_support::check;
use test_support::tlog::TlogServer;

/// A fresh identity for `localhost` in `dir` under `name`: certificate and
/// key files, and the certificate's PEM.
fn identity(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let identity = test_support::tls::localhost_identity(dir, name).unwrap();
    (identity.cert, identity.key, identity.cert_pem)
}

fn trusting(pem: &str) -> reqwest::blocking::Client {
    test_support::tls::trusting_blocking(pem).unwrap()
}

fn answers(client: &reqwest::blocking::Client, url: &str) -> bool {
    client
        .get(format!("{url}/api/v1/log"))
        .send()
        .is_ok_and(|r| r.status().is_success())
}

fn sighup(server: &TlogServer) {
    let pid = server.pid().unwrap().to_string();
    check(
        &Command::new("kill").args(["-HUP", &pid]).output().unwrap(),
        "kill -HUP",
    )
    .unwrap();
}

#[test]
fn sighup_reloads_the_certificate_and_a_broken_file_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (cert, key, first) = identity(dir, "first");
    let (renewed_cert, renewed_key, renewed) = identity(dir, "renewed");
    let db = format!("sqlite://{}?mode=rwc", dir.join("tlog.db").display());
    let server = TlogServer::start_tls(&dir.join("log"), &db, (&cert, &key), &first).unwrap();
    let url = server.url();
    assert!(url.starts_with("https://"), "{url}");
    assert!(answers(&trusting(&first), &url), "{}", server.log());
    assert!(!answers(&trusting(&renewed), &url));

    // The files are renewed in place, then SIGHUP.
    std::fs::copy(&renewed_cert, &cert).unwrap();
    std::fs::copy(&renewed_key, &key).unwrap();
    sighup(&server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answers(&trusting(&renewed), &url) {
        assert!(Instant::now() < deadline, "not reloaded:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !answers(&trusting(&first), &url),
        "the old certificate is gone"
    );

    // A half-written file: the reload fails, the renewed certificate stays.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nAAAA").unwrap();
    sighup(&server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("TLS reload failed") {
        assert!(
            Instant::now() < deadline,
            "no failure logged:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(answers(&trusting(&renewed), &url), "{}", server.log());
}
