//! End to end: the real Sigstore clients (sigstore-python 4.5.1 from PyPI;
//! sigstore-js from npm in two generations, `@sigstore/sign` 4.1.1 with
//! `@sigstore/verify` 3.1.1, and `sigstore` 5.0.1 with `@sigstore/sign` 5.1.0
//! and `@sigstore/verify` 4.1.3) sign and verify against a `sigil dev`
//! process, and verify each other's bundles. Each test starts its own stack
//! on fresh ports over a fresh data directory.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use test_support::clients::{start, JsApi, ALICE, JS5};

#[test]
fn sigstore_python_signs_and_verifies_a_blob() {
    let w = start();
    let file = w.file("artifact.txt", b"hello from sigil\n");
    let bundle = w.dir.join("artifact.sigstore.json");
    w.py_sign(&file, &bundle);
    let issuer = w.dev.oidc_url();
    assert!(
        w.py_verify(&file, &bundle, ALICE, &issuer),
        "{}",
        w.dev.log()
    );

    assert!(
        !w.py_verify(&file, &bundle, "mallory@example.com", &issuer),
        "another identity must fail"
    );
    assert!(
        !w.py_verify(&file, &bundle, ALICE, "https://accounts.example.com"),
        "another issuer must fail"
    );
    let modified = w.file("modified.txt", b"hello from sigil!\n");
    assert!(
        !w.py_verify(&modified, &bundle, ALICE, &issuer),
        "a modified file must fail"
    );
}

#[test]
fn sigstore_python_signs_with_a_workload_uri_identity() {
    let w = start();
    let subject = "https://ci.example.com/pipelines/7";
    let file = w.file("build-output.bin", b"built by a pipeline");
    let bundle = w.dir.join("build-output.sigstore.json");
    w.py_sign_with(&w.dev.subject_token(subject).unwrap(), &file, &bundle);
    let issuer = w.dev.oidc_url();
    assert!(
        w.py_verify(&file, &bundle, subject, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(
        w.js_verify(Some(&file), &bundle, subject, &issuer),
        "sigstore-js reads the URI SAN too"
    );
    assert!(!w.py_verify(
        &file,
        &bundle,
        "https://ci.example.com/pipelines/8",
        &issuer
    ));
    assert!(!w.py_verify(&file, &bundle, ALICE, &issuer));
}

#[test]
fn sigstore_python_attests_and_verifies_a_dsse_attestation() {
    let w = start();
    let file = w.file("release.tar", b"release bytes");
    let bundle = w.dir.join("release.intoto.sigstore.json");
    w.py_attest(&file, &bundle);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert!(
        json.get("dsseEnvelope").is_some(),
        "an attestation is a DSSE bundle"
    );
    assert_eq!(
        json["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );

    let issuer = w.dev.oidc_url();
    assert!(
        w.py_verify(&file, &bundle, ALICE, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(!w.py_verify(&file, &bundle, "mallory@example.com", &issuer));
    let other = w.file("other.tar", b"other bytes");
    assert!(
        !w.py_verify(&other, &bundle, ALICE, &issuer),
        "the statement names another file"
    );
}

#[test]
fn sigstore_js_signs_and_verifies_a_blob_and_an_attestation() {
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("artifact.bin", b"\x00\x01 js artifact");
    let bundle = w.dir.join("js-blob.json");
    w.js_sign(&file, &bundle, false);
    assert!(
        w.js_verify(Some(&file), &bundle, ALICE, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(!w.js_verify(Some(&file), &bundle, "mallory@example.com", &issuer));
    assert!(!w.js_verify(Some(&file), &bundle, ALICE, "https://accounts.example.com"));
    let modified = w.file("artifact2.bin", b"\x00\x01 js artifacT");
    assert!(!w.js_verify(Some(&modified), &bundle, ALICE, &issuer));

    let statement = w.statement_for(&file);
    let att = w.dir.join("js-att.json");
    w.js_sign(&statement, &att, true);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&att).unwrap()).unwrap();
    assert_eq!(
        json["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );
    assert!(w.js_verify(None, &att, ALICE, &issuer), "{}", w.dev.log());
    assert!(!w.js_verify(None, &att, "mallory@example.com", &issuer));
}

#[test]
fn each_client_verifies_the_others_bundles() {
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("shared.txt", b"both clients sign this");

    let py_bundle = w.dir.join("py.json");
    w.py_sign(&file, &py_bundle);
    assert!(
        w.js_verify(Some(&file), &py_bundle, ALICE, &issuer),
        "js verifies python's blob bundle"
    );

    let js_bundle = w.dir.join("js.json");
    w.js_sign(&file, &js_bundle, false);
    assert!(
        w.py_verify(&file, &js_bundle, ALICE, &issuer),
        "python verifies js's blob bundle"
    );

    let py_att = w.dir.join("py-att.json");
    w.py_attest(&file, &py_att);
    assert!(
        w.js_verify(None, &py_att, ALICE, &issuer),
        "js verifies python's attestation"
    );

    let js_att = w.dir.join("js-att.json");
    w.js_sign(&w.statement_for(&file), &js_att, true);
    assert!(
        w.py_verify(&file, &js_att, ALICE, &issuer),
        "python verifies js's attestation"
    );

    // Negative cases hold across clients too.
    assert!(!w.js_verify(Some(&file), &py_bundle, "mallory@example.com", &issuer));
    assert!(!w.py_verify(&file, &js_bundle, ALICE, "https://accounts.example.com"));
}

#[test]
fn sigstore_js5_signs_a_blob_and_an_attestation_that_both_clients_verify() {
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("artifact5.bin", b"\x00\x05 js 5.x artifact");
    let bundle = w.dir.join("js5-blob.json");
    w.js_sign_with(JS5, JsApi::Builder, &file, &bundle, false);
    assert!(
        w.js_verify_with(JS5, Some(&file), &bundle, ALICE, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(
        w.py_verify(&file, &bundle, ALICE, &issuer),
        "python verifies js 5.x's blob bundle"
    );
    assert!(!w.js_verify_with(JS5, Some(&file), &bundle, "mallory@example.com", &issuer));
    assert!(!w.js_verify_with(
        JS5,
        Some(&file),
        &bundle,
        ALICE,
        "https://accounts.example.com"
    ));
    assert!(!w.py_verify(&file, &bundle, "mallory@example.com", &issuer));
    let modified = w.file("artifact5-modified.bin", b"\x00\x05 js 5.x artifacT");
    assert!(!w.js_verify_with(JS5, Some(&modified), &bundle, ALICE, &issuer));
    assert!(!w.py_verify(&modified, &bundle, ALICE, &issuer));

    let att = w.dir.join("js5-att.json");
    w.js_sign_with(JS5, JsApi::Builder, &w.statement_for(&file), &att, true);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&att).unwrap()).unwrap();
    assert_eq!(
        json["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );
    assert!(
        w.js_verify_with(JS5, None, &att, ALICE, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(
        w.py_verify(&file, &att, ALICE, &issuer),
        "python verifies js 5.x's attestation"
    );
    assert!(!w.js_verify_with(JS5, None, &att, "mallory@example.com", &issuer));
    assert!(
        !w.py_verify(&modified, &att, ALICE, &issuer),
        "the statement names another file"
    );
}

#[test]
fn sigstore_js5_verifies_python_and_js4_bundles_and_js4_verifies_js5() {
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("shared5.txt", b"python, js 4.x and js 5.x sign this");

    let py_bundle = w.dir.join("py.json");
    w.py_sign(&file, &py_bundle);
    assert!(
        w.js_verify_with(JS5, Some(&file), &py_bundle, ALICE, &issuer),
        "js 5.x verifies python's blob bundle"
    );
    assert!(!w.js_verify_with(JS5, Some(&file), &py_bundle, "mallory@example.com", &issuer));

    let py_att = w.dir.join("py-att.json");
    w.py_attest(&file, &py_att);
    assert!(
        w.js_verify_with(JS5, None, &py_att, ALICE, &issuer),
        "js 5.x verifies python's attestation"
    );
    assert!(!w.js_verify_with(JS5, None, &py_att, ALICE, "https://accounts.example.com"));

    let js4_bundle = w.dir.join("js4.json");
    w.js_sign(&file, &js4_bundle, false);
    assert!(
        w.js_verify_with(JS5, Some(&file), &js4_bundle, ALICE, &issuer),
        "js 5.x verifies js 4.x's bundle"
    );

    let js5_att = w.dir.join("js5-att.json");
    w.js_sign_with(JS5, JsApi::Builder, &w.statement_for(&file), &js5_att, true);
    assert!(
        w.js_verify(None, &js5_att, ALICE, &issuer),
        "js 4.x verifies js 5.x's attestation"
    );
    assert!(!w.js_verify(None, &js5_att, "mallory@example.com", &issuer));
}

#[test]
fn sigstore_js5_top_level_sign_and_attest_work_against_sigil() {
    // `sigstore.sign()` / `sigstore.attest()` with `fulcioURL`, `rekorURL`
    // and `identityToken`: the calls most npm users make.
    let w = start();
    let issuer = w.dev.oidc_url();
    let file = w.file("package.tgz", b"a package tarball");

    let bundle = w.dir.join("sigstore-sign.json");
    w.js_sign_with(JS5, JsApi::Sigstore, &file, &bundle, false);
    assert!(
        w.js_verify_with(JS5, Some(&file), &bundle, ALICE, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(w.py_verify(&file, &bundle, ALICE, &issuer));
    assert!(!w.py_verify(&file, &bundle, ALICE, "https://accounts.example.com"));

    let att = w.dir.join("sigstore-attest.json");
    w.js_sign_with(JS5, JsApi::Sigstore, &w.statement_for(&file), &att, true);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&att).unwrap()).unwrap();
    assert_eq!(
        json["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );
    assert!(w.js_verify_with(JS5, None, &att, ALICE, &issuer));
    assert!(w.py_verify(&file, &att, ALICE, &issuer));
    assert!(!w.js_verify_with(JS5, None, &att, "mallory@example.com", &issuer));
}
