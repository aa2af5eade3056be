use super::*;
use crate::ct::tests::{
    ct_test_cert, ct_test_precert_entry, CT_TEST_CERT_SCT_HEX, CT_TEST_EMBEDDED_PEM,
    CT_TEST_PRECERT_SCT_HEX,
};
use crate::keys::pem_blocks;

/// The P-256 log key that signed the RFC 6962 test-data SCTs.
const CT_TEST_LOG_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmXg8sUUzwBYaWrRb+V0IopzQ6o3U
yEJ04r5ZrRXGdpYM8K+hB0pXrGRLI0eeWz+3skXrS0IO83AhA3GpRL6s6w==
-----END PUBLIC KEY-----
";

fn log_key() -> PublicKey {
    PublicKey::from_pem(CT_TEST_LOG_KEY_PEM.as_bytes()).unwrap()
}

fn vector(hex_str: &str) -> (Vec<u8>, SignedCertificateTimestamp) {
    let bytes = hex::decode(hex_str).unwrap();
    let sct = SignedCertificateTimestamp::from_tls(&bytes).unwrap();
    (bytes, sct)
}

#[test]
fn published_x509_sct_parses_verifies_and_round_trips() {
    let (bytes, sct) = vector(CT_TEST_CERT_SCT_HEX);
    assert_eq!(
        sct.log_id.to_hex(),
        "df1c2ec11500945247a96168325ddc5c7959e8f7c6d388fc002e0bbd3f74d764"
    );
    assert_eq!(sct.timestamp_ms, 0x0000_013d_db27_ded9);
    assert!(sct.extensions.is_empty());
    assert_eq!(sct.signature.len(), 0x47);
    assert_eq!(sct.to_tls(), bytes);

    let entry = SignedEntry::X509(ct_test_cert());
    sct.verify(&log_key(), &entry).unwrap();

    let mut later = sct.clone();
    later.timestamp_ms += 1;
    assert_eq!(
        later.verify(&log_key(), &entry),
        Err(SctError::BadSignature)
    );
    let mut other_cert = ct_test_cert();
    other_cert[100] ^= 1;
    assert_eq!(
        sct.verify(&log_key(), &SignedEntry::X509(other_cert)),
        Err(SctError::BadSignature)
    );
}

#[test]
fn published_precert_sct_verifies() {
    let (bytes, sct) = vector(CT_TEST_PRECERT_SCT_HEX);
    assert_eq!(sct.to_tls(), bytes);
    sct.verify(&log_key(), &ct_test_precert_entry()).unwrap();
    // The same signature does not cover the X.509 entry.
    assert_eq!(
        sct.verify(&log_key(), &SignedEntry::X509(ct_test_cert())),
        Err(SctError::BadSignature)
    );
}

#[test]
fn embedded_sct_list_round_trips() {
    let der = pem_blocks(CT_TEST_EMBEDDED_PEM.as_bytes())
        .unwrap()
        .remove(0)
        .1;
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    let ext = cert
        .tbs_certificate
        .extensions
        .unwrap()
        .into_iter()
        .find(|e| e.extn_id == crate::oids::CT_SCT_LIST)
        .unwrap();
    let value = ext.extn_value.as_bytes();
    let scts = sct_list_from_extension_value(value).unwrap();
    assert_eq!(scts.len(), 1);
    // The embedded SCT is the one the log returned for the precertificate.
    assert_eq!(scts[0], vector(CT_TEST_PRECERT_SCT_HEX).1);
    scts[0]
        .verify(&log_key(), &ct_test_precert_entry())
        .unwrap();
    assert_eq!(sct_list_to_extension_value(&scts), value);
}

#[test]
fn sign_then_verify_with_our_key() {
    let signer = EcdsaP256Signer::generate();
    let entry = SignedEntry::Precert {
        issuer_key_hash: [7; 32],
        tbs_certificate: vec![0x30, 0x00],
    };
    let sct = SignedCertificateTimestamp::sign(&signer, 1_700_000_000_123, &entry);
    assert_eq!(sct.log_id, signer.log_id());
    sct.verify(&signer.public_key(), &entry).unwrap();
    let round = SignedCertificateTimestamp::from_tls(&sct.to_tls()).unwrap();
    assert_eq!(round, sct);

    let mut tampered = sct.clone();
    tampered.extensions = vec![0];
    assert_eq!(
        tampered.verify(&signer.public_key(), &entry),
        Err(SctError::BadSignature)
    );
    let other = EcdsaP256Signer::generate();
    assert!(matches!(
        sct.verify(&other.public_key(), &entry),
        Err(SctError::LogIdMismatch { .. })
    ));
}

#[test]
fn extensions_are_signed_and_carried() {
    // A static-CT leaf_index extension: type 0, length 5, uint40 index.
    let leaf_index = vec![0, 0, 5, 0, 0, 0, 1, 2];
    let signer = EcdsaP256Signer::generate();
    let entry = SignedEntry::X509(vec![0x30, 0x00]);
    let sct =
        SignedCertificateTimestamp::sign_with_extensions(&signer, 42, &entry, leaf_index.clone());
    let tls = sct.to_tls();
    assert_eq!(&tls[41..43], &[0, 8]);
    assert_eq!(&tls[43..51], &leaf_index[..]);
    let parsed = SignedCertificateTimestamp::from_tls(&tls).unwrap();
    parsed.verify(&signer.public_key(), &entry).unwrap();
}

#[test]
fn signed_input_layout() {
    let x509 = signed_input(1, &SignedEntry::X509(vec![0xaa, 0xbb, 0xcc]), &[]);
    assert_eq!(
        hex::encode(x509),
        "0000\
         0000000000000001\
         0000\
         000003aabbcc\
         0000"
    );
    let precert = signed_input(
        2,
        &SignedEntry::Precert {
            issuer_key_hash: [0x11; 32],
            tbs_certificate: vec![0xdd],
        },
        &[0xee],
    );
    let mut expected = hex::decode("000000000000000000020001").unwrap();
    expected.extend_from_slice(&[0x11; 32]);
    expected.extend_from_slice(&[0, 0, 1, 0xdd, 0, 1, 0xee]);
    assert_eq!(precert, expected);
}

#[test]
fn add_chain_response_round_trips() {
    let (_, sct) = vector(CT_TEST_CERT_SCT_HEX);
    let resp = sct.to_add_chain_response();
    assert_eq!(resp.id, "3xwuwRUAlFJHqWFoMl3cXHlZ6PfG04j8AC4LvT9012Q=");
    assert_eq!(resp.timestamp, 1_365_181_456_089);
    assert_eq!(resp.extensions, "");
    // DigitallySigned: SHA-256 (4), ECDSA (3), u16 length 0x47.
    let signed = STANDARD.decode(&resp.signature).unwrap();
    assert_eq!(&signed[..4], &[4, 3, 0, 0x47]);
    assert_eq!(&signed[4..], &sct.signature[..]);

    let json = serde_json::to_string(&resp).unwrap();
    assert!(json.starts_with("{\"sct_version\":0,\"id\":\"3xwu"));
    let back: AddChainResponse = serde_json::from_str(&json).unwrap();
    assert_eq!(
        SignedCertificateTimestamp::from_add_chain_response(&back).unwrap(),
        sct
    );

    let mut bad = resp.clone();
    bad.id = STANDARD.encode([1u8; 31]);
    assert!(SignedCertificateTimestamp::from_add_chain_response(&bad).is_err());
    let mut bad = resp;
    bad.sct_version = 1;
    assert!(SignedCertificateTimestamp::from_add_chain_response(&bad).is_err());
}

#[test]
fn sct_list_encoding() {
    let (a_bytes, a) = vector(CT_TEST_CERT_SCT_HEX);
    let (b_bytes, b) = vector(CT_TEST_PRECERT_SCT_HEX);
    let list = sct_list_to_tls(&[a.clone(), b.clone()]);
    let total = 2 + a_bytes.len() + 2 + b_bytes.len();
    assert_eq!(&list[..2], &u16::try_from(total).unwrap().to_be_bytes());
    assert_eq!(
        &list[2..4],
        &u16::try_from(a_bytes.len()).unwrap().to_be_bytes()
    );
    assert_eq!(&list[4..4 + a_bytes.len()], &a_bytes[..]);
    assert_eq!(list.len(), 2 + total);
    assert_eq!(sct_list_from_tls(&list).unwrap(), vec![a, b]);
}

#[test]
fn malformed_tls_is_rejected() {
    let (bytes, _) = vector(CT_TEST_CERT_SCT_HEX);
    let err = |b: &[u8]| SignedCertificateTimestamp::from_tls(b).unwrap_err();
    assert_eq!(
        err(&bytes[..bytes.len() - 1]),
        SctError::Malformed("truncated".into())
    );
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(err(&long), SctError::Malformed("1 trailing bytes".into()));
    let mut v2 = bytes.clone();
    v2[0] = 1;
    assert!(matches!(err(&v2), SctError::Malformed(m) if m.contains("version")));
    let mut rsa = bytes;
    rsa[44] = 1; // signature algorithm byte: RSA
    assert!(matches!(err(&rsa), SctError::Malformed(m) if m.contains("(hash 4, signature 1)")));

    assert!(sct_list_from_tls(&[0, 0]).is_err());
    assert!(sct_list_from_tls(&[0, 2, 0, 0]).is_err());
    assert!(sct_list_from_tls(&[0, 5, 0, 1]).is_err());
    assert!(sct_list_from_extension_value(&[0x05, 0x00]).is_err());
}
