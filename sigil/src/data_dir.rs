//! The `sigil dev` data directory: every key, the root certificate, the log
//! database and the trust material of one development deployment.
//!
//! Layout (all created on first run, reused afterwards, so a trust config
//! stays valid across restarts):
//!
//! ```text
//! DIR/instance.json         creation time and the OIDC issuer URL
//! DIR/keys/{ca,rekor,ct,oidc}.key.pem   PKCS#8 P-256 private keys (mode 0600)
//! DIR/keys/rekor-v2.key.pem  PKCS#8 checkpoint key of the Rekor v2 log (Ed25519 or P-256)
//! DIR/keys/tsa.key.pem      PKCS#8 P-256 key of the time-stamp authority
//! DIR/ca/root.crt.pem       the self-signed root CA certificate
//! DIR/ca/tsa.crt.pem        the TSA certificate, issued by the root
//! DIR/tlog.db               the SQLite store of both logs
//! DIR/trust_config.json     ClientTrustConfig (sigstore-python --trust-config)
//! DIR/trusted_root.json, DIR/signing_config.json   the same, split (sigstore-js)
//! ```

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use shared::keys::EcdsaP256Signer;
use shared::note::{CheckpointAlgorithm, CheckpointKey};

/// Subject of the development root CA.
pub(crate) const ROOT_ORGANIZATION: &str = "Sigil development";
pub(crate) const ROOT_COMMON_NAME: &str = "sigil-dev-root";

/// What one deployment records about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Instance {
    /// RFC 3339 time of the first run: the start of every key's validity.
    pub(crate) created_at: String,
    /// The development OIDC issuer's URL (the `iss` of its tokens).
    pub(crate) oidc_issuer: String,
}

/// The keys and certificate of one deployment.
pub(crate) struct Material {
    pub(crate) instance: Instance,
    pub(crate) ca_key: EcdsaP256Signer,
    pub(crate) root_der: Vec<u8>,
    pub(crate) rekor_key: EcdsaP256Signer,
    pub(crate) ct_key: EcdsaP256Signer,
    pub(crate) oidc_key: EcdsaP256Signer,
    /// Named by the v2 log's origin, which follows the port it is served on.
    pub(crate) rekor_v2_key: CheckpointKey,
    pub(crate) tsa_key: EcdsaP256Signer,
    /// The TSA certificate (DER), issued by the root for `tsa_key`.
    pub(crate) tsa_der: Vec<u8>,
}

/// Subject of the development time-stamp authority's certificate.
const TSA_COMMON_NAME: &str = "sigil-dev-tsa";
/// As long as the root (the issuer caps it at the root's notAfter).
const TSA_VALIDITY: std::time::Duration = std::time::Duration::from_secs(3652 * 24 * 60 * 60);

/// A data directory on disk.
pub(crate) struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub(crate) fn new(root: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(root.join("keys"))
            .with_context(|| format!("creating data directory {}", root.display()))?;
        fs::create_dir_all(root.join("ca"))?;
        let root = root
            .canonicalize()
            .with_context(|| format!("resolving {}", root.display()))?;
        Ok(Self { root })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Loads the deployment's material, creating whatever is missing. An
    /// existing deployment keeps its creation time and OIDC issuer URL.
    /// `rekor_v2_origin` names the v2 checkpoint key (docs/rekor-v2.md §3);
    /// `rekor_v2_algorithm`, when given, is the algorithm that key must have
    /// (a new one is made with it; default Ed25519).
    pub(crate) fn load_or_create(
        &self,
        oidc_issuer: &str,
        rekor_v2_origin: &str,
        rekor_v2_algorithm: Option<CheckpointAlgorithm>,
    ) -> anyhow::Result<Material> {
        let instance_path = self.join("instance.json");
        let instance = if instance_path.exists() {
            let mut instance: Instance = serde_json::from_slice(&fs::read(&instance_path)?)
                .with_context(|| format!("parsing {}", instance_path.display()))?;
            if instance.oidc_issuer != oidc_issuer {
                // The issuer URL is in every certificate issued so far; keep
                // the record honest about which one this run serves.
                instance.oidc_issuer = oidc_issuer.to_owned();
                write_atomic(
                    &instance_path,
                    &serde_json::to_vec_pretty(&instance)?,
                    false,
                )?;
            }
            instance
        } else {
            let created_at = time::OffsetDateTime::now_utc()
                .replace_nanosecond(0)?
                .format(&time::format_description::well_known::Rfc3339)?;
            let instance = Instance {
                created_at,
                oidc_issuer: oidc_issuer.to_owned(),
            };
            write_atomic(
                &instance_path,
                &serde_json::to_vec_pretty(&instance)?,
                false,
            )?;
            instance
        };
        let ca_key = self.key("ca")?;
        let root_der = self.certificate("ca/root.crt.pem", || {
            ca_server::generate_root_certificate(&ca_key, ROOT_ORGANIZATION, ROOT_COMMON_NAME)
        })?;
        let tsa_key = self.key("tsa")?;
        let tsa_der = self.certificate("ca/tsa.crt.pem", || {
            ca_server::tsa::issue_tsa_certificate(
                &ca_key,
                &root_der,
                &tsa_key.public_spki_der(),
                ROOT_ORGANIZATION,
                TSA_COMMON_NAME,
                TSA_VALIDITY,
            )
        })?;
        Ok(Material {
            instance,
            ca_key,
            root_der,
            tsa_key,
            tsa_der,
            rekor_key: self.key("rekor")?,
            ct_key: self.key("ct")?,
            oidc_key: self.key("oidc")?,
            rekor_v2_key: self.note_key("rekor-v2", rekor_v2_origin, rekor_v2_algorithm)?,
        })
    }

    /// Loads what `sigil token` needs, without creating anything.
    pub(crate) fn load_issuer(&self) -> anyhow::Result<(Instance, EcdsaP256Signer)> {
        let instance_path = self.join("instance.json");
        let bytes = fs::read(&instance_path).with_context(|| {
            format!(
                "{} not found: run `sigil dev` with this data directory first",
                instance_path.display()
            )
        })?;
        let instance: Instance = serde_json::from_slice(&bytes)?;
        let key_path = self.join("keys/oidc.key.pem");
        let pem = fs::read_to_string(&key_path)
            .with_context(|| format!("reading {}", key_path.display()))?;
        Ok((instance, EcdsaP256Signer::from_pem(&pem)?))
    }

    /// Loads the certificate (DER) at `name` under the data directory, or
    /// on first use makes it with `make` and stores it as PEM.
    fn certificate(
        &self,
        name: &str,
        make: impl FnOnce() -> anyhow::Result<Vec<u8>>,
    ) -> anyhow::Result<Vec<u8>> {
        let path = self.join(name);
        if path.exists() {
            return read_certificate(&path);
        }
        let der = make()?;
        let pem = shared::keys::pem_encode("CERTIFICATE", &der);
        write_atomic(&path, pem.as_bytes(), false)?;
        Ok(der)
    }

    /// Loads `keys/NAME.key.pem`, generating and storing it on first use.
    fn key(&self, name: &str) -> anyhow::Result<EcdsaP256Signer> {
        let path = self.join(&format!("keys/{name}.key.pem"));
        if path.exists() {
            let pem =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return EcdsaP256Signer::from_pem(&pem)
                .with_context(|| format!("parsing {}", path.display()));
        }
        let key = EcdsaP256Signer::generate();
        write_atomic(&path, key.to_pkcs8_pem().as_bytes(), true)?;
        Ok(key)
    }

    /// Loads the checkpoint key `keys/NAME.key.pem` under the note name
    /// `origin`, generating and storing it on first use. A stored key of
    /// another algorithm than `algorithm` is an error, not replaced: the
    /// log's existing checkpoints and trust config depend on it.
    fn note_key(
        &self,
        name: &str,
        origin: &str,
        algorithm: Option<CheckpointAlgorithm>,
    ) -> anyhow::Result<CheckpointKey> {
        let path = self.join(&format!("keys/{name}.key.pem"));
        if path.exists() {
            let pem =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let key = CheckpointKey::from_pem(origin, &pem)
                .with_context(|| format!("parsing {}", path.display()))?;
            if let Some(wanted) = algorithm.filter(|&a| a != key.algorithm()) {
                bail!(
                    "{} is an {} key, not {}: keep it (drop the algorithm option) or \
                     start a new data directory",
                    path.display(),
                    key.algorithm().name(),
                    wanted.name()
                );
            }
            return Ok(key);
        }
        let key =
            CheckpointKey::generate(algorithm.unwrap_or(CheckpointAlgorithm::Ed25519), origin)
                .with_context(|| format!("{origin:?} cannot name a signed-note key"))?;
        write_atomic(&path, key.to_pkcs8_pem().as_bytes(), true)?;
        Ok(key)
    }
}

/// The development issuer of the data directory at `root`, as `sigil token`
/// mints with it; what `sigil bench ca` signs its tokens with.
pub(crate) fn load_dev_issuer(root: &Path) -> anyhow::Result<dev_oidc::DevIssuer> {
    let (instance, key) = DataDir::new(root)?.load_issuer()?;
    Ok(dev_oidc::DevIssuer::new(&instance.oidc_issuer, key))
}

/// The first block of a PEM file, which must be a certificate.
fn read_certificate(path: &Path) -> anyhow::Result<Vec<u8>> {
    let pem = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match shared::keys::pem_blocks(&pem)?.into_iter().next() {
        Some((label, der)) if label == "CERTIFICATE" => Ok(der),
        _ => bail!("{} holds no certificate", path.display()),
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new
/// file, never a torn one: a temporary file, fsync, rename, fsync the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    let dir = path.parent().context("path has no parent directory")?;
    let tmp = path.with_extension("tmp");
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = secret;
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_content_and_restricts_secrets() {
        let dir = std::env::temp_dir().join(format!("sigil-data-dir-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.pem");
        write_atomic(&path, b"one", true).unwrap();
        write_atomic(&path, b"two", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
