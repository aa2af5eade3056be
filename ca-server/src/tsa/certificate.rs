//! A TSA signing certificate issued by a CA key, in the shape every client
//! checks (RFC 3161 §2.3; rfc3161-client and sigstore-go refuse anything
//! else): a critical ExtendedKeyUsage of `timeStamping` alone, a critical
//! KeyUsage of digitalSignature, and key identifiers so verifiers can build
//! the path. `sigil dev` issues one from its root; production deployments
//! bring their own.

use std::time::{Duration, SystemTime};

use const_oid::db::rfc5912::ID_KP_TIME_STAMPING;
use const_oid::AssociatedOid;
use der::asn1::OctetString;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::time::Validity;
use x509_cert::Certificate;

use crate::ca::{extension, sign_certificate, CaSigner};
use crate::x509::{key_identifier, org_cn_name, random_serial, x509_time};

/// Issues `O=<organization>, CN=<common_name>` for the key `subject_spki_der`,
/// signed by `issuer` (whose certificate is `issuer_der`), valid from now for
/// `validity` but never past the issuer's own notAfter. Returns DER.
pub fn issue_tsa_certificate(
    issuer: &dyn CaSigner,
    issuer_der: &[u8],
    subject_spki_der: &[u8],
    organization: &str,
    common_name: &str,
    validity: Duration,
) -> anyhow::Result<Vec<u8>> {
    let issuer_cert = Certificate::from_der(issuer_der)?;
    let issuer_tbs = &issuer_cert.tbs_certificate;
    let spki = SubjectPublicKeyInfoOwned::from_der(subject_spki_der)?;
    let issuer_key_id = match issuer_tbs.get::<SubjectKeyIdentifier>()? {
        Some((_, ski)) => ski.0.as_bytes().to_vec(),
        None => key_identifier(&issuer_tbs.subject_public_key_info),
    };
    let extensions = vec![
        extension(
            BasicConstraints::OID,
            true,
            BasicConstraints {
                ca: false,
                path_len_constraint: None,
            }
            .to_der()?,
        )?,
        extension(
            KeyUsage::OID,
            true,
            KeyUsage(KeyUsages::DigitalSignature.into()).to_der()?,
        )?,
        extension(
            ExtendedKeyUsage::OID,
            true,
            ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]).to_der()?,
        )?,
        extension(
            SubjectKeyIdentifier::OID,
            false,
            SubjectKeyIdentifier(OctetString::new(key_identifier(&spki))?).to_der()?,
        )?,
        extension(
            AuthorityKeyIdentifier::OID,
            false,
            AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(issuer_key_id)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            }
            .to_der()?,
        )?,
    ];
    let now = SystemTime::now();
    let issuer_not_after = issuer_tbs.validity.not_after.to_system_time();
    let not_after = (now + validity).min(issuer_not_after);
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: issuer.signature_algorithm(),
        issuer: issuer_tbs.subject.clone(),
        validity: Validity {
            not_before: x509_time(now)?,
            not_after: x509_time(not_after)?,
        },
        subject: org_cn_name(organization, common_name)?,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    Ok(sign_certificate(tbs, issuer)?)
}
