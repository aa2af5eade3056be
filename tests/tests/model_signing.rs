//! End to end: OpenSSF model-signing 1.1.1 (PyPI `model-signing`, the
//! `model_signing` CLI) signs a model directory keylessly against a `sigil dev`
//! process, with Sigil's trust config and a token from the development issuer,
//! and verifies it; another identity or issuer, a changed file and an added
//! file are refused, and sigstore-python verifies the same bundle for the
//! model's digest. Each test starts its own stack on fresh ports over a fresh
//! data directory.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use test_support::clients::{start, Workspace, ALICE};
use test_support::{check, model_signing};

// model-signing's steps, on the shared client workspace (`test_support::clients`).

/// A small model: a config, weights, and a tokenizer in a subdirectory.
fn new_model(w: &Workspace) -> PathBuf {
    let model = w.dir.join("model");
    std::fs::create_dir_all(model.join("tokenizer")).unwrap();
    std::fs::write(
        model.join("config.json"),
        br#"{"architectures":["TinyNet"],"hidden_size":8,"num_layers":2}"#,
    )
    .unwrap();
    let weights: Vec<u8> = (0..4096u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(model.join("model.safetensors"), weights).unwrap();
    std::fs::write(
        model.join("tokenizer/vocab.txt"),
        b"<pad>\n<unk>\nhello\nsigil\n",
    )
    .unwrap();
    model
}

fn sign_model(w: &Workspace, model: &Path, signature: &Path) {
    let token = w.dev.email_token(ALICE).unwrap();
    let out = model_signing()
        .args(["sign", "sigstore", "--trust_config"])
        .arg(w.dev.trust_config())
        .args(["--identity_token", &token, "--signature"])
        .arg(signature)
        .arg(model)
        .output()
        .unwrap();
    check(&out, "model_signing sign sigstore").unwrap_or_else(|e| panic!("{e}\n{}", w.dev.log()));
}

/// Runs `model_signing verify sigstore`: Ok if it accepted, else what it printed.
fn verify_model(
    w: &Workspace,
    model: &Path,
    signature: &Path,
    identity: &str,
    issuer: &str,
) -> Result<(), String> {
    let out = model_signing()
        .args(["verify", "sigstore", "--trust_config"])
        .arg(w.dev.trust_config())
        .arg("--signature")
        .arg(signature)
        .args(["--identity", identity, "--identity_provider", issuer])
        .arg(model)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(())
    } else {
        eprintln!("model_signing verify refused: {printed}");
        Err(printed)
    }
}

/// Asserts that verification is refused for `reason` (a part of the message).
fn assert_model_refused(
    w: &Workspace,
    model: &Path,
    signature: &Path,
    identity: &str,
    issuer: &str,
    reason: &str,
) {
    let err = verify_model(w, model, signature, identity, issuer)
        .expect_err("verification must be refused");
    assert!(
        err.contains(reason),
        "refused, but not for {reason:?}: {err}"
    );
}

#[test]
fn model_signing_signs_and_verifies_a_model_directory() {
    let w = start();
    let model = new_model(&w);
    let signature = w.dir.join("model.sig");
    sign_model(&w, &model, &signature);

    // The signature is a Sigstore bundle: a DSSE envelope over an in-toto
    // statement naming every file of the model, logged in Sigil's Rekor.
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&signature).unwrap()).unwrap();
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "dsse", "{bundle}");
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    let statement: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(payload).unwrap()).unwrap();
    let files: Vec<&str> = statement["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for name in ["config.json", "model.safetensors", "tokenizer/vocab.txt"] {
        assert!(files.contains(&name), "{name} not in {files:?}");
    }

    let issuer = w.dev.oidc_url();
    verify_model(&w, &model, &signature, ALICE, &issuer)
        .unwrap_or_else(|e| panic!("{e}\n{}", w.dev.log()));
    assert_model_refused(
        &w,
        &model,
        &signature,
        "mallory@example.com",
        &issuer,
        "SANs do not match mallory@example.com",
    );
    assert_model_refused(
        &w,
        &model,
        &signature,
        ALICE,
        "https://accounts.example.com",
        "OIDCIssuer does not match",
    );

    // It is a plain Sigstore bundle too: sigstore-python verifies it for the
    // statement's subject, the model's digest over all its files.
    let subject = format!(
        "sha256:{}",
        statement["subject"][0]["digest"]["sha256"]
            .as_str()
            .unwrap()
    );
    let subject = Path::new(&subject);
    assert!(
        w.py_verify(subject, &signature, ALICE, &issuer),
        "sigstore-python verify of model.sig\n{}",
        w.dev.log()
    );
    assert!(
        !w.py_verify(subject, &signature, "mallory@example.com", &issuer),
        "sigstore-python must refuse another identity"
    );
}

#[test]
fn model_signing_refuses_a_changed_or_added_file() {
    let w = start();
    let model = new_model(&w);
    let signature = w.dir.join("model.sig");
    sign_model(&w, &model, &signature);
    let issuer = w.dev.oidc_url();
    verify_model(&w, &model, &signature, ALICE, &issuer)
        .unwrap_or_else(|e| panic!("{e}\n{}", w.dev.log()));

    // One changed byte in the subdirectory's file.
    let vocab = model.join("tokenizer/vocab.txt");
    let original = std::fs::read(&vocab).unwrap();
    std::fs::write(&vocab, b"<pad>\n<unk>\nhello\nsigiL\n").unwrap();
    assert_model_refused(
        &w,
        &model,
        &signature,
        ALICE,
        &issuer,
        "Hash mismatch for 'tokenizer/vocab.txt'",
    );
    std::fs::write(&vocab, &original).unwrap();
    verify_model(&w, &model, &signature, ALICE, &issuer)
        .expect("restored, the model verifies again");

    // A file the signature does not cover.
    std::fs::write(model.join("tokenizer/merges.txt"), b"h e\n").unwrap();
    assert_model_refused(
        &w,
        &model,
        &signature,
        ALICE,
        &issuer,
        "Extra files found in model 'model': tokenizer/merges.txt",
    );
}
