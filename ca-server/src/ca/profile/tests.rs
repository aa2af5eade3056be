//! Tests of the leaf profile, the dev root and the chain checks: every field
//! of an issued certificate parsed back and compared byte for byte.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use der::{Decode, Encode};
use shared::keys::EcdsaP256Signer;
use shared::oids;
use shared::sct::{sct_list_from_tls, SignedCertificateTimestamp, SignedEntry};
use x509_cert::certificate::Version;
use x509_cert::ext::Extension;
use x509_cert::time::Time;
use x509_cert::Certificate;

use super::*;
use crate::ca::{self_signed_root, CaChain, ChainError};
use crate::config::{IssuerType, OidcIssuerConfig};
use crate::identity::Principal;
use crate::oidc::VerifiedToken;
use crate::x509::{random_serial, SignedParts};

const ISSUER: &str = "https://oidc.example.com";

fn principal(issuer_type: IssuerType) -> Principal {
    let token = VerifiedToken {
        issuer: Arc::new(OidcIssuerConfig::new(ISSUER, issuer_type)),
        claims: serde_json::from_value(serde_json::json!({
            "iss": ISSUER, "sub": "https://ci.example.com/job", "email": "alice@example.com",
            "email_verified": true,
        }))
        .unwrap(),
    };
    Principal::from_token(&token).unwrap()
}

struct Fixture {
    ca_key: EcdsaP256Signer,
    root_der: Vec<u8>,
    chain: CaChain,
    client_spki: SubjectPublicKeyInfoOwned,
}

fn fixture() -> Fixture {
    let ca_key = EcdsaP256Signer::generate();
    let root_der = self_signed_root(&ca_key, "sigil", "sigil dev root").unwrap();
    let chain = CaChain::new(std::slice::from_ref(&root_der), &ca_key.public_spki_der()).unwrap();
    let client = EcdsaP256Signer::generate();
    let client_spki = SubjectPublicKeyInfoOwned::from_der(&client.public_spki_der()).unwrap();
    Fixture {
        ca_key,
        root_der,
        chain,
        client_spki,
    }
}

fn template(f: &Fixture, principal: &Principal, not_before: SystemTime) -> LeafTemplate {
    LeafTemplate::new(LeafParams {
        serial: random_serial().unwrap(),
        not_before,
        issuer: f.chain.subject.clone(),
        ca_key_id: &f.chain.key_id,
        signature_algorithm: crate::x509::ecdsa_with_sha256(),
        principal,
        subject_public_key: f.client_spki.clone(),
    })
    .unwrap()
}

/// Precert, final certificate and the SCT that joins them.
fn issue(
    f: &Fixture,
    principal: &Principal,
) -> (
    Vec<u8>,
    Vec<u8>,
    SignedCertificateTimestamp,
    EcdsaP256Signer,
) {
    let t = template(f, principal, SystemTime::now());
    let precert = sign_certificate(t.tbs(Some(Tail::Poison)).unwrap(), &f.ca_key).unwrap();
    let ct_key = EcdsaP256Signer::generate();
    let entry = SignedEntry::Precert {
        issuer_key_hash: shared::ct::issuer_key_hash(&f.root_der).unwrap(),
        tbs_certificate: shared::ct::tbs_without_extension(&precert, &oids::CT_POISON).unwrap(),
    };
    let sct = SignedCertificateTimestamp::sign(&ct_key, 1_700_000_000_000, &entry);
    let list = shared::sct::sct_list_to_tls(std::slice::from_ref(&sct));
    let cert = sign_certificate(t.tbs(Some(Tail::SctList(&list))).unwrap(), &f.ca_key).unwrap();
    (precert, cert, sct, ct_key)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 128);
    let mut v = vec![tag, content.len() as u8];
    v.extend_from_slice(content);
    v
}

fn check_common_extensions(exts: &[Extension], f: &Fixture, san: Vec<u8>) {
    let expect: Vec<(const_oid::ObjectIdentifier, bool, Vec<u8>)> = vec![
        (KeyUsage::OID, true, vec![0x03, 0x02, 0x07, 0x80]),
        (
            ExtendedKeyUsage::OID,
            false,
            vec![
                0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03,
            ],
        ),
        (
            SubjectKeyIdentifier::OID,
            false,
            tlv(0x04, &key_identifier(&f.client_spki)),
        ),
        (
            AuthorityKeyIdentifier::OID,
            false,
            tlv(0x30, &tlv(0x80, &f.chain.key_id)),
        ),
        (SubjectAltName::OID, true, san),
        (oids::FULCIO_ISSUER_V1, false, ISSUER.as_bytes().to_vec()),
        (oids::FULCIO_ISSUER_V2, false, tlv(0x0c, ISSUER.as_bytes())),
        // .24 token subject (the principal's `sub`).
        (
            crate::identity::fulcio_oid(24),
            false,
            tlv(0x0c, b"https://ci.example.com/job"),
        ),
    ];
    assert_eq!(
        exts.len(),
        expect.len() + 1,
        "one tail extension after the common ones"
    );
    for (ext, (oid, critical, value)) in exts.iter().zip(expect) {
        assert_eq!(ext.extn_id, oid);
        assert_eq!(ext.critical, critical, "{oid}");
        assert_eq!(ext.extn_value.as_bytes(), value, "{oid}");
    }
}

#[test]
fn final_certificate_profile_field_by_field() {
    let f = fixture();
    let p = principal(IssuerType::Email);
    let before = SystemTime::now() - Duration::from_secs(1);
    let (_, cert_der, sct, _) = issue(&f, &p);
    let cert = Certificate::from_der(&cert_der).unwrap();
    let tbs = &cert.tbs_certificate;

    assert_eq!(tbs.version, Version::V3);
    assert!(tbs.subject.0.is_empty(), "empty subject");
    assert_eq!(tbs.issuer, f.chain.subject);
    let serial = tbs.serial_number.to_der().unwrap();
    assert_eq!((serial[0], serial[1]), (0x02, 20));
    assert_eq!(serial[2] & 0x80, 0);
    assert_eq!(tbs.subject_public_key_info, f.client_spki);

    let (nb, na) = (tbs.validity.not_before, tbs.validity.not_after);
    assert!(matches!((nb, na), (Time::UtcTime(_), Time::UtcTime(_))));
    assert_eq!(
        na.to_unix_duration() - nb.to_unix_duration(),
        Duration::from_secs(600)
    );
    assert!(nb.to_system_time() >= before - Duration::from_secs(1));
    assert!(
        nb.to_system_time() <= SystemTime::now(),
        "no future NotBefore"
    );

    assert_eq!(tbs.signature, crate::x509::ecdsa_with_sha256());
    assert_eq!(cert.signature_algorithm, crate::x509::ecdsa_with_sha256());
    SignedParts::split(&cert_der)
        .unwrap()
        .verify(&f.ca_key.public_key(), true)
        .unwrap();

    let exts = tbs.extensions.as_ref().unwrap();
    let san = tlv(0x30, &tlv(0x81, b"alice@example.com"));
    check_common_extensions(exts, &f, san);
    let last = exts.last().unwrap();
    assert_eq!(last.extn_id, oids::CT_SCT_LIST);
    assert!(!last.critical);
    let inner = OctetString::from_der(last.extn_value.as_bytes()).unwrap();
    assert_eq!(sct_list_from_tls(inner.as_bytes()).unwrap(), vec![sct]);
}

#[test]
fn precertificate_has_critical_poison_last() {
    let f = fixture();
    let (precert, _, _, _) = issue(&f, &principal(IssuerType::Uri));
    let cert = Certificate::from_der(&precert).unwrap();
    let exts = cert.tbs_certificate.extensions.as_ref().unwrap();
    let san = tlv(0x30, &tlv(0x86, b"https://ci.example.com/job"));
    check_common_extensions(exts, &f, san);
    let last = exts.last().unwrap();
    assert_eq!(last.extn_id, oids::CT_POISON);
    assert!(last.critical);
    assert_eq!(last.extn_value.as_bytes(), [0x05, 0x00]);
}

#[test]
fn final_tbs_minus_scts_equals_precert_tbs_minus_poison() {
    let f = fixture();
    let (precert, cert, sct, ct_key) = issue(&f, &principal(IssuerType::Email));
    let from_final = shared::ct::tbs_without_extension(&cert, &oids::CT_SCT_LIST).unwrap();
    let from_precert = shared::ct::tbs_without_extension(&precert, &oids::CT_POISON).unwrap();
    assert_eq!(from_final, from_precert);
    // What a verifier rebuilds from the final certificate is what the SCT signed,
    // with issuer_key_hash over the CA's full SPKI.
    let entry = SignedEntry::Precert {
        issuer_key_hash: shared::ct::issuer_key_hash(&f.root_der).unwrap(),
        tbs_certificate: from_final,
    };
    sct.verify(&ct_key.public_key(), &entry).unwrap();
    assert_eq!(
        f.chain.issuer_key_hash,
        shared::ct::issuer_key_hash(&f.root_der).unwrap()
    );
}

#[test]
fn template_without_tail_is_the_signed_entry() {
    let f = fixture();
    let p = principal(IssuerType::Email);
    let t = template(&f, &p, SystemTime::now());
    let precert = sign_certificate(t.tbs(Some(Tail::Poison)).unwrap(), &f.ca_key).unwrap();
    assert_eq!(
        t.tbs(None).unwrap().to_der().unwrap(),
        shared::ct::tbs_without_extension(&precert, &oids::CT_POISON).unwrap()
    );
}

#[test]
fn dev_root_profile() {
    let f = fixture();
    let cert = Certificate::from_der(&f.root_der).unwrap();
    let tbs = &cert.tbs_certificate;
    assert_eq!(tbs.version, Version::V3);
    assert_eq!(tbs.subject.to_string(), tbs.issuer.to_string());
    assert!(tbs.subject.to_string().contains("CN=sigil dev root"));
    assert!(tbs.subject.to_string().contains("O=sigil"));
    assert!(matches!(tbs.validity.not_after, Time::UtcTime(_)));
    let life =
        tbs.validity.not_after.to_unix_duration() - tbs.validity.not_before.to_unix_duration();
    assert!(life >= Duration::from_secs(3650 * 86400));
    let exts = tbs.extensions.as_ref().unwrap();
    let bc = exts
        .iter()
        .find(|e| e.extn_id == x509_cert::ext::pkix::BasicConstraints::OID)
        .unwrap();
    assert!(bc.critical);
    assert_eq!(bc.extn_value.as_bytes(), [0x30, 0x03, 0x01, 0x01, 0xff]);
    let ku = exts.iter().find(|e| e.extn_id == KeyUsage::OID).unwrap();
    assert!(ku.critical);
    assert_eq!(
        ku.extn_value.as_bytes(),
        [0x03, 0x02, 0x01, 0x06],
        "keyCertSign + cRLSign"
    );
    assert!(exts.iter().any(|e| e.extn_id == SubjectKeyIdentifier::OID));
    SignedParts::split(&f.root_der)
        .unwrap()
        .verify(&f.ca_key.public_key(), true)
        .unwrap();
}

#[test]
fn chain_checks() {
    let f = fixture();
    let other = EcdsaP256Signer::generate();
    assert!(matches!(
        CaChain::new(std::slice::from_ref(&f.root_der), &other.public_spki_der()),
        Err(ChainError::KeyMismatch)
    ));
    assert!(matches!(
        CaChain::new(&[], &f.ca_key.public_spki_der()),
        Err(ChainError::Empty)
    ));
    // A leaf is not a CA.
    let (_, leaf, _, _) = issue(&f, &principal(IssuerType::Email));
    let leaf_key = f.client_spki.to_der().unwrap();
    assert!(matches!(
        CaChain::new(&[leaf, f.root_der.clone()], &leaf_key),
        Err(ChainError::NotCa)
    ));
    // A root that is not the last certificate's issuer is refused.
    let other_root = self_signed_root(&other, "x", "y").unwrap();
    assert!(matches!(
        CaChain::new(
            &[f.root_der.clone(), other_root],
            &f.ca_key.public_spki_der()
        ),
        Err(ChainError::NoCodeSigningEku | ChainError::NotIssuedByNext(..))
    ));
}
