use super::*;
use spki::EncodePublicKey;
use std::sync::OnceLock;

/// One RSA-2048 key for every test: generation is slow in debug builds.
pub(crate) fn rsa_key() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap())
}

fn spki_of(key: &impl EncodePublicKey) -> Vec<u8> {
    key.to_public_key_der().unwrap().into_vec()
}

/// The P-256 log key of the certificate-transparency test data
/// (ct-server-key-public.pem), published with a known log ID.
const CT_TEST_LOG_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmXg8sUUzwBYaWrRb+V0IopzQ6o3U\n\
    yEJ04r5ZrRXGdpYM8K+hB0pXrGRLI0eeWz+3skXrS0IO83AhA3GpRL6s6w==\n\
    -----END PUBLIC KEY-----\n";

#[test]
fn signer_pkcs8_pem_round_trip() {
    let signer = EcdsaP256Signer::generate();
    let pem = signer.to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let again = EcdsaP256Signer::from_pem(&pem).unwrap();
    assert_eq!(again.public_spki_der(), signer.public_spki_der());
    assert_eq!(again.log_id(), signer.log_id());
    // A signature by the re-parsed key verifies under the original public key.
    let sig = again.sign(b"hello");
    signer.public_key().verify(b"hello", &sig).unwrap();
}

#[test]
fn signer_accepts_sec1_pem() {
    let signer = EcdsaP256Signer::generate();
    let secret = p256::SecretKey::from(&signer.key);
    let sec1 = secret.to_sec1_der().unwrap();
    let pem = pem_encode("EC PRIVATE KEY", &sec1);
    let again = EcdsaP256Signer::from_pem(&pem).unwrap();
    assert_eq!(again.log_id(), signer.log_id());
}

#[test]
fn signer_rejects_other_keys() {
    let p384 = p384::SecretKey::random(&mut rand_core::OsRng);
    let der = p384.to_pkcs8_der().unwrap();
    assert!(matches!(
        EcdsaP256Signer::from_pkcs8_der(der.as_bytes()),
        Err(KeyError::MalformedKey(_))
    ));
    assert!(matches!(
        EcdsaP256Signer::from_pem("-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"),
        Err(KeyError::MalformedPem(_))
    ));
}

#[test]
fn spki_der_has_p256_prefix_and_round_trips() {
    let signer = EcdsaP256Signer::generate();
    let der = signer.public_spki_der();
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 0x04… }
    let prefix = hex::decode("3059301306072a8648ce3d020106082a8648ce3d03010703420004").unwrap();
    assert_eq!(der.len(), 91);
    assert_eq!(&der[..prefix.len()], &prefix[..]);
    let key = PublicKey::from_spki_der(&der).unwrap();
    assert!(matches!(key, PublicKey::EcdsaP256(_)));
    assert_eq!(key.to_spki_der(), der);
    let (x, y) = signer.public_xy();
    assert_eq!(&der[27..59], &x);
    assert_eq!(&der[59..91], &y);
    // PEM form parses back to the same key.
    assert_eq!(
        PublicKey::from_pem(signer.public_pem().as_bytes()).unwrap(),
        key
    );
}

#[test]
fn log_id_of_known_key() {
    let key = PublicKey::from_pem(CT_TEST_LOG_KEY_PEM.as_bytes()).unwrap();
    let id = key.log_id();
    // The log ID printed in the RFC 6962 test data's SCTs.
    assert_eq!(
        id.to_hex(),
        "df1c2ec11500945247a96168325ddc5c7959e8f7c6d388fc002e0bbd3f74d764"
    );
    assert_eq!(id.key_hint(), [0xdf, 0x1c, 0x2e, 0xc1]);
    assert_eq!(
        id.to_base64(),
        "3xwuwRUAlFJHqWFoMl3cXHlZ6PfG04j8AC4LvT9012Q="
    );
    assert_eq!(LogId::from_spki_der(&key.to_spki_der()), id);
}

#[test]
fn p256_verify_and_verify_digest() {
    let signer = EcdsaP256Signer::generate();
    let key = signer.public_key();
    let sig = signer.sign(b"message");
    key.verify(b"message", &sig).unwrap();
    assert_eq!(key.verify(b"messagf", &sig), Err(KeyError::BadSignature));
    let digest = HashAlgorithm::Sha256.digest(b"message");
    key.verify_digest(HashAlgorithm::Sha256, &digest, &sig)
        .unwrap();
    assert_eq!(
        key.verify_digest(HashAlgorithm::Sha384, &digest, &sig),
        Err(KeyError::MalformedDigest(
            "a sha384 digest is 48 bytes, got 32".into()
        ))
    );
    // A fixed-size (JWS) signature is not DER and is refused.
    let fixed = signer.sign_fixed(b"message");
    assert_eq!(key.verify(b"message", &fixed), Err(KeyError::BadSignature));
    let parsed = p256::ecdsa::Signature::from_slice(&fixed).unwrap();
    key.verify(b"message", parsed.to_der().as_bytes()).unwrap();
}

#[test]
fn p384_natural_hash_and_prehash() {
    let sk = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let key = PublicKey::from_spki_der(&spki_of(sk.verifying_key())).unwrap();
    assert_eq!(key.natural_hash(), Some(HashAlgorithm::Sha384));
    let sig: p384::ecdsa::Signature = sk.sign(b"msg");
    key.verify(b"msg", sig.to_der().as_bytes()).unwrap();
    assert_eq!(
        key.verify(b"msh", sig.to_der().as_bytes()),
        Err(KeyError::BadSignature)
    );
    // Prehash with SHA-256 (hashedrekord allows any listed hash).
    let digest = HashAlgorithm::Sha256.digest(b"msg");
    let sig: p384::ecdsa::Signature =
        signature::hazmat::PrehashSigner::sign_prehash(&sk, &digest).unwrap();
    key.verify_digest(HashAlgorithm::Sha256, &digest, sig.to_der().as_bytes())
        .unwrap();
    let other = HashAlgorithm::Sha256.digest(b"other");
    assert_eq!(
        key.verify_digest(HashAlgorithm::Sha256, &other, sig.to_der().as_bytes()),
        Err(KeyError::BadSignature)
    );
}

#[test]
fn p521_natural_hash_and_prehash() {
    let sk = p521::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let vk = p521::ecdsa::VerifyingKey::from(&sk);
    let spki = p521::PublicKey::from_affine(*vk.as_affine())
        .unwrap()
        .to_public_key_der()
        .unwrap()
        .into_vec();
    let key = PublicKey::from_spki_der(&spki).unwrap();
    assert_eq!(key.to_spki_der(), spki);
    assert_eq!(key.natural_hash(), Some(HashAlgorithm::Sha512));
    let sig: p521::ecdsa::Signature = sk.sign(b"msg");
    let der = sig.to_der();
    key.verify(b"msg", der.as_bytes()).unwrap();
    assert_eq!(
        key.verify(b"msG", der.as_bytes()),
        Err(KeyError::BadSignature)
    );
    let digest = HashAlgorithm::Sha512.digest(b"msg");
    key.verify_digest(HashAlgorithm::Sha512, &digest, der.as_bytes())
        .unwrap();
}

#[test]
fn rsa_pkcs1v15_verify_and_digest() {
    let sk = rsa_key();
    let key = PublicKey::from_spki_der(&spki_of(&sk.to_public_key())).unwrap();
    assert_eq!(key.natural_hash(), Some(HashAlgorithm::Sha256));
    let digest = Sha256::digest(b"msg");
    let sig = sk
        .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest)
        .unwrap();
    key.verify(b"msg", &sig).unwrap();
    assert_eq!(key.verify(b"msh", &sig), Err(KeyError::BadSignature));
    key.verify_digest(HashAlgorithm::Sha256, &digest, &sig)
        .unwrap();

    let digest512 = Sha512::digest(b"msg");
    let sig512 = sk
        .sign(rsa::Pkcs1v15Sign::new::<Sha512>(), &digest512)
        .unwrap();
    key.verify_digest(HashAlgorithm::Sha512, &digest512, &sig512)
        .unwrap();
    // The DigestInfo names the hash, so a SHA-512 signature is not a SHA-256 one.
    assert_eq!(key.verify(b"msg", &sig512), Err(KeyError::BadSignature));
}

#[test]
fn rsa_policy_rejects_small_keys_and_odd_exponents() {
    use rsa::traits::PublicKeyParts as _;
    let small = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
    let err = PublicKey::from_spki_der(&spki_of(&small.to_public_key())).unwrap_err();
    assert_eq!(
        err,
        KeyError::UnsupportedKey("RSA key of 1024 bits is too small (minimum 2048)".into())
    );
    let e3 = rsa::RsaPublicKey::new(rsa_key().n().clone(), rsa::BigUint::from(3u32)).unwrap();
    let err = PublicKey::from_spki_der(&spki_of(&e3)).unwrap_err();
    assert_eq!(
        err,
        KeyError::UnsupportedKey("RSA public exponent 3 is not allowed (only 65537)".into())
    );
}

#[test]
fn ed25519_pure_and_prehashed() {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let key = PublicKey::from_spki_der(&spki_of(&sk.verifying_key())).unwrap();
    assert_eq!(key.natural_hash(), None);
    let sig = sk.sign(b"msg").to_bytes();
    key.verify(b"msg", &sig).unwrap();
    assert_eq!(key.verify(b"msh", &sig), Err(KeyError::BadSignature));

    let mut hasher = Sha512::new();
    hasher.update(b"msg");
    let ph_sig = sk.sign_prehashed(hasher, None).unwrap().to_bytes();
    let digest = Sha512::digest(b"msg");
    key.verify_digest(HashAlgorithm::Sha512, &digest, &ph_sig)
        .unwrap();
    // Ed25519ph and pure Ed25519 signatures are not interchangeable.
    assert_eq!(
        key.verify_digest(HashAlgorithm::Sha512, &digest, &sig),
        Err(KeyError::BadSignature)
    );
    assert_eq!(
        key.verify_digest(HashAlgorithm::Sha256, &Sha256::digest(b"msg"), &ph_sig),
        Err(KeyError::DigestNotAllowed("sha256".into()))
    );
}

#[test]
fn unsupported_curve_and_algorithm() {
    // secp256k1 SPKI (RFC 5480 form, curve OID 1.3.132.0.10).
    let k1 = hex::decode(
        "3056301006072a8648ce3d020106052b8104000a03420004\
         79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\
         483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
    )
    .unwrap();
    assert_eq!(
        PublicKey::from_spki_der(&k1).unwrap_err(),
        KeyError::UnsupportedKey(
            "elliptic curve 1.3.132.0.10 (only P-256, P-384 and P-521 are allowed)".into()
        )
    );
    // X25519 (RFC 8410 id-X25519 1.3.101.110).
    let x25519 = hex::decode(
        "302a300506032b656e032100\
         0000000000000000000000000000000000000000000000000000000000000009",
    )
    .unwrap();
    assert!(matches!(
        PublicKey::from_spki_der(&x25519),
        Err(KeyError::UnsupportedKey(m)) if m.contains("1.3.101.110")
    ));
    assert!(matches!(
        PublicKey::from_spki_der(b"\x30\x00"),
        Err(KeyError::MalformedKey(_))
    ));
}

#[test]
fn from_pem_or_der_accepts_all_forms() {
    let signer = EcdsaP256Signer::generate();
    let der = signer.public_spki_der();
    let expected = signer.public_key();
    assert_eq!(PublicKey::from_pem_or_der(&der).unwrap(), expected);
    assert_eq!(
        PublicKey::from_pem_or_der(signer.public_pem().as_bytes()).unwrap(),
        expected
    );
    // CRLF line endings and surrounding text are tolerated.
    let crlf = format!("junk\r\n{}", signer.public_pem().replace('\n', "\r\n"));
    assert_eq!(
        PublicKey::from_pem_or_der(crlf.as_bytes()).unwrap(),
        expected
    );
    assert!(PublicKey::from_pem_or_der(b"not a key").is_err());
}

#[test]
fn from_pem_takes_first_certificate_key() {
    let ca = crate::ct::tests::TestCa::new("CN=keys test");
    let leaf_key = EcdsaP256Signer::generate();
    let leaf = ca.issue(&leaf_key, &[]);
    let chain = format!(
        "{}{}",
        pem_encode("CERTIFICATE", &leaf),
        pem_encode("CERTIFICATE", &ca.cert_der)
    );
    let key = PublicKey::from_pem(chain.as_bytes()).unwrap();
    assert_eq!(key, leaf_key.public_key());
    // DER certificates are accepted by from_pem_or_der too.
    assert_eq!(
        PublicKey::from_pem_or_der(&leaf).unwrap(),
        leaf_key.public_key()
    );
}

#[test]
fn from_pem_applies_policy_to_certificate_keys() {
    // The RFC 6962 test CA (certificate-transparency test data) has an RSA-1024 key.
    let err = PublicKey::from_pem(crate::ct::tests::CT_TEST_CA_PEM.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        KeyError::UnsupportedKey("RSA key of 1024 bits is too small (minimum 2048)".into())
    );
}

#[test]
fn pem_encode_wraps_at_64_columns() {
    let der: Vec<u8> = (0u8..=99).collect();
    let pem = pem_encode("TEST", &der);
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines[0], "-----BEGIN TEST-----");
    // 100 bytes are 136 base64 characters: 64 + 64 + 8.
    assert_eq!(lines[1].len(), 64);
    assert_eq!(lines[2].len(), 64);
    assert_eq!(lines[3].len(), 8);
    assert_eq!(lines[4], "-----END TEST-----");
    assert!(pem.ends_with("-----END TEST-----\n"));
    assert_eq!(
        pem_blocks(pem.as_bytes()).unwrap(),
        vec![("TEST".into(), der)]
    );
}

#[test]
fn pem_blocks_reports_errors() {
    assert_eq!(
        pem_blocks(b"nothing here"),
        Err(KeyError::MalformedPem("no PEM block found".into()))
    );
    assert!(matches!(
        pem_blocks(b"-----BEGIN A-----\nAAAA\n-----END B-----\n"),
        Err(KeyError::MalformedPem(m)) if m.contains("closed by END B")
    ));
    assert!(matches!(
        pem_blocks(b"-----BEGIN A-----\nAAAA\n"),
        Err(KeyError::MalformedPem(m)) if m.contains("without END")
    ));
    assert!(matches!(
        pem_blocks(b"-----BEGIN A-----\n!!!!\n-----END A-----\n"),
        Err(KeyError::MalformedPem(m)) if m.contains("base64")
    ));
    // A good block followed by an unterminated one is refused, not cut
    // short to the good block (what the `pem` crate does).
    let truncated = format!("{}-----BEGIN B-----\nAAAA\n", pem_encode("A", b"1"));
    assert!(matches!(
        pem_blocks(truncated.as_bytes()),
        Err(KeyError::MalformedPem(m)) if m.contains("BEGIN B without END")
    ));
    let two = format!("{}{}", pem_encode("A", b"1"), pem_encode("B", b"22"));
    assert_eq!(
        pem_blocks(two.as_bytes()).unwrap(),
        vec![("A".into(), b"1".to_vec()), ("B".into(), b"22".to_vec())]
    );
}

#[test]
fn hash_algorithm_names() {
    for alg in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        assert_eq!(HashAlgorithm::from_name(alg.name()), Some(alg));
        assert_eq!(alg.digest(b"abcd").len(), alg.len());
    }
    // Rekor's schema spells them in lower case only.
    assert_eq!(HashAlgorithm::from_name("SHA256"), None);
    assert_eq!(HashAlgorithm::from_name("sha1"), None);
    assert_eq!(
        hex::encode(HashAlgorithm::Sha256.digest(b"abcd")),
        "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
    );
}

#[test]
fn ring_signatures_and_rustcrypto_verification_agree() {
    // The signer signs with ring; RustCrypto must accept its DER and fixed
    // signatures, and ring-backed `verify` must accept RustCrypto's.
    let signer = EcdsaP256Signer::generate();
    let msg = b"checkpoint body\n";
    let PublicKey::EcdsaP256(vk) = signer.public_key() else {
        panic!("P-256 signer has a P-256 public key");
    };
    let der = p256::ecdsa::Signature::from_der(&signer.sign(msg)).unwrap();
    vk.verify(msg, &der).unwrap();
    let fixed = p256::ecdsa::Signature::from_slice(&signer.sign_fixed(msg)).unwrap();
    vk.verify(msg, &fixed).unwrap();
    assert!(vk.verify(b"other", &der).is_err());

    let rc_key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let rc_sig: p256::ecdsa::DerSignature = rc_key.sign(msg);
    let public = PublicKey::from_spki_der(
        rc_key
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    public.verify(msg, rc_sig.as_bytes()).unwrap();
    assert_eq!(
        public.verify(b"other", rc_sig.as_bytes()),
        Err(KeyError::BadSignature)
    );
    // A P-384 key verifies through ring as well.
    let p384_key = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let p384_sig: p384::ecdsa::DerSignature = p384_key.sign(msg);
    let p384_public = PublicKey::from_spki_der(
        p384_key
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    p384_public.verify(msg, p384_sig.as_bytes()).unwrap();
    assert!(p384_public.verify(b"other", p384_sig.as_bytes()).is_err());
}
