//! JSON Web Keys (RFC 7517, RFC 7518 §6.2/§6.3, RFC 8037 §2 OKP) from an
//! issuer's JWKS and JWS signature verification (RFC 7518 §3.3
//! RSASSA-PKCS1-v1_5, §3.4 ECDSA with raw r‖s signatures, §3.5 RSASSA-PSS
//! with MGF1 and a salt as long as the hash; RFC 8037 §3.1 Ed25519). A key
//! only verifies the algorithms of its own type.

use base64::Engine;
use serde::Deserialize;
use signature::Verifier;

use super::jwt::JwsAlg;
use super::TokenError;

/// RSA keys shorter than this are not trusted for ID tokens.
const MIN_RSA_BITS: usize = 2048;

/// A verification key from a JWKS.
#[derive(Clone, Debug)]
pub(crate) struct Jwk {
    pub(crate) kid: Option<String>,
    /// The JWK's own `alg`, if it names one: then only that alg may use it.
    alg: Option<String>,
    key: JwkKey,
}

#[derive(Clone)]
enum JwkKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// p521's key type has no `Debug`; the key type is all a log needs.
impl std::fmt::Debug for JwkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa(_) => "RSA",
            Self::P256(_) => "EC P-256",
            Self::P384(_) => "EC P-384",
            Self::P521(_) => "EC P-521",
            Self::Ed25519(_) => "OKP Ed25519",
        })
    }
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// Parses a JWKS document. Keys of other types (oct, X25519…), encryption keys and
/// keys that do not parse are skipped, as go-jose does; an empty result is an error.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<Vec<Jwk>, String> {
    let raw: RawJwks =
        serde_json::from_slice(body).map_err(|e| format!("JWKS is not valid JSON: {e}"))?;
    let keys: Vec<Jwk> = raw
        .keys
        .into_iter()
        .filter_map(|v| serde_json::from_value::<RawJwk>(v).ok())
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| Jwk::from_raw(k).ok())
        .collect();
    if keys.is_empty() {
        return Err("JWKS has no usable signing key".into());
    }
    Ok(keys)
}

impl Jwk {
    fn from_raw(raw: RawJwk) -> Result<Self, String> {
        let b64 = |field: Option<&String>, name: &str| -> Result<Vec<u8>, String> {
            let field = field.ok_or_else(|| format!("missing {name}"))?;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(field.trim_end_matches('='))
                .map_err(|e| format!("{name}: {e}"))
        };
        let key = match (raw.kty.as_str(), raw.crv.as_deref()) {
            ("RSA", _) => {
                let n = rsa::BigUint::from_bytes_be(&b64(raw.n.as_ref(), "n")?);
                let e = rsa::BigUint::from_bytes_be(&b64(raw.e.as_ref(), "e")?);
                let key = rsa::RsaPublicKey::new(n, e).map_err(|e| e.to_string())?;
                if rsa::traits::PublicKeyParts::size(&key) * 8 < MIN_RSA_BITS {
                    return Err("RSA key too short".into());
                }
                JwkKey::Rsa(key)
            }
            ("EC", Some(crv @ "P-256")) => {
                let point = sec1_point(
                    &b64(raw.x.as_ref(), "x")?,
                    &b64(raw.y.as_ref(), "y")?,
                    32,
                    crv,
                )?;
                JwkKey::P256(
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                        .map_err(|e| e.to_string())?,
                )
            }
            ("EC", Some(crv @ "P-384")) => {
                let point = sec1_point(
                    &b64(raw.x.as_ref(), "x")?,
                    &b64(raw.y.as_ref(), "y")?,
                    48,
                    crv,
                )?;
                JwkKey::P384(
                    p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                        .map_err(|e| e.to_string())?,
                )
            }
            ("EC", Some(crv @ "P-521")) => {
                let point = sec1_point(
                    &b64(raw.x.as_ref(), "x")?,
                    &b64(raw.y.as_ref(), "y")?,
                    66,
                    crv,
                )?;
                JwkKey::P521(
                    p521::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                        .map_err(|e| e.to_string())?,
                )
            }
            ("OKP", Some("Ed25519")) => {
                let x: [u8; 32] = b64(raw.x.as_ref(), "x")?
                    .try_into()
                    .map_err(|_| "Ed25519 x must be 32 bytes")?;
                JwkKey::Ed25519(
                    ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|e| e.to_string())?,
                )
            }
            (kty, crv) => return Err(format!("unsupported key type {kty} {crv:?}")),
        };
        Ok(Self {
            kid: raw.kid,
            alg: raw.alg,
            key,
        })
    }

    /// Whether this key may verify `alg` at all (key type, curve and the JWK's own `alg`).
    pub(crate) fn fits(&self, alg: JwsAlg) -> bool {
        if self.alg.as_deref().is_some_and(|a| a != alg.as_str()) {
            return false;
        }
        matches!(
            (&self.key, alg),
            (
                JwkKey::Rsa(_),
                JwsAlg::Rs256
                    | JwsAlg::Rs384
                    | JwsAlg::Rs512
                    | JwsAlg::Ps256
                    | JwsAlg::Ps384
                    | JwsAlg::Ps512
            ) | (JwkKey::P256(_), JwsAlg::Es256)
                | (JwkKey::P384(_), JwsAlg::Es384)
                | (JwkKey::P521(_), JwsAlg::Es512)
                | (JwkKey::Ed25519(_), JwsAlg::EdDsa)
        )
    }

    /// Verifies a JWS signature; `alg` must fit this key.
    pub(crate) fn verify(&self, alg: JwsAlg, input: &[u8], sig: &[u8]) -> Result<(), TokenError> {
        if !self.fits(alg) {
            return Err(TokenError::AlgKeyMismatch(alg.as_str()));
        }
        let ok =
            match (&self.key, alg) {
                (JwkKey::Rsa(key), JwsAlg::Rs256) => rsa_verify::<sha2::Sha256>(key, input, sig),
                (JwkKey::Rsa(key), JwsAlg::Rs384) => rsa_verify::<sha2::Sha384>(key, input, sig),
                (JwkKey::Rsa(key), JwsAlg::Rs512) => rsa_verify::<sha2::Sha512>(key, input, sig),
                // ES256 is every token's check, so it goes through ring (fast).
                (JwkKey::P256(key), JwsAlg::Es256) => ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_FIXED,
                    key.to_encoded_point(false).as_bytes(),
                )
                .verify(input, sig)
                .is_ok(),
                (JwkKey::Rsa(key), JwsAlg::Ps256) => pss_verify::<sha2::Sha256>(key, input, sig),
                (JwkKey::Rsa(key), JwsAlg::Ps384) => pss_verify::<sha2::Sha384>(key, input, sig),
                (JwkKey::Rsa(key), JwsAlg::Ps512) => pss_verify::<sha2::Sha512>(key, input, sig),
                (JwkKey::P384(key), JwsAlg::Es384) => p384::ecdsa::Signature::from_slice(sig)
                    .is_ok_and(|s| key.verify(input, &s).is_ok()),
                (JwkKey::P521(key), JwsAlg::Es512) => p521::ecdsa::Signature::from_slice(sig)
                    .is_ok_and(|s| key.verify(input, &s).is_ok()),
                (JwkKey::Ed25519(key), JwsAlg::EdDsa) => ed25519_dalek::Signature::from_slice(sig)
                    .is_ok_and(|s| key.verify_strict(input, &s).is_ok()),
                _ => false,
            };
        if ok {
            Ok(())
        } else {
            Err(TokenError::BadSignature)
        }
    }
}

fn rsa_verify<D>(key: &rsa::RsaPublicKey, input: &[u8], sig: &[u8]) -> bool
where
    D: sha2::Digest + const_oid::AssociatedOid,
{
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig) else {
        return false;
    };
    rsa::pkcs1v15::VerifyingKey::<D>::new(key.clone())
        .verify(input, &sig)
        .is_ok()
}

/// RFC 7518 §3.5: MGF1 with the same hash, salt length = hash length.
fn pss_verify<D>(key: &rsa::RsaPublicKey, input: &[u8], sig: &[u8]) -> bool
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    let Ok(sig) = rsa::pss::Signature::try_from(sig) else {
        return false;
    };
    rsa::pss::VerifyingKey::<D>::new(key.clone())
        .verify(input, &sig)
        .is_ok()
}

/// The uncompressed SEC1 point `04 ‖ x ‖ y` of a JWK's coordinates, each
/// of which must be exactly `len` bytes (RFC 7518 §6.2.1.2).
fn sec1_point(x: &[u8], y: &[u8], len: usize, crv: &str) -> Result<Vec<u8>, String> {
    if x.len() != len || y.len() != len {
        return Err(format!("{crv} coordinates must be {len} bytes"));
    }
    Ok([&[0x04][..], x, y].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn es256_fixture() -> (p256::ecdsa::SigningKey, serde_json::Value) {
        let (sk, mut jwk) = test_support::jwk::p256_fixture(7, "ec");
        jwk["alg"] = json!("ES256");
        jwk["use"] = json!("sig");
        (sk, jwk)
    }

    #[test]
    fn es256_round_trip_and_refusals() {
        use signature::Signer;
        let (sk, jwk) = es256_fixture();
        let keys = parse_jwks(json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap();
        let key = &keys[0];
        assert_eq!(key.kid.as_deref(), Some("ec"));
        let sig: p256::ecdsa::Signature = sk.sign(b"input");
        key.verify(JwsAlg::Es256, b"input", &sig.to_bytes())
            .unwrap();
        // wrong message
        assert!(matches!(
            key.verify(JwsAlg::Es256, b"other", &sig.to_bytes()),
            Err(TokenError::BadSignature)
        ));
        // DER signatures are not JWS signatures
        assert!(key
            .verify(JwsAlg::Es256, b"input", sig.to_der().as_bytes())
            .is_err());
        // an EC key never verifies an RSA alg
        assert!(matches!(
            key.verify(JwsAlg::Rs256, b"input", &sig.to_bytes()),
            Err(TokenError::AlgKeyMismatch(_))
        ));
        assert!(!key.fits(JwsAlg::Es384));
    }

    #[test]
    fn jwk_alg_restricts_use() {
        let (_, mut jwk) = es256_fixture();
        jwk["alg"] = json!("ES384");
        // an ES384-labelled P-256 key fits nothing
        let keys = parse_jwks(json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap();
        assert!(!keys[0].fits(JwsAlg::Es256));
    }

    #[test]
    fn skips_unusable_keys() {
        let (_, jwk) = es256_fixture();
        let mut enc = jwk.clone();
        enc["use"] = json!("enc");
        let okp = json!({"kty":"OKP","crv":"Ed25519","x":"AA"}); // too short
        let bad = json!({"kty":"EC","crv":"P-256","x":"AA","y":"AA"});
        let keys = parse_jwks(
            json!({ "keys": [enc, okp, bad, jwk] })
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(keys.len(), 1);
        assert!(parse_jwks(br#"{"keys":[]}"#).is_err());
        assert!(parse_jwks(b"[]").is_err());
    }

    fn one_key(jwk: serde_json::Value) -> Jwk {
        let mut keys = parse_jwks(json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap();
        keys.remove(0)
    }

    #[test]
    fn ps256_and_ps512_verify_with_the_hash_length_salt() {
        use signature::{RandomizedSigner, SignatureEncoding};
        let (sk, jwk) = test_support::jwk::rsa_fixture("rsa");
        let key = one_key(jwk);
        let mut rng = rand_core::OsRng;
        let sig = rsa::pss::SigningKey::<sha2::Sha256>::new(sk.clone())
            .sign_with_rng(&mut rng, b"input")
            .to_vec();
        key.verify(JwsAlg::Ps256, b"input", &sig).unwrap();
        assert!(matches!(
            key.verify(JwsAlg::Ps256, b"other", &sig),
            Err(TokenError::BadSignature)
        ));
        // a PSS signature is not a PKCS#1 v1.5 one, nor PS384's
        assert!(key.verify(JwsAlg::Rs256, b"input", &sig).is_err());
        assert!(key.verify(JwsAlg::Ps384, b"input", &sig).is_err());
        let sig = rsa::pss::SigningKey::<sha2::Sha512>::new(sk)
            .sign_with_rng(&mut rng, b"input")
            .to_vec();
        key.verify(JwsAlg::Ps512, b"input", &sig).unwrap();
        assert!(!key.fits(JwsAlg::Es256));
    }

    #[test]
    fn es512_round_trip() {
        use signature::Signer;
        // a P-521 scalar's top byte is at most 0x01
        let mut scalar = [9u8; 66];
        scalar[0] = 0;
        let sk = p521::ecdsa::SigningKey::from_slice(&scalar).unwrap();
        let point = p521::ecdsa::VerifyingKey::from(&sk).to_encoded_point(false);
        let key = one_key(json!({"kty":"EC","crv":"P-521","alg":"ES512",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())}));
        let sig: p521::ecdsa::Signature = sk.sign(b"input");
        assert_eq!(sig.to_bytes().len(), 132);
        key.verify(JwsAlg::Es512, b"input", &sig.to_bytes())
            .unwrap();
        assert!(matches!(
            key.verify(JwsAlg::Es512, b"other", &sig.to_bytes()),
            Err(TokenError::BadSignature)
        ));
        assert!(!key.fits(JwsAlg::Es384));
        // short coordinates are not a P-521 key
        let bad = json!({"kty":"EC","crv":"P-521","x": b64(&[1; 65]), "y": b64(&[1; 65])});
        assert!(parse_jwks(json!({ "keys": [bad] }).to_string().as_bytes()).is_err());
    }

    #[test]
    fn eddsa_round_trip() {
        use signature::Signer;
        let sk = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let key = one_key(json!({"kty":"OKP","crv":"Ed25519","kid":"ed",
            "x": b64(sk.verifying_key().as_bytes())}));
        let sig = sk.sign(b"input").to_bytes();
        key.verify(JwsAlg::EdDsa, b"input", &sig).unwrap();
        assert!(matches!(
            key.verify(JwsAlg::EdDsa, b"other", &sig),
            Err(TokenError::BadSignature)
        ));
        assert!(matches!(
            key.verify(JwsAlg::Es256, b"input", &sig),
            Err(TokenError::AlgKeyMismatch(_))
        ));
        // X25519 is an encryption curve, never a signing key
        let x = json!({"kty":"OKP","crv":"X25519","x": b64(&[1; 32])});
        assert!(parse_jwks(json!({ "keys": [x] }).to_string().as_bytes()).is_err());
    }

    #[test]
    fn short_rsa_keys_are_skipped() {
        let n = b64(&[0xff; 128]); // 1024-bit modulus
        let jwk = json!({"kty":"RSA","n":n,"e":"AQAB"});
        assert!(parse_jwks(json!({ "keys": [jwk] }).to_string().as_bytes()).is_err());
    }
}
