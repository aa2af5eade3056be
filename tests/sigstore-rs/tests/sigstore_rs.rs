//! End to end: sigstore-rs 0.15.0 (through `sigstore-rs-client`, this
//! crate's binary) signs a blob keylessly against a `sigil dev` process and
//! verifies it, refuses another identity, another issuer and a modified
//! artifact, and verifies — and is verified by — sigstore-python 4.5.1 (the
//! venv `scripts/test.sh` installs). Each test starts its own stack on fresh
//! ports over a fresh data directory.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use test_support::clients::{start, Workspace, ALICE};
use test_support::{check, SigilDev};

const MALLORY: &str = "mallory@example.com";

fn sigstore_rs() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigstore-rs-client"))
}

// sigstore-rs's steps, on the shared client workspace (`test_support::clients`,
// which also runs sigstore-python).

fn rs_sign(w: &Workspace, file: &Path, bundle: &Path) {
    let out = rs_sign_with(w, &w.dev.trust_config(), file, bundle);
    check(&out, "sigstore-rs sign").unwrap_or_else(|e| panic!("{e}\n{}", w.dev.log()));
}

/// Runs `sigstore-rs-client sign` as ALICE with the given trust config.
fn rs_sign_with(w: &Workspace, trust_config: &Path, file: &Path, bundle: &Path) -> Output {
    let token = w.dev.email_token(ALICE).unwrap();
    sigstore_rs()
        .arg("sign")
        .arg("--trust-config")
        .arg(trust_config)
        .args(["--identity-token", &token])
        .arg("--bundle")
        .arg(bundle)
        .arg(file)
        .output()
        .unwrap()
}

/// Runs `sigstore-rs-client verify`; returns whether it accepted.
fn rs_verify(w: &Workspace, file: &Path, bundle: &Path, identity: &str, issuer: &str) -> bool {
    rs_verify_with(&w.dev.trust_config(), file, bundle, identity, issuer)
}

fn rs_verify_with(
    trust_config: &Path,
    file: &Path,
    bundle: &Path,
    identity: &str,
    issuer: &str,
) -> bool {
    let out = sigstore_rs()
        .arg("verify")
        .arg("--trust-config")
        .arg(trust_config)
        .arg("--bundle")
        .arg(bundle)
        .args(["--cert-identity", identity, "--cert-oidc-issuer", issuer])
        .arg(file)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!(
            "sigstore-rs verify refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn log_index(bundle: &Path) -> u64 {
    let json = read_json(bundle);
    let index = &json["verificationMaterial"]["tlogEntries"][0]["logIndex"];
    index.as_str().unwrap().parse().unwrap()
}

#[test]
fn sigstore_rs_signs_and_verifies_a_blob() {
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("artifact.txt", b"hello from sigstore-rs\n");
    let bundle = w.dir.join("artifact.sigstore.json");
    rs_sign(&w, &file, &bundle);

    // A v0.3 bundle with the certificate, the entry, its SET and its inclusion proof.
    let json = read_json(&bundle);
    assert_eq!(
        json["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let entry = &json["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "hashedrekord");
    assert!(entry["logIndex"].is_string(), "int64 in protobuf JSON");
    assert!(entry["inclusionPromise"]["signedEntryTimestamp"].is_string());
    assert!(entry["inclusionProof"]["checkpoint"]["envelope"].is_string());
    assert!(json["verificationMaterial"]["certificate"]["rawBytes"].is_string());

    assert!(
        rs_verify(&w, &file, &bundle, ALICE, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(
        !rs_verify(&w, &file, &bundle, MALLORY, &issuer),
        "another identity must fail"
    );
    assert!(
        !rs_verify(&w, &file, &bundle, ALICE, "https://accounts.example.com"),
        "another issuer must fail"
    );
    let modified = w.file("modified.txt", b"hello from sigstore-rs!\n");
    assert!(
        !rs_verify(&w, &modified, &bundle, ALICE, &issuer),
        "a modified file must fail"
    );

    // sigstore-python checks what sigstore-rs 0.15 does not: the SET and the
    // inclusion proof (sigstore-rs#285).
    assert!(
        w.py_verify(&file, &bundle, ALICE, &issuer),
        "sigstore-python verifies sigstore-rs's bundle"
    );
    assert!(!w.py_verify(&file, &bundle, MALLORY, &issuer));
    assert!(!w.py_verify(&modified, &bundle, ALICE, &issuer));
}

#[test]
fn sigstore_rs_refuses_a_tampered_bundle() {
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("artifact.bin", b"\x00\x01 rs artifact");
    let bundle = w.dir.join("artifact.sigstore.json");
    rs_sign(&w, &file, &bundle);
    assert!(rs_verify(&w, &file, &bundle, ALICE, &issuer));

    // Another entry's log body: the entry no longer matches the signature.
    let other_file = w.file("other.bin", b"another artifact");
    let other_bundle = w.dir.join("other.sigstore.json");
    rs_sign(&w, &other_file, &other_bundle);
    let mut json = read_json(&bundle);
    let other = read_json(&other_bundle);
    json["verificationMaterial"]["tlogEntries"] =
        other["verificationMaterial"]["tlogEntries"].clone();
    let swapped = w.file("swapped.sigstore.json", json.to_string().as_bytes());
    assert!(
        !rs_verify(&w, &file, &swapped, ALICE, &issuer),
        "a log entry for another signature must fail"
    );

    // Another certificate from the same CA, for another key: the signature
    // and the log entry no longer match it.
    let mut json = read_json(&bundle);
    json["verificationMaterial"]["certificate"] =
        other["verificationMaterial"]["certificate"].clone();
    let recert = w.file("recert.sigstore.json", json.to_string().as_bytes());
    assert!(
        !rs_verify(&w, &file, &recert, ALICE, &issuer),
        "a certificate for another key must fail"
    );
}

#[test]
fn sigstore_rs_and_sigstore_python_verify_each_others_bundles() {
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("shared.txt", b"both clients sign this");

    let py_bundle = w.dir.join("py.sigstore.json");
    w.py_sign(&file, &py_bundle);
    assert!(
        rs_verify(&w, &file, &py_bundle, ALICE, &issuer),
        "sigstore-rs verifies sigstore-python's bundle\n{}",
        w.dev.log()
    );
    assert!(!rs_verify(&w, &file, &py_bundle, MALLORY, &issuer));
    assert!(!rs_verify(
        &w,
        &file,
        &py_bundle,
        ALICE,
        "https://accounts.example.com"
    ));
    let modified = w.file("modified.txt", b"both clients sign this!");
    assert!(!rs_verify(&w, &modified, &py_bundle, ALICE, &issuer));

    let rs_bundle = w.dir.join("rs.sigstore.json");
    rs_sign(&w, &file, &rs_bundle);
    assert_eq!(
        log_index(&rs_bundle),
        log_index(&py_bundle) + 1,
        "the next entry of the same log"
    );
    assert!(
        w.py_verify(&file, &rs_bundle, ALICE, &issuer),
        "sigstore-python verifies sigstore-rs's bundle"
    );
    assert!(!w.py_verify(&file, &rs_bundle, ALICE, "https://accounts.example.com"));
}

#[test]
fn sigstore_rs_trusts_only_the_trust_configs_root() {
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("artifact.txt", b"signed under one deployment");
    let bundle = w.dir.join("artifact.sigstore.json");
    rs_sign(&w, &file, &bundle);

    // Another deployment: its own CA, CT log and Rekor keys.
    let other_tmp = tempfile::tempdir().unwrap();
    let other = SigilDev::start(&other_tmp.path().join("data")).unwrap();
    assert!(
        !rs_verify_with(&other.trust_config(), &file, &bundle, ALICE, &issuer),
        "a certificate from a CA the trust config does not name must fail"
    );

    // Signing with this deployment's services but the other's trusted root:
    // the client's own checks of the new certificate and entry must refuse it.
    let mut mixed = read_json(&w.dev.trust_config());
    mixed["trustedRoot"] = read_json(&other.trust_config())["trustedRoot"].clone();
    let mixed_config = w.file("mixed_trust_config.json", mixed.to_string().as_bytes());
    let out = rs_sign_with(&w, &mixed_config, &file, &w.dir.join("mixed.sigstore.json"));
    assert!(
        !out.status.success(),
        "sign must check the log entry against the trusted root"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not in the trusted root"),
        "refused for the log key: {stderr}"
    );
    assert!(!w.dir.join("mixed.sigstore.json").exists());

    // The log trusted but the CA and CT log another's: the check of the new
    // bundle (chain, SCT) before it is written must refuse it.
    let mut mixed = read_json(&w.dev.trust_config());
    let other_root = read_json(&other.trust_config())["trustedRoot"].clone();
    mixed["trustedRoot"]["certificateAuthorities"] = other_root["certificateAuthorities"].clone();
    mixed["trustedRoot"]["ctlogs"] = other_root["ctlogs"].clone();
    let mixed_config = w.file("mixed_ca_trust_config.json", mixed.to_string().as_bytes());
    let out = rs_sign_with(&w, &mixed_config, &file, &w.dir.join("mixed.sigstore.json"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("does not verify against the trust config"),
        "sign must check the certificate against the trusted CA: {stderr}"
    );
    assert!(!w.dir.join("mixed.sigstore.json").exists());
}
