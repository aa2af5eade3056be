//! The load-time chain checks, each failure on its own: key mismatch, an
//! expired CA, an intermediate without codeSigning, a broken signature, a
//! non-CA issuer; and the accepted root-only and
//! root → intermediate shapes with P-256, P-384 and RSA keys.

use std::time::{Duration, SystemTime};

use const_oid::AssociatedOid;
use der::asn1::OctetString;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
};
use x509_cert::ext::Extension;
use x509_cert::time::Validity;

use super::*;
use crate::ca::{sign_certificate, CaSigner, SoftwareKey};
use crate::x509::{key_identifier, org_cn_name, random_serial, x509_time};

const DAY: Duration = Duration::from_secs(86_400);

/// What varies between the CA certificates of these tests.
struct Spec {
    cn: &'static str,
    ca: bool,
    eku: Option<Vec<const_oid::ObjectIdentifier>>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl Spec {
    fn ca(cn: &'static str) -> Self {
        Self {
            cn,
            ca: true,
            eku: None,
            not_before: SystemTime::now() - DAY,
            not_after: SystemTime::now() + DAY,
        }
    }

    fn intermediate(cn: &'static str) -> Self {
        Self {
            eku: Some(vec![shared::oids::EKU_CODE_SIGNING]),
            ..Self::ca(cn)
        }
    }
}

/// A certificate for `subject_key` per `spec`, signed by `issuer` (whose
/// certificate is `issuer_cert`; `None`: self-signed).
fn cert(
    spec: &Spec,
    subject_key: &dyn CaSigner,
    issuer: &dyn CaSigner,
    issuer_cert: Option<&[u8]>,
) -> Vec<u8> {
    let spki = SubjectPublicKeyInfoOwned::from_der(&subject_key.public_spki_der()).unwrap();
    let subject = org_cn_name("sigil", spec.cn).unwrap();
    let (issuer_name, issuer_skid) = match issuer_cert {
        Some(der) => {
            let c = Certificate::from_der(der).unwrap();
            let skid = c
                .tbs_certificate
                .get::<SubjectKeyIdentifier>()
                .unwrap()
                .unwrap()
                .1;
            (c.tbs_certificate.subject, skid.0.as_bytes().to_vec())
        }
        None => (subject.clone(), key_identifier(&spki)),
    };
    let ext = |oid, critical, value: Vec<u8>| Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    };
    let mut extensions = vec![
        ext(
            BasicConstraints::OID,
            true,
            BasicConstraints {
                ca: spec.ca,
                path_len_constraint: None,
            }
            .to_der()
            .unwrap(),
        ),
        ext(
            KeyUsage::OID,
            true,
            KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
                .to_der()
                .unwrap(),
        ),
        ext(
            SubjectKeyIdentifier::OID,
            false,
            SubjectKeyIdentifier(OctetString::new(key_identifier(&spki)).unwrap())
                .to_der()
                .unwrap(),
        ),
        ext(
            AuthorityKeyIdentifier::OID,
            false,
            AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(issuer_skid).unwrap()),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            }
            .to_der()
            .unwrap(),
        ),
    ];
    if let Some(eku) = &spec.eku {
        extensions.push(ext(
            ExtendedKeyUsage::OID,
            false,
            ExtendedKeyUsage(eku.clone()).to_der().unwrap(),
        ));
    }
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial().unwrap(),
        signature: issuer.signature_algorithm(),
        issuer: issuer_name,
        validity: Validity {
            not_before: x509_time(spec.not_before).unwrap(),
            not_after: x509_time(spec.not_after).unwrap(),
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    sign_certificate(tbs, issuer).unwrap()
}

fn p256() -> SoftwareKey {
    SoftwareKey::generate_p256().unwrap()
}

fn p384() -> SoftwareKey {
    use pkcs8::EncodePrivateKey;
    let key = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    SoftwareKey::from_pkcs8_der(key.to_pkcs8_der().unwrap().as_bytes()).unwrap()
}

fn spki(key: &dyn CaSigner) -> Vec<u8> {
    key.public_spki_der()
}

#[test]
fn root_only_and_intermediate_chains_load() {
    let root_key = p384();
    let root = cert(&Spec::ca("root"), &root_key, &root_key, None);
    let chain = CaChain::new(std::slice::from_ref(&root), &spki(&root_key)).unwrap();
    assert_eq!(chain.certificates, std::slice::from_ref(&root));
    assert_eq!(
        chain.issuer_key_hash,
        <[u8; 32]>::from(Sha256::digest(spki(&root_key)))
    );

    let key = p256();
    let inter = cert(&Spec::intermediate("inter"), &key, &root_key, Some(&root));
    let chain = CaChain::new(&[inter, root.clone()], &spki(&key)).unwrap();
    assert_eq!(chain.subject.to_string(), "CN=inter,O=sigil");

    // Two intermediates: the upper one needs a compatible EKU as well.
    let upper_key = p256();
    let upper = cert(
        &Spec::intermediate("upper"),
        &upper_key,
        &root_key,
        Some(&root),
    );
    let lower = cert(&Spec::intermediate("lower"), &key, &upper_key, Some(&upper));
    CaChain::new(&[lower, upper, root], &spki(&key)).unwrap();
}

#[test]
fn rsa_ca_loads() {
    let pem = test_support::keys::RSA2048_PEM;
    let key = SoftwareKey::from_pem(pem.as_bytes(), None).unwrap();
    let root = cert(&Spec::ca("rsa root"), &key, &key, None);
    CaChain::new(&[root], &spki(&key)).unwrap();
}

#[test]
fn key_mismatch() {
    let key = p256();
    let root = cert(&Spec::ca("root"), &key, &key, None);
    let err = CaChain::new(&[root], &spki(&p256())).unwrap_err();
    assert!(matches!(err, ChainError::KeyMismatch), "{err}");
}

#[test]
fn expired_or_not_yet_valid_ca() {
    let key = p256();
    let expired = Spec {
        not_before: SystemTime::now() - 10 * DAY,
        not_after: SystemTime::now() - DAY,
        ..Spec::ca("old root")
    };
    let root = cert(&expired, &key, &key, None);
    let err = CaChain::new(&[root], &spki(&key)).unwrap_err();
    assert!(
        matches!(err, ChainError::NotValidNow { index: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("old root"), "{err}");

    // An expired root above a valid intermediate is refused too.
    let root_key = p256();
    let root = cert(&expired, &root_key, &root_key, None);
    let inter = cert(&Spec::intermediate("inter"), &key, &root_key, Some(&root));
    let err = CaChain::new(&[inter, root], &spki(&key)).unwrap_err();
    assert!(
        matches!(err, ChainError::NotValidNow { index: 1, .. }),
        "{err}"
    );

    let future = Spec {
        not_before: SystemTime::now() + DAY,
        ..Spec::ca("future")
    };
    let root = cert(&future, &key, &key, None);
    assert!(matches!(
        CaChain::new(&[root], &spki(&key)),
        Err(ChainError::NotValidNow { .. })
    ));
}

#[test]
fn intermediate_needs_code_signing() {
    let root_key = p256();
    let root = cert(&Spec::ca("root"), &root_key, &root_key, None);
    let key = p256();
    let no_eku = cert(&Spec::ca("inter"), &key, &root_key, Some(&root));
    let err = CaChain::new(&[no_eku, root.clone()], &spki(&key)).unwrap_err();
    assert!(matches!(err, ChainError::NoCodeSigningEku), "{err}");

    let server_auth = Spec {
        eku: Some(vec![const_oid::db::rfc5280::ID_KP_SERVER_AUTH]),
        ..Spec::ca("tls inter")
    };
    let tls = cert(&server_auth, &key, &root_key, Some(&root));
    assert!(CaChain::new(&[tls, root], &spki(&key)).is_err());

    // A root whose EKU excludes codeSigning cannot anchor code signing.
    let tls_root = cert(&server_auth, &root_key, &root_key, None);
    let inter = cert(
        &Spec::intermediate("inter"),
        &key,
        &root_key,
        Some(&tls_root),
    );
    let err = CaChain::new(&[inter, tls_root], &spki(&key)).unwrap_err();
    assert!(matches!(err, ChainError::EkuWithoutCodeSigning(1)), "{err}");
}

#[test]
fn broken_signature() {
    let root_key = p256();
    let root = cert(&Spec::ca("root"), &root_key, &root_key, None);
    let key = p256();
    let mut inter = cert(&Spec::intermediate("inter"), &key, &root_key, Some(&root));
    // Flip a bit in the signature (the last byte of the DER).
    *inter.last_mut().unwrap() ^= 1;
    let err = CaChain::new(&[inter, root.clone()], &spki(&key)).unwrap_err();
    assert!(matches!(err, ChainError::NotIssuedByNext(0, 1, _)), "{err}");

    // Signed by a key other than the next certificate's.
    let inter = cert(&Spec::intermediate("inter"), &key, &p256(), Some(&root));
    assert!(matches!(
        CaChain::new(&[inter, root.clone()], &spki(&key)),
        Err(ChainError::NotIssuedByNext(0, 1, _))
    ));

    // A root that does not sign itself.
    let mut bad_root = root;
    *bad_root.last_mut().unwrap() ^= 1;
    assert!(matches!(
        CaChain::new(&[bad_root], &spki(&root_key)),
        Err(ChainError::NotIssuedByNext(0, 0, _))
    ));
}

#[test]
fn issuer_must_be_a_ca() {
    let root_key = p256();
    let not_ca = Spec {
        ca: false,
        ..Spec::ca("not a ca")
    };
    let root = cert(&not_ca, &root_key, &root_key, None);
    let key = p256();
    let inter = cert(&Spec::intermediate("inter"), &key, &root_key, Some(&root));
    let err = CaChain::new(&[inter, root.clone()], &spki(&key)).unwrap_err();
    assert!(matches!(err, ChainError::IssuerNotCa(1, 0)), "{err}");
    assert!(matches!(
        CaChain::new(&[root], &spki(&root_key)),
        Err(ChainError::NotCa)
    ));
}
