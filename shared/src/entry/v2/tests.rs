//! Tests for Rekor v2 hashedrekord requests and the `TransparencyLogEntry`
//! answer; the helpers are shared with the dsse tests.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::pkcs8::EncodePublicKey as _;
use signature::hazmat::PrehashSigner as _;

use super::*;
use crate::ct::tests::{ext, TestCa};
use crate::keys::EcdsaP256Signer;

pub(super) fn b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

pub(super) fn canon(v: &Value) -> Result<CanonicalEntry, EntryError> {
    canonicalize_v2_request(&serde_json::to_vec(v).unwrap())
}

pub(super) fn body_str(e: &CanonicalEntry) -> String {
    String::from_utf8(e.body.clone()).unwrap()
}

/// The 400 message, as the server shows it after "invalid request: ".
pub(super) fn reason(v: &Value) -> String {
    canon(v).unwrap_err().to_string()
}

/// RSA keys of each permitted size, made once: generation is slow.
fn rsa(bits: usize) -> &'static rsa::RsaPrivateKey {
    static K3072: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    static K4096: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    let cell = match bits {
        2048 => return crate::keys::tests::rsa_key(),
        3072 => &K3072,
        4096 => &K4096,
        _ => panic!("no {bits}-bit test key"),
    };
    cell.get_or_init(|| rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).unwrap())
}

/// A client's signing key.
pub(super) enum Signer {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Rsa(&'static rsa::RsaPrivateKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl Signer {
    pub(super) fn p256() -> Self {
        Self::P256(p256::ecdsa::SigningKey::random(&mut rand_core::OsRng))
    }

    pub(super) fn p384() -> Self {
        Self::P384(p384::ecdsa::SigningKey::random(&mut rand_core::OsRng))
    }

    pub(super) fn ed25519(seed: u8) -> Self {
        Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    /// DER SubjectPublicKeyInfo.
    pub(super) fn spki(&self) -> Vec<u8> {
        match self {
            Self::P256(k) => k.verifying_key().to_public_key_der(),
            Self::P384(k) => k.verifying_key().to_public_key_der(),
            Self::P521(k) => {
                p521::PublicKey::from_affine(*p521::ecdsa::VerifyingKey::from(k).as_affine())
                    .unwrap()
                    .to_public_key_der()
            }
            Self::Rsa(k) => k.to_public_key().to_public_key_der(),
            Self::Ed25519(k) => k.verifying_key().to_public_key_der(),
        }
        .unwrap()
        .into_vec()
    }

    /// A signature over a digest made with `hash`: ECDSA (DER), RSA PKCS#1
    /// v1.5, or Ed25519ph.
    pub(super) fn sign_digest(&self, hash: HashAlgorithm, digest: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign_prehash(digest).unwrap();
                s.to_der().as_bytes().to_vec()
            }
            Self::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign_prehash(digest).unwrap();
                s.to_der().as_bytes().to_vec()
            }
            Self::P521(k) => {
                let s: p521::ecdsa::Signature = k.sign_prehash(digest).unwrap();
                s.to_der().as_bytes().to_vec()
            }
            Self::Rsa(k) => {
                let scheme = match hash {
                    HashAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    HashAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    HashAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                k.sign(scheme, digest).unwrap()
            }
            Self::Ed25519(k) => {
                let fixed = crate::keys::PrecomputedSha512(digest.try_into().unwrap());
                k.sign_prehashed(fixed, None).unwrap().to_bytes().to_vec()
            }
        }
    }
}

pub(super) fn key_verifier(spki: &[u8], details: &str) -> Value {
    json!({ "publicKey": { "rawBytes": b64(spki) }, "keyDetails": details })
}

fn request(digest: &[u8], sig: &[u8], verifier: Value) -> Value {
    json!({
        "hashedRekordRequestV002": {
            "digest": b64(digest),
            "signature": { "content": b64(sig), "verifier": verifier },
        },
    })
}

/// The stored body of a hashedrekord with a public key.
fn want_body(
    alg: &str,
    digest: &[u8],
    sig: &[u8],
    details: &str,
    member: &str,
    raw: &[u8],
) -> String {
    format!(
        r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"{alg}","digest":"{}"}},"signature":{{"content":"{}","verifier":{{"keyDetails":"{details}","{member}":{{"rawBytes":"{}"}}}}}}}}}}}}"#,
        b64(digest),
        b64(sig),
        b64(raw)
    )
}

/// A signed P-256 request: (request, digest, signature, SPKI).
fn p256_request() -> (Value, Vec<u8>, Vec<u8>, Vec<u8>) {
    let signer = Signer::p256();
    let digest = HashAlgorithm::Sha256.digest(b"artifact");
    let sig = signer.sign_digest(HashAlgorithm::Sha256, &digest);
    let spki = signer.spki();
    let req = request(
        &digest,
        &sig,
        key_verifier(&spki, "PKIX_ECDSA_P256_SHA_256"),
    );
    (req, digest, sig, spki)
}

// ── hashedrekord ───────────────────────────────────────────────────────────

/// The request and stored body of rekor-tiles' client guide (a P-256 key),
/// whose body was written when the spec member was `hashedRekordV0_0_2`.
#[test]
fn rekor_tiles_documented_entry_canonicalizes_byte_for_byte() {
    const DIGEST: &str = "dyj4ednYHjN4/zsjjBeeLahS9slp97Z67LTAVxjrjXw=";
    const SIG: &str = "MEQCIB+YPa9o3SN0sQ4uduGf+mZxwFfOhFZ0Cgy+p7Vt1o2SAiAPFDHqOAJLYmvtCWOsDyNY1H4V3zm4NEDYs3NyvHh1Pg==";
    const KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2slOf8eZcj2moW2t4UFj7vCL6QpDzkDqqSUmm4OJCVvIauKLxm0aGs3VMPPfauMPaMutn0/s3jg0rroFxoicyg==";
    const DOCUMENTED: &str = "eyJhcGlWZXJzaW9uIjoiMC4wLjIiLCJraW5kIjoiaGFzaGVkcmVrb3JkIiwic3BlYyI6eyJoYXNoZWRSZWtvcmRWMF8wXzIiOnsiZGF0YSI6eyJhbGdvcml0aG0iOiJTSEEyXzI1NiIsImRpZ2VzdCI6ImR5ajRlZG5ZSGpONC96c2pqQmVlTGFoUzlzbHA5N1o2N0xUQVZ4anJqWHc9In0sInNpZ25hdHVyZSI6eyJjb250ZW50IjoiTUVRQ0lCK1lQYTlvM1NOMHNRNHVkdUdmK21aeHdGZk9oRlowQ2d5K3A3VnQxbzJTQWlBUEZESHFPQUpMWW12dENXT3NEeU5ZMUg0VjN6bTRORURZczNOeXZIaDFQZz09IiwidmVyaWZpZXIiOnsia2V5RGV0YWlscyI6IlBLSVhfRUNEU0FfUDI1Nl9TSEFfMjU2IiwicHVibGljS2V5Ijp7InJhd0J5dGVzIjoiTUZrd0V3WUhLb1pJemowQ0FRWUlLb1pJemowREFRY0RRZ0FFMnNsT2Y4ZVpjajJtb1cydDRVRmo3dkNMNlFwRHprRHFxU1VtbTRPSkNWdklhdUtMeG0wYUdzM1ZNUFBmYXVNUGFNdXRuMC9zM2pnMHJyb0Z4b2ljeWc9PSJ9fX19fX0=";
    let documented = String::from_utf8(STANDARD.decode(DOCUMENTED).unwrap()).unwrap();
    let want = documented.replace("hashedRekordV0_0_2", "hashedRekordV002");

    // As rekor-tiles' client guide sends it with curl: proto field names.
    let req = format!(
        r#"{{ "hashedRekordRequestV002":{{ "digest":"{DIGEST}", "signature":{{ "content": "{SIG}", "verifier": {{ "key_details": "PKIX_ECDSA_P256_SHA_256", "public_key": {{ "raw_bytes": "{KEY}" }} }} }} }} }}"#
    );
    let e = canonicalize_v2_request(req.as_bytes()).unwrap();
    assert_eq!(e.kind, EntryKind::HashedRekord);
    assert_eq!(e.api_version, "0.0.2");
    assert_eq!(e.index, IndexKeys::default());
    assert_eq!(body_str(&e), want);
    // Resubmitting the same request gives the same leaf (a 409).
    assert_eq!(canonicalize_v2_request(req.as_bytes()).unwrap(), e);
}

#[test]
fn every_permitted_key_and_digest_pair_is_accepted() {
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    let cases = [
        (
            Signer::p256(),
            "PKIX_ECDSA_P256_SHA_256",
            Sha256,
            "SHA2_256",
        ),
        (
            Signer::p384(),
            "PKIX_ECDSA_P384_SHA_384",
            Sha384,
            "SHA2_384",
        ),
        (
            Signer::P521(p521::ecdsa::SigningKey::random(&mut rand_core::OsRng)),
            "PKIX_ECDSA_P521_SHA_512",
            Sha512,
            "SHA2_512",
        ),
        (
            Signer::Rsa(rsa(2048)),
            "PKIX_RSA_PKCS1V15_2048_SHA256",
            Sha256,
            "SHA2_256",
        ),
        (
            Signer::Rsa(rsa(3072)),
            "PKIX_RSA_PKCS1V15_3072_SHA256",
            Sha256,
            "SHA2_256",
        ),
        (
            Signer::Rsa(rsa(4096)),
            "PKIX_RSA_PKCS1V15_4096_SHA256",
            Sha256,
            "SHA2_256",
        ),
        (Signer::ed25519(7), "PKIX_ED25519_PH", Sha512, "SHA2_512"),
    ];
    for (signer, details, hash, alg) in cases {
        let digest = hash.digest(b"artifact");
        let sig = signer.sign_digest(hash, &digest);
        let spki = signer.spki();
        let e = canon(&request(&digest, &sig, key_verifier(&spki, details)))
            .unwrap_or_else(|err| panic!("{details}: {err}"));
        assert_eq!(
            body_str(&e),
            want_body(alg, &digest, &sig, details, "publicKey", &spki),
            "{details}"
        );
        // The same signature over another digest does not verify.
        let other = hash.digest(b"another artifact");
        assert!(
            matches!(
                canon(&request(&other, &sig, key_verifier(&spki, details))),
                Err(EntryError::BadSignature(_))
            ),
            "{details}"
        );
    }
}

#[test]
fn certificate_is_stored_as_sent_and_not_checked_for_chain_or_expiry() {
    // Issued by a CA nobody trusts, and expired since 2023.
    let ca = TestCa::new("CN=sigil test root");
    let leaf_key = EcdsaP256Signer::generate();
    let cert = ca.issue(&leaf_key, &[]);
    let digest = HashAlgorithm::Sha256.digest(b"artifact");
    let sig = leaf_key.sign(b"artifact");
    let verifier = json!({ "x509Certificate": { "rawBytes": b64(&cert) }, "keyDetails": "PKIX_ECDSA_P256_SHA_256" });
    let e = canon(&request(&digest, &sig, verifier)).unwrap();
    assert_eq!(
        body_str(&e),
        want_body(
            "SHA2_256",
            &digest,
            &sig,
            "PKIX_ECDSA_P256_SHA_256",
            "x509Certificate",
            &cert
        )
    );

    // A certificate sent as a public key, or the other way round, is refused.
    let as_key = key_verifier(&cert, "PKIX_ECDSA_P256_SHA_256");
    let m = reason(&request(&digest, &sig, as_key));
    assert!(
        m.starts_with(
            "invalid hashedRekordRequestV002.signature.verifier.publicKey.rawBytes: malformed key"
        ),
        "{m}"
    );
    let spki = leaf_key.public_spki_der();
    let as_cert = json!({ "x509Certificate": { "rawBytes": b64(&spki) }, "keyDetails": "PKIX_ECDSA_P256_SHA_256" });
    let m = reason(&request(&digest, &sig, as_cert));
    assert!(m.starts_with("invalid hashedRekordRequestV002.signature.verifier.x509Certificate.rawBytes: not a DER X.509 certificate"), "{m}");
}

#[test]
fn key_details_only_select_the_hash() {
    // As upstream: the pair (actual key, hash of keyDetails) is what is
    // checked, so a P-256 key named PKIX_ECDSA_P384_SHA_256 passes, and
    // keyDetails is stored as sent.
    let (_, digest, sig, spki) = p256_request();
    let e = canon(&request(
        &digest,
        &sig,
        key_verifier(&spki, "PKIX_ECDSA_P384_SHA_256"),
    ))
    .unwrap();
    assert!(body_str(&e).contains(r#""keyDetails":"PKIX_ECDSA_P384_SHA_256""#));
    // An enum number is read, and stored by name, as protojson writes enums.
    let mut verifier = key_verifier(&spki, "");
    verifier["keyDetails"] = json!(5);
    let by_number = canon(&request(&digest, &sig, verifier)).unwrap();
    assert_eq!(
        body_str(&by_number),
        want_body(
            "SHA2_256",
            &digest,
            &sig,
            "PKIX_ECDSA_P256_SHA_256",
            "publicKey",
            &spki
        )
    );
    // RSA: only the modulus size and SHA-256 matter; PSS names are checked as PKCS#1 v1.5.
    let rsa = Signer::Rsa(rsa(2048));
    let sig = rsa.sign_digest(HashAlgorithm::Sha256, &digest);
    for details in ["PKIX_RSA_PKCS1V15_4096_SHA256", "PKIX_RSA_PSS_2048_SHA256"] {
        canon(&request(&digest, &sig, key_verifier(&rsa.spki(), details))).unwrap();
    }
    let m = reason(&request(
        &HashAlgorithm::Sha256.digest(b"x"),
        &sig,
        key_verifier(&rsa.spki(), "PKIX_RSA_PSS_2048_SHA256"),
    ));
    assert!(m.contains("checked as PKCS#1 v1.5"), "{m}");
}

#[test]
fn algorithm_refusals_say_what_is_wrong() {
    let (_, digest, sig, spki) = p256_request();
    // A P-256 key with a SHA-384 keyDetails (the digest length is right for it).
    let d384 = HashAlgorithm::Sha384.digest(b"artifact");
    assert_eq!(
        reason(&request(&d384, &sig, key_verifier(&spki, "PKIX_ECDSA_P384_SHA_384"))),
        "entry algorithms are not allowed: ECDSA P-256 key with a sha384 digest (keyDetails PKIX_ECDSA_P384_SHA_384)"
    );
    // A digest of the wrong length for keyDetails' hash.
    let p384 = Signer::p384();
    assert_eq!(
        reason(&request(&digest, &sig, key_verifier(&p384.spki(), "PKIX_ECDSA_P384_SHA_384"))),
        "invalid hashedRekordRequestV002.digest: 32 bytes, but PKIX_ECDSA_P384_SHA_384 signs a 48-byte SHA2_384 digest"
    );
    // Pure Ed25519 signs no digest.
    let ed = Signer::ed25519(3);
    let d512 = HashAlgorithm::Sha512.digest(b"artifact");
    let ed_sig = ed.sign_digest(HashAlgorithm::Sha512, &d512);
    assert_eq!(
        reason(&request(&d512, &ed_sig, key_verifier(&ed.spki(), "PKIX_ED25519"))),
        "entry algorithms are not allowed: PKIX_ED25519 is pure Ed25519, which signs messages, not digests; a hashedrekord needs PKIX_ED25519_PH"
    );
    // Known but not permitted: P-384 with SHA-256.
    let p384_sig = p384.sign_digest(HashAlgorithm::Sha256, &digest);
    assert!(matches!(
        canon(&request(
            &digest,
            &p384_sig,
            key_verifier(&p384.spki(), "PKIX_ECDSA_P384_SHA_256")
        )),
        Err(EntryError::AlgorithmNotAllowed(_))
    ));
    // Unknown, deprecated and unspecified names.
    for details in [
        json!("PKIX_ECDSA_P256_SHA_512"),
        json!("PKCS1_RSA_PKCS1V5"),
        json!(14),
        json!(true),
    ] {
        let mut v = key_verifier(&spki, "");
        v["keyDetails"] = details.clone();
        let m = reason(&request(&digest, &sig, v));
        assert!(
            m.starts_with("invalid hashedRekordRequestV002.signature.verifier.keyDetails: "),
            "{details}: {m}"
        );
    }
    for missing in [
        json!("PUBLIC_KEY_DETAILS_UNSPECIFIED"),
        json!(0),
        Value::Null,
    ] {
        let mut v = key_verifier(&spki, "");
        v["keyDetails"] = missing;
        assert_eq!(
            reason(&request(&digest, &sig, v)),
            "invalid hashedRekordRequestV002.signature.verifier.keyDetails: missing"
        );
    }
}

#[test]
fn malformed_requests_are_refused_with_the_field() {
    let (req, digest, sig, spki) = p256_request();
    let with = |path: &[&str], value: Value| {
        let mut v = req.clone();
        let mut at = &mut v;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        reason(&v)
    };
    let hr = "hashedRekordRequestV002";
    // Unknown fields, at the top and inside.
    let m = with(&["extra"], json!(1));
    assert!(
        m.starts_with("malformed JSON: unknown field `extra`"),
        "{m}"
    );
    let m = with(
        &[hr, "signature", "verifier", "publicKey", "der"],
        json!("AA=="),
    );
    assert!(m.starts_with("malformed JSON: unknown field `der`"), "{m}");
    // Both kinds of verifier.
    assert_eq!(
        with(&[hr, "signature", "verifier", "x509Certificate"], json!({ "rawBytes": b64(&spki) })),
        "invalid hashedRekordRequestV002.signature.verifier: holds both publicKey and x509Certificate; send one"
    );
    // The same field under both of its names.
    let m = with(
        &[hr, "signature", "verifier", "public_key"],
        json!({ "rawBytes": b64(&spki) }),
    );
    assert!(
        m.starts_with("malformed JSON: duplicate field `publicKey`"),
        "{m}"
    );
    // Missing or empty parts.
    assert_eq!(
        with(&[hr, "digest"], json!("")),
        "invalid hashedRekordRequestV002.digest: missing"
    );
    assert_eq!(
        with(&[hr, "digest"], Value::Null),
        "invalid hashedRekordRequestV002.digest: missing"
    );
    assert_eq!(
        with(&[hr, "signature", "content"], json!("")),
        "invalid hashedRekordRequestV002.signature.content: missing"
    );
    assert_eq!(
        with(
            &[hr, "signature", "verifier", "publicKey", "rawBytes"],
            json!("")
        ),
        "invalid hashedRekordRequestV002.signature.verifier.publicKey.rawBytes: missing"
    );
    assert_eq!(
        with(&[hr, "signature", "verifier", "publicKey"], Value::Null),
        "invalid hashedRekordRequestV002.signature.verifier: missing publicKey or x509Certificate"
    );
    assert_eq!(
        with(&[hr, "signature"], Value::Null),
        "invalid hashedRekordRequestV002.signature: missing"
    );
    assert_eq!(
        with(&[hr], json!({})),
        "invalid hashedRekordRequestV002.signature: missing"
    );
    assert_eq!(
        reason(&json!({})),
        "invalid request: missing hashedRekordRequestV002 (or dsseRequestV002)"
    );
    assert_eq!(
        with(&["dsseRequestV002"], json!({})),
        "invalid request: holds both hashedRekordRequestV002 and dsseRequestV002; send one"
    );
    // Not base64, or a string where bytes belong.
    let m = with(&[hr, "digest"], json!("%%%%"));
    assert!(
        m.starts_with("invalid hashedRekordRequestV002.digest: not valid base64"),
        "{m}"
    );
    let m = with(&[hr, "digest"], json!(12));
    assert!(
        m.starts_with("malformed JSON: invalid type: integer"),
        "{m}"
    );
    assert!(matches!(
        canonicalize_v2_request(b"[1]"),
        Err(EntryError::MalformedJson(_))
    ));
    assert!(matches!(
        canonicalize_v2_request(b"{"),
        Err(EntryError::MalformedJson(_))
    ));
    // A bad signature.
    let mut bad = sig;
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        canon(&request(
            &digest,
            &bad,
            key_verifier(&spki, "PKIX_ECDSA_P256_SHA_256")
        )),
        Err(EntryError::BadSignature(
            "signature verification failed".into()
        ))
    );
}

#[test]
fn field_names_and_base64_forms_give_the_same_body() {
    let (req, digest, sig, spki) = p256_request();
    let want = canon(&req).unwrap();
    // Proto field names throughout, URL-safe unpadded bytes, a line break.
    let mut wrapped = URL_SAFE_NO_PAD.encode(&spki);
    wrapped.insert(40, '\n');
    let proto = json!({
        "hashed_rekord_request_v002": {
            "digest": URL_SAFE_NO_PAD.encode(&digest),
            "signature": {
                "content": URL_SAFE_NO_PAD.encode(&sig),
                "verifier": { "key_details": "PKIX_ECDSA_P256_SHA_256", "public_key": { "raw_bytes": wrapped } },
            },
        },
    });
    assert_eq!(canon(&proto).unwrap(), want);
    // Standard alphabet without padding, and explicit nulls for absent fields.
    let unpadded = json!({
        "hashedRekordRequestV002": {
            "digest": STANDARD.encode(&digest).trim_end_matches('='),
            "signature": {
                "content": STANDARD.encode(&sig).trim_end_matches('='),
                "verifier": { "keyDetails": "PKIX_ECDSA_P256_SHA_256", "publicKey": { "rawBytes": b64(&spki) }, "x509Certificate": null },
            },
        },
        "dsseRequestV002": null,
    });
    assert_eq!(canon(&unpadded).unwrap(), want);
    // Padding in an unpadded-length string is refused, as by protojson.
    let mut v = req;
    v["hashedRekordRequestV002"]["digest"] = json!(format!("{}=", STANDARD.encode(&digest)));
    assert!(reason(&v).contains("not valid base64"));
}

#[test]
fn bodies_over_65535_bytes_are_refused() {
    let ca = TestCa::new("CN=sigil test root");
    let leaf_key = EcdsaP256Signer::generate();
    let digest = HashAlgorithm::Sha256.digest(b"artifact");
    let sig = leaf_key.sign(b"artifact");
    let private_oid = const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1");
    let with_padding = |n: usize| {
        let cert = ca.issue(&leaf_key, &[ext(private_oid, false, &vec![0u8; n])]);
        let verifier = json!({ "x509Certificate": { "rawBytes": b64(&cert) }, "keyDetails": "PKIX_ECDSA_P256_SHA_256" });
        canon(&request(&digest, &sig, verifier))
    };
    let e = with_padding(40_000).unwrap();
    assert!(e.body.len() > 50_000 && e.body.len() <= MAX_BODY_BYTES);
    let m = with_padding(50_000).unwrap_err().to_string();
    assert!(
        m.starts_with("invalid request: the logged entry would be 67"),
        "{m}"
    );
    assert!(
        m.ends_with("bytes; at most 65535 fit in a tile entry bundle"),
        "{m}"
    );
}

// ── The answer ─────────────────────────────────────────────────────────────

#[test]
fn transparency_log_entry_has_the_rekor_tiles_shape() {
    let hashes = [Hash([1; 32]), Hash([2; 32])];
    let tle = TransparencyLogEntry::new(
        645,
        [7; 32],
        "hashedrekord",
        "0.0.2",
        &Hash([9; 32]),
        646,
        &hashes,
        "log.example\n646\nCQkJ\n\n— log.example abcd\n".to_owned(),
        b"{}",
    );
    let k = b64([7; 32]);
    let r = b64([9; 32]);
    let (h1, h2) = (b64([1; 32]), b64([2; 32]));
    let want = format!(
        r#"{{"logIndex":"645","logId":{{"keyId":"{k}"}},"kindVersion":{{"kind":"hashedrekord","version":"0.0.2"}},"integratedTime":"0","inclusionPromise":null,"inclusionProof":{{"logIndex":"645","rootHash":"{r}","treeSize":"646","hashes":["{h1}","{h2}"],"checkpoint":{{"envelope":"log.example\n646\nCQkJ\n\n— log.example abcd\n"}}}},"canonicalizedBody":"e30="}}"#
    );
    assert_eq!(serde_json::to_string(&tle).unwrap(), want);
    assert_eq!(
        serde_json::from_str::<TransparencyLogEntry>(&want).unwrap(),
        tle
    );

    // The first entry of a one-entry tree: an empty, but present, proof.
    let first = TransparencyLogEntry::new(
        0,
        [7; 32],
        "dsse",
        "0.0.2",
        &Hash([9; 32]),
        1,
        &[],
        String::new(),
        b"{}",
    );
    let json = serde_json::to_string(&first).unwrap();
    assert!(json.contains(r#""logIndex":"0","rootHash""#), "{json}");
    assert!(
        json.contains(r#""treeSize":"1","hashes":[],"checkpoint""#),
        "{json}"
    );
}
