//! The leaf certificate profile, byte for byte as Fulcio issues it
//! (docs/fulcio-wire.md §3 and §8): v3, empty subject, 10-minute validity, and the
//! extensions in the order KU, EKU, SKID, AKID, SAN, the principal's Sigstore
//! 57264.1.x extensions by OID, then the RFC 6962 §3.1 poison (precertificate) or SCT list (final
//! certificate). The TBS is assembled by hand because the order is part of
//! what verifiers rebuild.

use std::time::{Duration, SystemTime};

use const_oid::AssociatedOid;
use der::asn1::{BitString, Ia5String, OctetString, Utf8StringRef};
use der::Encode;
use shared::oids;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use super::signer::{CaSigner, SignerError};
use crate::identity::{Principal, SubjectName};
use crate::x509::{key_identifier, x509_time, X509Error};

/// Fulcio's certificate lifetime.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(10 * 60);

/// The DER of an RFC 6962 poison extension's value: ASN.1 NULL.
const POISON_VALUE: [u8; 2] = [0x05, 0x00];

/// Why a certificate could not be built (a CA-side failure, HTTP 500).
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("certificate encoding failed: {0}")]
    Der(#[from] der::Error),
    #[error("certificate time: {0}")]
    Time(#[from] X509Error),
    #[error(transparent)]
    Signer(#[from] SignerError),
}

/// Everything that varies between leaf certificates.
pub struct LeafParams<'a> {
    pub serial: SerialNumber,
    pub not_before: SystemTime,
    /// The issuing CA's subject.
    pub issuer: Name,
    /// The issuing CA's SubjectKeyIdentifier (becomes the leaf's AKID).
    pub ca_key_id: &'a [u8],
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub principal: &'a Principal,
    pub subject_public_key: SubjectPublicKeyInfoOwned,
}

/// What closes the extension list.
pub enum Tail<'a> {
    /// The critical poison of a precertificate.
    Poison,
    /// The TLS `SignedCertificateTimestampList` of the final certificate.
    SctList(&'a [u8]),
}

/// A leaf TBSCertificate without its last extension. Precertificate and final
/// certificate are both made from one template so that they differ only in
/// that extension.
#[derive(Clone, Debug)]
pub struct LeafTemplate {
    base: TbsCertificate,
}

impl LeafTemplate {
    pub fn new(p: LeafParams<'_>) -> Result<Self, ProfileError> {
        let not_after = p.not_before + LEAF_VALIDITY;
        let mut extensions = vec![
            extension(
                KeyUsage::OID,
                true,
                KeyUsage(KeyUsages::DigitalSignature.into()).to_der()?,
            )?,
            extension(
                ExtendedKeyUsage::OID,
                false,
                ExtendedKeyUsage(vec![oids::EKU_CODE_SIGNING]).to_der()?,
            )?,
            extension(
                SubjectKeyIdentifier::OID,
                false,
                SubjectKeyIdentifier(OctetString::new(key_identifier(&p.subject_public_key))?)
                    .to_der()?,
            )?,
            extension(
                AuthorityKeyIdentifier::OID,
                false,
                AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(p.ca_key_id)?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                }
                .to_der()?,
            )?,
            // RFC 5280 §4.2.1.6: critical because the subject is empty.
            extension(SubjectAltName::OID, true, san(p.principal.san())?.to_der()?)?,
        ];
        // The Sigstore extensions in OID order (.1 and .2–.6 raw, never
        // DER-wrapped: sigstore-python compares .1 as-is; .8–.24 UTF8String).
        for ext in p.principal.fulcio_extensions()? {
            extensions.push(extension(ext.oid, false, ext.value)?);
        }
        let base = TbsCertificate {
            version: Version::V3,
            serial_number: p.serial,
            signature: p.signature_algorithm,
            issuer: p.issuer,
            validity: Validity {
                not_before: x509_time(p.not_before)?,
                not_after: x509_time(not_after)?,
            },
            subject: RdnSequence(Vec::new()),
            subject_public_key_info: p.subject_public_key,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        Ok(Self { base })
    }

    /// The TBSCertificate with `tail` appended (`None`: the form an SCT signs).
    pub fn tbs(&self, tail: Option<Tail<'_>>) -> Result<TbsCertificate, ProfileError> {
        let mut tbs = self.base.clone();
        let last = match tail {
            None => return Ok(tbs),
            Some(Tail::Poison) => extension(oids::CT_POISON, true, POISON_VALUE.to_vec())?,
            Some(Tail::SctList(tls)) => {
                extension(oids::CT_SCT_LIST, false, OctetString::new(tls)?.to_der()?)?
            }
        };
        if let Some(exts) = tbs.extensions.as_mut() {
            exts.push(last);
        }
        Ok(tbs)
    }
}

/// Signs `tbs` and returns the DER certificate.
pub fn sign_certificate(
    tbs: TbsCertificate,
    signer: &dyn CaSigner,
) -> Result<Vec<u8>, ProfileError> {
    let signature = signer.sign(&tbs.to_der()?)?;
    let cert = Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(cert.to_der()?)
}

/// One X.509 extension with its DER value.
pub fn extension(
    oid: const_oid::ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension, der::Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)?,
    })
}

fn san(name: &SubjectName) -> Result<SubjectAltName, der::Error> {
    let general = match name {
        SubjectName::Email(email) => GeneralName::Rfc822Name(Ia5String::new(email)?),
        SubjectName::Uri(uri) => GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?),
        // Fulcio's username SAN: otherName 57264.1.7, value [0] EXPLICIT UTF8String.
        SubjectName::OtherName(name) => GeneralName::OtherName(OtherName {
            type_id: oids::FULCIO_OTHERNAME_SAN,
            value: der::Any::encode_from(&Utf8StringRef::new(name)?)?,
        }),
    };
    Ok(SubjectAltName(vec![general]))
}

#[cfg(test)]
mod tests;
