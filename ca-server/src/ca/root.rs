//! A self-signed root CA certificate for development stacks, shaped for the
//! strictest client (pyca/cryptography's WebPKI policy in sigstore-python,
//! docs/clients.md §6): critical BasicConstraints CA:true, critical KeyUsage
//! keyCertSign + cRLSign, a SubjectKeyIdentifier, UTCTime before 2050.

use std::time::{Duration, SystemTime};

use const_oid::AssociatedOid;
use der::asn1::OctetString;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::time::Validity;

use super::profile::{extension, sign_certificate};
use super::signer::CaSigner;
use crate::x509::{key_identifier, org_cn_name, random_serial, x509_time};

/// Ten years (of 365.25 days).
const ROOT_VALIDITY: Duration = Duration::from_secs(3652 * 24 * 60 * 60);

/// Builds and self-signs a root certificate `O=<organization>, CN=<common_name>`
/// for `signer`, valid from now for ten years. Returns DER.
pub fn self_signed_root(
    signer: &dyn CaSigner,
    organization: &str,
    common_name: &str,
) -> anyhow::Result<Vec<u8>> {
    let name = org_cn_name(organization, common_name)?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&signer.public_spki_der())?;
    let now = SystemTime::now();
    let extensions = vec![
        extension(
            BasicConstraints::OID,
            true,
            BasicConstraints {
                ca: true,
                path_len_constraint: None,
            }
            .to_der()?,
        )?,
        extension(
            KeyUsage::OID,
            true,
            KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign).to_der()?,
        )?,
        extension(
            SubjectKeyIdentifier::OID,
            false,
            SubjectKeyIdentifier(OctetString::new(key_identifier(&spki))?).to_der()?,
        )?,
    ];
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: signer.signature_algorithm(),
        issuer: name.clone(),
        validity: Validity {
            not_before: x509_time(now)?,
            not_after: x509_time(now + ROOT_VALIDITY)?,
        },
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    Ok(sign_certificate(tbs, signer)?)
}
