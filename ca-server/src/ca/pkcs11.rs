//! The PKCS#11 CA backend (Fulcio `pkcs11ca`, docs/fulcio-wire.md §5; PKCS#11 v2.40
//! §2.3.1 / §2.3.6): the CA key stays in an HSM (or SoftHSM2) token. The
//! module is loaded once per process, a token is found by label, the user
//! logs in with a PIN, and the EC key pair is found by `CKA_LABEL`. Signing
//! uses `CKM_ECDSA` over a SHA-256 (P-256) or SHA-384 (P-384) digest computed
//! here; the token returns raw `r ‖ s`, which becomes a DER ECDSA-Sig-Value
//! (RFC 5480 §2.2.3 / X9.62).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use sha2::{Digest, Sha256, Sha384};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::secret::Secret;
use super::signer::{CaKeyKind, CaSigner, SignerError};
use const_oid::db::rfc5912;

/// Where the CA key lives in the HSM.
#[derive(Clone, Debug)]
pub struct Pkcs11Config {
    /// The vendor's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    pub module: PathBuf,
    /// `CKA_LABEL` of the token (`softhsm2-util --init-token --label`).
    pub token_label: String,
    /// `CKA_LABEL` of the key pair (private and public key objects).
    pub key_label: String,
    /// The user PIN.
    pub pin: Secret,
}

/// Why the PKCS#11 key could not be opened. Messages never contain the PIN.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    #[error("loading the PKCS#11 module {module}: {source}")]
    Module { module: String, source: CkError },
    #[error("no PKCS#11 token labelled {0:?} (tokens present: {1})")]
    NoToken(String, String),
    #[error("logging in to PKCS#11 token {0:?}: {1} (is the PIN right?)")]
    Login(String, CkError),
    #[error("no {kind} key labelled {label:?} on the PKCS#11 token")]
    NoKey { kind: &'static str, label: String },
    #[error(
        "{count} private keys are labelled {label:?} on the PKCS#11 token; labels must be unique"
    )]
    AmbiguousKey { count: usize, label: String },
    #[error("the PKCS#11 key {0:?} is not a P-256 or P-384 EC key")]
    UnsupportedKey(String),
    #[error("PKCS#11: {0}")]
    Ck(#[from] CkError),
    #[error("PKCS#11 key attributes: {0}")]
    Der(#[from] der::Error),
}

/// A CA key held by a PKCS#11 token.
///
/// The session is not `Sync` (PKCS#11 §5.6: one thread per session at a
/// time), so signatures are serialised through a mutex; if the token drops
/// the session (HSM restart, idle timeout) the next signature re-opens it
/// and logs in again once before failing.
pub struct Pkcs11Signer {
    config: Pkcs11Config,
    context: Pkcs11,
    slot: Slot,
    kind: CaKeyKind,
    spki_der: Vec<u8>,
    session: Mutex<(Session, ObjectHandle)>,
}

impl Pkcs11Signer {
    /// Opens the token, logs in and finds the key pair; reads the public key
    /// from the token (`CKA_EC_POINT` + `CKA_EC_PARAMS`).
    pub fn open(config: Pkcs11Config) -> Result<Self, Pkcs11Error> {
        let context = module(&config.module)?;
        let slot = find_token(&context, &config.token_label)?;
        let (session, private) = login_and_find(&context, slot, &config)?;
        let public = find_one(
            &session,
            ObjectClass::PUBLIC_KEY,
            &config.key_label,
            "public",
        )?;
        let (kind, spki_der) = ec_public_key(&session, public, &config.key_label)?;
        Ok(Self {
            config,
            context,
            slot,
            kind,
            spki_der,
            session: Mutex::new((session, private)),
        })
    }

    /// Generates a token-resident EC key pair labelled `config.key_label`
    /// (P-256 or P-384) with a non-extractable private key, then opens it.
    /// For provisioning SoftHSM2 tokens in tests and development.
    pub fn generate(config: Pkcs11Config, kind: CaKeyKind) -> Result<Self, Pkcs11Error> {
        let curve = match kind {
            CaKeyKind::P256 => rfc5912::SECP_256_R_1,
            CaKeyKind::P384 => rfc5912::SECP_384_R_1,
            CaKeyKind::Rsa => return Err(Pkcs11Error::UnsupportedKey(config.key_label)),
        };
        let context = module(&config.module)?;
        let slot = find_token(&context, &config.token_label)?;
        let session = context.open_rw_session(slot)?;
        login(&session, &config)?;
        let label = Attribute::Label(config.key_label.as_bytes().to_vec());
        session.generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::Verify(true),
                Attribute::EcParams(curve.to_der()?),
                label.clone(),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                label,
            ],
        )?;
        drop(session);
        Self::open(config)
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        let mut guard = self
            .session
            .lock()
            .map_err(|_| SignerError("the PKCS#11 session lock is poisoned".into()))?;
        let first = guard.0.sign(&Mechanism::Ecdsa, guard.1, digest);
        let raw = match first {
            Ok(raw) => raw,
            Err(e) if session_lost(&e) => {
                tracing::warn!(error = %e, "PKCS#11 session lost; logging in again");
                *guard = login_and_find(&self.context, self.slot, &self.config)
                    .map_err(|e| SignerError(e.to_string()))?;
                guard
                    .0
                    .sign(&Mechanism::Ecdsa, guard.1, digest)
                    .map_err(|e| SignerError(format!("PKCS#11 C_Sign: {e}")))?
            }
            Err(e) => return Err(SignerError(format!("PKCS#11 C_Sign: {e}"))),
        };
        raw_to_der(self.kind, &raw)
    }
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("module", &self.config.module)
            .field("token_label", &self.config.token_label)
            .field("key_label", &self.config.key_label)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl CaSigner for Pkcs11Signer {
    fn public_spki_der(&self) -> Vec<u8> {
        self.spki_der.clone()
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.kind.signature_algorithm()
    }

    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, SignerError> {
        match self.kind {
            CaKeyKind::P384 => self.sign_digest(&Sha384::digest(tbs_der)),
            _ => self.sign_digest(&Sha256::digest(tbs_der)),
        }
    }
}

/// The process-wide context for `path`. C_Initialize may run once per
/// process and C_Finalize would pull the module from under every other
/// user, so contexts are cached for the life of the process.
fn module(path: &Path) -> Result<Pkcs11, Pkcs11Error> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let shown = || path.display().to_string();
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| Pkcs11Error::NoToken(String::new(), "module cache poisoned".into()))?;
    if let Some(context) = modules.get(path) {
        return Ok(context.clone());
    }
    let context = Pkcs11::new(path).map_err(|source| Pkcs11Error::Module {
        module: shown(),
        source,
    })?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(source) => {
            return Err(Pkcs11Error::Module {
                module: shown(),
                source,
            })
        }
    }
    modules.insert(path.to_owned(), context.clone());
    Ok(context)
}

fn find_token(context: &Pkcs11, label: &str) -> Result<Slot, Pkcs11Error> {
    let mut seen = Vec::new();
    for slot in context.get_slots_with_token()? {
        let info = context.get_token_info(slot)?;
        // Token labels are blank-padded to 32 bytes.
        let found = info.label().trim_end();
        if found == label {
            return Ok(slot);
        }
        seen.push(format!("{found:?}"));
    }
    Err(Pkcs11Error::NoToken(label.to_owned(), seen.join(", ")))
}

fn login_and_find(
    context: &Pkcs11,
    slot: Slot,
    config: &Pkcs11Config,
) -> Result<(Session, ObjectHandle), Pkcs11Error> {
    let session = context.open_ro_session(slot)?;
    login(&session, config)?;
    let private = find_one(
        &session,
        ObjectClass::PRIVATE_KEY,
        &config.key_label,
        "private",
    )?;
    Ok((session, private))
}

/// Logs the user in. The login state belongs to the application, not the
/// session (PKCS#11 §5.6.3), so another session may already have done it.
fn login(session: &Session, config: &Pkcs11Config) -> Result<(), Pkcs11Error> {
    match session.login(UserType::User, Some(&AuthPin::from(config.pin.expose()))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(e) => Err(Pkcs11Error::Login(config.token_label.clone(), e)),
    }
}

fn find_one(
    session: &Session,
    class: ObjectClass,
    label: &str,
    kind: &'static str,
) -> Result<ObjectHandle, Pkcs11Error> {
    let found = session.find_objects(&[
        Attribute::Class(class),
        Attribute::Label(label.as_bytes().to_vec()),
    ])?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Pkcs11Error::NoKey {
            kind,
            label: label.to_owned(),
        }),
        many => Err(Pkcs11Error::AmbiguousKey {
            count: many.len(),
            label: label.to_owned(),
        }),
    }
}

/// The SPKI of an EC public key object. `CKA_EC_PARAMS` is the DER curve OID;
/// `CKA_EC_POINT` is the DER OCTET STRING around the X9.62 point (some
/// modules return the bare point, which is accepted too).
fn ec_public_key(
    session: &Session,
    public: ObjectHandle,
    label: &str,
) -> Result<(CaKeyKind, Vec<u8>), Pkcs11Error> {
    let unsupported = || Pkcs11Error::UnsupportedKey(label.to_owned());
    let attributes = session.get_attributes(
        public,
        &[
            AttributeType::KeyType,
            AttributeType::EcParams,
            AttributeType::EcPoint,
        ],
    )?;
    let (mut key_type, mut params, mut point) = (None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    if key_type != Some(KeyType::EC) {
        return Err(unsupported());
    }
    let curve = ObjectIdentifier::from_der(&params.ok_or_else(unsupported)?)?;
    let kind = match curve {
        rfc5912::SECP_256_R_1 => CaKeyKind::P256,
        rfc5912::SECP_384_R_1 => CaKeyKind::P384,
        _ => return Err(unsupported()),
    };
    let point = point.ok_or_else(unsupported)?;
    let point = match OctetString::from_der(&point) {
        Ok(inner) => inner.into_bytes(),
        Err(_) => point,
    };
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: rfc5912::ID_EC_PUBLIC_KEY,
            parameters: Some(der::Any::from(&curve)),
        },
        subject_public_key: BitString::from_bytes(&point)?,
    };
    // Round-trip through the key parser: rejects points not on the curve.
    let spki_der = spki.to_der()?;
    shared::keys::PublicKey::from_spki_der(&spki_der).map_err(|_| unsupported())?;
    Ok((kind, spki_der))
}

/// PKCS#11 §2.3.1: an ECDSA signature is `r ‖ s`, each the curve's byte length.
fn raw_to_der(kind: CaKeyKind, raw: &[u8]) -> Result<Vec<u8>, SignerError> {
    let bad =
        |e: ecdsa::Error| SignerError(format!("the token returned a malformed signature: {e}"));
    Ok(match kind {
        CaKeyKind::P384 => p384::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .as_bytes()
            .to_vec(),
        _ => p256::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .as_bytes()
            .to_vec(),
    })
}

/// Errors after which a fresh session, login and key lookup may succeed
/// (the token restarted or dropped the session; handles are per session).
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid,
            _
        )
    )
}

#[cfg(test)]
pub(crate) mod tests;
