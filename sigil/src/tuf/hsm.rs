//! TUF role keys in a PKCS#11 token (OASIS PKCS#11 v2.40; the CA's own
//! backend, `ca_server::ca::Pkcs11Signer`), as Sigstore's root signers keep
//! theirs on hardware keys: an ECDSA P-256 key pair that never leaves the
//! token, named in TUF as key type `ecdsa` with scheme
//! `ecdsa-sha2-nistp256` (TUF specification 1.0 §4.2; the signature is DER
//! ECDSA over SHA-256 of the canonical JSON, which python-tuf, tuf-js and
//! go-tuf all verify).
//!
//! The repository records where each such key lives in
//! `keys/<role>.pkcs11.json` (`{"module", "token", "key"}`: no secret); the
//! user PIN comes from `SIGIL_TUF_PKCS11_PIN` or `--pkcs11-pin-file` at each
//! step that signs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ca_server::ca::{CaKeyKind, CaSigner as _, Pkcs11Config, Pkcs11Error, Pkcs11Signer, Secret};
use tough::key_source::KeySource;
use tough::schema::key::{EcdsaKey, EcdsaScheme, Key};
use tough::sign::Sign;

/// The environment variable that holds the token's user PIN.
pub(crate) const PIN_ENV: &str = "SIGIL_TUF_PKCS11_PIN";

/// Where a role key lives in a token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenKey {
    /// The vendor's PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub(crate) module: PathBuf,
    /// The token's label.
    pub(crate) token: String,
    /// The key pair's label (`CKA_LABEL`).
    pub(crate) key: String,
}

impl TokenKey {
    fn config(&self, pin: Secret) -> Pkcs11Config {
        Pkcs11Config {
            module: self.module.clone(),
            token_label: self.token.clone(),
            key_label: self.key.clone(),
            pin,
        }
    }

    /// Opens the key pair labelled `key`, generating it (P-256, not
    /// extractable) if the token has none by that label; then records where
    /// it lives in `descriptor`.
    pub(crate) fn provision(&self, pin: &Secret, descriptor: &Path) -> anyhow::Result<()> {
        match Pkcs11Signer::open(self.config(pin.clone())) {
            Ok(signer) => anyhow::ensure!(
                is_p256(&signer),
                "the key {:?} on the token is not ECDSA P-256, the only kind TUF clients take \
                 from a token",
                self.key
            ),
            Err(Pkcs11Error::NoKey { .. }) => {
                Pkcs11Signer::generate(self.config(pin.clone()), CaKeyKind::P256)?;
            }
            Err(e) => return Err(e.into()),
        }
        std::fs::write(descriptor, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", descriptor.display()))
    }
}

/// `ROLE=LABEL` pairs, as `sigil tuf init --pkcs11-key` takes them.
pub(crate) fn role_labels(pairs: &[String]) -> anyhow::Result<HashMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            let (role, label) = pair
                .split_once('=')
                .with_context(|| format!("--pkcs11-key {pair:?} is not ROLE=LABEL"))?;
            anyhow::ensure!(
                ["root", "targets", "snapshot", "timestamp"].contains(&role),
                "--pkcs11-key {pair:?}: {role:?} is not a TUF role"
            );
            Ok((role.to_owned(), label.to_owned()))
        })
        .collect()
}

/// A role key in a token, opened when it signs.
pub(crate) struct TokenKeySource {
    pub(crate) key: TokenKey,
    pub(crate) pin: Secret,
}

impl std::fmt::Debug for TokenKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeySource")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[async_trait::async_trait]
impl KeySource for TokenKeySource {
    async fn as_sign(&self) -> Result<Box<dyn Sign>, BoxError> {
        let signer = Pkcs11Signer::open(self.key.config(self.pin.clone()))?;
        if !is_p256(&signer) {
            return Err(format!("the token key {:?} is not ECDSA P-256", self.key.key).into());
        }
        // An uncompressed P-256 point is the last 65 bytes of its SPKI
        // (RFC 5480 §2.2), which is what TUF's `ecdsa` keyval encodes.
        let spki = signer.public_spki_der();
        let point = spki
            .get(spki.len().saturating_sub(65)..)
            .filter(|p| p.len() == 65 && p[0] == 0x04)
            .ok_or("the token's public key is not an uncompressed P-256 point")?
            .to_vec();
        Ok(Box::new(TokenSign { signer, point }))
    }

    async fn write(&self, _value: &str, _key_id_hex: &str) -> Result<(), BoxError> {
        Err("a token key is never written out".into())
    }
}

fn is_p256(signer: &Pkcs11Signer) -> bool {
    matches!(
        shared::keys::PublicKey::from_spki_der(&signer.public_spki_der()),
        Ok(shared::keys::PublicKey::EcdsaP256(_))
    )
}

struct TokenSign {
    signer: Pkcs11Signer,
    point: Vec<u8>,
}

#[async_trait::async_trait]
impl Sign for TokenSign {
    fn tuf_key(&self) -> Key {
        Key::Ecdsa {
            keyval: EcdsaKey {
                public: self.point.clone().into(),
                _extra: HashMap::new(),
            },
            scheme: EcdsaScheme::EcdsaSha2Nistp256,
            _extra: HashMap::new(),
        }
    }

    async fn sign(
        &self,
        msg: &[u8],
        _rng: &(dyn aws_lc_rs::rand::SecureRandom + Sync),
    ) -> Result<Vec<u8>, BoxError> {
        // DER ECDSA over SHA-256 of `msg`, computed on the token.
        Ok(self.signer.sign(msg)?)
    }
}
