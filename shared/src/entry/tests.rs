//! Tests for the entry kinds: a real public-log body, exact canonical JSON
//! for entries signed here with p256 / p384 / ed25519, and every rejection.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::asn1::{Ia5String, Utf8StringRef};
use der::{Any, Encode as _};
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use serde_json::json;
use sha2::{Digest as _, Sha256, Sha384};
use signature::hazmat::PrehashSigner as _;
use signature::Signer as _;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::SubjectAltName;

use super::*;
use crate::ct::tests::{ext, TestCa, TestKey};
use crate::keys::{pem_encode, EcdsaP256Signer};

/// The body of rekor.sigstore.dev entry 5064958 (a cosign signature by a
/// GitHub Actions workflow, Oct 2022), as the log served it.
pub(crate) const PUBLIC_LOG_BODY: &str = "eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoiaGFzaGVkcmVrb3JkIiwic3BlYyI6eyJkYXRhIjp7Imhhc2giOnsiYWxnb3JpdGhtIjoic2hhMjU2IiwidmFsdWUiOiIzMjJjMjA0MmU0NGJiNWEwZDhkOWE3NTVlN2ExMDZjNWE4NTM3Yjk0OWFiYjNkZGU2OGVmNTVhYzAwMmMzMDU4In19LCJzaWduYXR1cmUiOnsiY29udGVudCI6Ik1FVUNJUURSZlQxVlpQbmkzTlg1UkwvcXBBaU9uSkxPMkliaStJcW4wUUtxbzB3amJnSWdNZTNKaE5MOTVFZEJ4QWdPMittV0lnSFFpWGlHd1BqU3Jja3l6QmZHMHdJPSIsInB1YmxpY0tleSI6eyJjb250ZW50IjoiTFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2sxSlNVUnpla05EUVhwdFowRjNTVUpCWjBsVlRrcGljMkZpYkV0SmMyaFZaMGxaYjI1TmFEUjFSRlEyTmpGbmQwTm5XVWxMYjFwSmVtb3dSVUYzVFhjS1RucEZWazFDVFVkQk1WVkZRMmhOVFdNeWJHNWpNMUoyWTIxVmRWcEhWakpOVWpSM1NFRlpSRlpSVVVSRmVGWjZZVmRrZW1SSE9YbGFVekZ3WW01U2JBcGpiVEZzV2tkc2FHUkhWWGRJYUdOT1RXcEplRTFFUlRCTlJFbDNUbnBCZUZkb1kwNU5ha2w0VFVSRk1FMUVTWGhPZWtGNFYycEJRVTFHYTNkRmQxbElDa3R2V2tsNmFqQkRRVkZaU1V0dldrbDZhakJFUVZGalJGRm5RVVZ5U1drMVMybHljVGRsYTBrM1YxZFRWa3hOYld4U2JrVnFkMlJ4SzJocVJFaGhNVThLWVcwclVXWlJTR1p5Tlc5T05HOXBjMWx6YWpCSGRVWTJkMkpST1VKWmFuRTJWRmRsZVZSamMxSlVRWGc0YlhKSE1EWlBRMEZzWjNkblowcFZUVUUwUndwQk1WVmtSSGRGUWk5M1VVVkJkMGxJWjBSQlZFSm5UbFpJVTFWRlJFUkJTMEpuWjNKQ1owVkdRbEZqUkVGNlFXUkNaMDVXU0ZFMFJVWm5VVlZKUTJ3eENtVmtPVlp2VG5GWkwxbGpiRlZUYml0amVESnRSV0U0ZDBoM1dVUldVakJxUWtKbmQwWnZRVlV6T1ZCd2VqRlphMFZhWWpWeFRtcHdTMFpYYVhocE5Ga0tXa1E0ZDJKQldVUldVakJTUVZGSUwwSkhTWGRaU1ZwbFlVaFNNR05JVFRaTWVUbHVZVmhTYjJSWFNYVlpNamwwVERKT2IxbFhiSFZhTTFab1kyMVJkQXBoVnpGb1dqSldla3d6WkhaaVIxcHdURmRLYUdNeVZYWk1iV1J3WkVkb01WbHBPVE5pTTBweVdtMTRkbVF6VFhaamJWWnpXbGRHZWxwVE5UVlpWekZ6Q2xGSVNteGFiazEyWVVkV2FGcElUWFppVjBad1ltcEJOVUpuYjNKQ1owVkZRVmxQTDAxQlJVSkNRM1J2WkVoU2QyTjZiM1pNTTFKMllUSldkVXh0Um1vS1pFZHNkbUp1VFhWYU1td3dZVWhXYVdSWVRteGpiVTUyWW01U2JHSnVVWFZaTWpsMFRVSlpSME5wYzBkQlVWRkNaemM0ZDBGUlNVVkRTRTVxWVVkV2F3cGtWM2hzVFVSWlIwTnBjMGRCVVZGQ1p6YzRkMEZSVFVWTFIxSnJUa2RaZVZscVFtMU9SRTB5VGtkRk0wMUVUbWhaTWtVd1RrUkplazE2U1RGWmVrMHpDazFIVlhkTlZGRjZXbFJLYlU1VVJYZElRVmxMUzNkWlFrSkJSMFIyZWtGQ1FrRlJUMUV6U214WldGSnNTVVpLYkdKSFZtaGpNbFYzUzJkWlMwdDNXVUlLUWtGSFJIWjZRVUpDVVZGaldUSm9hR0ZYTlc1a1YwWjVXa014Y0dKWFJtNWFXRTEyWkRJNWMxcHRhM1JaYlVaNldsUkJaRUpuYjNKQ1owVkZRVmxQTHdwTlFVVkhRa0U1ZVZwWFducE1NbWhzV1ZkU2Vrd3lNV2hoVnpSM1oxbHZSME5wYzBkQlVWRkNNVzVyUTBKQlNVVm1RVkkyUVVoblFXUm5RVWxaU2t4M0NrdEdUQzloUlZoU01GZHpibWhLZUVaYWVHbHpSbW96UkU5T1NuUTFjbmRwUW1wYWRtTm5RVUZCV1ZCVlVIRXpNVUZCUVVWQmQwSklUVVZWUTBsUlJIWUtjVEZHTDI5RGJsaGtTMWxoTW10NmQzcEhUamMwTjBsdk1VZFVOVzF1V0dNMVdIRXdMek15YjBSQlNXZGlSbGRtTkZOQ1JWSlhZWEp4Y0V0blJYWlFUQXBRYTJsMVRsaElURXBUY1ZWNlNtZFdPV0ZyU0hOYVozZERaMWxKUzI5YVNYcHFNRVZCZDAxRVlVRkJkMXBSU1hoQlNrSm5WVGhVVUVkS2RrbGFPSFU1Q2tkNlNIVTVTMVJTZEVoaU5WTXZXVTVLYWxWdlJFTXhObWR0ZDJKVmNVdEljRmRZWlU5UFpEaHZaV2xRTVRrME1qTkJTWGRFTDJkUVQybFRVM1JEVG1rS1ZqZHdXR3hIWVVWeGJVUm1NVEZJYVVwVE4zUXlVQ3RDVDFsVVkxWXlWM1F6TkVSaFUxVkRURkJSWldRM2IyNUhWbFk0ZHdvdExTMHRMVVZPUkNCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PSJ9fX19";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

fn canon(v: &Value) -> Result<CanonicalEntry, EntryError> {
    canonicalize_proposed(&serde_json::to_vec(v).unwrap())
}

fn body_str(e: &CanonicalEntry) -> String {
    String::from_utf8(e.body.clone()).unwrap()
}

fn hashedrekord(sig: &[u8], key_pem: &str, alg: &str, value: &str) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": { "content": b64(sig), "publicKey": { "content": b64(key_pem) } },
            "data": { "hash": { "algorithm": alg, "value": value } },
        },
    })
}

fn p256_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::random(&mut rand_core::OsRng)
}

fn p256_pem(k: &p256::ecdsa::SigningKey) -> String {
    k.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()
}

fn der_sig(k: &p256::ecdsa::SigningKey, msg: &[u8]) -> Vec<u8> {
    let s: p256::ecdsa::Signature = k.sign(msg);
    s.to_der().as_bytes().to_vec()
}

fn field_of(e: EntryError) -> &'static str {
    match e {
        EntryError::InvalidField { field, .. } => field,
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

// ── hashedrekord ───────────────────────────────────────────────────────────

#[test]
fn public_log_body_canonicalizes_to_itself() {
    let body = STANDARD.decode(PUBLIC_LOG_BODY).unwrap();
    let e = canonicalize_proposed(&body).unwrap();
    assert_eq!(e.kind, EntryKind::HashedRekord);
    assert_eq!(e.api_version, "0.0.1");
    assert_eq!(body_str(&e), String::from_utf8(body.clone()).unwrap());
    assert_eq!(
        e.leaf_hash().to_hex(),
        "4f585ce6bc6f87054db72e0e19b07658a551245030803ec961035831c17c894d"
    );
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let pem = STANDARD
        .decode(
            doc["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        e.index,
        IndexKeys {
            hashes: vec![
                "sha256:322c2042e44bb5a0d8d9a755e7a106c5a8537b949abb3dde68ef55ac002c3058".into()
            ],
            public_keys: vec![hex::encode(Sha256::digest(&pem))],
            identities: vec![
                "https://github.com/chainguard-images/wolfi-base/.github/workflows/release.yaml@refs/heads/main".into()
            ],
        }
    );
}

#[test]
fn hashedrekord_with_key_has_exact_canonical_json() {
    let key = p256_key();
    let artifact = b"hello, sigil";
    let digest = hex::encode(Sha256::digest(artifact));
    let sig = der_sig(&key, artifact);
    let canonical_pem = p256_pem(&key);
    // Submitted with CRLF line ends and 76-column lines: stored re-wrapped.
    let body64 = canonical_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    let messy = format!(
        "-----BEGIN PUBLIC KEY-----\r\n{}\r\n{}\r\n-----END PUBLIC KEY-----\r\n",
        &body64[..76],
        &body64[76..]
    );
    assert_ne!(messy, canonical_pem);
    let e = canon(&hashedrekord(&sig, &messy, "sha256", &digest)).unwrap();
    let want = format!(
        r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{digest}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}}"#,
        b64(&sig),
        b64(&canonical_pem)
    );
    assert_eq!(body_str(&e), want);
    assert_eq!(e.leaf_hash(), crate::merkle::leaf_hash(want.as_bytes()));
    assert_eq!(e.index.hashes, vec![format!("sha256:{digest}")]);
    assert_eq!(
        e.index.public_keys,
        vec![hex::encode(Sha256::digest(canonical_pem.as_bytes()))]
    );
    assert!(e.index.identities.is_empty());
    // Resubmitting the stored body gives the same leaf (what makes a 409).
    assert_eq!(canonicalize_proposed(&e.body).unwrap(), e);
    // Member order and whitespace in the request do not matter.
    let reordered = format!(
        r#" {{ "spec": {{ "data": {{ "hash": {{ "value": "{digest}", "algorithm": "sha256" }} }},
             "signature": {{ "publicKey": {{ "content": "{}" }}, "content": "{}" }} }},
             "kind": "hashedrekord", "apiVersion": "0.0.1" }} "#,
        b64(&messy),
        b64(&sig)
    );
    assert_eq!(canonicalize_proposed(reordered.as_bytes()).unwrap(), e);
}

#[test]
fn hashedrekord_other_curves_and_rsa() {
    // P-384 with SHA-384.
    let p384 = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let p384_pem = p384
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let digest = Sha384::digest(b"x");
    let sig: p384::ecdsa::Signature = p384.sign_prehash(&digest).unwrap();
    let e = canon(&hashedrekord(
        sig.to_der().as_bytes(),
        &p384_pem,
        "sha384",
        &hex::encode(digest),
    ))
    .unwrap();
    assert!(body_str(&e).contains(r#""algorithm":"sha384""#));
    assert_eq!(
        e.index.hashes,
        vec![format!("sha384:{}", hex::encode(digest))]
    );

    // RSA-2048 PKCS#1 v1.5 with SHA-256.
    let rsa = crate::keys::tests::rsa_key();
    let rsa_pem = rsa
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let digest = Sha256::digest(b"r");
    let sig = rsa
        .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest)
        .unwrap();
    canon(&hashedrekord(
        &sig,
        &rsa_pem,
        "sha256",
        &hex::encode(digest),
    ))
    .unwrap();
}

#[test]
fn hashedrekord_algorithm_policy() {
    // Rekor's default client-signing-algorithms pair each key with one hash,
    // even when the signature itself would verify.
    let key = p256_key();
    let digest = Sha384::digest(b"x");
    let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
    let err = canon(&hashedrekord(
        sig.to_der().as_bytes(),
        &p256_pem(&key),
        "sha384",
        &hex::encode(digest),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry algorithms are not allowed: ECDSA P-256 key with a sha384 digest"
    );

    let rsa = crate::keys::tests::rsa_key();
    let rsa_pem = rsa
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let digest = sha2::Sha512::digest(b"r");
    let sig = rsa
        .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), &digest)
        .unwrap();
    assert_eq!(
        canon(&hashedrekord(
            &sig,
            &rsa_pem,
            "sha512",
            &hex::encode(digest)
        )),
        Err(EntryError::AlgorithmNotAllowed(
            "RSA-2048 key with a sha512 digest".into()
        ))
    );
}

#[test]
fn hashedrekord_upper_case_hex_is_kept_but_indexed_lower() {
    let key = p256_key();
    let digest = hex::encode_upper(Sha256::digest(b"y"));
    let e = canon(&hashedrekord(
        &der_sig(&key, b"y"),
        &p256_pem(&key),
        "sha256",
        &digest,
    ))
    .unwrap();
    assert!(
        body_str(&e).contains(&digest),
        "Rekor stores the value as sent"
    );
    assert_eq!(
        e.index.hashes,
        vec![format!("sha256:{}", digest.to_lowercase())]
    );
}

fn san_ext() -> x509_cert::ext::Extension {
    let san = SubjectAltName(vec![
        GeneralName::Rfc822Name(Ia5String::new("Alice@Example.com").unwrap()),
        GeneralName::UniformResourceIdentifier(
            Ia5String::new("https://ci.example/wf@refs/heads/main").unwrap(),
        ),
        GeneralName::OtherName(OtherName {
            type_id: crate::oids::FULCIO_OTHERNAME_SAN,
            value: Any::encode_from(&Utf8StringRef::new("alice").unwrap()).unwrap(),
        }),
    ]);
    let oid = <SubjectAltName as const_oid::AssociatedOid>::OID;
    ext(oid, true, &san.to_der().unwrap())
}

#[test]
fn hashedrekord_with_certificate_chain() {
    let root = TestCa::new("CN=sigil test root");
    let inter = root.intermediate(
        "CN=sigil test intermediate",
        TestKey::P256(EcdsaP256Signer::generate()),
    );
    let leaf_key = EcdsaP256Signer::generate();
    let leaf = inter.issue(&leaf_key, &[san_ext()]);
    let digest = hex::encode(Sha256::digest(b"artifact"));
    let sig = leaf_key.sign(b"artifact");

    // A single certificate: stored as its own 64-column PEM.
    let leaf_pem = pem_encode("CERTIFICATE", &leaf);
    let e = canon(&hashedrekord(&sig, &leaf_pem, "sha256", &digest)).unwrap();
    assert!(body_str(&e).contains(&b64(&leaf_pem)));
    assert_eq!(
        e.index.identities,
        vec![
            "alice@example.com".to_owned(),
            "https://ci.example/wf@refs/heads/main".to_owned(),
            "alice".to_owned()
        ]
    );

    // The whole chain, leaf first: stored as the concatenated PEMs.
    let chain_pem = [&leaf, &inter.cert_der, &root.cert_der]
        .iter()
        .map(|d| pem_encode("CERTIFICATE", d))
        .collect::<String>();
    let e = canon(&hashedrekord(&sig, &chain_pem, "sha256", &digest)).unwrap();
    assert!(body_str(&e).contains(&b64(&chain_pem)));
    assert_eq!(
        e.index.public_keys,
        vec![hex::encode(Sha256::digest(chain_pem.as_bytes()))]
    );

    // A chain that does not chain is refused.
    let stranger = TestCa::new("CN=someone else");
    let broken = format!(
        "{leaf_pem}{}",
        pem_encode("CERTIFICATE", &stranger.cert_der)
    );
    let err = canon(&hashedrekord(&sig, &broken, "sha256", &digest)).unwrap_err();
    assert!(
        matches!(err, EntryError::BadSignature(ref m) if m.contains("chain")),
        "{err}"
    );

    // Eleven certificates are too many.
    let long = leaf_pem.repeat(11);
    assert_eq!(
        field_of(canon(&hashedrekord(&sig, &long, "sha256", &digest)).unwrap_err()),
        "spec.signature.publicKey.content"
    );
}

#[test]
fn hashedrekord_rejections() {
    let key = p256_key();
    let pem = p256_pem(&key);
    let digest = hex::encode(Sha256::digest(b"z"));
    let sig = der_sig(&key, b"z");

    // Bad signature: signed something else.
    let err = canon(&hashedrekord(
        &der_sig(&key, b"other"),
        &pem,
        "sha256",
        &digest,
    ))
    .unwrap_err();
    assert_eq!(
        err,
        EntryError::BadSignature("signature verification failed".into())
    );
    assert_eq!(
        err.to_string(),
        "verifying signature: signature verification failed"
    );
    // Signed by another key.
    let other = p256_key();
    assert!(matches!(
        canon(&hashedrekord(&sig, &p256_pem(&other), "sha256", &digest)),
        Err(EntryError::BadSignature(_))
    ));
    // Garbage signature bytes.
    assert!(matches!(
        canon(&hashedrekord(b"not a signature", &pem, "sha256", &digest)),
        Err(EntryError::BadSignature(_))
    ));

    // Wrong digest length for the algorithm.
    let err = canon(&hashedrekord(&sig, &pem, "sha384", &digest)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid spec.data.hash.value: a sha384 digest is 96 hex digits, got 64"
    );
    assert_eq!(
        field_of(canon(&hashedrekord(&sig, &pem, "sha256", &digest[2..])).unwrap_err()),
        "spec.data.hash.value"
    );
    // Not hex.
    let not_hex = format!("{}zz", &digest[2..]);
    assert_eq!(
        field_of(canon(&hashedrekord(&sig, &pem, "sha256", &not_hex)).unwrap_err()),
        "spec.data.hash.value"
    );
    // Unknown or mis-cased algorithm.
    for alg in ["md5", "SHA256", ""] {
        assert_eq!(
            field_of(canon(&hashedrekord(&sig, &pem, alg, &digest)).unwrap_err()),
            "spec.data.hash.algorithm",
            "{alg:?}"
        );
    }

    // Malformed PEM in many ways.
    let unterminated = pem.replace("-----END PUBLIC KEY-----\n", "");
    let bad_b64 = pem.replacen('M', "*", 1);
    let not_a_key = pem_encode("PUBLIC KEY", b"\x30\x03\x02\x01\x01");
    let private = pem_encode("EC PRIVATE KEY", b"\x30\x03\x02\x01\x01");
    let not_a_cert = pem_encode("CERTIFICATE", b"\x30\x03\x02\x01\x01");
    for bad in [
        "not PEM at all",
        &unterminated,
        &bad_b64,
        &not_a_key,
        &private,
        &not_a_cert,
    ] {
        let err = canon(&hashedrekord(&sig, bad, "sha256", &digest)).unwrap_err();
        assert_eq!(field_of(err), "spec.signature.publicKey.content", "{bad:?}");
    }
    let msg = canon(&hashedrekord(&sig, &private, "sha256", &digest))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("EC PRIVATE KEY"), "{msg}");

    // Missing or mistyped fields name their path.
    let mut v = hashedrekord(&sig, &pem, "sha256", &digest);
    v["spec"]["signature"]["content"] = json!("");
    assert_eq!(field_of(canon(&v).unwrap_err()), "spec.signature.content");
    v["spec"]["signature"]["content"] = json!("%%%");
    assert_eq!(field_of(canon(&v).unwrap_err()), "spec.signature.content");
    let mut v = hashedrekord(&sig, &pem, "sha256", &digest);
    v["spec"]["data"] = json!({});
    assert_eq!(field_of(canon(&v).unwrap_err()), "spec.data.hash");
    let mut v = hashedrekord(&sig, &pem, "sha256", &digest);
    v["spec"]["data"]["hash"]["value"] = json!(12);
    assert_eq!(
        canon(&v).unwrap_err().to_string(),
        "invalid spec.data.hash.value: must be a string"
    );
    let mut v = hashedrekord(&sig, &pem, "sha256", &digest);
    v["spec"]["signature"]
        .as_object_mut()
        .unwrap()
        .remove("publicKey");
    assert_eq!(field_of(canon(&v).unwrap_err()), "spec.signature.publicKey");
    let mut v = hashedrekord(&sig, &pem, "sha256", &digest);
    v["spec"] = json!("nope");
    assert_eq!(field_of(canon(&v).unwrap_err()), "spec");
}

#[test]
fn ed25519_hashedrekord_is_ed25519ph_only() {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let pem = sk
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let digest = sha2::Sha512::digest(b"m");
    let mut prehash = sha2::Sha512::new();
    prehash.update(b"m");
    let sig = sk.sign_prehashed(prehash, None).unwrap().to_bytes();
    canon(&hashedrekord(&sig, &pem, "sha512", &hex::encode(digest))).unwrap();
    let sha256 = hex::encode(Sha256::digest(b"m"));
    assert!(matches!(
        canon(&hashedrekord(&sig, &pem, "sha256", &sha256)),
        Err(EntryError::AlgorithmNotAllowed(_))
    ));
}

// ── dispatch ───────────────────────────────────────────────────────────────

#[test]
fn dispatch_errors() {
    assert!(matches!(
        canonicalize_proposed(b"{"),
        Err(EntryError::MalformedJson(_))
    ));
    assert!(matches!(
        canonicalize_proposed(b"[1]"),
        Err(EntryError::MalformedJson(_))
    ));
    assert_eq!(
        canon(&json!({"apiVersion": "0.0.1", "kind": "rekord", "spec": {}})),
        Err(EntryError::UnsupportedKind {
            kind: "rekord".into(),
            version: "0.0.1".into()
        })
    );
    assert_eq!(
        canon(&json!({"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {}}))
            .unwrap_err()
            .to_string(),
        "unsupported entry kind hashedrekord version 0.0.2"
    );
    assert_eq!(
        canon(&json!({"apiVersion": "0.0.1", "kind": "intoto", "spec": {}})),
        Err(EntryError::UnsupportedKind {
            kind: "intoto".into(),
            version: "0.0.1".into()
        })
    );
    assert_eq!(
        field_of(canon(&json!({"apiVersion": "0.0.1", "spec": {}})).unwrap_err()),
        "kind"
    );
    assert_eq!(
        field_of(canon(&json!({"kind": "dsse", "spec": {}})).unwrap_err()),
        "apiVersion"
    );
    assert_eq!(
        field_of(canon(&json!({"kind": "dsse", "apiVersion": "0.0.1"})).unwrap_err()),
        "spec"
    );
    assert_eq!(EntryKind::HashedRekord.name(), "hashedrekord");
    assert_eq!(EntryKind::Dsse.name(), "dsse");
}
