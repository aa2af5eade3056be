//! JWKs (RFC 7517) and JWS signers (RFC 7515, RFC 7518 §3) for the key
//! types the CA's token verification is tested with beyond the
//! development issuer's ES256 (`crate::jwt`): RSA keys signing RS256, and
//! P-256 keys held as `p256` keys, as the verifier's own unit tests hold
//! them. The JWKs carry only the key and its `kid`; a test adds `alg` or
//! `use` when that is what it tests. `rsa_fixture` and `p256_fixture` pair
//! a fixed key (`crate::keys`) with its JWK.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

/// The public JWK of an RSA key: `kty`, `kid`, `n`, `e`.
pub fn rsa_jwk(key: &rsa::RsaPublicKey, kid: &str) -> Value {
    use rsa::traits::PublicKeyParts as _;
    json!({
        "kty": "RSA",
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    })
}

/// The fixed RSA-2048 key ([`crate::keys::rsa2048`]) and its JWK under `kid`.
pub fn rsa_fixture(kid: &str) -> (rsa::RsaPrivateKey, Value) {
    let key = crate::keys::rsa2048();
    let jwk = rsa_jwk(&key.to_public_key(), kid);
    (key, jwk)
}

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over a JWS signing input.
pub fn rs256(key: &rsa::RsaPrivateKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    move |input| {
        rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone())
            .sign(input)
            .to_vec()
    }
}

/// The public JWK of a P-256 key: `kty`, `crv`, `kid`, `x`, `y`.
pub fn p256_jwk(key: &p256::ecdsa::VerifyingKey, kid: &str) -> Value {
    let point = key.to_encoded_point(false);
    let coordinate = |c: Option<&p256::FieldBytes>| {
        // An uncompressed point always has both coordinates.
        URL_SAFE_NO_PAD.encode(c.expect("uncompressed point"))
    };
    json!({
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "x": coordinate(point.x()),
        "y": coordinate(point.y()),
    })
}

/// The P-256 key of `seed` ([`crate::keys::p256`]) and its JWK under `kid`.
pub fn p256_fixture(seed: u8, kid: &str) -> (p256::ecdsa::SigningKey, Value) {
    let key = crate::keys::p256(seed);
    let jwk = p256_jwk(key.verifying_key(), kid);
    (key, jwk)
}

/// ES256 over a JWS signing input: the fixed-width r‖s form, not DER.
pub fn es256(key: &p256::ecdsa::SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    use p256::ecdsa::signature::Signer as _;
    move |input| {
        let signature: p256::ecdsa::Signature = key.sign(input);
        signature.to_vec()
    }
}
