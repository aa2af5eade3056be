//! Verification material as Rekor's x509 PKI type reads it (rekor
//! `pkg/pki/x509`): a `PUBLIC KEY` PEM, one `CERTIFICATE`, or a chain of up
//! to 10 certificates, leaf first. Its canonical form is what Rekor stores:
//! the key re-encoded from its SPKI, or each certificate's DER re-wrapped,
//! all as 64-column PEM.

use der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

use super::{invalid, EntryError};
use crate::keys::{pem_blocks, pem_encode, PublicKey};

/// Rekor parses at most this many certificates in a chain.
const MAX_CHAIN: usize = 10;

/// Parsed verification material.
pub(crate) struct Material {
    /// The key that verifies: the bare key, or the first certificate's.
    pub(crate) key: PublicKey,
    /// The canonical PEM Rekor stores (and hashes for the search index).
    pub(crate) canonical_pem: String,
    /// DER certificates, leaf first; empty for a bare key.
    certs: Vec<Vec<u8>>,
}

impl Material {
    /// Parses PEM bytes; `field` names the request field for errors.
    pub(crate) fn parse(pem: &[u8], field: &'static str) -> Result<Self, EntryError> {
        let blocks = pem_blocks(pem).map_err(|e| invalid(field, e.to_string()))?;
        if let [(label, der)] = blocks.as_slice() {
            if label == "PUBLIC KEY" {
                let key =
                    PublicKey::from_spki_der(der).map_err(|e| invalid(field, e.to_string()))?;
                let canonical_pem = pem_encode("PUBLIC KEY", &key.to_spki_der());
                return Ok(Self {
                    key,
                    canonical_pem,
                    certs: Vec::new(),
                });
            }
        }
        if blocks.len() > MAX_CHAIN {
            return Err(invalid(
                field,
                format!(
                    "{} PEM blocks; at most {MAX_CHAIN} certificates are accepted",
                    blocks.len()
                ),
            ));
        }
        let mut certs = Vec::with_capacity(blocks.len());
        let mut canonical_pem = String::new();
        let mut leaf_key = None;
        for (i, (label, der)) in blocks.into_iter().enumerate() {
            if label != "CERTIFICATE" {
                return Err(invalid(
                    field,
                    format!(
                        "cannot handle PEM type {label:?} (expected PUBLIC KEY or CERTIFICATE)"
                    ),
                ));
            }
            let cert = Certificate::from_der(&der)
                .map_err(|e| invalid(field, format!("certificate {i} does not parse: {e}")))?;
            if i == 0 {
                let spki = cert
                    .tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .map_err(|e| invalid(field, format!("certificate key: {e}")))?;
                leaf_key = Some(
                    PublicKey::from_spki_der(&spki)
                        .map_err(|e| invalid(field, format!("certificate key: {e}")))?,
                );
            }
            // Rekor re-wraps the certificate's DER exactly as received.
            canonical_pem.push_str(&pem_encode("CERTIFICATE", &der));
            certs.push(der);
        }
        // pem_blocks never returns an empty list, so a leaf was parsed.
        let key = leaf_key.ok_or_else(|| invalid(field, "no PEM block found"))?;
        Ok(Self {
            key,
            canonical_pem,
            certs,
        })
    }

    /// Checks that each certificate of a chain is signed by the next one, as
    /// Rekor's hashedrekord does for chains (a lone certificate or key is not
    /// checked: there is nothing to check it against).
    pub(crate) fn verify_chain(&self) -> Result<(), EntryError> {
        let Some(last) = self.certs.last() else {
            return Ok(());
        };
        if self.certs.len() < 2 {
            return Ok(());
        }
        crate::ct::accept_chain(&self.certs, std::slice::from_ref(last), false)
            .map(|_| ())
            .map_err(|e| EntryError::BadSignature(format!("certificate chain: {e}")))
    }

    /// Identities from the leaf certificate's SANs: email, URI, DNS names and
    /// Fulcio's otherName username (what Rekor's index records as subjects).
    pub(crate) fn identities(&self) -> Vec<String> {
        let Some(leaf) = self.certs.first() else {
            return Vec::new();
        };
        let Ok(cert) = Certificate::from_der(leaf) else {
            return Vec::new();
        };
        let Ok(Some((_, san))) = cert.tbs_certificate.get::<SubjectAltName>() else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|name| match name {
                GeneralName::Rfc822Name(s) | GeneralName::DnsName(s) => Some(s.as_str().to_owned()),
                GeneralName::UniformResourceIdentifier(s) => Some(s.as_str().to_owned()),
                GeneralName::OtherName(other)
                    if other.type_id == crate::oids::FULCIO_OTHERNAME_SAN =>
                {
                    other
                        .value
                        .decode_as::<der::asn1::Utf8StringRef<'_>>()
                        .ok()
                        .map(|s| s.as_str().to_owned())
                }
                _ => None,
            })
            .collect()
    }
}
