//! End to end on today's protocol: `sigil dev --rekor-api 2` points the real
//! clients at the Rekor v2 log and the RFC 3161 timestamp authority
//! (docs/rekor-v2.md §4–§5). sigstore-python 4.5.1 and sigstore-js (4.x and
//! 5.x) sign and attest through them, verify each other's bundles, refuse
//! what the v1 suite refuses, and still verify bundles made on Rekor v1.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::Value;
use test_support::clients::{start_with, JsApi, Workspace, ALICE, JS4, JS5};

fn start_v2() -> Workspace {
    start_with(&["--rekor-api", "2"])
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// What makes a bundle a v2 one: its entry is in the v2 log (the trust
/// root's second tlog), carries an inclusion proof with a checkpoint but no
/// inclusion promise or integrated time, and its time is a TSA timestamp.
fn assert_v2_bundle(w: &Workspace, bundle: &Path, kind: &str) {
    let bundle = json(bundle);
    let trust = json(&w.dev.trust_config());
    let v2_log_id = &trust["trustedRoot"]["tlogs"][1]["logId"]["keyId"];
    let material = &bundle["verificationMaterial"];
    let entry = &material["tlogEntries"][0];
    assert_eq!(&entry["logId"]["keyId"], v2_log_id, "{entry}");
    assert_eq!(entry["kindVersion"]["kind"], kind, "{entry}");
    assert_eq!(entry["kindVersion"]["version"], "0.0.2", "{entry}");
    assert!(entry.get("inclusionPromise").is_none(), "{entry}");
    assert!(
        entry
            .get("integratedTime")
            .is_none_or(|t| t == "0" || t == 0),
        "{entry}"
    );
    let checkpoint = entry["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap();
    let origin = w.dev.tlog_url().replace("http://", "");
    assert!(
        checkpoint.starts_with(&format!("{origin}\n")),
        "{checkpoint}"
    );
    let stamps = material["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .unwrap_or_else(|| panic!("no TSA timestamp in {material}"));
    assert_eq!(stamps.len(), 1, "{material}");
}

#[test]
fn the_trust_config_advertises_rekor_v2_and_the_tsa() {
    let w = start_v2();
    let trust = json(&w.dev.trust_config());
    let signing = &trust["signingConfig"];
    assert_eq!(signing["rekorTlogUrls"][0]["majorApiVersion"], 2);
    assert_eq!(signing["rekorTlogUrls"][0]["url"], w.dev.tlog_url());
    assert_eq!(
        signing["tsaUrls"][0]["url"],
        format!("{}/api/v1/timestamp", w.dev.ca_url())
    );
    let root = &trust["trustedRoot"];
    assert_eq!(root["tlogs"].as_array().unwrap().len(), 2, "v1 and v2");
    assert_eq!(root["tlogs"][1]["publicKey"]["keyDetails"], "PKIX_ED25519");
    let tsa_chain = root["timestampAuthorities"][0]["certChain"]["certificates"]
        .as_array()
        .unwrap();
    assert_eq!(tsa_chain.len(), 2, "the TSA's certificate and the root");
}

#[test]
fn sigstore_python_signs_and_attests_through_rekor_v2_and_the_tsa() {
    let w = start_v2();
    let issuer = w.dev.oidc_url();
    let file = w.file("artifact.txt", b"signed on Rekor v2\n");
    let bundle = w.dir.join("py-v2.json");
    w.py_sign(&file, &bundle);
    assert_v2_bundle(&w, &bundle, "hashedrekord");
    assert!(
        w.py_verify(&file, &bundle, ALICE, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(w.js_verify_with(JS4, Some(&file), &bundle, ALICE, &issuer));
    assert!(w.js_verify_with(JS5, Some(&file), &bundle, ALICE, &issuer));
    // The v1 suite's refusals hold on v2 too.
    assert!(!w.py_verify(&file, &bundle, "mallory@example.com", &issuer));
    assert!(!w.py_verify(&file, &bundle, ALICE, "https://accounts.example.com"));
    let modified = w.file("modified.txt", b"signed on Rekor v2!\n");
    assert!(!w.py_verify(&modified, &bundle, ALICE, &issuer));
    assert!(!w.js_verify_with(JS5, Some(&modified), &bundle, ALICE, &issuer));

    // sigstore-python logs an attestation as a hashedrekord over the PAE.
    let att = w.dir.join("py-v2-att.json");
    w.py_attest(&file, &att);
    assert_v2_bundle(&w, &att, "hashedrekord");
    assert!(w.py_verify(&file, &att, ALICE, &issuer), "{}", w.dev.log());
    // @sigstore/verify verifies such entries from 4.1.0 on (docs/rekor-v2.md
    // §4), so the 5.x generation checks it; 4.x's @sigstore/verify 3.1.1 does not.
    assert!(w.js_verify_with(JS5, None, &att, ALICE, &issuer));
    assert!(!w.py_verify(&file, &att, "mallory@example.com", &issuer));
    assert!(!w.py_verify(&modified, &att, ALICE, &issuer));
}

#[test]
fn sigstore_js_signs_and_attests_through_rekor_v2_in_both_generations() {
    let w = start_v2();
    let issuer = w.dev.oidc_url();
    let file = w.file("artifact.bin", b"\x00\x02 js on Rekor v2");
    let statement = w.statement_for(&file);
    for generation in [JS4, JS5] {
        let blob = w.dir.join(format!("js{generation}-v2.json"));
        w.js_sign_with(generation, JsApi::Builder, &file, &blob, false);
        assert_v2_bundle(&w, &blob, "hashedrekord");
        for verifier in [JS4, JS5] {
            assert!(
                w.js_verify_with(verifier, Some(&file), &blob, ALICE, &issuer),
                "js {verifier}.x verifies js {generation}.x's v2 blob bundle\n{}",
                w.dev.log()
            );
        }
        assert!(
            w.py_verify(&file, &blob, ALICE, &issuer),
            "python verifies it"
        );
        assert!(!w.js_verify_with(
            generation,
            Some(&file),
            &blob,
            "mallory@example.com",
            &issuer
        ));
        assert!(!w.py_verify(&file, &blob, ALICE, "https://accounts.example.com"));

        // sigstore-js logs an attestation as a dsse entry (dsseRequestV002).
        let att = w.dir.join(format!("js{generation}-v2-att.json"));
        w.js_sign_with(generation, JsApi::Builder, &statement, &att, true);
        assert_v2_bundle(&w, &att, "dsse");
        assert!(
            w.js_verify_with(generation, None, &att, ALICE, &issuer),
            "{}",
            w.dev.log()
        );
        // sigstore-python 4.5.1 verifies DSSE only as dsse/0.0.1 (Rekor v1)
        // or hashedrekord/0.0.2; it reports "Unsupported DSSE log entry type:
        // dsse/0.0.2" for these, a client gap (docs/rekor-v2.md §6).
        assert!(!w.js_verify_with(generation, None, &att, "mallory@example.com", &issuer));
    }
}

#[test]
fn bundles_made_on_rekor_v1_still_verify_on_a_v2_deployment() {
    let w = start_v2();
    let issuer = w.dev.oidc_url();
    // The same deployment told to sign on v1: only the signing config differs.
    let mut v1_config = json(&w.dev.trust_config());
    v1_config["signingConfig"]["rekorTlogUrls"][0]["majorApiVersion"] = 1.into();
    let v1_config_path = w.dir.join("trust_config.v1.json");
    std::fs::write(&v1_config_path, v1_config.to_string()).unwrap();

    let file = w.file("old.txt", b"signed before the move to v2\n");
    let bundle = w.dir.join("py-v1.json");
    let token = w.dev.email_token(ALICE).unwrap();
    let out = test_support::sigstore_python()
        .arg("--trust-config")
        .arg(&v1_config_path)
        .args(["sign", "--identity-token", &token, "--bundle"])
        .arg(&bundle)
        .arg(&file)
        .output()
        .unwrap();
    test_support::check(&out, "sigstore-python sign (v1)").unwrap();
    let entry = &json(&bundle)["verificationMaterial"]["tlogEntries"][0];
    assert!(
        entry.get("inclusionPromise").is_some(),
        "a v1 entry: {entry}"
    );

    // Verified with the v2 deployment's own trust config.
    assert!(
        w.py_verify(&file, &bundle, ALICE, &issuer),
        "{}",
        w.dev.log()
    );
    assert!(w.js_verify_with(JS4, Some(&file), &bundle, ALICE, &issuer));
    assert!(w.js_verify_with(JS5, Some(&file), &bundle, ALICE, &issuer));
    assert!(!w.py_verify(&file, &bundle, "mallory@example.com", &issuer));
}

#[test]
fn an_ecdsa_p256_checkpoint_key_works_with_both_clients() {
    let w = start_with(&["--rekor-api", "2", "--rekor-v2-key-algorithm", "ecdsa-p256"]);
    let issuer = w.dev.oidc_url();
    let trust = json(&w.dev.trust_config());
    assert_eq!(
        trust["trustedRoot"]["tlogs"][1]["publicKey"]["keyDetails"],
        "PKIX_ECDSA_P256_SHA_256"
    );
    let file = w.file("artifact.txt", b"checkpoints signed with ECDSA\n");
    let py = w.dir.join("py-ecdsa.json");
    w.py_sign(&file, &py);
    assert_v2_bundle(&w, &py, "hashedrekord");
    assert!(w.py_verify(&file, &py, ALICE, &issuer), "{}", w.dev.log());
    assert!(w.js_verify_with(JS5, Some(&file), &py, ALICE, &issuer));
    let js = w.dir.join("js-ecdsa.json");
    w.js_sign_with(JS5, JsApi::Builder, &file, &js, false);
    assert_v2_bundle(&w, &js, "hashedrekord");
    assert!(w.py_verify(&file, &js, ALICE, &issuer), "{}", w.dev.log());
    let modified = w.file("modified.txt", b"checkpoints signed with ECDSA!\n");
    assert!(!w.py_verify(&modified, &js, ALICE, &issuer));
}
