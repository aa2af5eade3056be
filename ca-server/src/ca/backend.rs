//! Choosing and loading the CA key backend at start-up (Fulcio `--ca`,
//! docs/fulcio-wire.md §5): `file` (a PEM key, optionally encrypted), `pkcs11` (an
//! HSM token) or `ephemeral` (a fresh P-256 key and self-signed root per
//! start, for development and tests). Every loaded key signs a probe that is
//! verified with its own public key before the CA serves anything.

use std::path::PathBuf;
use std::sync::Arc;

use shared::keys::pem_blocks;

use super::file_key::{KeyFileError, SoftwareKey};
use super::pkcs11::{Pkcs11Config, Pkcs11Error, Pkcs11Signer};
use super::root::self_signed_root;
use super::secret::Secret;
use super::signer::{self_test, CaSigner, SignerError};

/// Where the CA key comes from.
#[derive(Clone, Debug)]
pub enum CaBackend {
    /// A PEM private key file; `password` decrypts an `ENCRYPTED PRIVATE KEY`.
    File {
        key: PathBuf,
        password: Option<Secret>,
    },
    Pkcs11(Pkcs11Config),
    /// A new P-256 key and root on every start: nothing issued survives a restart.
    Ephemeral,
}

impl CaBackend {
    /// The `--ca` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::File { .. } => "file",
            Self::Pkcs11(_) => "pkcs11",
            Self::Ephemeral => "ephemeral",
        }
    }
}

/// Why the CA key or chain could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CaLoadError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("CA key file {path}: {source}")]
    KeyFile { path: String, source: KeyFileError },
    #[error(transparent)]
    Pkcs11(#[from] Pkcs11Error),
    #[error("the {0} CA needs a certificate chain (--ca-chain)")]
    ChainRequired(&'static str),
    #[error("the ephemeral CA makes its own root; do not pass --ca-chain")]
    ChainNotUsed,
    #[error("CA chain {path}: {why}")]
    Chain { path: String, why: String },
    #[error("CA key self-test failed: {0}")]
    SelfTest(#[from] SignerError),
    #[error("creating the ephemeral CA: {0}")]
    Ephemeral(String),
}

/// A CA key and the chain that goes with it (DER, issuing CA first). The
/// chain is checked against the key by `CaChain::new` (in `Ca::new`).
#[derive(Debug)]
pub struct LoadedCa {
    pub signer: Arc<dyn CaSigner>,
    pub chain_der: Vec<Vec<u8>>,
}

/// Loads `backend`; `chain` is the PEM chain file for `file` and `pkcs11`.
pub fn load_ca(backend: &CaBackend, chain: Option<&PathBuf>) -> Result<LoadedCa, CaLoadError> {
    if let CaBackend::Ephemeral = backend {
        if chain.is_some() {
            return Err(CaLoadError::ChainNotUsed);
        }
        return ephemeral();
    }
    let signer = load_signer(backend)?;
    let path = chain.ok_or(CaLoadError::ChainRequired(backend.name()))?;
    let chain_der = chain_from_pem(&read(path)?).map_err(|why| CaLoadError::Chain {
        path: path.display().to_string(),
        why,
    })?;
    Ok(LoadedCa { signer, chain_der })
}

/// The key alone, self-tested (for `--print-public-key`, before a chain exists).
pub fn load_signer(backend: &CaBackend) -> Result<Arc<dyn CaSigner>, CaLoadError> {
    let signer: Arc<dyn CaSigner> = match backend {
        CaBackend::Ephemeral => ephemeral()?.signer,
        CaBackend::File { key, password } => {
            let path = key.display().to_string();
            let pem = read(key)?;
            let key = SoftwareKey::from_pem(&pem, password.as_ref())
                .map_err(|source| CaLoadError::KeyFile { path, source })?;
            Arc::new(key)
        }
        CaBackend::Pkcs11(config) => Arc::new(Pkcs11Signer::open(config.clone())?),
    };
    self_test(signer.as_ref())?;
    Ok(signer)
}

/// A fresh P-256 key and a self-signed root for it.
pub fn ephemeral() -> Result<LoadedCa, CaLoadError> {
    let key = SoftwareKey::generate_p256().map_err(|e| CaLoadError::Ephemeral(e.to_string()))?;
    let root = self_signed_root(&key, "sigil", "sigil ephemeral CA")
        .map_err(|e| CaLoadError::Ephemeral(e.to_string()))?;
    Ok(LoadedCa {
        signer: Arc::new(key),
        chain_der: vec![root],
    })
}

/// The `CERTIFICATE` blocks of a PEM file, in order; other blocks are ignored.
pub fn chain_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let chain: Vec<Vec<u8>> = pem_blocks(pem)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect();
    if chain.is_empty() {
        return Err("no CERTIFICATE block".into());
    }
    Ok(chain)
}

fn read(path: &PathBuf) -> Result<Vec<u8>, CaLoadError> {
    std::fs::read(path).map_err(|source| CaLoadError::Read {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::CaChain;

    #[test]
    fn ephemeral_is_fresh_and_self_consistent() {
        let a = load_ca(&CaBackend::Ephemeral, None).unwrap();
        let b = ephemeral().unwrap();
        assert_ne!(a.signer.public_spki_der(), b.signer.public_spki_der());
        assert_eq!(
            a.signer.signature_algorithm().oid,
            const_oid::db::rfc5912::ECDSA_WITH_SHA_256
        );
        CaChain::new(&a.chain_der, &a.signer.public_spki_der()).unwrap();
        let chain = PathBuf::from("/dev/null");
        assert!(matches!(
            load_ca(&CaBackend::Ephemeral, Some(&chain)),
            Err(CaLoadError::ChainNotUsed)
        ));
    }

    #[test]
    fn file_backend_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("ca.key");
        let backend = CaBackend::File {
            key: key.clone(),
            password: None,
        };
        let err = load_ca(&backend, None).unwrap_err();
        assert!(err.to_string().contains("ca.key"), "{err}");

        let pem = {
            use pkcs8::EncodePrivateKey;
            p256::ecdsa::SigningKey::random(&mut rand_core::OsRng)
                .to_pkcs8_pem(Default::default())
                .unwrap()
        };
        std::fs::write(&key, pem.as_bytes()).unwrap();
        assert!(matches!(
            load_ca(&backend, None),
            Err(CaLoadError::ChainRequired("file"))
        ));
        let chain = dir.path().join("chain.pem");
        std::fs::write(&chain, "no pem here").unwrap();
        let err = load_ca(&backend, Some(&chain)).unwrap_err();
        assert!(matches!(err, CaLoadError::Chain { .. }), "{err}");
    }
}
