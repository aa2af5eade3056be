//! End to end: the log explorer (`/ui`) in headless Chromium (Debian's
//! `chromium`, which `scripts/test.sh` installs). It loads the log page,
//! submits the search form as the browser would (a GET of the form's action
//! with its field), follows a result to the entry page, and takes a
//! screenshot of it (left in `target/explorer/`). The pages carry no script
//! at all, so what Chromium renders is what a browser without JavaScript
//! shows (`--dump-dom` itself needs JavaScript on, so it stays on).

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use p256::pkcs8::EncodePrivateKey as _;
use sha2::{Digest as _, Sha256};
use test_support::clients::{start, ALICE};
use test_support::workspace_root;

/// Chromium's binary: `$SIGIL_CHROMIUM`, else Debian's.
fn chromium() -> Command {
    let bin = std::env::var("SIGIL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut cmd = Command::new(bin);
    // Root in a container has no user namespace for the sandbox.
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu"]);
    cmd
}

/// The DOM Chromium rendered for `url`.
fn dom(url: &str) -> String {
    let out = chromium().args(["--dump-dom", url]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(!html.contains("<script"), "a page with a script: {html}");
    html
}

/// The value of the first `attr="…"` after `from` in `html`.
fn attribute<'a>(html: &'a str, from: &str, attr: &str) -> &'a str {
    let at = html
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in {html}"));
    let rest = &html[at..];
    let start = rest.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
    let len = rest[start..].find('"').unwrap();
    &rest[start..start + len]
}

#[test]
fn the_explorer_finds_a_signer_and_shows_the_verified_entry() {
    let w = start();
    let file = w.file("explored.txt", b"an artifact to look up");
    w.py_sign(&file, &w.dir.join("explored.sigstore.json"));
    let base = w.dev.tlog_url();

    let log = dom(&format!("{base}/ui"));
    assert!(log.contains("Sigil log explorer"), "{log}");
    assert!(
        log.contains("Entries: <strong>2</strong>"),
        "genesis + one: {log}"
    );
    assert!(log.contains("<svg"), "the per-hour chart: {log}");
    assert!(log.contains("Signed checkpoint"));

    // Submit the search form: GET its action with its one field.
    let action = attribute(&log, "<form", "action");
    let field = attribute(&log, "<input", "name");
    let results = dom(&format!("{base}{action}?{field}={ALICE}"));
    assert!(results.contains("1 entries match"), "{results}");
    let link = attribute(&results, "<td><a", "href");
    assert_eq!(link, "/ui/entry/1");

    let entry = dom(&format!("{base}{link}"));
    assert!(entry.contains(ALICE), "{entry}");
    assert!(
        entry.contains(&w.dev.oidc_url()),
        "the OIDC issuer extension: {entry}"
    );
    assert!(entry.contains("Verified: the entry is leaf 1"), "{entry}");
    assert!(entry.contains("hashedrekord 0.0.1"));

    // Markup in a query is shown, not run.
    let hostile = dom(&format!(
        "{base}/ui/search?q=%3Cscript%3Ealert(1)%3C/script%3E"
    ));
    assert!(hostile.contains("&lt;script&gt;"), "{hostile}");

    let shots = workspace_root().join("target/explorer");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("entry.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium()
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=1200,1400", &format!("{base}{link}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );

    // The raw body downloads as JSON.
    let body = reqwest::blocking::get(format!("{base}{link}/body.json")).unwrap();
    assert_eq!(body.headers()["content-type"], "application/json");
    let json: serde_json::Value = body.json().unwrap();
    assert_eq!(json["kind"], "hashedrekord");
}

/// A certificate whose SAN and Sigstore issuer extension hold markup (the
/// log checks the signature, not the chain, so anyone can log one).
fn hostile_entry() -> String {
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let key_pair = rcgen::KeyPair::try_from(pkcs8.as_bytes()).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![rcgen::SanType::URI(
        rcgen::Ia5String::try_from("https://evil.example/<script>alert(1)</script>").unwrap(),
    )];
    let issuer = "<img src=x onerror=alert(2)>";
    // DER UTF8String: tag 12, short length.
    let mut value = vec![12u8, issuer.len() as u8];
    value.extend_from_slice(issuer.as_bytes());
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 57264, 1, 8],
        value,
    )];
    let cert = params.self_signed(&key_pair).unwrap();
    let artifact = b"hostile markup";
    let signature: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&key, artifact);
    serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": B64.encode(signature.to_der().as_bytes()),
                "publicKey": {"content": B64.encode(cert.pem())},
            },
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact))}},
        },
    })
    .to_string()
}

#[test]
fn markup_in_certificate_fields_is_shown_as_text() {
    let w = start();
    let base = w.dev.tlog_url();
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/log/entries"))
        .header("content-type", "application/json")
        .body(hostile_entry())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text());

    let entry = dom(&format!("{base}/ui/entry/1"));
    assert!(
        entry.contains("https://evil.example/&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{entry}"
    );
    assert!(
        entry.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{entry}"
    );
    assert!(!entry.contains("<img"), "{entry}");
    let found = dom(&format!(
        "{base}/ui/search?q=https://evil.example/%3Cscript%3Ealert(1)%3C/script%3E"
    ));
    assert!(found.contains("1 entries match"), "{found}");
}
