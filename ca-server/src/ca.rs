//! Certificate issuance with an embedded SCT (docs/fulcio-wire.md §3 precert
//! flow, RFC 6962 §3.1): template → precertificate with poison → CT log
//! `add-pre-chain` → SCT checked → the same TBS with the SCT list in place of
//! the poison, signed again.

mod backend;
mod chain;
mod file_key;
mod pkcs11;
mod profile;
mod root;
mod secret;
mod signer;

use std::sync::Arc;
use std::time::SystemTime;

use der::Encode;
use shared::keys::PublicKey;
use shared::sct::{sct_list_to_tls, SignedEntry};

pub use backend::{
    chain_from_pem, ephemeral, load_ca, load_signer, CaBackend, CaLoadError, LoadedCa,
};
pub use chain::{CaChain, ChainError};
pub use file_key::{KeyFileError, SoftwareKey};
pub use pkcs11::{Pkcs11Config, Pkcs11Error, Pkcs11Signer};
pub use profile::{
    extension, sign_certificate, LeafParams, LeafTemplate, ProfileError, Tail, LEAF_VALIDITY,
};
pub use root::self_signed_root;
pub use secret::{Secret, SecretError};
pub use signer::{self_test, CaKeyKind, CaSigner, SignerError};

use crate::challenge::ProvenKey;
use crate::ct_client::{CtClientError, CtLogClient};
use crate::identity::Principal;
use crate::x509::random_serial;

/// Why issuance failed after the request was accepted (HTTP 500).
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("error entering certificate in CT log: {0}")]
    CtLog(#[from] CtClientError),
    #[error(
        "error entering certificate in CT log: the SCT does not verify with the CT log key: {0}"
    )]
    BadSct(String),
}

/// The issuing CA: its key, its chain and the CT log it logs precertificates to.
pub struct IssuingCa {
    signer: Arc<dyn CaSigner>,
    chain: CaChain,
    ct_log: CtLogClient,
    ct_log_key: Option<PublicKey>,
}

impl IssuingCa {
    pub fn new(
        signer: Arc<dyn CaSigner>,
        chain: CaChain,
        ct_log: CtLogClient,
        ct_log_key: Option<PublicKey>,
    ) -> Self {
        Self {
            signer,
            chain,
            ct_log,
            ct_log_key,
        }
    }

    pub fn chain(&self) -> &CaChain {
        &self.chain
    }

    /// Issues a final certificate (DER) with exactly one embedded SCT.
    pub async fn issue(
        &self,
        principal: &Principal,
        key: ProvenKey,
    ) -> Result<Vec<u8>, IssueError> {
        let template = LeafTemplate::new(LeafParams {
            serial: random_serial().map_err(ProfileError::from)?,
            not_before: SystemTime::now(),
            issuer: self.chain.subject.clone(),
            ca_key_id: &self.chain.key_id,
            signature_algorithm: self.signer.signature_algorithm(),
            principal,
            subject_public_key: key.spki,
        })?;
        let precert = sign_certificate(template.tbs(Some(Tail::Poison))?, self.signer.as_ref())?;

        let mut submission: Vec<&[u8]> = vec![&precert];
        submission.extend(self.chain.certificates.iter().map(Vec::as_slice));
        let sct = self.ct_log.add_pre_chain(&submission).await?;

        if let Some(key) = &self.ct_log_key {
            let entry = SignedEntry::Precert {
                issuer_key_hash: self.chain.issuer_key_hash,
                tbs_certificate: template.tbs(None)?.to_der().map_err(ProfileError::from)?,
            };
            sct.verify(key, &entry)
                .map_err(|e| IssueError::BadSct(e.to_string()))?;
        }

        let sct_list = sct_list_to_tls(std::slice::from_ref(&sct));
        let final_tbs = template.tbs(Some(Tail::SctList(&sct_list)))?;
        Ok(sign_certificate(final_tbs, self.signer.as_ref())?)
    }
}
