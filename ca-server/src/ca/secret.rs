//! Secrets that unlock CA keys (a key-file password, an HSM user PIN), read
//! from an environment variable or a file, wiped from memory on drop and
//! never printed: `Debug` shows a placeholder so a stray `{:?}` or a tracing
//! field cannot leak them.

use std::path::Path;

use zeroize::Zeroizing;

/// Why a secret could not be read. Names the source, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("reading the secret file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the secret file {0} is not UTF-8")]
    NotUtf8(String),
    #[error("the secret in {0} is empty")]
    Empty(String),
}

/// A password or PIN.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The file's contents without one trailing line break (files written by
    /// `echo` or editors end with one; the secret itself does not).
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let shown = path.display().to_string();
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| SecretError::Read {
            path: shown.clone(),
            source,
        })?);
        let text = std::str::from_utf8(&bytes).map_err(|_| SecretError::NotUtf8(shown.clone()))?;
        let text = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        if text.is_empty() {
            return Err(SecretError::Empty(shown));
        }
        Ok(Self::new(text.to_owned()))
    }

    /// The value of environment variable `name`, if set and not empty.
    pub fn from_env(name: &str) -> Option<Self> {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Self::new)
    }

    /// The secret itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_trims_one_newline_and_debug_hides_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret \n").unwrap();
        let secret = Secret::from_file(&path).unwrap();
        assert_eq!(secret.expose(), "s3cret ");
        assert!(!format!("{secret:?}").contains("s3cret"));

        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            Secret::from_file(&path),
            Err(SecretError::Empty(_))
        ));
        let missing = dir.path().join("missing");
        let err = Secret::from_file(&missing).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
