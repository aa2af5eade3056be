//! End to end: `sigil audit` against `sigil dev`'s Rekor v1 and v2 logs. A
//! bundle sigstore-python made is proven still in the log after the log has grown;
//! a bundle whose body or checkpoint was altered is refused with the
//! reason; the whole tree recomputes to its checkpoint, and only with the
//! log's own key.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use test_support::clients::{start, start_with, Workspace};
use test_support::sigil_bin;
use test_support::tlog::EntryMaker;

fn audit(w: &Workspace, key: &Path, args: &[&str], bundle: Option<&Path>) -> Output {
    let mut cmd = Command::new(sigil_bin());
    cmd.arg("audit").args(args);
    if let Some(bundle) = bundle {
        cmd.arg(bundle);
    }
    cmd.args(["--url", &w.dev.tlog_url()])
        .arg("--public-key")
        .arg(key)
        .output()
        .unwrap()
}

fn grow(w: &Workspace, n: usize) {
    let mut maker = EntryMaker::new("growth after the bundle");
    for _ in 0..n {
        w.dev.log_entry(maker.next_entry()).unwrap();
    }
}

fn altered(w: &Workspace, bundle: &Path, name: &str, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    change(&mut doc["verificationMaterial"]["tlogEntries"][0]);
    let path = w.dir.join(name);
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path
}

#[test]
fn a_bundle_is_proven_in_the_grown_log_and_an_altered_one_is_refused() {
    let w = start();
    let key = w.dev.rekor_public_key_file(&w.dir).unwrap();
    let file = w.file("artifact.txt", b"audited later");
    let bundle = w.dir.join("a.sigstore.json");
    w.py_sign(&file, &bundle);
    let other = w.dir.join("b.sigstore.json");
    w.py_sign(&w.file("other.txt", b"another artifact"), &other);
    grow(&w, 12);

    let ok = audit(&w, &key, &["bundle"], Some(&bundle));
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK: entry "));

    // Another entry's body under this entry's index.
    let other_body: Value = serde_json::from_slice(&std::fs::read(&other).unwrap()).unwrap();
    let swapped = altered(&w, &bundle, "swapped.json", |e| {
        e["canonicalizedBody"] =
            other_body["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"].clone();
    });
    let out = audit(&w, &key, &["bundle"], Some(&swapped));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not the entry the bundle holds"),
        "{out:?}"
    );

    // A checkpoint whose root was changed no longer verifies.
    let forged = altered(&w, &bundle, "forged.json", |e| {
        let envelope = e["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap();
        let mut lines: Vec<String> = envelope.split('\n').map(str::to_owned).collect();
        lines[2] = "A".repeat(43) + "=";
        e["inclusionProof"]["checkpoint"]["envelope"] = lines.join("\n").into();
    });
    let out = audit(&w, &key, &["bundle"], Some(&forged));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not verify with the log key"),
        "{out:?}"
    );
}

#[test]
fn the_whole_tree_recomputes_to_its_checkpoint_with_the_logs_key_only() {
    let w = start();
    let key = w.dev.rekor_public_key_file(&w.dir).unwrap();
    grow(&w, 25);
    let out = audit(&w, &key, &["log"], None);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("all 26 entries"),
        "genesis + 25: {out:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("26/26 entries"));

    let stranger = w.dir.join("stranger.pem");
    std::fs::write(
        &stranger,
        shared::keys::EcdsaP256Signer::generate().public_pem(),
    )
    .unwrap();
    let out = audit(&w, &stranger, &["log"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not verify with the log key"),
        "{out:?}"
    );
}

/// The same proofs over the v2 log's tiles: a bundle sigstore-python made on
/// Rekor v2 is still in the grown log, one whose body was swapped is not in
/// its own checkpoint, and the whole tree recomputes to its checkpoint.
#[test]
fn a_v2_bundle_and_the_v2_tree_are_proven_through_tiles() {
    let w = start_with(&["--rekor-api", "2"]);
    let key = w.dev.rekor_v2_public_key_file(&w.dir).unwrap();
    let bundle = w.dir.join("v2.sigstore.json");
    w.py_sign(&w.file("v2.txt", b"audited on v2"), &bundle);
    let other = w.dir.join("v2-other.sigstore.json");
    w.py_sign(&w.file("v2-other.txt", b"grown after"), &other);
    w.py_sign(
        &w.file("v2-third.txt", b"grown more"),
        &w.dir.join("v2-third.sigstore.json"),
    );
    let v2 = |args: &[&str], bundle: Option<&Path>| {
        let mut all = args.to_vec();
        all.extend(["--rekor-api", "2"]);
        audit(&w, &key, &all, bundle)
    };

    let ok = v2(&["bundle"], Some(&bundle));
    assert!(ok.status.success(), "{ok:?}");
    assert!(
        String::from_utf8_lossy(&ok.stdout).starts_with("OK: entry "),
        "{ok:?}"
    );

    let other_body: Value = serde_json::from_slice(&std::fs::read(&other).unwrap()).unwrap();
    let swapped = altered(&w, &bundle, "v2-swapped.json", |e| {
        e["canonicalizedBody"] =
            other_body["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"].clone();
    });
    let out = v2(&["bundle"], Some(&swapped));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not in its own checkpoint"),
        "{out:?}"
    );

    let log = v2(&["log"], None);
    assert!(log.status.success(), "{log:?}");
    assert!(String::from_utf8_lossy(&log.stdout).contains("recompute to the signed root"));
    // The v1 key is not the v2 log's.
    let v1_key = w.dev.rekor_public_key_file(&w.dir).unwrap();
    let out = audit(&w, &v1_key, &["log", "--rekor-api", "2"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
