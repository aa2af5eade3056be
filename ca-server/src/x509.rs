//! X.509 helpers the CA needs beyond x509-cert (RFC 5280): splitting a signed
//! structure into its raw to-be-signed bytes, verifying a certificate or CSR
//! signature with `shared::keys::PublicKey`, key identifiers (RFC 7093 §2
//! method 1), validity times (RFC 5280 §4.1.2.5: UTCTime before 2050) and
//! names. These are pure and could move to `shared` once another crate needs them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::db::{rfc4519, rfc5912, rfc8410};
use der::asn1::{BitString, GeneralizedTime, SetOfVec, UtcTime, Utf8StringRef};
use der::{Decode, Reader, SliceReader};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use shared::keys::{HashAlgorithm, PublicKey};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// Why a signed structure (certificate, CSR) did not check out.
#[derive(Debug, thiserror::Error)]
pub enum X509Error {
    #[error("malformed DER: {0}")]
    Der(#[from] der::Error),
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(const_oid::ObjectIdentifier),
    #[error("signature algorithm {alg} does not fit the signing key")]
    AlgorithmKeyMismatch { alg: const_oid::ObjectIdentifier },
    #[error("signature does not verify: {0}")]
    BadSignature(shared::keys::KeyError),
    #[error("time {0:?} cannot be encoded")]
    Time(SystemTime),
}

/// A signed ASN.1 structure `SEQUENCE { toBeSigned, AlgorithmIdentifier, BIT STRING }`
/// (a Certificate or a CertificationRequest), borrowed from its DER.
#[derive(Debug)]
pub struct SignedParts<'a> {
    /// The raw DER of the signed part, exactly as received (what the signature covers).
    pub to_be_signed: &'a [u8],
    pub algorithm: AlgorithmIdentifierOwned,
    pub signature: BitString,
}

impl<'a> SignedParts<'a> {
    pub fn split(der: &'a [u8]) -> Result<Self, X509Error> {
        let mut reader = SliceReader::new(der)?;
        let parts = reader.sequence(|r| {
            let to_be_signed = r.tlv_bytes()?;
            let algorithm = AlgorithmIdentifierOwned::decode(r)?;
            let signature = BitString::decode(r)?;
            Ok(Self {
                to_be_signed,
                algorithm,
                signature,
            })
        })?;
        Ok(reader.finish(parts)?)
    }

    /// Verifies the signature with `key`. With `require_natural_hash` the digest must be
    /// the key's natural one (P-256 ↔ SHA-256 …), as Fulcio requires of a CSR.
    pub fn verify(&self, key: &PublicKey, require_natural_hash: bool) -> Result<(), X509Error> {
        let oid = self.algorithm.oid;
        let signature = self.signature.raw_bytes();
        let hash = match signature_hash(&oid) {
            Some(hash) => hash,
            None => return Err(X509Error::UnsupportedAlgorithm(oid)),
        };
        let fits = match (hash, key) {
            (SignatureHash::Pure, PublicKey::Ed25519(_)) => true,
            (SignatureHash::Pure, _) | (_, PublicKey::Ed25519(_)) => false,
            (SignatureHash::Ecdsa(_), PublicKey::Rsa(_)) => false,
            (SignatureHash::Rsa(_), PublicKey::Rsa(_)) => true,
            (SignatureHash::Rsa(_), _) => false,
            (SignatureHash::Ecdsa(_), _) => true,
        };
        if !fits {
            return Err(X509Error::AlgorithmKeyMismatch { alg: oid });
        }
        match hash {
            SignatureHash::Pure => key.verify(self.to_be_signed, signature),
            SignatureHash::Ecdsa(alg) | SignatureHash::Rsa(alg) => {
                if require_natural_hash && key.natural_hash() != Some(alg) {
                    return Err(X509Error::AlgorithmKeyMismatch { alg: oid });
                }
                key.verify_digest(alg, &alg.digest(self.to_be_signed), signature)
            }
        }
        .map_err(X509Error::BadSignature)
    }
}

#[derive(Clone, Copy)]
enum SignatureHash {
    Pure,
    Ecdsa(HashAlgorithm),
    Rsa(HashAlgorithm),
}

fn signature_hash(oid: &const_oid::ObjectIdentifier) -> Option<SignatureHash> {
    Some(match *oid {
        rfc5912::ECDSA_WITH_SHA_256 => SignatureHash::Ecdsa(HashAlgorithm::Sha256),
        rfc5912::ECDSA_WITH_SHA_384 => SignatureHash::Ecdsa(HashAlgorithm::Sha384),
        rfc5912::ECDSA_WITH_SHA_512 => SignatureHash::Ecdsa(HashAlgorithm::Sha512),
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION => SignatureHash::Rsa(HashAlgorithm::Sha256),
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION => SignatureHash::Rsa(HashAlgorithm::Sha384),
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION => SignatureHash::Rsa(HashAlgorithm::Sha512),
        rfc8410::ID_ED_25519 => SignatureHash::Pure,
        _ => return None,
    })
}

/// `ecdsa-with-SHA256` with absent parameters (RFC 5758 §3.2).
pub fn ecdsa_with_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: rfc5912::ECDSA_WITH_SHA_256,
        parameters: None,
    }
}

/// Key identifier per RFC 7093 §2 method 1: the leftmost 160 bits of the
/// SHA-256 of the subjectPublicKey BIT STRING value (without tag, length and
/// unused-bits octet). Avoids a SHA-1 dependency; clients only compare bytes.
pub fn key_identifier(spki: &spki::SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let digest = Sha256::digest(spki.subject_public_key.raw_bytes());
    digest[..20].to_vec()
}

/// A positive serial number of exactly 20 octets from the OS RNG: the top bit
/// cleared keeps it positive, a non-zero first octet keeps the DER at 20 octets.
pub fn random_serial() -> Result<SerialNumber, der::Error> {
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        bytes[0] = 1;
    }
    SerialNumber::new(&bytes)
}

/// `time` truncated to whole seconds, as UTCTime before 2050 and
/// GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5).
pub fn x509_time(time: SystemTime) -> Result<Time, X509Error> {
    let since_epoch = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| X509Error::Time(time))?;
    let whole = Duration::from_secs(since_epoch.as_secs());
    let date = der::DateTime::from_unix_duration(whole).map_err(|_| X509Error::Time(time))?;
    if date.year() < 2050 {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(date).map_err(|_| X509Error::Time(time))?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(date)))
    }
}

/// The name `O=<organization>, CN=<common_name>` (one attribute per RDN, UTF8String values).
pub fn org_cn_name(organization: &str, common_name: &str) -> Result<Name, der::Error> {
    let rdn = |oid, value: &str| -> Result<RelativeDistinguishedName, der::Error> {
        let atv = AttributeTypeAndValue {
            oid,
            value: der::Any::encode_from(&Utf8StringRef::new(value)?)?,
        };
        Ok(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?))
    };
    Ok(RdnSequence(vec![
        rdn(rfc4519::O, organization)?,
        rdn(rfc4519::CN, common_name)?,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn serial_is_positive_and_twenty_octets() {
        for _ in 0..64 {
            let serial = random_serial().unwrap();
            let der = serial.to_der().unwrap();
            assert_eq!(der[0], 0x02);
            assert_eq!(der[1], 20, "serial content length");
            assert!(der[2] & 0x80 == 0 && der[2] != 0);
        }
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        let before = UNIX_EPOCH + Duration::from_secs(2_524_607_999); // 2049-12-31T23:59:59Z
        let after = UNIX_EPOCH + Duration::from_secs(2_524_608_000); // 2050-01-01T00:00:00Z
        assert!(matches!(x509_time(before).unwrap(), Time::UtcTime(_)));
        assert!(matches!(x509_time(after).unwrap(), Time::GeneralTime(_)));
    }

    #[test]
    fn times_drop_subseconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
        assert_eq!(
            x509_time(t).unwrap().to_unix_duration(),
            Duration::from_secs(1_700_000_000)
        );
    }

    #[test]
    fn name_is_o_then_cn_utf8() {
        let name = org_cn_name("sigil", "sigil root").unwrap();
        // RFC 4514 strings list the last RDN first.
        assert_eq!(name.to_string(), "CN=sigil root,O=sigil");
        let der = name.to_der().unwrap();
        // OID 2.5.4.10, UTF8String (0x0c) "sigil", before OID 2.5.4.3
        let o = [
            0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x05, b's', b'i', b'g', b'i', b'l',
        ];
        let cn = [0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0a];
        let at = |pat: &[u8]| der.windows(pat.len()).position(|w| w == pat).unwrap();
        assert!(at(&o) < at(&cn));
    }

    #[test]
    fn split_rejects_trailing_bytes() {
        assert!(SignedParts::split(&[0x30, 0x00, 0x00]).is_err());
    }
}
