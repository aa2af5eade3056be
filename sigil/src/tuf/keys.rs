//! Where a TUF repository's role keys live and how they are unlocked.
//!
//! Each role has one Ed25519 key in `keys/`, in one of two forms:
//! - `<role>.pk8`: PKCS#8 DER (RFC 5958), in the clear, mode 0600;
//! - `<role>.p8e.pem`: an `ENCRYPTED PRIVATE KEY` PEM (RFC 5958 §3, PBES2 of
//!   RFC 8018 with scrypt and AES-256-CBC), unlocked with a password from
//!   `SIGIL_TUF_KEY_PASSWORD` or `--key-password-file`, like the CA's key;
//! - `<role>.pkcs11.json`: where the key lives in a PKCS#11 token
//!   ([`super::hsm`]); the key itself never leaves the token.
//!
//! A rotation (`rotate`) makes `<role>.next.*` first, and moves the old key
//! to `retired/` once the new root naming its successor is written.
//!
//! A role whose key is in neither place is kept offline: the root key only
//! signs `init` (and a root rotation), so it can live elsewhere between
//! them; publishing and refreshing need the targets, snapshot and timestamp
//! keys only. The password and the keys never reach a log line or an error
//! message.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ca_server::ca::Secret;
use pkcs8::der::Decode as _;
use tough::key_source::{KeySource, LocalKeySource};
use tough::sign::Sign;
use zeroize::Zeroizing;

use super::hsm::{TokenKey, TokenKeySource, PIN_ENV};

/// The environment variable that holds the key password.
pub(crate) const PASSWORD_ENV: &str = "SIGIL_TUF_KEY_PASSWORD";

const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// The role keys of one repository.
pub(crate) struct RoleKeys {
    dir: PathBuf,
    password: Option<Secret>,
    pin: Option<Secret>,
}

impl RoleKeys {
    /// The keys in `dir`; `password` unlocks (and, on creation, encrypts)
    /// key files, `pin` opens keys kept in a PKCS#11 token.
    pub(crate) fn new(dir: PathBuf, password: Option<Secret>, pin: Option<Secret>) -> Self {
        Self { dir, password, pin }
    }

    /// Puts the key of `role` in a PKCS#11 token (see [`super::hsm`]).
    pub(crate) fn create_in_token(&self, role: &str, key: &TokenKey) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let pin = self.pin.as_ref().with_context(|| {
            format!("the {role} key goes in a PKCS#11 token: set {PIN_ENV} or --pkcs11-pin-file")
        })?;
        key.provision(pin, &self.token_path(role))
    }

    /// Makes a fresh Ed25519 key for `role`: encrypted when a password was
    /// given, in the clear otherwise. Refuses to overwrite either form.
    pub(crate) fn create(&self, role: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let (plain, encrypted) = (self.plain_path(role), self.encrypted_path(role));
        for path in [&plain, &encrypted] {
            anyhow::ensure!(!path.exists(), "{} already exists", path.display());
        }
        let der = Zeroizing::new(
            aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(
                &aws_lc_rs::rand::SystemRandom::new(),
            )
            .map_err(|_| anyhow::anyhow!("generating an Ed25519 key failed"))?
            .as_ref()
            .to_vec(),
        );
        match &self.password {
            None => write_private(&plain, &der),
            Some(password) => {
                let info = pkcs8::PrivateKeyInfo::from_der(&der)
                    .map_err(|e| anyhow::anyhow!("the new {role} key: {e}"))?;
                let sealed = info
                    .encrypt(rand_core::OsRng, password.expose().as_bytes())
                    .map_err(|e| anyhow::anyhow!("encrypting the {role} key: {e}"))?;
                let pem = sealed
                    .to_pem(ENCRYPTED_LABEL, pkcs8::LineEnding::LF)
                    .map_err(|e| anyhow::anyhow!("encoding the {role} key: {e}"))?;
                write_private(&encrypted, pem.as_bytes())
            }
        }
    }

    /// The signer of `role`, unlocked.
    pub(crate) fn source(&self, role: &str) -> anyhow::Result<Box<dyn KeySource>> {
        let token = self.token_path(role);
        if token.is_file() {
            let key: TokenKey = serde_json::from_slice(&std::fs::read(&token)?)
                .with_context(|| format!("{} does not name a token key", token.display()))?;
            let pin = self.pin.clone().with_context(|| {
                format!(
                    "the {role} key is in PKCS#11 token {:?}: set {PIN_ENV} or --pkcs11-pin-file",
                    key.token
                )
            })?;
            return Ok(Box::new(TokenKeySource { key, pin }));
        }
        let (plain, encrypted) = (self.plain_path(role), self.encrypted_path(role));
        if encrypted.is_file() {
            let password = self.password.clone().with_context(|| {
                format!(
                    "the {role} key is encrypted ({}): set {PASSWORD_ENV} or \
                     --key-password-file",
                    encrypted.display()
                )
            })?;
            return Ok(Box::new(EncryptedKeyFile {
                path: encrypted,
                password,
            }));
        }
        if plain.is_file() {
            return Ok(Box::new(LocalKeySource { path: plain }));
        }
        anyhow::bail!(
            "no {role} key in {} ({role}.pk8 or {role}.p8e.pem): if it is kept offline, \
             put it back for this step",
            self.dir.display()
        )
    }

    /// Makes `<role>.next` the key of `role`: the current key moves to
    /// `retired/<role>.<tag>` (same form), kept so nothing is lost.
    pub(crate) fn promote_next(&self, role: &str, tag: &str) -> anyhow::Result<()> {
        let retired = self.dir.join("retired");
        std::fs::create_dir_all(&retired)?;
        let next = format!("{role}.next");
        for ext in ["pk8", "p8e.pem", "pkcs11.json"] {
            let current = self.dir.join(format!("{role}.{ext}"));
            if current.is_file() {
                let kept = retired.join(format!("{role}.{tag}.{ext}"));
                std::fs::rename(&current, &kept)
                    .with_context(|| format!("moving {} aside", current.display()))?;
            }
        }
        for ext in ["pk8", "p8e.pem", "pkcs11.json"] {
            let staged = self.dir.join(format!("{next}.{ext}"));
            if staged.is_file() {
                std::fs::rename(&staged, self.dir.join(format!("{role}.{ext}")))?;
            }
        }
        Ok(())
    }

    /// Whether `role` has a key here in any form.
    pub(crate) fn exists(&self, role: &str) -> bool {
        [
            self.token_path(role),
            self.plain_path(role),
            self.encrypted_path(role),
        ]
        .iter()
        .any(|p| p.is_file())
    }

    /// Where `role`'s key lives in a token, if it does.
    pub(crate) fn token_key(&self, role: &str) -> anyhow::Result<Option<TokenKey>> {
        let path = self.token_path(role);
        if !path.is_file() {
            return Ok(None);
        }
        let key = serde_json::from_slice(&std::fs::read(&path)?)
            .with_context(|| format!("{} does not name a token key", path.display()))?;
        Ok(Some(key))
    }

    /// Makes a key for `role` in the same form as `like`'s: sealed when
    /// that one is (which needs the password), in the clear otherwise
    /// unless a password is given.
    pub(crate) fn create_like(&self, role: &str, like: &str) -> anyhow::Result<()> {
        if self.encrypted_path(like).is_file() && self.password.is_none() {
            anyhow::bail!(
                "the {like} key is encrypted: set {PASSWORD_ENV} or --key-password-file, so \
                 its successor is sealed too"
            );
        }
        self.create(role)
    }

    /// Removes every form of `role`'s key: only for a successor key that no
    /// published root names (an interrupted rotation's leftover).
    pub(crate) fn discard(&self, role: &str) -> anyhow::Result<()> {
        for path in [
            self.token_path(role),
            self.plain_path(role),
            self.encrypted_path(role),
        ] {
            if path.is_file() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
        Ok(())
    }

    fn token_path(&self, role: &str) -> PathBuf {
        self.dir.join(format!("{role}.pkcs11.json"))
    }

    fn plain_path(&self, role: &str) -> PathBuf {
        self.dir.join(format!("{role}.pk8"))
    }

    fn encrypted_path(&self, role: &str) -> PathBuf {
        self.dir.join(format!("{role}.p8e.pem"))
    }
}

/// A key file sealed with a password; decrypted each time it signs.
struct EncryptedKeyFile {
    path: PathBuf,
    password: Secret,
}

impl std::fmt::Debug for EncryptedKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedKeyFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[async_trait::async_trait]
impl KeySource for EncryptedKeyFile {
    async fn as_sign(&self) -> Result<Box<dyn Sign>, BoxError> {
        let shown = self.path.display();
        let pem = Zeroizing::new(
            std::fs::read_to_string(&self.path).map_err(|e| format!("reading {shown}: {e}"))?,
        );
        let (label, sealed) = pkcs8::SecretDocument::from_pem(&pem)
            .map_err(|e| format!("{shown} is not a PEM key: {e}"))?;
        if label != ENCRYPTED_LABEL {
            return Err(format!("{shown} holds a {label}, not an {ENCRYPTED_LABEL}").into());
        }
        let info = pkcs8::EncryptedPrivateKeyInfo::from_der(sealed.as_bytes())
            .map_err(|e| format!("{shown}: {e}"))?;
        let der = info
            .decrypt(self.password.expose().as_bytes())
            .map_err(|_| {
                format!("cannot decrypt {shown}: wrong password, or the file is corrupt")
            })?;
        let pair =
            tough::sign::parse_keypair(der.as_bytes()).map_err(|e| format!("{shown}: {e}"))?;
        Ok(Box::new(pair))
    }

    async fn write(&self, _value: &str, _key_id_hex: &str) -> Result<(), BoxError> {
        Err("sigil does not write TUF keys through tough".into())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    // Test code: a failed step should panic with its error.
    #![allow(clippy::unwrap_used)]

    use super::*;

    async fn public_key(keys: &RoleKeys, role: &str) -> anyhow::Result<tough::schema::key::Key> {
        let source = keys.source(role)?;
        let sign = source.as_sign().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(sign.tuf_key())
    }

    #[tokio::test]
    async fn an_encrypted_key_opens_with_its_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = RoleKeys::new(
            dir.path().to_path_buf(),
            Some(Secret::new("correct horse".into())),
            None,
        );
        sealed.create("targets").unwrap();
        let pem = std::fs::read_to_string(dir.path().join("targets.p8e.pem")).unwrap();
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{pem}"
        );
        assert!(!dir.path().join("targets.pk8").exists());
        let key = public_key(&sealed, "targets").await.unwrap();
        assert!(sealed.create("targets").is_err(), "never overwritten");

        let no_password = RoleKeys::new(dir.path().to_path_buf(), None, None);
        let err = no_password.source("targets").err().unwrap().to_string();
        assert!(err.contains(PASSWORD_ENV), "{err}");
        let wrong = RoleKeys::new(
            dir.path().to_path_buf(),
            Some(Secret::new("battery staple".into())),
            None,
        );
        let err = public_key(&wrong, "targets").await.unwrap_err().to_string();
        assert!(err.contains("wrong password"), "{err}");
        assert!(
            !err.contains("battery") && !err.contains("correct"),
            "{err}"
        );

        // The same key each time it is opened.
        assert_eq!(public_key(&sealed, "targets").await.unwrap(), key);
    }

    #[tokio::test]
    async fn a_clear_key_needs_no_password_and_a_missing_one_is_offline() {
        let dir = tempfile::tempdir().unwrap();
        let keys = RoleKeys::new(dir.path().to_path_buf(), None, None);
        keys.create("timestamp").unwrap();
        public_key(&keys, "timestamp").await.unwrap();
        let err = keys.source("root").err().unwrap().to_string();
        assert!(err.contains("offline"), "{err}");
    }
}
