use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::OctetString;
use der::{Decode, Encode};
use shared::keys::{pem_encode, PublicKey};
use x509_tsp::{TimeStampResp, TstInfo};

use super::*;
use crate::ca::{self_signed_root, SoftwareKey};

struct Fixture {
    tsa: TimestampAuthority,
    root_der: Vec<u8>,
    tsa_der: Vec<u8>,
}

fn fixture() -> Fixture {
    let root_key = SoftwareKey::generate_p256().unwrap();
    let root_der = self_signed_root(&root_key, "sigil", "test root").unwrap();
    let tsa_key = SoftwareKey::generate_p256().unwrap();
    let tsa_der = issue_tsa_certificate(
        &root_key,
        &root_der,
        &tsa_key.public_spki_der(),
        "sigil",
        "test tsa",
        Duration::from_secs(3600),
    )
    .unwrap();
    let tsa = TimestampAuthority::new(TsaConfig {
        signer: Arc::new(tsa_key),
        chain_der: vec![tsa_der.clone(), root_der.clone()],
        policies: TsaPolicies {
            default: DEFAULT_POLICY,
            accepted: vec![ObjectIdentifier::new_unwrap("1.2.3.5")],
        },
    })
    .unwrap();
    Fixture {
        tsa,
        root_der,
        tsa_der,
    }
}

fn der_request(message: &[u8], nonce: Option<&[u8]>, cert_req: bool) -> Vec<u8> {
    x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: hash_oid(HashAlgorithm::Sha256),
                parameters: None,
            },
            hashed_message: OctetString::new(HashAlgorithm::Sha256.digest(message)).unwrap(),
        },
        req_policy: None,
        nonce: nonce.map(request::positive_int),
        cert_req,
        extensions: None,
    }
    .to_der()
    .unwrap()
}

/// The token's parts, decoded as a verifier would.
struct Parsed {
    tst_info_der: Vec<u8>,
    tst_info: TstInfo,
    signed_data: SignedData,
}

fn parse(response: &[u8]) -> Parsed {
    let resp = TimeStampResp::from_der(response).unwrap();
    assert_eq!(resp.status.status, cmpv2::status::PkiStatus::Accepted);
    let token: ContentInfo = resp.time_stamp_token.unwrap();
    assert_eq!(token.content_type.to_string(), "1.2.840.113549.1.7.2");
    let signed_data: SignedData = token.content.decode_as().unwrap();
    let econtent = signed_data.encap_content_info.econtent.clone().unwrap();
    let tst_info_der = econtent.decode_as::<OctetString>().unwrap().into_bytes();
    Parsed {
        tst_info: TstInfo::from_der(&tst_info_der).unwrap(),
        tst_info_der,
        signed_data,
    }
}

#[test]
fn a_token_verifies_with_the_tsa_key_and_echoes_the_request() {
    let f = fixture();
    let now = UNIX_EPOCH + Duration::from_millis(1_790_000_000_250);
    let request = StampRequest::from_der(&der_request(b"sig", Some(&[0x81, 7]), false)).unwrap();
    let parsed = parse(&f.tsa.stamp(&request, now).unwrap());

    let tst = &parsed.tst_info;
    assert_eq!(tst.policy, DEFAULT_POLICY);
    assert_eq!(
        tst.message_imprint.hashed_message.as_bytes(),
        HashAlgorithm::Sha256.digest(b"sig")
    );
    assert_eq!(tst.nonce, Some(request::positive_int(&[0x81, 7])));
    assert_eq!(
        tst.gen_time.to_unix_duration(),
        Duration::from_secs(1_790_000_000)
    );
    assert_eq!(tst.accuracy.as_ref().unwrap().seconds, Some(1));
    // certReq was false: no certificates (RFC 3161 §2.4.1).
    assert!(parsed.signed_data.certificates.is_none());

    let signer = parsed.signed_data.signer_infos.0.get(0).unwrap();
    let cert = Certificate::from_der(&f.tsa_der).unwrap();
    match &signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(sid) => {
            assert_eq!(sid.issuer, cert.tbs_certificate.issuer);
            assert_eq!(sid.serial_number, cert.tbs_certificate.serial_number);
        }
        other => panic!("unexpected sid {other:?}"),
    }
    let attrs = signer.signed_attrs.as_ref().unwrap();
    let attr = |oid: &str| {
        attrs
            .iter()
            .find(|a| a.oid.to_string() == oid)
            .unwrap_or_else(|| panic!("no attribute {oid}"))
            .values
            .get(0)
            .unwrap()
            .clone()
    };
    let message_digest = attr("1.2.840.113549.1.9.4")
        .decode_as::<OctetString>()
        .unwrap();
    assert_eq!(
        message_digest.as_bytes(),
        HashAlgorithm::Sha256.digest(&parsed.tst_info_der)
    );
    // The ESS certificate hash names the TSA certificate.
    let ess = attr("1.2.840.113549.1.9.16.2.47").to_der().unwrap();
    let cert_hash = HashAlgorithm::Sha256.digest(&f.tsa_der);
    assert!(ess.windows(32).any(|w| w == cert_hash));

    let key = PublicKey::from_spki_der(
        &cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap(),
    )
    .unwrap();
    let signed = attrs.to_der().unwrap();
    key.verify(&signed, signer.signature.as_bytes()).unwrap();
    let mut tampered = signed;
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(key.verify(&tampered, signer.signature.as_bytes()).is_err());
}

#[test]
fn cert_req_puts_the_tsa_certificate_in_the_token_and_serials_differ() {
    let f = fixture();
    let request = StampRequest::from_der(&der_request(b"sig", None, true)).unwrap();
    let a = parse(&f.tsa.stamp(&request, SystemTime::now()).unwrap());
    let b = parse(&f.tsa.stamp(&request, SystemTime::now()).unwrap());
    let certs = a.signed_data.certificates.unwrap();
    assert_eq!(certs.0.len(), 1);
    assert_eq!(certs.0.get(0).unwrap().to_der().unwrap(), f.tsa_der);
    assert_eq!(a.tst_info.nonce, None);
    assert_ne!(a.tst_info.serial_number, b.tst_info.serial_number);
}

#[test]
fn a_request_gets_an_accepted_policy_and_is_refused_any_other() {
    let f = fixture();
    let mut request = StampRequest::from_der(&der_request(b"sig", None, false)).unwrap();
    request.policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4"));
    assert!(matches!(
        f.tsa.stamp(&request, SystemTime::now()),
        Err(StampError::Refused(RequestError::UnacceptedPolicy(_)))
    ));
    // An accepted policy is the token's policy.
    request.policy = Some(ObjectIdentifier::new_unwrap("1.2.3.5"));
    let token = parse(&f.tsa.stamp(&request, SystemTime::now()).unwrap());
    assert_eq!(
        token.tst_info.policy,
        ObjectIdentifier::new_unwrap("1.2.3.5")
    );
}

#[test]
fn refuses_a_chain_clients_would_refuse() {
    let f = fixture();
    let root_key = SoftwareKey::generate_p256().unwrap();
    let tsa_key: Arc<dyn CaSigner> = Arc::new(SoftwareKey::generate_p256().unwrap());
    let setup = |chain_der: Vec<Vec<u8>>, signer: Arc<dyn CaSigner>| {
        TimestampAuthority::new(TsaConfig {
            signer,
            chain_der,
            policies: TsaPolicies::default(),
        })
        .unwrap_err()
        .to_string()
    };
    // The TSA certificate alone.
    assert!(setup(vec![f.tsa_der.clone()], tsa_key.clone()).contains("chain of one"));
    // A certificate for another key.
    assert!(
        setup(vec![f.tsa_der.clone(), f.root_der.clone()], tsa_key.clone())
            .contains("not the TSA key's")
    );
    // A CA certificate, which has no timeStamping EKU.
    let root_der = self_signed_root(&root_key, "sigil", "other").unwrap();
    let root_signer: Arc<dyn CaSigner> = Arc::new(root_key);
    assert!(setup(vec![root_der.clone(), root_der], root_signer).contains("timeStamping"));
    // A chain out of order.
    assert!(setup(vec![f.root_der.clone(), f.tsa_der], tsa_key).contains("is not issued by"));
}

/// OpenSSL's `ts -verify` is an independent RFC 3161 verifier: it checks the
/// CMS signature, the ESS signing certificate, the chain to the root, the
/// critical timeStamping EKU, the imprint and the nonce.
#[test]
fn openssl_ts_verifies_the_token() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("data"), b"the signature").unwrap();
    std::fs::write(path("root.pem"), pem_encode("CERTIFICATE", &f.root_der)).unwrap();
    std::fs::write(path("tsa.pem"), pem_encode("CERTIFICATE", &f.tsa_der)).unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("openssl is on the PATH");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    // OpenSSL writes the request (SHA-256, a nonce, certReq); we answer it.
    let (ok, out) = openssl(&[
        "ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "req.tsq",
    ]);
    assert!(ok, "{out}");
    let request = StampRequest::from_der(&std::fs::read(path("req.tsq")).unwrap()).unwrap();
    assert!(request.nonce.is_some() && request.cert_req);
    std::fs::write(
        path("resp.tsr"),
        f.tsa.stamp(&request, SystemTime::now()).unwrap(),
    )
    .unwrap();
    let verify = |data: &str| {
        openssl(
            &[
                "ts",
                "-verify",
                "-queryfile",
                "req.tsq",
                "-in",
                "resp.tsr",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "tsa.pem",
            ]
            .into_iter()
            .chain((!data.is_empty()).then_some(data))
            .collect::<Vec<_>>(),
        )
    };
    let (ok, out) = verify("");
    assert!(ok && out.contains("Verification: OK"), "{out}");
    // The same token over other data fails.
    std::fs::write(path("other"), b"another signature").unwrap();
    let (ok, out) = openssl(&[
        "ts",
        "-verify",
        "-data",
        "other",
        "-in",
        "resp.tsr",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "tsa.pem",
    ]);
    assert!(!ok, "{out}");
}
