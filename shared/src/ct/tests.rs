//! Also home of the test CA that keys and sct tests use, and of the
//! RFC 6962 test vectors from the certificate-transparency project's
//! test data (a CA, a certificate, a precertificate, the final
//! certificate with its embedded SCT, and the log's SCTs for them).

use super::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::asn1::{BitString, OctetString, UtcTime};
use signature::Signer as _;
use std::str::FromStr as _;
use std::time::Duration;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::{Time, Validity};

use crate::keys::{pem_blocks, EcdsaP256Signer};
use crate::sct::SignedCertificateTimestamp;

/// A signing key for test certificates.
pub(crate) enum TestKey {
    P256(EcdsaP256Signer),
    P384(p384::ecdsa::SigningKey),
    Rsa(&'static rsa::RsaPrivateKey),
}

impl TestKey {
    fn spki_der(&self) -> Vec<u8> {
        use spki::EncodePublicKey as _;
        match self {
            Self::P256(k) => k.public_spki_der(),
            Self::P384(k) => k.verifying_key().to_public_key_der().unwrap().into_vec(),
            Self::Rsa(k) => k.to_public_key().to_public_key_der().unwrap().into_vec(),
        }
    }

    fn algorithm(&self) -> AlgorithmIdentifierOwned {
        match self {
            Self::P256(_) => AlgorithmIdentifierOwned {
                oid: oids::ECDSA_WITH_SHA256,
                parameters: None,
            },
            Self::P384(_) => AlgorithmIdentifierOwned {
                oid: oids::ECDSA_WITH_SHA384,
                parameters: None,
            },
            Self::Rsa(_) => AlgorithmIdentifierOwned {
                oid: oids::SHA256_WITH_RSA,
                parameters: Some(der::asn1::Null.into()),
            },
        }
    }

    fn sign(&self, tbs: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(k) => k.sign(tbs),
            Self::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign(tbs);
                sig.to_der().as_bytes().to_vec()
            }
            Self::Rsa(k) => k
                .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(tbs))
                .unwrap(),
        }
    }
}

/// A certificate authority for tests: its key, name and certificate.
pub(crate) struct TestCa {
    key: TestKey,
    name: Name,
    pub(crate) cert_der: Vec<u8>,
}

pub(crate) fn ext(oid: const_oid::ObjectIdentifier, critical: bool, value: &[u8]) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    }
}

pub(crate) fn poison_ext() -> Extension {
    ext(oids::CT_POISON, true, &[0x05, 0x00])
}

fn ca_ext() -> Extension {
    let bc = BasicConstraints {
        ca: true,
        path_len_constraint: None,
    };
    ext(oids::BASIC_CONSTRAINTS, true, &bc.to_der().unwrap())
}

impl TestCa {
    /// A self-signed P-256 root.
    pub(crate) fn new(subject: &str) -> Self {
        Self::root(subject, TestKey::P256(EcdsaP256Signer::generate()))
    }

    pub(crate) fn root(subject: &str, key: TestKey) -> Self {
        let name = Name::from_str(subject).unwrap();
        let mut ca = Self {
            key,
            name: name.clone(),
            cert_der: Vec::new(),
        };
        let spki = ca.key.spki_der();
        ca.cert_der = ca.sign(ca.tbs(name, &spki, vec![ca_ext()]));
        ca
    }

    /// An intermediate CA signed by `self`.
    pub(crate) fn intermediate(&self, subject: &str, key: TestKey) -> Self {
        let name = Name::from_str(subject).unwrap();
        let cert_der = self.sign(self.tbs(name.clone(), &key.spki_der(), vec![ca_ext()]));
        Self {
            key,
            name,
            cert_der,
        }
    }

    /// A leaf for `leaf_key` with `exts`.
    pub(crate) fn issue(&self, leaf_key: &EcdsaP256Signer, exts: &[Extension]) -> Vec<u8> {
        let tbs = self.tbs(Name::default(), &leaf_key.public_spki_der(), exts.to_vec());
        self.sign(tbs)
    }

    /// A TBSCertificate issued by this CA (fixed serial and validity).
    pub(crate) fn tbs(
        &self,
        subject: Name,
        spki_der: &[u8],
        exts: Vec<Extension>,
    ) -> TbsCertificate {
        let at =
            |secs| Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(secs)).unwrap());
        TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&[0x01, 0x02, 0x03]).unwrap(),
            signature: self.key.algorithm(),
            issuer: self.name.clone(),
            validity: Validity {
                not_before: at(1_700_000_000),
                not_after: at(1_700_000_600),
            },
            subject,
            subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(spki_der).unwrap(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: (!exts.is_empty()).then_some(exts),
        }
    }

    pub(crate) fn sign(&self, tbs: TbsCertificate) -> Vec<u8> {
        let signature = self.key.sign(&tbs.to_der().unwrap());
        Certificate {
            signature_algorithm: tbs.signature.clone(),
            tbs_certificate: tbs,
            signature: BitString::from_bytes(&signature).unwrap(),
        }
        .to_der()
        .unwrap()
    }
}

fn pem_der(pem: &str) -> Vec<u8> {
    pem_blocks(pem.as_bytes()).unwrap().remove(0).1
}

/// The test CA (RSA-1024, sha1WithRSAEncryption) of the RFC 6962 test data.
pub(crate) const CT_TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIC0DCCAjmgAwIBAgIBADANBgkqhkiG9w0BAQUFADBVMQswCQYDVQQGEwJHQjEk
MCIGA1UEChMbQ2VydGlmaWNhdGUgVHJhbnNwYXJlbmN5IENBMQ4wDAYDVQQIEwVX
YWxlczEQMA4GA1UEBxMHRXJ3IFdlbjAeFw0xMjA2MDEwMDAwMDBaFw0yMjA2MDEw
MDAwMDBaMFUxCzAJBgNVBAYTAkdCMSQwIgYDVQQKExtDZXJ0aWZpY2F0ZSBUcmFu
c3BhcmVuY3kgQ0ExDjAMBgNVBAgTBVdhbGVzMRAwDgYDVQQHEwdFcncgV2VuMIGf
MA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDVimhTYhCicRmTbneDIRgcKkATxtB7
jHbrkVfT0PtLO1FuzsvRyY2RxS90P6tjXVUJnNE6uvMa5UFEJFGnTHgW8iQ8+EjP
KDHM5nugSlojgZ88ujfmJNnDvbKZuDnd/iYx0ss6hPx7srXFL8/BT/9Ab1zURmnL
svfP34b7arnRsQIDAQABo4GvMIGsMB0GA1UdDgQWBBRfnYgNyHPmVNT4DdjmsMEk
tEfDVTB9BgNVHSMEdjB0gBRfnYgNyHPmVNT4DdjmsMEktEfDVaFZpFcwVTELMAkG
A1UEBhMCR0IxJDAiBgNVBAoTG0NlcnRpZmljYXRlIFRyYW5zcGFyZW5jeSBDQTEO
MAwGA1UECBMFV2FsZXMxEDAOBgNVBAcTB0VydyBXZW6CAQAwDAYDVR0TBAUwAwEB
/zANBgkqhkiG9w0BAQUFAAOBgQAGCMxKbWTyIF4UbASydvkrDvqUpdryOvw4BmBt
OZDQoeojPUApV2lGOwRmYef6HReZFSCa6i4Kd1F2QRIn18ADB8dHDmFYT9czQiRy
f1HWkLxHqd81TbD26yWVXeGJPE3VICskovPkQNJ0tU4b03YmnKliibduyqQQkOFP
OwqULg==
-----END CERTIFICATE-----
";

/// A leaf issued by the test CA, logged as an X.509 entry.
pub(crate) const CT_TEST_CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIICyjCCAjOgAwIBAgIBBjANBgkqhkiG9w0BAQUFADBVMQswCQYDVQQGEwJHQjEk
MCIGA1UEChMbQ2VydGlmaWNhdGUgVHJhbnNwYXJlbmN5IENBMQ4wDAYDVQQIEwVX
YWxlczEQMA4GA1UEBxMHRXJ3IFdlbjAeFw0xMjA2MDEwMDAwMDBaFw0yMjA2MDEw
MDAwMDBaMFIxCzAJBgNVBAYTAkdCMSEwHwYDVQQKExhDZXJ0aWZpY2F0ZSBUcmFu
c3BhcmVuY3kxDjAMBgNVBAgTBVdhbGVzMRAwDgYDVQQHEwdFcncgV2VuMIGfMA0G
CSqGSIb3DQEBAQUAA4GNADCBiQKBgQCx+jeTYRH4eS2iCBw/5BklAIUx3H8sZXvZ
4d5HBBYLTJ8Z1UraRHBATBxRNBuPH3U43d0o2aykg2n8VkbdzHYX+BaKrltB1DMx
/KLa38gE1XIIlJBh+e75AspHzojGROAA8G7uzKvcndL2iiLMsJ3Hbg28c1J3ZbGj
eoxnYlPcwQIDAQABo4GsMIGpMB0GA1UdDgQWBBRqDZgqO2LES20u9Om7egGqnLeY
4jB9BgNVHSMEdjB0gBRfnYgNyHPmVNT4DdjmsMEktEfDVaFZpFcwVTELMAkGA1UE
BhMCR0IxJDAiBgNVBAoTG0NlcnRpZmljYXRlIFRyYW5zcGFyZW5jeSBDQTEOMAwG
A1UECBMFV2FsZXMxEDAOBgNVBAcTB0VydyBXZW6CAQAwCQYDVR0TBAIwADANBgkq
hkiG9w0BAQUFAAOBgQAXHNhKrEFKmgMPIqrI9oiwgbJwm4SLTlURQGzXB/7QKFl6
n678Lu4peNYzqqwU7TI1GX2ofg9xuIdfGsnniygXSd3t0Afj7PUGRfjL9mclbNah
ZHteEyA7uFgt59Zpb2VtHGC5X0Vrf88zhXGQjxxpcn0kxPzNJJKVeVgU0drA5g==
-----END CERTIFICATE-----
";

/// A precertificate (critical poison) issued by the test CA.
pub(crate) const CT_TEST_PRECERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIC3zCCAkigAwIBAgIBBzANBgkqhkiG9w0BAQUFADBVMQswCQYDVQQGEwJHQjEk
MCIGA1UEChMbQ2VydGlmaWNhdGUgVHJhbnNwYXJlbmN5IENBMQ4wDAYDVQQIEwVX
YWxlczEQMA4GA1UEBxMHRXJ3IFdlbjAeFw0xMjA2MDEwMDAwMDBaFw0yMjA2MDEw
MDAwMDBaMFIxCzAJBgNVBAYTAkdCMSEwHwYDVQQKExhDZXJ0aWZpY2F0ZSBUcmFu
c3BhcmVuY3kxDjAMBgNVBAgTBVdhbGVzMRAwDgYDVQQHEwdFcncgV2VuMIGfMA0G
CSqGSIb3DQEBAQUAA4GNADCBiQKBgQC+75jnwmh3rjhfdTJaDB0ym+3xj6r015a/
BH634c4VyVui+A7kWL19uG+KSyUhkaeb1wDDjpwDibRc1NyaEgqyHgy0HNDnKAWk
EM2cW9tdSSdyba8XEPYBhzd+olsaHjnu0LiBGdwVTcaPfajjDK8VijPmyVCfSgWw
FAn/Xdh+tQIDAQABo4HBMIG+MB0GA1UdDgQWBBQgMVQa8lwF/9hli2hDeU9ekDb3
tDB9BgNVHSMEdjB0gBRfnYgNyHPmVNT4DdjmsMEktEfDVaFZpFcwVTELMAkGA1UE
BhMCR0IxJDAiBgNVBAoTG0NlcnRpZmljYXRlIFRyYW5zcGFyZW5jeSBDQTEOMAwG
A1UECBMFV2FsZXMxEDAOBgNVBAcTB0VydyBXZW6CAQAwCQYDVR0TBAIwADATBgor
BgEEAdZ5AgQDAQH/BAIFADANBgkqhkiG9w0BAQUFAAOBgQACocOeAVr1Tf8CPDNg
h1//NDdVLx8JAb3CVDFfM3K3I/sV+87MTfRxoM5NjFRlXYSHl/soHj36u0YtLGhL
BW/qe2O0cP8WbjLURgY1s9K8bagkmyYw5x/DTwjyPdTuIo+PdPY9eGMR3QpYEUBf
kGzKLC0+6/yBmWTr2M98CIY/vg==
-----END CERTIFICATE-----
";

/// The final certificate for the precertificate, with its SCT embedded.
pub(crate) const CT_TEST_EMBEDDED_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIDWTCCAsKgAwIBAgIBBzANBgkqhkiG9w0BAQUFADBVMQswCQYDVQQGEwJHQjEk
MCIGA1UEChMbQ2VydGlmaWNhdGUgVHJhbnNwYXJlbmN5IENBMQ4wDAYDVQQIEwVX
YWxlczEQMA4GA1UEBxMHRXJ3IFdlbjAeFw0xMjA2MDEwMDAwMDBaFw0yMjA2MDEw
MDAwMDBaMFIxCzAJBgNVBAYTAkdCMSEwHwYDVQQKExhDZXJ0aWZpY2F0ZSBUcmFu
c3BhcmVuY3kxDjAMBgNVBAgTBVdhbGVzMRAwDgYDVQQHEwdFcncgV2VuMIGfMA0G
CSqGSIb3DQEBAQUAA4GNADCBiQKBgQC+75jnwmh3rjhfdTJaDB0ym+3xj6r015a/
BH634c4VyVui+A7kWL19uG+KSyUhkaeb1wDDjpwDibRc1NyaEgqyHgy0HNDnKAWk
EM2cW9tdSSdyba8XEPYBhzd+olsaHjnu0LiBGdwVTcaPfajjDK8VijPmyVCfSgWw
FAn/Xdh+tQIDAQABo4IBOjCCATYwHQYDVR0OBBYEFCAxVBryXAX/2GWLaEN5T16Q
Nve0MH0GA1UdIwR2MHSAFF+diA3Ic+ZU1PgN2OawwSS0R8NVoVmkVzBVMQswCQYD
VQQGEwJHQjEkMCIGA1UEChMbQ2VydGlmaWNhdGUgVHJhbnNwYXJlbmN5IENBMQ4w
DAYDVQQIEwVXYWxlczEQMA4GA1UEBxMHRXJ3IFdlboIBADAJBgNVHRMEAjAAMIGK
BgorBgEEAdZ5AgQCBHwEegB4AHYA3xwuwRUAlFJHqWFoMl3cXHlZ6PfG04j8AC4L
vT9012QAAAE92yffkwAABAMARzBFAiBIL2dRrzXbplQ2vh/WZA89v5pBQpSVkkUw
KI+j5eI+BgIhAOTtwNs6xXKx4vXoq2poBlOYfc9BAn3+/6EFUZ2J7b8IMA0GCSqG
SIb3DQEBBQUAA4GBAIoMS+8JnUeSea+goo5on5HhxEIb4tJpoupspOghXd7dyhUE
oR58h8S3foDw6XkDUmjyfKIOFmgErlVvMWmB+Wo5Srer/T4lWsAERRP+dlcMZ5Wr
5HAxM9MD+J86+mu8/FFzGd/ZW5NCQSEfY0A1w9B4MHpoxgdaLiDInza4kQyg
-----END CERTIFICATE-----
";

/// The log's TLS-encoded SCT for CT_TEST_CERT_PEM (X.509 entry).
pub(crate) const CT_TEST_CERT_SCT_HEX: &str =
    "00df1c2ec11500945247a96168325ddc5c7959e8f7c6d388fc002e0bbd3f74d7\
    640000013ddb27ded900000403004730450220606e10ae5c2d5a1b0aed49dc49\
    37f48de71a4e9784e9c208dfbfe9ef536cf7f2022100beb29c72d7d06d61d06b\
    db38a069469aa86fe12e18bb7cc45689a2c0187ef5a5";

/// The log's TLS-encoded SCT for CT_TEST_PRECERT_PEM (precert entry).
pub(crate) const CT_TEST_PRECERT_SCT_HEX: &str =
    "00df1c2ec11500945247a96168325ddc5c7959e8f7c6d388fc002e0bbd3f74d7\
    640000013ddb27df9300000403004730450220482f6751af35dba65436be1fd6\
    640f3dbf9a41429495924530288fa3e5e23e06022100e4edc0db3ac572b1e2f5\
    e8ab6a680653987dcf41027dfeffa105519d89edbf08";

pub(crate) fn ct_test_cert() -> Vec<u8> {
    pem_der(CT_TEST_CERT_PEM)
}

/// The precertificate's log entry, as RFC 6962 defines it.
pub(crate) fn ct_test_precert_entry() -> SignedEntry {
    SignedEntry::Precert {
        issuer_key_hash: issuer_key_hash(&pem_der(CT_TEST_CA_PEM)).unwrap(),
        tbs_certificate: tbs_without_extension(&pem_der(CT_TEST_PRECERT_PEM), &oids::CT_POISON)
            .unwrap(),
    }
}

fn leaf_hash(leaf: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    STANDARD.encode(h.finalize())
}

#[test]
fn merkle_leaf_hashes_match_published_vectors() {
    let sct =
        SignedCertificateTimestamp::from_tls(&hex::decode(CT_TEST_CERT_SCT_HEX).unwrap()).unwrap();
    let leaf = merkle_tree_leaf(sct.timestamp_ms, &SignedEntry::X509(ct_test_cert()), &[]);
    assert_eq!(&leaf[..4], &[0, 0, 0, 0]);
    assert_eq!(
        leaf_hash(&leaf),
        "BKZLZGMbAnDW0gQWjNJNCyS2IgweWn76YW3tFlu3AuY="
    );

    let sct = SignedCertificateTimestamp::from_tls(&hex::decode(CT_TEST_PRECERT_SCT_HEX).unwrap())
        .unwrap();
    let leaf = merkle_tree_leaf(sct.timestamp_ms, &ct_test_precert_entry(), &[]);
    assert_eq!(
        leaf_hash(&leaf),
        "mbk+d5FDW3oNZJCbOi828rqC3hf+qhigTWVGcXEZq1U="
    );
}

#[test]
fn stripping_poison_and_sct_list_gives_the_same_tbs() {
    let from_precert =
        tbs_without_extension(&pem_der(CT_TEST_PRECERT_PEM), &oids::CT_POISON).unwrap();
    let from_final =
        tbs_without_extension(&pem_der(CT_TEST_EMBEDDED_PEM), &oids::CT_SCT_LIST).unwrap();
    assert_eq!(from_precert, from_final);
    // …and it is not simply the original TBS.
    let original = raw_tbs(&pem_der(CT_TEST_PRECERT_PEM)).unwrap().to_vec();
    assert_ne!(from_precert, original);
    // Exactly the poison Extension TLV (30 13 …) is gone.
    assert_eq!(original.len() - from_precert.len(), 21);
}

#[test]
fn tbs_without_extension_keeps_everything_else() {
    let ca = TestCa::new("CN=strip test");
    let leaf = EcdsaP256Signer::generate();
    let before = ext(oids::FULCIO_ISSUER_V1, false, b"https://issuer.example");
    let after = ext(
        oids::FULCIO_ISSUER_V2,
        false,
        b"\x0c\x16https://issuer.example",
    );
    let with = ca.tbs(
        Name::default(),
        &leaf.public_spki_der(),
        vec![before.clone(), poison_ext(), after.clone()],
    );
    let without = ca.tbs(
        Name::default(),
        &leaf.public_spki_der(),
        vec![before, after],
    );
    let cert = ca.sign(with);
    let stripped = tbs_without_extension(&cert, &oids::CT_POISON).unwrap();
    assert_eq!(stripped, without.to_der().unwrap());
    // Removing an absent extension changes nothing.
    assert_eq!(
        tbs_without_extension(&cert, &oids::CT_SCT_LIST).unwrap(),
        raw_tbs(&cert).unwrap()
    );
}

#[test]
fn tbs_without_only_extension_omits_the_field() {
    let ca = TestCa::new("CN=strip test");
    let leaf = EcdsaP256Signer::generate();
    let cert = ca.issue(&leaf, &[poison_ext()]);
    let stripped = tbs_without_extension(&cert, &oids::CT_POISON).unwrap();
    let expected = ca.tbs(Name::default(), &leaf.public_spki_der(), vec![]);
    assert!(expected.extensions.is_none());
    assert_eq!(stripped, expected.to_der().unwrap());
}

#[test]
fn accepts_precert_chain_to_root() {
    let root = TestCa::new("CN=root");
    let inter = root.intermediate(
        "CN=intermediate",
        TestKey::P384(p384::ecdsa::SigningKey::random(&mut rand_core::OsRng)),
    );
    let leaf_key = EcdsaP256Signer::generate();
    let precert = inter.issue(&leaf_key, &[poison_ext()]);
    let chain = vec![
        precert.clone(),
        inter.cert_der.clone(),
        root.cert_der.clone(),
    ];
    let accepted = accept_chain(&chain, std::slice::from_ref(&root.cert_der), true).unwrap();
    assert_eq!(accepted.chain, chain);
    let spki = Certificate::from_der(&inter.cert_der)
        .unwrap()
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    assert_eq!(
        accepted.entry,
        SignedEntry::Precert {
            issuer_key_hash: Sha256::digest(spki).into(),
            tbs_certificate: tbs_without_extension(&precert, &oids::CT_POISON).unwrap(),
        }
    );
    // The root may also be left out of the submitted chain.
    let short = vec![precert, inter.cert_der];
    let accepted = accept_chain(&short, std::slice::from_ref(&root.cert_der), true).unwrap();
    assert!(matches!(accepted.entry, SignedEntry::Precert { .. }));
}

#[test]
fn accepts_x509_chain_signed_with_rsa() {
    let root = TestCa::root("CN=rsa root", TestKey::Rsa(crate::keys::tests::rsa_key()));
    let leaf = root.issue(&EcdsaP256Signer::generate(), &[]);
    let accepted = accept_chain(
        &[leaf.clone(), root.cert_der.clone()],
        std::slice::from_ref(&root.cert_der),
        false,
    )
    .unwrap();
    assert_eq!(accepted.entry, SignedEntry::X509(leaf.clone()));
    // A precert to add-chain, or a plain certificate to add-pre-chain, is refused.
    let precert = root.issue(&EcdsaP256Signer::generate(), &[poison_ext()]);
    assert_eq!(
        accept_chain(&[precert], std::slice::from_ref(&root.cert_der), false),
        Err(CtError::UnexpectedPrecert)
    );
    assert_eq!(
        accept_chain(&[leaf], std::slice::from_ref(&root.cert_der), true),
        Err(CtError::NotPrecert)
    );
}

#[test]
fn rejects_bad_poison() {
    let root = TestCa::new("CN=root");
    let leaf_key = EcdsaP256Signer::generate();
    let roots = [root.cert_der.clone()];
    let not_critical = root.issue(&leaf_key, &[ext(oids::CT_POISON, false, &[0x05, 0x00])]);
    assert_eq!(
        accept_chain(&[not_critical], &roots, true),
        Err(CtError::NotPrecert)
    );
    let not_null = root.issue(&leaf_key, &[ext(oids::CT_POISON, true, &[0x04, 0x00])]);
    assert_eq!(
        accept_chain(&[not_null], &roots, true),
        Err(CtError::NotPrecert)
    );
    // With a one-element chain the root is the precert's issuer.
    let good = root.issue(&leaf_key, &[poison_ext()]);
    let accepted = accept_chain(&[good], &roots, true).unwrap();
    match accepted.entry {
        SignedEntry::Precert {
            issuer_key_hash: h, ..
        } => {
            assert_eq!(h, issuer_key_hash(&root.cert_der).unwrap())
        }
        other => panic!("unexpected entry {other:?}"),
    }
}

#[test]
fn rejects_unknown_root() {
    let root = TestCa::new("CN=root");
    let other = TestCa::new("CN=root");
    let leaf = root.issue(&EcdsaP256Signer::generate(), &[poison_ext()]);
    // Same name, different key: only the signature tells them apart.
    assert_eq!(
        accept_chain(
            std::slice::from_ref(&leaf),
            std::slice::from_ref(&other.cert_der),
            true
        ),
        Err(CtError::UnknownRoot)
    );
    assert_eq!(
        accept_chain(
            &[leaf, root.cert_der],
            std::slice::from_ref(&other.cert_der),
            true
        ),
        Err(CtError::UnknownRoot)
    );
}

#[test]
fn rejects_broken_signature() {
    let root = TestCa::new("CN=root");
    let mut leaf = root.issue(&EcdsaP256Signer::generate(), &[poison_ext()]);
    // Flip a bit inside the TBSCertificate (the last byte of the poison NULL
    // is too structural; the serial's last byte is safe to change).
    let serial_pos = leaf
        .windows(5)
        .position(|w| w == [0x02, 0x03, 0x01, 0x02, 0x03])
        .unwrap();
    leaf[serial_pos + 4] ^= 0x01;
    let chain = vec![leaf.clone(), root.cert_der.clone()];
    assert!(matches!(
        accept_chain(&chain, std::slice::from_ref(&root.cert_der), true),
        Err(CtError::ChainInvalid(m)) if m.contains("not signed by certificate 1")
    ));
    assert_eq!(
        accept_chain(&[leaf], std::slice::from_ref(&root.cert_der), true),
        Err(CtError::UnknownRoot)
    );
}

#[test]
fn rejects_non_ca_issuer_and_name_mismatch() {
    let root = TestCa::new("CN=root");
    let not_ca = TestCa::new("CN=not a ca");
    let fake_inter = TestCa {
        key: TestKey::P256(EcdsaP256Signer::generate()),
        name: Name::from_str("CN=leafish").unwrap(),
        cert_der: Vec::new(),
    };
    let spki = fake_inter.key.spki_der();
    let inter_cert = root.sign(root.tbs(fake_inter.name.clone(), &spki, vec![]));
    let leaf = fake_inter.issue(&EcdsaP256Signer::generate(), &[poison_ext()]);
    let chain = vec![leaf.clone(), inter_cert, root.cert_der.clone()];
    assert!(matches!(
        accept_chain(&chain, std::slice::from_ref(&root.cert_der), true),
        Err(CtError::ChainInvalid(m)) if m.contains("not a CA")
    ));
    let mismatched = vec![leaf, not_ca.cert_der.clone()];
    assert!(matches!(
        accept_chain(&mismatched, std::slice::from_ref(&not_ca.cert_der), true),
        Err(CtError::ChainInvalid(m)) if m.contains("subject")
    ));
}

#[test]
fn rejects_empty_and_malformed_chains() {
    let root = TestCa::new("CN=root");
    assert_eq!(
        accept_chain(&[], std::slice::from_ref(&root.cert_der), false),
        Err(CtError::EmptyChain)
    );
    assert!(matches!(
        accept_chain(
            &[root.cert_der, b"\x30\x03\x02\x01\x01".to_vec()],
            &[],
            false
        ),
        Err(CtError::MalformedCertificate(1, _))
    ));
}

#[test]
fn rejects_precert_signing_certificate() {
    let root = TestCa::new("CN=root");
    let signer_key = EcdsaP256Signer::generate();
    let eku = ExtendedKeyUsage(vec![oids::CT_PRECERT_SIGNING_EKU])
        .to_der()
        .unwrap();
    let tbs = root.tbs(
        Name::from_str("CN=precert signer").unwrap(),
        &signer_key.public_spki_der(),
        vec![
            ca_ext(),
            ext(const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE, false, &eku),
        ],
    );
    let signer = TestCa {
        key: TestKey::P256(signer_key),
        name: Name::from_str("CN=precert signer").unwrap(),
        cert_der: root.sign(tbs),
    };
    let leaf = signer.issue(&EcdsaP256Signer::generate(), &[poison_ext()]);
    assert!(matches!(
        accept_chain(&[leaf, signer.cert_der], std::slice::from_ref(&root.cert_der), true),
        Err(CtError::ChainInvalid(m)) if m.contains("precertificate signing")
    ));
}

#[test]
fn rejects_non_canonical_tbs() {
    // A BOOLEAN TRUE encoded as 0x01 instead of 0xFF is BER, not DER.
    let root = TestCa::new("CN=root");
    let cert = root.issue(&EcdsaP256Signer::generate(), &[poison_ext()]);
    let pos = cert
        .windows(3)
        .position(|w| w == [0x01, 0x01, 0xff])
        .unwrap();
    let mut ber = cert;
    ber[pos + 2] = 0x01;
    assert!(tbs_without_extension(&ber, &oids::CT_POISON).is_err());
}

#[test]
fn a_chain_longer_than_the_cap_is_refused_before_any_parsing() {
    // Not even certificates: the length alone refuses it.
    let chain = vec![vec![0u8; 4]; MAX_CHAIN_CERTS + 1];
    assert!(matches!(
        accept_chain(&chain, &[], false),
        Err(CtError::ChainTooLong(n)) if n == MAX_CHAIN_CERTS + 1
    ));
    // At the cap, parsing is what fails.
    let chain = vec![vec![0u8; 4]; MAX_CHAIN_CERTS];
    assert!(matches!(
        accept_chain(&chain, &[], false),
        Err(CtError::MalformedCertificate(0, _))
    ));
}
