//! SoftHSM2 tokens for PKCS#11 tests. The module reads `SOFTHSM2_CONF` once,
//! at `C_Initialize`, so a test process that loads the module itself shares
//! one token (`softhsm()`, distinct key labels per test), while a test that
//! hands the module to a child process may give it a token of its own
//! (`init_token`, with `SOFTHSM2_CONF` set on the child).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Where Debian's softhsm2 package puts the PKCS#11 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const TOKEN_LABEL: &str = "sigil-test";
pub const PIN: &str = "1234-user";
const SO_PIN: &str = "5678-so";

/// The process's shared token.
pub struct SoftHsm {
    pub module: PathBuf,
    pub token_label: String,
    pub pin: String,
    _dir: tempfile::TempDir,
}

/// Initialises a token labelled `label` with user PIN `pin` in a token
/// directory under `dir`, and answers the `SOFTHSM2_CONF` file that finds it.
/// Panics with an install hint when SoftHSM2 is missing (scripts/test.sh
/// installs it): a PKCS#11 test cannot go on without it.
pub fn init_token(dir: &Path, label: &str, pin: &str) -> PathBuf {
    assert!(
        Path::new(MODULE).exists(),
        "SoftHSM2 is not installed: apt-get install -y softhsm2 (scripts/test.sh does)"
    );
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).expect("creating the token directory");
    let conf = dir.join("softhsm2.conf");
    let settings = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
        tokens.display()
    );
    std::fs::write(&conf, settings).expect("writing softhsm2.conf");
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", label, "--pin", pin])
        .args(["--so-pin", SO_PIN])
        .output()
        .expect("running softhsm2-util (apt-get install -y softhsm2)");
    assert!(out.status.success(), "softhsm2-util: {out:?}");
    conf
}

/// The process's token, created on first use, with `SOFTHSM2_CONF` pointed
/// at it before the module is first loaded.
pub fn softhsm() -> &'static SoftHsm {
    static HSM: OnceLock<SoftHsm> = OnceLock::new();
    HSM.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let conf = init_token(dir.path(), TOKEN_LABEL, PIN);
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
