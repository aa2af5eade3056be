//! An RFC 3161 time-stamp authority with sigstore/timestamp-authority's wire
//! (docs/rekor-v2.md §5): Rekor v2 entries carry no signed entry timestamp, so a
//! signer proves *when* it signed with a TSA's token over its signature, and
//! verifiers (sigstore-python's rfc3161-client, sigstore-js, sigstore-go) check
//! that token against the trusted root's `timestampAuthorities`.
//!
//! # Contract
//! - **Ownership.** The TSA owns its key (any `CaSigner` backend: file,
//!   PKCS#11) and its chain, TSA certificate first. Both are fixed at start:
//!   `new` refuses a chain whose first certificate is not the key's, or whose
//!   ExtendedKeyUsage is not exactly a critical `timeStamping` (RFC 3161
//!   §2.3), which every client checks.
//! - **Failure.** A request the TSA will not answer (`RequestError`, including
//!   an unaccepted policy) is refused before anything is signed. `stamp`
//!   fails otherwise only when the key cannot sign, which is a 500.
//! - **Threads.** `Send + Sync`; `stamp` is synchronous and makes one
//!   signature.
//! - **Time.** `genTime` is the caller's clock, in whole seconds, with an
//!   accuracy of one second, as upstream declares it.

mod certificate;
mod request;
mod response;

use std::sync::Arc;
use std::time::SystemTime;

use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_KP_TIME_STAMPING,
    SHA_256_WITH_RSA_ENCRYPTION,
};
use const_oid::ObjectIdentifier;
use der::Decode;
use sha2::Digest;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::Certificate;

pub use certificate::issue_tsa_certificate;
pub use request::{
    hash_oid, HashAlgorithm, RequestError, StampRequest, MAX_DER_REQUEST_BYTES,
    MAX_JSON_REQUEST_BYTES,
};

use crate::ca::{CaSigner, SignerError};

/// The policy sigstore/timestamp-authority stamps under by default (its
/// `--default-policy-oid`).
pub const DEFAULT_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// A TSA key and its chain (DER, TSA certificate first, root last).
#[derive(Clone, Debug)]
pub struct TsaConfig {
    pub signer: Arc<dyn CaSigner>,
    pub chain_der: Vec<Vec<u8>>,
    pub policies: TsaPolicies,
}

/// The policies tokens are issued under (upstream's `--default-policy-oid`
/// and `--accepted-policy-oids`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsaPolicies {
    /// The policy of a token whose request names none.
    pub default: ObjectIdentifier,
    /// Further policies a request may ask for (the default always may).
    pub accepted: Vec<ObjectIdentifier>,
}

impl Default for TsaPolicies {
    fn default() -> Self {
        Self {
            default: DEFAULT_POLICY,
            accepted: Vec::new(),
        }
    }
}

impl TsaPolicies {
    /// The policy to stamp under for a request asking for `requested`.
    fn choose(
        &self,
        requested: Option<ObjectIdentifier>,
    ) -> Result<ObjectIdentifier, RequestError> {
        match requested {
            None => Ok(self.default),
            Some(p) if p == self.default || self.accepted.contains(&p) => Ok(p),
            Some(p) => Err(RequestError::UnacceptedPolicy(p.to_string())),
        }
    }
}

/// Why a TSA could not be set up (at start, never per request).
#[derive(Debug, thiserror::Error)]
#[error("TSA certificate chain: {0}")]
pub struct TsaSetupError(String);

/// Why a time-stamp was not issued.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    /// The client's request; a 400 with this text.
    #[error(transparent)]
    Refused(#[from] RequestError),
    #[error(transparent)]
    Sign(#[from] SignerError),
    #[error("encoding the time-stamp response: {0}")]
    Encode(#[from] der::Error),
}

/// A configured time-stamp authority.
#[derive(Debug)]
pub struct TimestampAuthority {
    signer: Arc<dyn CaSigner>,
    chain_der: Vec<Vec<u8>>,
    policies: TsaPolicies,
    certificate: Certificate,
    /// The digest the key's signature algorithm uses; CMS verifiers (OpenSSL's
    /// PKCS7_verify among them) hash the signed attributes with the
    /// SignerInfo's digestAlgorithm, so the two must agree.
    digest: HashAlgorithm,
}

impl TimestampAuthority {
    pub fn new(config: TsaConfig) -> Result<Self, TsaSetupError> {
        let TsaConfig {
            signer,
            chain_der,
            policies,
        } = config;
        let fail = |why: String| Err(TsaSetupError(why));
        if chain_der.len() < 2 {
            return fail(
                "give the TSA certificate and the certificates up to its root: \
                 sigstore-python skips a timestamp authority with a chain of one"
                    .into(),
            );
        }
        let certs = chain_der
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TsaSetupError(format!("not a DER certificate: {e}")))?;
        for pair in certs.windows(2) {
            if pair[0].tbs_certificate.issuer != pair[1].tbs_certificate.subject {
                return fail(format!(
                    "{} is not issued by the next certificate, {}",
                    pair[0].tbs_certificate.subject, pair[1].tbs_certificate.subject
                ));
            }
        }
        let certificate = certs.into_iter().next().expect("two or more certificates");
        let spki = der::Encode::to_der(&certificate.tbs_certificate.subject_public_key_info)
            .map_err(|e| TsaSetupError(e.to_string()))?;
        if spki != signer.public_spki_der() {
            return fail("the first certificate is not the TSA key's".into());
        }
        match certificate.tbs_certificate.get::<ExtendedKeyUsage>() {
            Ok(Some((true, eku))) if eku.0 == [ID_KP_TIME_STAMPING] => {}
            Ok(_) => {
                return fail(
                    "the TSA certificate needs a critical ExtendedKeyUsage of timeStamping alone \
                     (RFC 3161 §2.3)"
                        .into(),
                )
            }
            Err(e) => return fail(format!("unreadable ExtendedKeyUsage: {e}")),
        }
        let digest = match signer.signature_algorithm().oid {
            ECDSA_WITH_SHA_256 | SHA_256_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha256,
            ECDSA_WITH_SHA_384 => HashAlgorithm::Sha384,
            ECDSA_WITH_SHA_512 => HashAlgorithm::Sha512,
            other => return fail(format!("unsupported TSA signature algorithm {other}")),
        };
        Ok(Self {
            signer,
            chain_der,
            policies,
            certificate,
            digest,
        })
    }

    /// The chain clients verify tokens with (DER, TSA certificate first).
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }

    /// A DER `TimeStampResp` granting a token over `request` at `now`.
    pub fn stamp(&self, request: &StampRequest, now: SystemTime) -> Result<Vec<u8>, StampError> {
        let policy = self.policies.choose(request.policy)?;
        response::time_stamp_response(self, request, policy, now)
    }

    /// SHA-256 of the TSA certificate, for the ESS signing-certificate attribute.
    fn certificate_hash(&self) -> Vec<u8> {
        sha2::Sha256::digest(&self.chain_der[0]).to_vec()
    }
}

#[cfg(test)]
mod tests;
