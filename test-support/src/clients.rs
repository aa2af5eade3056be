//! The real Sigstore clients against one `sigil dev`, as the end-to-end
//! suites drive them: sigstore-python 4.5.1 (`sign`, `attest`, `verify
//! identity`) and the sigstore-js driver (`tests/e2e/sigstore-js.js`) in its
//! 4.x and 5.x generations. Each [`Workspace`] is a fresh stack on fresh
//! ports over a fresh data directory.

// Test support: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::{check, sigstore_js_generation, sigstore_python, SigilDev};

pub const ALICE: &str = "alice@example.com";

/// The sigstore-js generations `tests/e2e` pins (`package.json`, `js5/package.json`).
pub const JS4: u8 = 4;
pub const JS5: u8 = 5;

/// How sigstore-js builds a bundle: `@sigstore/sign`'s
/// `bundleBuilderFromSigningConfig` over the trust config, or the `sigstore`
/// package's own `sign()`/`attest()` given the CA and Rekor URLs (5.x only).
#[derive(Clone, Copy)]
pub enum JsApi {
    Builder,
    Sigstore,
}

pub struct Workspace {
    _tmp: tempfile::TempDir,
    pub dev: SigilDev,
    pub dir: PathBuf,
}

/// A stack with `sigil dev`'s defaults.
pub fn start() -> Workspace {
    start_with(&[])
}

/// A stack with more `sigil dev` flags, e.g. `["--rekor-api", "2"]`.
pub fn start_with(dev_args: &[&str]) -> Workspace {
    let tmp = tempfile::tempdir().unwrap();
    let dev = SigilDev::start_with(&tmp.path().join("data"), dev_args).unwrap();
    let dir = tmp.path().to_path_buf();
    Workspace {
        _tmp: tmp,
        dev,
        dir,
    }
}

impl Workspace {
    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn py_sign(&self, file: &Path, bundle: &Path) {
        self.py_sign_with(&self.dev.email_token(ALICE).unwrap(), file, bundle);
    }

    pub fn py_sign_with(&self, token: &str, file: &Path, bundle: &Path) {
        let out = sigstore_python()
            .arg("--trust-config")
            .arg(self.dev.trust_config())
            .args(["sign", "--identity-token", token, "--bundle"])
            .arg(bundle)
            .arg(file)
            .output()
            .unwrap();
        check(&out, "sigstore-python sign").unwrap_or_else(|e| panic!("{e}\n{}", self.dev.log()));
    }

    pub fn py_attest(&self, file: &Path, bundle: &Path) {
        let token = self.dev.email_token(ALICE).unwrap();
        let predicate = self.file(
            "predicate.json",
            br#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{"ref":"main"}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#,
        );
        let out = sigstore_python()
            .arg("--trust-config")
            .arg(self.dev.trust_config())
            .args([
                "attest",
                "--identity-token",
                &token,
                "--predicate-type",
                "https://slsa.dev/provenance/v1",
            ])
            .arg("--predicate")
            .arg(&predicate)
            .arg("--bundle")
            .arg(bundle)
            .arg(file)
            .output()
            .unwrap();
        check(&out, "sigstore-python attest").unwrap_or_else(|e| panic!("{e}\n{}", self.dev.log()));
    }

    /// Runs `sigstore verify identity`; returns whether it accepted.
    pub fn py_verify(&self, file: &Path, bundle: &Path, identity: &str, issuer: &str) -> bool {
        let out = sigstore_python()
            .arg("--trust-config")
            .arg(self.dev.trust_config())
            .args([
                "verify",
                "identity",
                "--cert-identity",
                identity,
                "--cert-oidc-issuer",
                issuer,
            ])
            .arg("--bundle")
            .arg(bundle)
            .arg(file)
            .output()
            .unwrap();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            eprintln!("sigstore-python verify refused: {stderr}");
            // A refusal is a verification verdict, not a crash.
            assert!(
                stderr.contains("FAIL:") && !stderr.contains("Traceback"),
                "{stderr}"
            );
        }
        out.status.success()
    }

    pub fn js_sign(&self, file: &Path, bundle: &Path, dsse: bool) {
        self.js_sign_with(JS4, JsApi::Builder, file, bundle, dsse);
    }

    pub fn js_sign_with(&self, generation: u8, api: JsApi, file: &Path, bundle: &Path, dsse: bool) {
        let token = self.dev.email_token(ALICE).unwrap();
        let mut cmd = sigstore_js_generation(generation);
        cmd.arg("sign")
            .arg("--trust-config")
            .arg(self.dev.trust_config())
            .args(["--token", &token])
            .arg("--artifact")
            .arg(file)
            .arg("--bundle")
            .arg(bundle);
        if dsse {
            cmd.arg("--dsse");
        }
        if let JsApi::Sigstore = api {
            cmd.args(["--api", "sigstore"]);
        }
        let out = cmd.output().unwrap();
        check(&out, &format!("sigstore-js {generation}.x sign"))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.dev.log()));
        // The driver names the libraries that did the work.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("@sigstore/sign@{generation}.")),
            "{stdout}"
        );
    }

    /// Runs the sigstore-js 4.x verifier; `file` is None for a DSSE bundle.
    pub fn js_verify(
        &self,
        file: Option<&Path>,
        bundle: &Path,
        identity: &str,
        issuer: &str,
    ) -> bool {
        self.js_verify_with(JS4, file, bundle, identity, issuer)
    }

    /// Runs the given generation's sigstore-js verifier; `file` is None for a
    /// DSSE bundle.
    pub fn js_verify_with(
        &self,
        generation: u8,
        file: Option<&Path>,
        bundle: &Path,
        identity: &str,
        issuer: &str,
    ) -> bool {
        let mut cmd = sigstore_js_generation(generation);
        cmd.arg("verify")
            .arg("--trust-config")
            .arg(self.dev.trust_config())
            .arg("--bundle")
            .arg(bundle);
        if let Some(file) = file {
            cmd.arg("--artifact").arg(file);
        }
        let out = cmd
            .args(["--identity", identity, "--issuer", issuer])
            .output()
            .unwrap();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            eprintln!("sigstore-js {generation}.x verify refused: {stderr}");
            // A refusal comes from the verifier, not from a broken driver.
            assert!(
                stderr.contains("PolicyError") || stderr.contains("VerificationError"),
                "{stderr}"
            );
            return false;
        }
        // @sigstore/verify 3.x goes with @sigstore/sign 4.x, 4.x with 5.x.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("@sigstore/verify@{}.", generation - 1)),
            "{stdout}"
        );
        true
    }

    /// An in-toto statement about `file`, as the payload of a DSSE attestation.
    pub fn statement_for(&self, file: &Path) -> PathBuf {
        let digest = hex::encode(Sha256::digest(std::fs::read(file).unwrap()));
        let name = file.file_name().unwrap().to_string_lossy();
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": digest}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {
                "buildDefinition": {"buildType": "https://example.com/build/v1", "externalParameters": {}},
                "runDetails": {"builder": {"id": "https://example.com/builder"}}
            }
        });
        self.file("statement.json", statement.to_string().as_bytes())
    }
}
