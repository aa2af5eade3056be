//! What Sigil's test suites share, so that no suite writes it again:
//!
//! - `jwt` and `oidc`: compact JWS tokens, JWKs, and the development OIDC
//!   issuer (both from the `dev-oidc` crate, which `sigil dev` serves), and
//!   many test issuers on one server; `jwk`: RSA and `p256` keys as JWKs
//!   and JWS signers, for the CA's token-verification tests;
//! - `keys`: the fixed RSA-2048 test key (PEM and parsed) and seeded P-256
//!   keys;
//! - `net`: free ports and in-process servers on 127.0.0.1;
//! - `postgres`: a fresh database on the machine's server (or the one
//!   `$SIGIL_TEST_POSTGRES_URL` names), or a private cluster a test may stop;
//! - `softhsm`: a SoftHSM2 token for PKCS#11 keys;
//! - `scrape` (feature `scrape`): `/metrics` read through a Prometheus
//!   text-format parser;
//! - `sigil_dev` and `tlog`: `sigil dev` and `tlog-server` processes on free
//!   ports over fresh directories, stopped by signal through `process`, and
//!   `hashedrekord` entries to send them;
//! - `tls`: a self-signed `localhost` certificate and clients trusting it;
//! - `clients` and the commands below: the real Sigstore clients —
//!   sigstore-python and OpenSSF model-signing from PyPI, sigstore-js (4.x
//!   and 5.x) from npm, installed by `scripts/test.sh` at the versions it
//!   pins.

pub mod clients;
pub mod jwk;
pub mod keys;
pub mod net;
pub mod oidc;
pub mod postgres;
pub mod process;
#[cfg(feature = "scrape")]
pub mod scrape;
pub mod sigil_dev;
pub mod softhsm;
pub mod tlog;
pub mod tls;

pub use dev_oidc::jwt;
pub use net::free_port;
pub use sigil_dev::SigilDev;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::bail;

/// The workspace root (this crate lives in `<root>/test-support`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The `sigil` binary of the same build as this test (`target/<profile>/sigil`),
/// or `$SIGIL_BIN`.
pub fn sigil_bin() -> PathBuf {
    match std::env::var_os("SIGIL_BIN") {
        Some(bin) => bin.into(),
        None => process::workspace_bin("sigil"),
    }
}

/// Fails with the command's output unless it succeeded.
pub fn check(out: &Output, what: &str) -> anyhow::Result<()> {
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The sigstore-python CLI (`$SIGIL_SIGSTORE_PYTHON`, default the venv
/// `scripts/test.sh` makes in `target/e2e-venv`).
pub fn sigstore_python() -> Command {
    let bin = std::env::var_os("SIGIL_SIGSTORE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/e2e-venv/bin/sigstore"));
    Command::new(bin)
}

/// The sigstore-js driver (`tests/e2e/sigstore-js.js`) on the 4.x libraries
/// (`tests/e2e/package.json`, node_modules from `npm ci`).
pub fn sigstore_js() -> Command {
    sigstore_js_generation(4)
}

/// The sigstore-js driver on the given generation of the libraries: 4
/// (`tests/e2e/package.json`: `@sigstore/sign` 4.1.1, `@sigstore/verify` 3.1.1)
/// or 5 (`tests/e2e/js5/package.json`: `sigstore` 5.0.1, `@sigstore/sign`
/// 5.1.0, `@sigstore/verify` 4.1.3).
pub fn sigstore_js_generation(generation: u8) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(workspace_root().join("tests/e2e/sigstore-js.js"))
        .env("SIGIL_SIGSTORE_JS_GENERATION", generation.to_string());
    cmd
}

/// OpenSSF model-signing's CLI (`$SIGIL_MODEL_SIGNING`, default the
/// `model_signing` that `scripts/test.sh` installs into `target/e2e-venv`
/// beside sigstore-python, from `tests/e2e/requirements-model-signing.txt`).
pub fn model_signing() -> Command {
    let bin = std::env::var_os("SIGIL_MODEL_SIGNING")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/e2e-venv/bin/model_signing"));
    Command::new(bin)
}
