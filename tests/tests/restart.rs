//! End to end: `sigil dev` keeps its keys and its log across restarts, a
//! graceful one (SIGTERM) and a crash (SIGKILL). A bundle made before the
//! restart still verifies, and new entries continue the same tree: the new
//! checkpoint is consistent with the old one.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use shared::merkle::{verify_consistency, Hash};
use test_support::{check, sigstore_python, SigilDev};

const ALICE: &str = "alice@example.com";

fn sign(dev: &SigilDev, file: &std::path::Path, bundle: &std::path::Path) -> Value {
    let token = dev.email_token(ALICE).unwrap();
    let out = sigstore_python()
        .arg("--trust-config")
        .arg(dev.trust_config())
        .args(["sign", "--identity-token", &token, "--bundle"])
        .arg(bundle)
        .arg(file)
        .output()
        .unwrap();
    check(&out, "sigstore-python sign").unwrap_or_else(|e| panic!("{e}\n{}", dev.log()));
    serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap()
}

fn verifies(dev: &SigilDev, file: &std::path::Path, bundle: &std::path::Path) -> bool {
    sigstore_python()
        .arg("--trust-config")
        .arg(dev.trust_config())
        .args([
            "verify",
            "identity",
            "--cert-identity",
            ALICE,
            "--cert-oidc-issuer",
            &dev.oidc_url(),
        ])
        .arg("--bundle")
        .arg(bundle)
        .arg(file)
        .status()
        .unwrap()
        .success()
}

fn log_info(dev: &SigilDev) -> (u64, Hash) {
    let info: Value = reqwest::blocking::get(format!("{}/api/v1/log", dev.tlog_url()))
        .unwrap()
        .json()
        .unwrap();
    let size = info["treeSize"].as_u64().unwrap();
    let root = Hash::from_hex(info["rootHash"].as_str().unwrap()).unwrap();
    (size, root)
}

fn assert_consistent(dev: &SigilDev, old: (u64, Hash), new: (u64, Hash)) {
    let url = format!(
        "{}/api/v1/log/proof?firstSize={}&lastSize={}",
        dev.tlog_url(),
        old.0,
        new.0
    );
    let proof: Value = reqwest::blocking::get(url).unwrap().json().unwrap();
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    verify_consistency(old.0, new.0, &old.1, &new.1, &hashes)
        .expect("new checkpoint consistent with the old");
}

#[test]
fn restarts_keep_keys_and_log_and_continue_the_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("artifact.txt");
    std::fs::write(&file, b"signed before the restart").unwrap();

    let mut dev = SigilDev::start(&data).unwrap();
    let ports = (dev.ca_port, dev.tlog_port, dev.oidc_port);
    let before = tmp.path().join("before.json");
    let first = sign(&dev, &file, &before);
    let trust_before = std::fs::read(dev.trust_config()).unwrap();
    let head_before = log_info(&dev);
    assert!(head_before.0 >= 1);

    // A graceful restart.
    dev.stop().unwrap();
    let dev = SigilDev::start_on(&data, ports.0, ports.1, ports.2).unwrap();
    assert_eq!(
        std::fs::read(dev.trust_config()).unwrap(),
        trust_before,
        "keys and trust config are reused"
    );
    assert_eq!(log_info(&dev), head_before, "the log is kept");
    assert!(
        verifies(&dev, &file, &before),
        "a bundle from before the restart verifies\n{}",
        dev.log()
    );

    let after = tmp.path().join("after.json");
    let second = sign(&dev, &file, &after);
    let first_index = first["verificationMaterial"]["tlogEntries"][0]["logIndex"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let second_index = second["verificationMaterial"]["tlogEntries"][0]["logIndex"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert_eq!(
        second_index, head_before.0,
        "the new entry continues the same tree"
    );
    assert!(second_index > first_index);
    let head_after = log_info(&dev);
    assert_eq!(head_after.0, head_before.0 + 1);
    assert_consistent(&dev, head_before, head_after);
    assert!(verifies(&dev, &file, &after));

    // A crash: SIGKILL right after an acknowledged entry loses nothing.
    let crash = tmp.path().join("crash.json");
    sign(&dev, &file, &crash);
    let head_crash = log_info(&dev);
    drop(dev); // kills the process with SIGKILL
    let dev = SigilDev::start_on(&data, ports.0, ports.1, ports.2).unwrap();
    assert_eq!(
        log_info(&dev),
        head_crash,
        "an acknowledged entry survives a crash"
    );
    assert_consistent(&dev, head_before, head_crash);
    assert!(verifies(&dev, &file, &crash));
    assert!(verifies(&dev, &file, &before));
}
