//! A SoftHSM2 token for PKCS#11 tests: one per test process (the PKCS#11
//! module reads SOFTHSM2_CONF once, at C_Initialize), in a temporary
//! directory, created with `softhsm2-util` before the module is first loaded.
//! Tests share the token and use distinct key labels.

// Test helpers: panicking on a missing tool or broken fixture is the point.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const TOKEN_LABEL: &str = "sigil-test";
pub const PIN: &str = "1234-user";
const SO_PIN: &str = "5678-so";

pub struct SoftHsm {
    pub module: PathBuf,
    pub token_label: String,
    pub pin: String,
    _dir: tempfile::TempDir,
}

/// The process's token (created on first use). Panics with an install hint
/// when SoftHSM2 is missing: scripts/test.sh installs it.
pub fn softhsm() -> &'static SoftHsm {
    static HSM: OnceLock<SoftHsm> = OnceLock::new();
    HSM.get_or_init(|| {
        assert!(
            std::path::Path::new(MODULE).exists(),
            "SoftHSM2 is not installed: apt-get install -y softhsm2 (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let status = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", TOKEN_LABEL])
            .args(["--pin", PIN, "--so-pin", SO_PIN])
            .output()
            .expect("running softhsm2-util (apt-get install -y softhsm2)");
        assert!(status.status.success(), "softhsm2-util: {status:?}");
        // Read by the module at C_Initialize, which happens after this.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        SoftHsm {
            module: PathBuf::from(MODULE),
            token_label: TOKEN_LABEL.into(),
            pin: PIN.into(),
            _dir: dir,
        }
    })
}

/// A key label no other test in this process uses.
pub fn unique_label(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::SeqCst))
}
