//! `sigil trust-root` against a running `sigil dev`: the ClientTrustConfig
//! it builds from the public endpoints alone (trust bundle, Rekor public key,
//! the CT key file checked against the signed tree head) is the one
//! `sigil dev` wrote from its own key material, and sigstore-python 4.5.1
//! signs and verifies with it (docs/clients.md §1–§2).

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use shared::keys::EcdsaP256Signer;
use test_support::{check, sigil_bin, sigstore_python, SigilDev};

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    dev: SigilDev,
    ct_pub: PathBuf,
}

fn start() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let dev = SigilDev::start(&dir.join("data")).unwrap();
    // What an operator has: the CT log's public key (here derived from the
    // dev stack's private key, which only the test can read).
    let ct_pub = write_public_key(
        &dev.data_dir.join("keys/ct.key.pem"),
        &dir.join("ct.pub.pem"),
    );
    Fixture {
        _tmp: tmp,
        dir,
        dev,
        ct_pub,
    }
}

fn write_public_key(private: &Path, out: &Path) -> PathBuf {
    let key = EcdsaP256Signer::from_pem(&std::fs::read_to_string(private).unwrap()).unwrap();
    std::fs::write(out, key.public_pem()).unwrap();
    out.to_path_buf()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

impl Fixture {
    fn trust_root(&self, extra: &[&str]) -> Output {
        Command::new(sigil_bin())
            .arg("trust-root")
            .args(["--ca-url", &self.dev.ca_url()])
            .args(["--tlog-url", &self.dev.tlog_url()])
            .args(extra)
            .output()
            .unwrap()
    }

    /// What an operator reads from tlog-server's start-up log: the v2 log's
    /// verifier key (here derived from the dev stack's private key).
    fn rekor_v2_vkey(&self) -> String {
        let pem = std::fs::read_to_string(self.dev.data_dir.join("keys/rekor-v2.key.pem")).unwrap();
        let origin = self.dev.tlog_url().replace("http://", "");
        shared::note::Ed25519NoteKey::from_pkcs8_pem(&origin, &pem)
            .unwrap()
            .vkey()
    }

    fn created_at(&self) -> String {
        json(&self.dev.data_dir.join("instance.json"))["created_at"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

#[test]
fn rebuilds_the_trust_config_sigil_dev_wrote() {
    let f = start();
    let out = f.dir.join("trust_config.json");
    let root = f.dir.join("trusted_root.json");
    let signing = f.dir.join("signing_config.json");
    let created_at = f.created_at();
    let vkey = f.rekor_v2_vkey();
    let result = f.trust_root(&[
        "--ct-public-key",
        f.ct_pub.to_str().unwrap(),
        "--rekor-v2-url",
        &f.dev.tlog_url(),
        "--rekor-v2-vkey",
        &vkey,
        "--tsa-url",
        &f.dev.ca_url(),
        "--oidc-url",
        &f.dev.oidc_url(),
        "--operator",
        "sigil-dev",
        "--valid-from",
        &created_at,
        "--out",
        out.to_str().unwrap(),
        "--trusted-root",
        root.to_str().unwrap(),
        "--signing-config",
        signing.to_str().unwrap(),
    ]);
    check(&result, "sigil trust-root").unwrap();
    // Semantic equality: same JSON values, whatever the key order.
    assert_eq!(json(&out), json(&f.dev.trust_config()));
    assert_eq!(json(&root), json(&f.dev.data_dir.join("trusted_root.json")));
    assert_eq!(
        json(&signing),
        json(&f.dev.data_dir.join("signing_config.json"))
    );
}

#[test]
fn defaults_start_at_the_root_and_sigstore_python_uses_the_result() {
    let f = start();
    let work = &f.dir;
    let artifact = work.join("artifact.txt");
    std::fs::write(
        &artifact,
        b"signed with a trust config from public endpoints\n",
    )
    .unwrap();
    let bundle = work.join("artifact.sigstore.json");
    let token = f.dev.email_token("alice@example.com").unwrap();

    // Sign with sigil dev's own config first, so the log has an entry.
    let out = sigstore_python()
        .arg("--trust-config")
        .arg(f.dev.trust_config())
        .args(["sign", "--identity-token", &token, "--bundle"])
        .arg(&bundle)
        .arg(&artifact)
        .output()
        .unwrap();
    check(&out, "sigstore-python sign").unwrap();

    let config = work.join("generated.json");
    let result = f.trust_root(&[
        "--ct-public-key",
        f.ct_pub.to_str().unwrap(),
        "--out",
        config.to_str().unwrap(),
    ]);
    check(&result, "sigil trust-root").unwrap();
    let generated = json(&config);
    let written = json(&f.dev.trust_config());
    // Keys, chain and URLs are the deployment's.
    for pointer in [
        "/trustedRoot/tlogs/0/publicKey/rawBytes",
        "/trustedRoot/tlogs/0/logId/keyId",
        "/trustedRoot/tlogs/0/baseUrl",
        "/trustedRoot/ctlogs/0/publicKey/rawBytes",
        "/trustedRoot/ctlogs/0/logId/keyId",
        "/trustedRoot/certificateAuthorities/0/certChain",
        "/trustedRoot/certificateAuthorities/0/subject",
        "/signingConfig/caUrls/0/url",
        "/signingConfig/rekorTlogUrls/0/url",
    ] {
        assert_eq!(
            generated.pointer(pointer),
            written.pointer(pointer),
            "{pointer}"
        );
    }
    assert_eq!(generated["signingConfig"]["caUrls"][0]["operator"], "sigil");
    // The dev issuer is not an interactive (email-only) issuer: no oidcUrls.
    assert_eq!(generated["signingConfig"]["oidcUrls"], Value::Array(vec![]));
    // Validity starts at the root's notBefore: not before the instance was
    // created, not after the first entry was logged.
    let start = generated["trustedRoot"]["tlogs"][0]["publicKey"]["validFor"]["start"]
        .as_str()
        .unwrap()
        .to_owned();
    let created_at = f.created_at();
    assert!(
        start.len() == created_at.len() && start >= created_at,
        "{start} < {created_at}"
    );
    let entry: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let integrated: i64 = entry["verificationMaterial"]["tlogEntries"][0]["integratedTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        rfc3339_seconds(&start) <= integrated,
        "{start} after the first entry"
    );

    // sigstore-python verifies the bundle with the generated config alone...
    let verify = |bundle: &Path| {
        sigstore_python()
            .arg("--trust-config")
            .arg(&config)
            .args([
                "verify",
                "identity",
                "--cert-identity",
                "alice@example.com",
                "--cert-oidc-issuer",
                &f.dev.oidc_url(),
                "--bundle",
            ])
            .arg(bundle)
            .arg(&artifact)
            .output()
            .unwrap()
    };
    check(
        &verify(&bundle),
        "sigstore-python verify (generated config)",
    )
    .unwrap();
    // ...and signs with it (token given: the config has no interactive issuer).
    let bundle2 = work.join("artifact2.sigstore.json");
    let out = sigstore_python()
        .arg("--trust-config")
        .arg(&config)
        .args(["sign", "--identity-token", &token, "--bundle"])
        .arg(&bundle2)
        .arg(&artifact)
        .output()
        .unwrap();
    check(&out, "sigstore-python sign (generated config)").unwrap();
    check(
        &verify(&bundle2),
        "sigstore-python verify (generated config)",
    )
    .unwrap();
}

#[test]
fn refuses_without_or_with_the_wrong_ct_key() {
    let f = start();
    let result = f.trust_root(&[]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("--ct-public-key"), "{stderr}");
    assert!(result.stdout.is_empty());

    // The Rekor key is a valid P-256 key, but not the CT log's.
    let wrong = write_public_key(
        &f.dev.data_dir.join("keys/rekor.key.pem"),
        &f.dir.join("rekor.pub.pem"),
    );
    let result = f.trust_root(&["--ct-public-key", wrong.to_str().unwrap()]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("does not verify the signed tree head"),
        "{stderr}"
    );

    let result = f.trust_root(&[
        "--ct-public-key",
        f.ct_pub.to_str().unwrap(),
        "--valid-from",
        "yesterday",
    ]);
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("RFC 3339"));
}

/// Seconds since the epoch of a `YYYY-MM-DDTHH:MM:SSZ` time.
fn rfc3339_seconds(text: &str) -> i64 {
    let out = Command::new("date")
        .args(["-u", "-d", text, "+%s"])
        .output()
        .unwrap();
    check(&out, "date").unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn refuses_a_rekor_v2_key_that_is_not_the_logs() {
    let f = start();
    let origin = f.dev.tlog_url().replace("http://", "");
    let ct_pub = f.ct_pub.to_str().unwrap().to_owned();
    let tlog_url = f.dev.tlog_url();
    let trust_root_with = |vkey: &str| {
        f.trust_root(&[
            "--ct-public-key",
            &ct_pub,
            "--rekor-v2-url",
            &tlog_url,
            "--rekor-v2-vkey",
            vkey,
        ])
    };

    // A valid key under the right name, but not the one that signs.
    let stranger = shared::note::Ed25519NoteKey::generate(&origin).unwrap();
    let result = trust_root_with(&stranger.vkey());
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("does not verify"), "{stderr}");
    assert!(result.stdout.is_empty());

    // The log's own key, under a name that is not the log's origin.
    let pem = std::fs::read_to_string(f.dev.data_dir.join("keys/rekor-v2.key.pem")).unwrap();
    let renamed = shared::note::Ed25519NoteKey::from_pkcs8_pem("rekor.example.com", &pem).unwrap();
    let result = trust_root_with(&renamed.vkey());
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("has origin"), "{stderr}");

    // --rekor-api 2 without the v2 log is refused before anything is written.
    let result = f.trust_root(&["--ct-public-key", &ct_pub, "--rekor-api", "2"]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("--rekor-v2-url"), "{stderr}");
}

#[test]
fn an_ecdsa_v2_log_is_listed_from_its_public_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = SigilDev::start_with(
        &tmp.path().join("data"),
        &["--rekor-v2-key-algorithm", "ecdsa-p256"],
    )
    .unwrap();
    let ct_pub = write_public_key(
        &dev.data_dir.join("keys/ct.key.pem"),
        &tmp.path().join("ct.pub.pem"),
    );
    let v2_pub = write_public_key(
        &dev.data_dir.join("keys/rekor-v2.key.pem"),
        &tmp.path().join("rekor-v2.pub.pem"),
    );
    let out = tmp.path().join("trust.json");
    let run = |key: &Path| {
        Command::new(sigil_bin())
            .arg("trust-root")
            .args(["--ca-url", &dev.ca_url()])
            .args(["--tlog-url", &dev.tlog_url()])
            .args(["--ct-public-key", ct_pub.to_str().unwrap()])
            .args(["--rekor-v2-url", &dev.tlog_url()])
            .args(["--rekor-v2-public-key", key.to_str().unwrap()])
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap()
    };
    check(&run(&v2_pub), "sigil trust-root").unwrap();
    let ours = &json(&out)["trustedRoot"]["tlogs"][1];
    let devs = &json(&dev.trust_config())["trustedRoot"]["tlogs"][1];
    assert_eq!(ours["publicKey"]["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
    assert_eq!(ours["publicKey"]["rawBytes"], devs["publicKey"]["rawBytes"]);
    assert_eq!(ours["logId"], devs["logId"]);

    // Another P-256 key does not verify the log's checkpoint.
    let stranger = tmp.path().join("stranger.pub.pem");
    std::fs::write(&stranger, EcdsaP256Signer::generate().public_pem()).unwrap();
    let result = run(&stranger);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("does not verify"), "{stderr}");
}
