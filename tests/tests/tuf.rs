//! End to end: the trust root delivered over TUF (`sigil dev`'s mirror, made
//! by `sigil/src/tuf/` with the `tough` crate). sigstore-python 4.5.1
//! bootstraps once from the mirror's root (`trust-instance`), then signs and
//! verifies with `--instance` and nothing else: its python-tuf client checks
//! every role's signature, version and expiry, so a tampered timestamp must
//! stop it. sigstore-js 5 (`sigstore.verify()`, tuf-js) verifies the same
//! bundle with `tufMirrorURL` and `tufRootPath` alone. Each test has its own stack and its own client state (`HOME`
//! and the XDG directories point into the test's directory).

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

use test_support::clients::{start, Workspace, ALICE};
use test_support::{sigstore_js_generation, sigstore_python};

/// sigstore-python with `--instance` the stack's TUF mirror, and its TUF
/// cache and trusted roots kept in the test's directory.
fn py(w: &Workspace, args: &[&str], paths: &[&Path]) -> Output {
    let (mirror, _) = w.dev.tuf();
    py_at(&mirror, &w.dir.join("home"), args, paths)
}

/// sigstore-python with `--instance mirror`, its state under `home`.
fn py_at(mirror: &str, home: &Path, args: &[&str], paths: &[&Path]) -> Output {
    std::fs::create_dir_all(home).unwrap();
    sigstore_python()
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .args(["--instance", mirror])
        .args(args)
        .args(paths)
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str, w: &Workspace) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        w.dev.log()
    );
}

/// Bootstraps from the mirror's root, signs `content`, and returns the file
/// and bundle.
fn bootstrap_and_sign(w: &Workspace, content: &[u8]) -> (std::path::PathBuf, std::path::PathBuf) {
    let (_, root) = w.dev.tuf();
    ok(&py(w, &["trust-instance"], &[&root]), "trust-instance", w);
    let file = w.file("artifact.txt", content);
    let bundle = w.dir.join("artifact.sigstore.json");
    sign_over_tuf(w, &file, &bundle);
    (file, bundle)
}

/// Signs `file` as Alice, with the trust sigstore-python has from the mirror.
fn sign_over_tuf(w: &Workspace, file: &Path, bundle: &Path) {
    let token = w.dev.email_token(ALICE).unwrap();
    let out = py(
        w,
        &["sign", "--identity-token", &token, "--bundle"],
        &[bundle, file],
    );
    ok(&out, "sign over TUF", w);
}

fn verify(w: &Workspace, file: &Path, bundle: &Path) -> Output {
    let (mirror, _) = w.dev.tuf();
    verify_at(w, &mirror, &w.dir.join("home"), file, bundle)
}

/// sigstore-python verifies Alice's `bundle` with the trust it has from
/// `mirror` (state under `home`).
fn verify_at(w: &Workspace, mirror: &str, home: &Path, file: &Path, bundle: &Path) -> Output {
    let issuer = w.dev.oidc_url();
    py_at(
        mirror,
        home,
        &[
            "verify",
            "identity",
            // Raises the underlying error, so its cause is in stderr.
            "--verbose",
            "--cert-identity",
            ALICE,
            "--cert-oidc-issuer",
            &issuer,
            "--bundle",
        ],
        &[bundle, file],
    )
}

#[test]
fn sigstore_python_takes_its_whole_trust_from_the_tuf_mirror() {
    let w = start();
    let (file, bundle) = bootstrap_and_sign(&w, b"trusted over TUF\n");
    ok(&verify(&w, &file, &bundle), "verify over TUF", &w);

    let modified = w.file("modified.txt", b"trusted over TUF!\n");
    assert!(
        !verify(&w, &modified, &bundle).status.success(),
        "a modified file must fail"
    );
}

/// sigstore-js's `verify()` over the mirror; false when it refuses.
fn js_verify_over_tuf(w: &Workspace, file: &Path, bundle: &Path) -> Output {
    let (mirror, root) = w.dev.tuf();
    js_verify_at(w, &mirror, &root, &w.dir.join("js-tuf-cache"), file, bundle)
}

/// sigstore-js's `verify()` with `tufMirrorURL` `mirror`, bootstrapped from
/// `root`, its TUF cache in `cache`.
fn js_verify_at(
    w: &Workspace,
    mirror: &str,
    root: &Path,
    cache: &Path,
    file: &Path,
    bundle: &Path,
) -> Output {
    sigstore_js_generation(5)
        .arg("verify-tuf")
        .args(["--tuf-mirror", mirror])
        .arg("--tuf-root")
        .arg(root)
        .arg("--tuf-cache")
        .arg(cache)
        .arg("--bundle")
        .arg(bundle)
        .arg("--artifact")
        .arg(file)
        .args(["--identity", ALICE, "--issuer", &w.dev.oidc_url()])
        .output()
        .unwrap()
}

#[test]
fn sigstore_js_verifies_with_its_trust_taken_from_the_tuf_mirror() {
    let w = start();
    let (file, bundle) = bootstrap_and_sign(&w, b"verified by tuf-js\n");
    ok(
        &js_verify_over_tuf(&w, &file, &bundle),
        "sigstore-js verify over TUF",
        &w,
    );
    let modified = w.file("modified.txt", b"verified by tuf-js!\n");
    assert!(
        !js_verify_over_tuf(&w, &modified, &bundle).status.success(),
        "a modified file must fail"
    );
}

/// Signs the served `timestamp.json` again with the repository's own
/// timestamp key, with an expiry in the past: a validly signed, expired
/// timestamp. Done in Python (cryptography and securesystemslib come with
/// sigstore-python), so the test does not reuse the code under test.
fn resign_timestamp_expired(w: &Workspace) {
    let key = w.dev.data_dir.join("tuf/keys/timestamp.pk8");
    resign_timestamp_with(w, &key, "2001-01-01T00:00:00Z");
}

/// Signs the served `timestamp.json` again with the Ed25519 key in
/// `key_path`, expiring at `expires`, as the next version.
fn resign_timestamp_with(w: &Workspace, key_path: &Path, expires: &str) {
    const RESIGN: &str = r#"
import json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.formats import encode_canonical
repo, key_path, expires = sys.argv[1], sys.argv[2], sys.argv[3]
path = repo + "/timestamp.json"
doc = json.load(open(path))
doc["signed"]["expires"] = expires
doc["signed"]["version"] += 1
der = open(key_path, "rb").read()
# The seed: PKCS#8 wraps it as OCTET STRING { OCTET STRING (32 bytes) } (RFC 8410 section 7).
at = der.index(bytes([0x04, 0x22, 0x04, 0x20])) + 4
key = Ed25519PrivateKey.from_private_bytes(der[at:at + 32])
signature = key.sign(encode_canonical(doc["signed"]).encode())
doc["signatures"] = [{"keyid": doc["signatures"][0]["keyid"], "sig": signature.hex()}]
json.dump(doc, open(path, "w"), indent=2)
"#;
    let python = test_support::workspace_root().join("target/e2e-venv/bin/python");
    let tuf = w.dev.data_dir.join("tuf");
    let out = std::process::Command::new(python)
        .args(["-c", RESIGN])
        .arg(tuf.join("repository"))
        .arg(key_path)
        .arg(expires)
        .output()
        .unwrap();
    ok(&out, "re-signing the timestamp", w);
}

#[test]
fn an_expired_timestamp_is_refused_by_the_client() {
    let w = start();
    let (file, bundle) = bootstrap_and_sign(&w, b"signed before the expiry\n");
    resign_timestamp_expired(&w);
    let out = verify(&w, &file, &bundle);
    assert!(
        !out.status.success(),
        "an expired timestamp must be refused"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("timestamp.json is expired"), "{stderr}");
}

/// A CA rotation published through TUF: the stack restarts with a new CA
/// key and root, the mirror publishes a trust root that keeps the old CA
/// with an end date, and both clients, their TUF state kept, verify the
/// bundle made before the rotation and one made after.
#[test]
fn after_a_ca_rotation_both_clients_verify_old_and_new_bundles() {
    let mut w = start();
    let (before_file, before) = bootstrap_and_sign(&w, b"signed by the first CA\n");
    ok(
        &verify(&w, &before_file, &before),
        "verify before the rotation",
        &w,
    );

    w.dev.stop().unwrap();
    for old in ["keys/ca.key.pem", "ca/root.crt.pem", "ca/tsa.crt.pem"] {
        std::fs::remove_file(w.dev.data_dir.join(old)).unwrap();
    }
    w.dev.restart().unwrap();

    let published: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.dev.data_dir.join("tuf/staged/trusted_root.json")).unwrap(),
    )
    .unwrap();
    let cas = published["certificateAuthorities"].as_array().unwrap();
    assert_eq!(cas.len(), 2, "the new CA and the retired one: {cas:?}");
    assert!(cas[0]["validFor"]["end"].is_null());
    assert!(
        cas[1]["validFor"]["end"].is_string(),
        "the old CA ends: {cas:?}"
    );

    ok(
        &verify(&w, &before_file, &before),
        "python verifies the old bundle",
        &w,
    );
    ok(
        &js_verify_over_tuf(&w, &before_file, &before),
        "js verifies the old bundle",
        &w,
    );
    let after_file = w.file("after.txt", b"signed by the second CA\n");
    let after = w.dir.join("after.sigstore.json");
    sign_over_tuf(&w, &after_file, &after);
    ok(
        &verify(&w, &after_file, &after),
        "python verifies the new bundle",
        &w,
    );
    ok(
        &js_verify_over_tuf(&w, &after_file, &after),
        "js verifies the new bundle",
        &w,
    );
}

/// `sigil tuf rotate` on the running mirror: the timestamp key, then the
/// root key itself. Each client, its TUF state from before kept, walks the
/// root chain (1 → 3, each step cross-signed) and still verifies; a bundle
/// made after the rotations verifies too.
#[test]
fn after_tuf_key_rotations_both_clients_follow_the_root_chain() {
    let w = start();
    let (file, bundle) = bootstrap_and_sign(&w, b"signed under the first TUF root\n");
    ok(&js_verify_over_tuf(&w, &file, &bundle), "js before", &w);
    let tuf_dir = w.dev.data_dir.join("tuf");
    for role in ["timestamp", "root"] {
        let out = std::process::Command::new(test_support::sigil_bin())
            .args(["tuf", "rotate", "--role", role, "--dir"])
            .arg(&tuf_dir)
            .output()
            .unwrap();
        ok(&out, &format!("sigil tuf rotate --role {role}"), &w);
    }
    assert!(tuf_dir.join("repository/3.root.json").is_file());

    ok(
        &verify(&w, &file, &bundle),
        "python after the rotations",
        &w,
    );
    ok(
        &js_verify_over_tuf(&w, &file, &bundle),
        "js after the rotations",
        &w,
    );
    let after_file = w.file("after.txt", b"signed under the third TUF root\n");
    let after = w.dir.join("after.sigstore.json");
    sign_over_tuf(&w, &after_file, &after);
    ok(&verify(&w, &after_file, &after), "python, new bundle", &w);

    // The clients now hold root 3: a timestamp signed by the retired
    // timestamp key is refused.
    let retired = tuf_dir.join("keys/retired/timestamp.until-root-v2.pk8");
    assert!(retired.is_file());
    resign_timestamp_with(&w, &retired, "2099-01-01T00:00:00Z");
    let out = verify(&w, &file, &bundle);
    assert!(!out.status.success(), "a timestamp from the retired key");
}

#[test]
fn a_tampered_timestamp_is_refused_by_the_client() {
    let w = start();
    let (file, bundle) = bootstrap_and_sign(&w, b"signed before the tampering\n");

    // Push the timestamp's expiry out by a year without re-signing it: the
    // JSON stays valid, its signature no longer does.
    let path = w.dev.data_dir.join("tuf/repository/timestamp.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let expires = doc["signed"]["expires"].as_str().unwrap().to_owned();
    let year: i32 = expires[..4].parse().unwrap();
    doc["signed"]["expires"] = format!("{}{}", year + 1, &expires[4..]).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    let out = verify(&w, &file, &bundle);
    assert!(
        !out.status.success(),
        "a tampered timestamp must be refused"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("timestamp was signed by 0/1 keys"),
        "{stderr}"
    );
}

/// A TUF repository whose root, targets and timestamp keys live in a
/// PKCS#11 token (ECDSA P-256, as Sigstore's own root signers use): both
/// clients bootstrap from it and verify, and it refreshes only with the PIN.
#[test]
fn both_clients_take_a_trust_root_signed_by_token_keys() {
    let w = start();
    let file = w.file("hsm.txt", b"trust signed on a token\n");
    let bundle = w.dir.join("hsm.sigstore.json");
    w.py_sign(&file, &bundle);

    let hsm_dir = w.dir.join("hsm");
    let conf = test_support::softhsm::init_token(&hsm_dir, "tuf-token", "tuf-pin-1234");
    let repo = w.dir.join("hsm-tuf");
    let staged = w.dev.data_dir.join("tuf/staged");
    let sigil_tuf = |args: &[&str], pin: Option<&str>| {
        let mut command = std::process::Command::new(test_support::sigil_bin());
        command
            .arg("tuf")
            .args(args)
            .arg("--dir")
            .arg(&repo)
            .env("SOFTHSM2_CONF", &conf)
            .env_remove("SIGIL_TUF_PKCS11_PIN");
        if let Some(pin) = pin {
            command.env("SIGIL_TUF_PKCS11_PIN", pin);
        }
        command.output().unwrap()
    };
    let trusted_root = staged.join("trusted_root.json");
    let signing_config = staged.join("signing_config.v0.2.json");
    let init = sigil_tuf(
        &[
            "init",
            "--trusted-root",
            trusted_root.to_str().unwrap(),
            "--signing-config",
            signing_config.to_str().unwrap(),
            "--pkcs11-module",
            test_support::softhsm::MODULE,
            "--pkcs11-token",
            "tuf-token",
            "--pkcs11-key",
            "root=tuf-root",
            "--pkcs11-key",
            "targets=tuf-targets",
            "--pkcs11-key",
            "timestamp=tuf-timestamp",
        ],
        Some("tuf-pin-1234"),
    );
    ok(&init, "sigil tuf init with token keys", &w);
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("root.json")).unwrap()).unwrap();
    let key_types: Vec<&str> = root["signed"]["keys"]
        .as_object()
        .unwrap()
        .values()
        .map(|k| k["scheme"].as_str().unwrap())
        .collect();
    assert_eq!(
        key_types
            .iter()
            .filter(|t| **t == "ecdsa-sha2-nistp256")
            .count(),
        3,
        "{key_types:?}"
    );
    assert!(
        !repo.join("keys/targets.pk8").exists(),
        "no key file for a token role"
    );

    // Serve it as static files, as a deployment would.
    let port = test_support::free_port();
    let python = test_support::workspace_root().join("target/e2e-venv/bin/python");
    let mut server = std::process::Command::new(python)
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
        ])
        .arg(repo.join("repository"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mirror = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while reqwest::blocking::get(format!("{mirror}/timestamp.json")).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the mirror did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let home = w.dir.join("hsm-home");
    let bootstrap = repo.join("root.json");
    ok(
        &py_at(&mirror, &home, &["trust-instance"], &[&bootstrap]),
        "python trust-instance",
        &w,
    );
    ok(
        &verify_at(&w, &mirror, &home, &file, &bundle),
        "python verifies over token-signed TUF",
        &w,
    );
    let js_cache = w.dir.join("hsm-js-cache");
    ok(
        &js_verify_at(&w, &mirror, &bootstrap, &js_cache, &file, &bundle),
        "js verifies over token-signed TUF",
        &w,
    );

    let locked = sigil_tuf(&["refresh"], None);
    assert!(!locked.status.success());
    assert!(
        String::from_utf8_lossy(&locked.stderr).contains("SIGIL_TUF_PKCS11_PIN"),
        "{locked:?}"
    );
    ok(
        &sigil_tuf(&["refresh"], Some("tuf-pin-1234")),
        "refresh with the PIN",
        &w,
    );
    ok(
        &verify_at(&w, &mirror, &home, &file, &bundle),
        "python verifies after the refresh",
        &w,
    );

    // Rotating a token role keeps its key on the token, under a new label.
    let refused = sigil_tuf(&["rotate", "--role", "timestamp"], Some("tuf-pin-1234"));
    assert!(
        !refused.status.success(),
        "a token role needs the new label"
    );
    ok(
        &sigil_tuf(
            &[
                "rotate",
                "--role",
                "timestamp",
                "--pkcs11-key",
                "tuf-timestamp-2",
            ],
            Some("tuf-pin-1234"),
        ),
        "rotate the token's timestamp key",
        &w,
    );
    let descriptor: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("keys/timestamp.pkcs11.json")).unwrap())
            .unwrap();
    assert_eq!(descriptor["key"], "tuf-timestamp-2");
    assert!(repo
        .join("keys/retired/timestamp.until-root-v2.pkcs11.json")
        .is_file());
    ok(
        &verify_at(&w, &mirror, &home, &file, &bundle),
        "python verifies after the token rotation",
        &w,
    );
    ok(
        &js_verify_at(&w, &mirror, &bootstrap, &js_cache, &file, &bundle),
        "js verifies after the token rotation",
        &w,
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
