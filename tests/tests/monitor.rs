//! End to end: `sigil monitor` against `sigil dev`'s Rekor logs. It must
//! report a watched identity when sigstore-python signs as it (and nobody
//! else), on v1 and on v2 (through tiles), stay quiet when nothing new
//! appears, and flag a forked log: two different trees grown from one copy,
//! under one key. (The v2 reader's fork, truncated-tile and lying-tile
//! cases run against an in-memory log in `sigil`'s unit tests.)

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use test_support::clients::{start, start_with, ALICE};
use test_support::tlog::EntryMaker;
use test_support::{free_port, sigil_bin, SigilDev};

fn monitor(url: &str, key: &Path, state: &Path, rules: &[&str]) -> Output {
    Command::new(sigil_bin())
        .args(["monitor", "--once", "--url", url])
        .arg("--public-key")
        .arg(key)
        .arg("--state")
        .arg(state)
        .args(rules)
        .output()
        .unwrap()
}

fn matches(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_monitor_reports_a_watched_identity_and_only_it() {
    let w = start();
    let key = w.dev.rekor_public_key_file(&w.dir).unwrap();
    let state = w.dir.join("monitor.json");
    let issuer = w.dev.oidc_url();
    let url = w.dev.tlog_url();
    let rules = ["--identity", ALICE, "--issuer", &issuer];

    // The first run remembers the head and scans nothing.
    let first = monitor(&url, &key, &state, &rules);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    assert!(matches(&first).is_empty());

    // Alice signs; so does someone not watched.
    let file = w.file("release.tar", b"a release alice was not meant to sign");
    w.py_sign(&file, &w.dir.join("alice.sigstore.json"));
    let bob = w.dev.email_token("bob@example.com").unwrap();
    w.py_sign_with(&bob, &file, &w.dir.join("bob.sigstore.json"));

    let second = monitor(&url, &key, &state, &rules);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let found = matches(&second);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["signer"]["sans"][0], ALICE);
    assert_eq!(found[0]["signer"]["oidc_issuer"], issuer.as_str());
    assert_eq!(found[0]["rule"], format!("identity {ALICE}"));
    assert!(found[0]["logIndex"].as_u64().unwrap() >= 1);

    // Nothing new: consistent, no match.
    let third = monitor(&url, &key, &state, &rules);
    assert_eq!(third.status.code(), Some(0), "{third:?}");

    // A server that answers something else entirely: not verified, and the
    // state stays where it was.
    let kept = std::fs::read(&state).unwrap();
    for garbage in [w.dev.oidc_url(), w.dev.ca_url()] {
        let out = monitor(&garbage, &key, &state, &rules);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("NOT VERIFIED"));
        assert_eq!(std::fs::read(&state).unwrap(), kept);
    }

    // Another issuer for the same address is not Alice.
    let elsewhere = monitor(
        &url,
        &key,
        &w.dir.join("fresh.json"),
        &[
            "--identity",
            ALICE,
            "--issuer",
            "https://accounts.example.com",
            "--from-index",
            "0",
        ],
    );
    assert_eq!(elsewhere.status.code(), Some(0), "{elsewhere:?}");
}

#[test]
fn the_monitor_watches_a_rekor_v2_log_through_its_tiles() {
    let w = start_with(&["--rekor-api", "2"]);
    let key = w.dev.rekor_v2_public_key_file(&w.dir).unwrap();
    let state = w.dir.join("monitor-v2.json");
    let issuer = w.dev.oidc_url();
    let url = w.dev.tlog_url();
    let v2 = |state: &Path, rules: &[&str]| {
        let mut all = vec!["--rekor-api", "2"];
        all.extend_from_slice(rules);
        monitor(&url, &key, state, &all)
    };
    let rules = ["--identity", ALICE, "--issuer", &issuer];

    let first = v2(&state, &rules);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let file = w.file("release.tar", b"signed on rekor v2");
    w.py_sign(&file, &w.dir.join("alice.sigstore.json"));
    let bob = w.dev.email_token("bob@example.com").unwrap();
    w.py_sign_with(&bob, &file, &w.dir.join("bob.sigstore.json"));

    let second = v2(&state, &rules);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let found = matches(&second);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["signer"]["sans"][0], ALICE);
    assert!(
        found[0]["integratedTime"].is_null(),
        "v2 has no integrated time"
    );
    // The bundle's entry is the one reported: same index, and its leaf hash.
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(w.dir.join("alice.sigstore.json")).unwrap()).unwrap();
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(
        found[0]["logIndex"].to_string(),
        entry["logIndex"].as_str().unwrap()
    );
    let body = base64_decode(entry["canonicalizedBody"].as_str().unwrap());
    let leaf = shared::merkle::leaf_hash(&body).to_hex();
    assert_eq!(found[0]["uuid"], leaf.as_str());

    let third = v2(&state, &rules);
    assert_eq!(third.status.code(), Some(0), "{third:?}");

    // A v1 state file is not a v2 one, a v1 key is not the v2 log's, and a
    // server that is not the log does not verify; the state stays put.
    let kept = std::fs::read(&state).unwrap();
    let v1_state = w.dir.join("v1.json");
    let v1_run = monitor(
        &url,
        &w.dev.rekor_public_key_file(&w.dir).unwrap(),
        &v1_state,
        &[],
    );
    assert_eq!(v1_run.status.code(), Some(0), "{v1_run:?}");
    assert_eq!(v2(&v1_state, &[]).status.code(), Some(2));
    let wrong_key = monitor(
        &url,
        &w.dev.rekor_public_key_file(&w.dir).unwrap(),
        &state,
        &["--rekor-api", "2"],
    );
    assert_eq!(wrong_key.status.code(), Some(2), "{wrong_key:?}");
    let elsewhere = monitor(&w.dev.ca_url(), &key, &state, &["--rekor-api", "2"]);
    assert_eq!(elsewhere.status.code(), Some(2), "{elsewhere:?}");
    assert_eq!(std::fs::read(&state).unwrap(), kept);

    // From the start of the log, through its hash tiles: the same match.
    let from_start = v2(
        &w.dir.join("fresh-v2.json"),
        &[&rules[..], &["--from-index", "0"]].concat(),
    );
    assert_eq!(from_start.status.code(), Some(1), "{from_start:?}");
    assert_eq!(matches(&from_start), found);
}

#[test]
fn the_monitor_flags_a_forked_log() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = SigilDev::start(&a_dir).unwrap();
    let mut maker = EntryMaker::new("before the fork");
    for _ in 0..3 {
        a.log_entry(maker.next_entry()).unwrap();
    }
    a.stop().unwrap();
    copy_dir(&a_dir, &b_dir);

    // Branch A grows by two entries; the monitor follows it.
    let mut a = SigilDev::start_on(&a_dir, a.ca_port, a.tlog_port, a.oidc_port).unwrap();
    let key = a.rekor_public_key_file(tmp.path()).unwrap();
    let state = tmp.path().join("monitor.json");
    let fingerprint = maker_fingerprint(&a);
    let mut on_a = EntryMaker::new("branch a");
    a.log_entry(on_a.next_entry()).unwrap();
    let seen = monitor(
        &a.tlog_url(),
        &key,
        &state,
        &["--key-fingerprint", &fingerprint, "--from-index", "0"],
    );
    assert_eq!(seen.status.code(), Some(1), "{seen:?}");
    assert_eq!(matches(&seen).len(), 3, "the three entries before the fork");
    a.log_entry(on_a.next_entry()).unwrap();
    assert_eq!(
        monitor(&a.tlog_url(), &key, &state, &[]).status.code(),
        Some(0)
    );
    a.stop().unwrap();

    // Branch B, same keys, grows differently: the log has forked.
    let b = SigilDev::start_on(&b_dir, free_port(), free_port(), free_port()).unwrap();
    let mut on_b = EntryMaker::new("branch b");
    for _ in 0..3 {
        b.log_entry(on_b.next_entry()).unwrap();
    }
    let forked = monitor(&b.tlog_url(), &key, &state, &[]);
    assert_eq!(forked.status.code(), Some(2), "{forked:?}");
    let stderr = String::from_utf8_lossy(&forked.stderr);
    assert!(
        stderr.contains("NOT VERIFIED") && stderr.contains("consistency"),
        "{stderr}"
    );
    let kept: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        kept["size"], 6,
        "a failed run leaves the state where it was"
    );
}

/// The fingerprint `sigil monitor` gives the maker's key: read back from
/// the first entry after genesis, as the log stored it.
fn maker_fingerprint(dev: &SigilDev) -> String {
    let entry: Value =
        reqwest::blocking::get(format!("{}/api/v1/log/entries?logIndex=1", dev.tlog_url()))
            .unwrap()
            .json()
            .unwrap();
    let (_, entry) = entry.as_object().unwrap().iter().next().unwrap();
    let body = base64_decode(entry["body"].as_str().unwrap());
    let body: Value = serde_json::from_slice(&body).unwrap();
    let pem = base64_decode(
        body["spec"]["signature"]["publicKey"]["content"]
            .as_str()
            .unwrap(),
    );
    let key = shared::keys::PublicKey::from_pem(&pem).unwrap();
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(key.to_spki_der()))
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
