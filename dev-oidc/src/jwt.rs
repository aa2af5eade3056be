//! Compact-serialised JWS tokens (RFC 7515 §7.1) carrying JWT claims
//! (RFC 7519), and the JWK (RFC 7517 §4, RFC 7518 §6.2) that verifies an
//! ES256 one. The development issuer mints with these, and every test that
//! needs a token, a forged one or a JWKS builds it here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use shared::keys::EcdsaP256Signer;

/// `header.claims.signature`, each part base64url without padding; `sign`
/// gets the signing input (`header.claims`) and returns the raw signature.
pub fn encode(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An ES256 JWT (`typ` JWT, key ID `kid`) over `claims`: the signature is
/// the fixed-width r‖s form RFC 7518 §3.4 requires, not DER.
pub fn es256(key: &EcdsaP256Signer, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    encode(&header, claims, |input| key.sign_fixed(input).to_vec())
}

/// The public JWK of an ES256 key, as a JWKS publishes it.
pub fn es256_jwk(key: &EcdsaP256Signer, kid: &str) -> Value {
    let (x, y) = key.public_xy();
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(x),
        "y": URL_SAFE_NO_PAD.encode(y),
        "kid": kid,
        "alg": "ES256",
        "use": "sig",
    })
}

/// The key ID the development issuer publishes for `key`: the first 8 bytes
/// of its Rekor-style log ID, in hex. Stable across restarts of one data
/// directory, since the key is.
pub fn dev_key_id(key: &EcdsaP256Signer) -> String {
    hex::encode(&key.log_id().0[..8])
}

/// Seconds since the Unix epoch, the unit of `iat`, `nbf` and `exp`.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The parts of a compact JWS, decoded: header and claims as JSON, and the
/// raw signature.
pub fn decode(token: &str) -> anyhow::Result<(Value, Value, Vec<u8>)> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        anyhow::bail!("a compact JWS has three parts");
    };
    Ok((
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?,
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims)?)?,
        URL_SAFE_NO_PAD.decode(signature)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_tokens_verify_with_their_jwk_key_and_not_after_tampering() {
        let key = EcdsaP256Signer::generate();
        let token = es256(&key, "k1", &json!({"sub": "alice"}));
        let (header, claims, signature) = decode(&token).unwrap();
        assert_eq!(header, json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}));
        assert_eq!(claims["sub"], "alice");
        assert_eq!(signature.len(), 64, "r‖s, not DER");

        let input = token.rsplit_once('.').unwrap().0;
        let der = p256::ecdsa::Signature::from_slice(&signature)
            .unwrap()
            .to_der();
        key.public_key()
            .verify(input.as_bytes(), der.as_bytes())
            .unwrap();
        let forged = input.replace('.', ".e30");
        assert!(key
            .public_key()
            .verify(forged.as_bytes(), der.as_bytes())
            .is_err());

        let jwk = es256_jwk(&key, "k1");
        let (x, y) = key.public_xy();
        assert_eq!(jwk["x"], URL_SAFE_NO_PAD.encode(x));
        assert_eq!(jwk["y"], URL_SAFE_NO_PAD.encode(y));
        assert_eq!(jwk["kid"], "k1");
    }

    #[test]
    fn decode_refuses_what_is_not_three_parts() {
        assert!(decode("a.b").is_err());
        assert!(decode("a.b.c.d").is_err());
    }
}
