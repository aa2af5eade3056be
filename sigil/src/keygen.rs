//! `sigil keygen`: the key material of a production deployment
//! (docs/design.md "Keys": ECDSA P-256 everywhere) in one directory, as the
//! servers' flags take it:
//!
//! ```text
//! DIR/ca.key.pem      the CA's PKCS#8 private key (mode 0600)    ca-server --ca-key
//! DIR/ca.crt.pem      its self-signed root certificate           ca-server --ca-chain, tlog-server --ct-root
//! DIR/rekor.key.pem   the Rekor log's key (0600)                 tlog-server --rekor-key
//! DIR/ct.key.pem      the CT log's key (0600)                    tlog-server --ct-key
//! DIR/ct.pub.pem      the CT log's public key                    ca-server --ct-log-public-key, sigil trust-root
//! DIR/rekor.pub.pem   the Rekor log's public key (also served at /api/v1/log/publicKey)
//! DIR/rekor-v2.key.pem the Rekor v2 log's checkpoint key, Ed25519 or P-256 (0600)  tlog-server --rekor-v2-key
//! DIR/rekor-v2.pub.pem its public key                            sigil trust-root --rekor-v2-public-key (P-256)
//! DIR/tsa.key.pem     the timestamp authority's key (0600)       ca-server --tsa-key
//! DIR/tsa-chain.pem   its certificate, issued by the root, then the root   ca-server --tsa-chain
//! ```
//!
//! Idempotent: what exists is kept, so it can run on every container start;
//! a missing certificate or public key is derived from the existing key.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use shared::keys::{pem_blocks, pem_encode, EcdsaP256Signer};
use shared::note::CheckpointKey;

use crate::cli::KeygenArgs;
use crate::data_dir::write_atomic;

pub(crate) fn run(args: &KeygenArgs) -> anyhow::Result<()> {
    let made = generate(args)?;
    if made.is_empty() {
        eprintln!(
            "{}: every key already exists; nothing to do",
            args.out.display()
        );
    }
    for path in made {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Creates whatever is missing; returns the files it wrote.
fn generate(args: &KeygenArgs) -> anyhow::Result<Vec<PathBuf>> {
    fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut made = Vec::new();
    let ca = key(&args.out.join("ca.key.pem"), &mut made)?;
    let root = args.out.join("ca.crt.pem");
    if !root.exists() {
        let der = ca_server::generate_root_certificate(&ca, &args.organization, &args.common_name)?;
        write_atomic(&root, pem_encode("CERTIFICATE", &der).as_bytes(), false)?;
        made.push(root.clone());
    } else {
        check_root(&root, &ca)?;
    }
    // The key name (the log's origin) is given to tlog-server, not stored:
    // PKCS#8 holds the key alone, so any valid name reads it here.
    let rekor_v2 = args.out.join("rekor-v2.key.pem");
    let rekor_v2_key = if rekor_v2.exists() {
        let pem = fs::read_to_string(&rekor_v2)
            .with_context(|| format!("reading {}", rekor_v2.display()))?;
        CheckpointKey::from_pem("sigil-keygen", &pem)
            .with_context(|| format!("parsing {}", rekor_v2.display()))?
    } else {
        let key = CheckpointKey::generate(args.rekor_v2_key_algorithm, "sigil-keygen")?;
        write_atomic(&rekor_v2, key.to_pkcs8_pem().as_bytes(), true)?;
        made.push(rekor_v2);
        key
    };
    let rekor_v2_public = args.out.join("rekor-v2.pub.pem");
    if !rekor_v2_public.exists() {
        write_atomic(
            &rekor_v2_public,
            rekor_v2_key.public_pem().as_bytes(),
            false,
        )?;
        made.push(rekor_v2_public);
    }
    let tsa = key(&args.out.join("tsa.key.pem"), &mut made)?;
    let tsa_chain = args.out.join("tsa-chain.pem");
    if !tsa_chain.exists() {
        let root_der = first_certificate(&root)?;
        let tsa_der = ca_server::tsa::issue_tsa_certificate(
            &ca,
            &root_der,
            &tsa.public_spki_der(),
            &args.organization,
            &format!("{} timestamp authority", args.common_name),
            TSA_VALIDITY,
        )?;
        let pem = pem_encode("CERTIFICATE", &tsa_der) + &pem_encode("CERTIFICATE", &root_der);
        write_atomic(&tsa_chain, pem.as_bytes(), false)?;
        made.push(tsa_chain);
    }
    for name in ["rekor", "ct"] {
        let signer = key(&args.out.join(format!("{name}.key.pem")), &mut made)?;
        let public = args.out.join(format!("{name}.pub.pem"));
        if !public.exists() {
            write_atomic(&public, signer.public_pem().as_bytes(), false)?;
            made.push(public);
        }
    }
    Ok(made)
}

/// As long as the root allows (the issuer caps it at the root's notAfter).
const TSA_VALIDITY: std::time::Duration = std::time::Duration::from_secs(3652 * 24 * 60 * 60);

/// The first certificate of a PEM file (DER).
fn first_certificate(path: &Path) -> anyhow::Result<Vec<u8>> {
    let pem = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    pem_blocks(&pem)?
        .into_iter()
        .find(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .with_context(|| format!("{} holds no CERTIFICATE", path.display()))
}

/// Loads a PKCS#8 key, or generates and stores one (mode 0600).
fn key(path: &Path, made: &mut Vec<PathBuf>) -> anyhow::Result<EcdsaP256Signer> {
    if path.exists() {
        let pem =
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return EcdsaP256Signer::from_pem(&pem)
            .with_context(|| format!("parsing {}", path.display()));
    }
    let key = EcdsaP256Signer::generate();
    write_atomic(path, key.to_pkcs8_pem().as_bytes(), true)?;
    made.push(path.to_path_buf());
    Ok(key)
}

/// An existing certificate must be for the existing CA key: a mismatch
/// would only show up as a CA that refuses to start.
fn check_root(path: &Path, ca: &EcdsaP256Signer) -> anyhow::Result<()> {
    use der::{Decode as _, Encode as _};
    let pem = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Some((_, der)) = pem_blocks(&pem)?
        .into_iter()
        .find(|(label, _)| label == "CERTIFICATE")
    else {
        bail!("{} holds no CERTIFICATE", path.display());
    };
    let cert = x509_cert::Certificate::from_der(&der)
        .with_context(|| format!("parsing {}", path.display()))?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der()?;
    if spki != ca.public_spki_der() {
        bail!(
            "{} is not a certificate for the key in ca.key.pem; move one of them away",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(out: &Path) -> KeygenArgs {
        KeygenArgs {
            out: out.to_path_buf(),
            organization: "Example".into(),
            common_name: "example-root".into(),
            rekor_v2_key_algorithm: shared::note::CheckpointAlgorithm::Ed25519,
        }
    }

    #[test]
    fn generates_everything_once_then_keeps_it() {
        let dir = std::env::temp_dir().join(format!("sigil-keygen-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let made = generate(&args(&dir)).unwrap();
        assert_eq!(made.len(), 10, "{made:?}");
        // The TSA chain is one ca-server accepts: its certificate for the
        // TSA key, then the root.
        let tsa_key = std::sync::Arc::new(
            EcdsaP256Signer::from_pem(&fs::read_to_string(dir.join("tsa.key.pem")).unwrap())
                .unwrap(),
        );
        let chain: Vec<Vec<u8>> = pem_blocks(&fs::read(dir.join("tsa-chain.pem")).unwrap())
            .unwrap()
            .into_iter()
            .map(|(_, der)| der)
            .collect();
        assert_eq!(
            chain[1],
            first_certificate(&dir.join("ca.crt.pem")).unwrap()
        );
        ca_server::tsa::TimestampAuthority::new(ca_server::tsa::TsaConfig {
            signer: tsa_key,
            chain_der: chain,
            policies: Default::default(),
        })
        .unwrap();
        // The v2 checkpoint key loads under any origin, as Ed25519 by default.
        let v2 = CheckpointKey::from_pem(
            "rekor.example.com",
            &fs::read_to_string(dir.join("rekor-v2.key.pem")).unwrap(),
        )
        .unwrap();
        assert_eq!(v2.algorithm(), shared::note::CheckpointAlgorithm::Ed25519);
        assert_eq!(
            fs::read_to_string(dir.join("rekor-v2.pub.pem")).unwrap(),
            v2.public_pem()
        );
        let ct_key = fs::read(dir.join("ct.key.pem")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.join("ca.key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The public key file belongs to the private key.
        let signer = EcdsaP256Signer::from_pem(std::str::from_utf8(&ct_key).unwrap()).unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("ct.pub.pem")).unwrap(),
            signer.public_pem()
        );
        // A second run changes nothing.
        assert!(generate(&args(&dir)).unwrap().is_empty());
        assert_eq!(fs::read(dir.join("ct.key.pem")).unwrap(), ct_key);
        // A lost public key is derived again from the kept private key.
        fs::remove_file(dir.join("ct.pub.pem")).unwrap();
        assert_eq!(generate(&args(&dir)).unwrap().len(), 1);
        assert_eq!(
            fs::read_to_string(dir.join("ct.pub.pem")).unwrap(),
            signer.public_pem()
        );
        // A certificate for another key is refused.
        fs::remove_file(dir.join("ca.key.pem")).unwrap();
        let err = generate(&args(&dir)).unwrap_err().to_string();
        assert!(err.contains("not a certificate for the key"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_ecdsa_checkpoint_key_is_made_when_asked_and_kept_afterwards() {
        let dir = std::env::temp_dir().join(format!("sigil-keygen-ecdsa-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut ecdsa = args(&dir);
        ecdsa.rekor_v2_key_algorithm = shared::note::CheckpointAlgorithm::EcdsaP256;
        generate(&ecdsa).unwrap();
        let read = || {
            CheckpointKey::from_pem(
                "rekor.example.com",
                &fs::read_to_string(dir.join("rekor-v2.key.pem")).unwrap(),
            )
            .unwrap()
        };
        let key = read();
        assert_eq!(
            key.algorithm(),
            shared::note::CheckpointAlgorithm::EcdsaP256
        );
        // Its public PEM is what `sigil trust-root --rekor-v2-public-key` reads.
        let verifier = shared::note::CheckpointVerifier::from_ecdsa_pem(
            "rekor.example.com",
            &fs::read_to_string(dir.join("rekor-v2.pub.pem")).unwrap(),
        )
        .unwrap();
        assert_eq!(verifier.key_hash(), key.key_hash());
        // A later default run keeps the key it finds.
        assert!(generate(&args(&dir)).unwrap().is_empty());
        assert_eq!(read().key_hash(), key.key_hash());
        fs::remove_dir_all(&dir).unwrap();
    }
}
