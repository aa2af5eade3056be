//! JWS compact serialization (RFC 7515 §7.1) of an OIDC ID token (OpenID
//! Connect Core §2) and the claim checks go-oidc makes for Fulcio: `aud`
//! contains the client id, `exp` without leeway, `nbf` with ±5 minutes.
//! Parsing here never trusts the token: the signature is checked in `jwk`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::Deserialize;

use super::TokenError;

/// Tokens longer than this are refused before any parsing (cf. GO-2025-4193).
pub(crate) const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// go-oidc's allowed clock skew, applied to `nbf` only.
const NBF_SKEW_SECS: f64 = 300.0;

/// base64url; JWS forbids padding but some encoders add it, and it is harmless.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The JWS algorithms accepted for ID tokens: go-oidc's set (RFC 7518 §3.1
/// plus RFC 8037 EdDSA). `none` and HMAC are refused: a public key must never
/// double as a shared secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JwsAlg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
    EdDsa,
}

impl JwsAlg {
    /// Every accepted algorithm, in go-oidc's order.
    pub(crate) const ALL: [Self; 10] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Es256,
        Self::Es384,
        Self::Es512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::EdDsa,
    ];

    pub(crate) fn parse(alg: &str) -> Result<Self, TokenError> {
        if let Some(known) = Self::ALL.into_iter().find(|a| a.as_str() == alg) {
            return Ok(known);
        }
        Err(if alg.eq_ignore_ascii_case("none") {
            TokenError::AlgNone
        } else if alg.starts_with("HS") {
            TokenError::Hmac(alg.to_owned())
        } else {
            TokenError::UnsupportedAlg(alg.to_owned())
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::EdDsa => "EdDSA",
        }
    }
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// A parsed but unverified token.
#[derive(Debug)]
pub(crate) struct UnverifiedJwt {
    pub(crate) alg: JwsAlg,
    pub(crate) kid: Option<String>,
    /// `base64url(header) . base64url(payload)`: what the signature covers.
    pub(crate) signing_input: String,
    pub(crate) signature: Vec<u8>,
    pub(crate) claims: Claims,
}

impl UnverifiedJwt {
    pub(crate) fn parse(token: &str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge(token.len()));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed(
                "not a JWS compact serialization (need three dot-separated parts)".into(),
            ));
        };
        let header: RawHeader = decode_json(header, "header")?;
        let alg = JwsAlg::parse(&header.alg)?;
        let claims: Claims = decode_json(payload, "payload")?;
        let signature = B64URL
            .decode(signature)
            .map_err(|e| TokenError::Malformed(format!("signature is not base64url: {e}")))?;
        Ok(Self {
            alg,
            kid: header.kid,
            signing_input: token[..header_len(token)].to_owned(),
            signature,
            claims,
        })
    }
}

/// Length of `header.payload` (everything before the last dot).
fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str, what: &str) -> Result<T, TokenError> {
    let bytes = B64URL
        .decode(part)
        .map_err(|e| TokenError::Malformed(format!("{what} is not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| TokenError::Malformed(format!("{what} is not the expected JSON: {e}")))
}

/// The claims every token must carry with their registered types (RFC 7519
/// §4.1, as go-oidc decodes them); `other` holds all claims.
#[derive(Clone, Debug)]
pub struct Claims {
    pub iss: String,
    pub sub: Option<String>,
    pub aud: Option<Audience>,
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    /// Every claim, `email` and `email_verified` included: those are read
    /// (leniently) only by the identity types that use them, so a token whose
    /// `email_verified` is `1` still works for, say, a GitHub issuer.
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The registered claims with the types go-oidc requires of them.
#[derive(Deserialize)]
struct RegisteredClaims {
    iss: String,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
}

impl<'de> Deserialize<'de> for Claims {
    /// One pass over the claims object, refusing duplicate names (which
    /// parsers disagree on), then the registered claims read from it.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let other = deserializer.deserialize_map(UniqueClaims)?;
        let registered = RegisteredClaims::deserialize(serde_json::Value::Object(other.clone()))
            .map_err(serde::de::Error::custom)?;
        Ok(Self {
            iss: registered.iss,
            sub: registered.sub,
            aud: registered.aud,
            exp: registered.exp,
            nbf: registered.nbf,
            iat: registered.iat,
            other,
        })
    }
}

/// A JSON object whose member names are all distinct.
struct UniqueClaims;

impl<'de> serde::de::Visitor<'de> for UniqueClaims {
    type Value = serde_json::Map<String, serde_json::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut claims = serde_json::Map::new();
        while let Some((name, value)) = map.next_entry::<String, serde_json::Value>()? {
            if claims.contains_key(&name) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate claim {name:?}"
                )));
            }
            claims.insert(name, value);
        }
        Ok(claims)
    }
}

/// `aud`: one string or an array (RFC 7519 §4.1.3).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, client_id: &str) -> bool {
        match self {
            Self::One(aud) => aud == client_id,
            Self::Many(auds) => auds.iter().any(|aud| aud == client_id),
        }
    }
}

impl Claims {
    /// The time-independent and time-dependent checks after the signature verified.
    pub(crate) fn check(&self, client_id: &str, now: SystemTime) -> Result<(), TokenError> {
        match &self.aud {
            Some(aud) if aud.contains(client_id) => {}
            _ => return Err(TokenError::WrongAudience(client_id.to_owned())),
        }
        let now = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let exp = self.exp.ok_or(TokenError::MissingClaim("exp"))?;
        if exp < now {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = self.nbf {
            if nbf > now + NBF_SKEW_SECS {
                return Err(TokenError::NotYetValid);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A token whose signature is the bytes "sig": parsing does not check it.
    fn token(header: serde_json::Value, claims: serde_json::Value) -> String {
        test_support::jwt::encode(&header, &claims, |_| b"sig".to_vec())
    }

    fn claims(v: serde_json::Value) -> Claims {
        serde_json::from_value(v).unwrap()
    }

    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(NOW)
    }

    #[test]
    fn parses_header_claims_and_signing_input() {
        let t = token(
            json!({"alg":"ES256","kid":"k1","typ":"JWT"}),
            json!({"iss":"https://i","sub":"s","aud":"sigstore","exp":1,"custom":7}),
        );
        let jwt = UnverifiedJwt::parse(&t).unwrap();
        assert_eq!(jwt.alg, JwsAlg::Es256);
        assert_eq!(jwt.kid.as_deref(), Some("k1"));
        assert_eq!(jwt.signature, b"sig");
        assert_eq!(jwt.signing_input, t[..t.rfind('.').unwrap()]);
        assert_eq!(jwt.claims.iss, "https://i");
        assert_eq!(jwt.claims.other["custom"], 7);
    }

    #[test]
    fn refuses_none_hmac_and_unknown_algs() {
        let c = json!({"iss":"i"});
        for (alg, want) in [
            ("none", "alg none"),
            ("NONE", "alg none"),
            ("HS256", "HMAC"),
            ("HS512", "HMAC"),
            ("ES256K", "unsupported"),
            ("eddsa", "unsupported"),
            ("RS1", "unsupported"),
        ] {
            let err = UnverifiedJwt::parse(&token(json!({ "alg": alg }), c.clone())).unwrap_err();
            assert!(err.to_string().contains(want), "{alg}: {err}");
        }
    }

    #[test]
    fn accepts_every_go_oidc_alg() {
        for (alg, want) in [
            ("RS256", JwsAlg::Rs256),
            ("RS512", JwsAlg::Rs512),
            ("PS256", JwsAlg::Ps256),
            ("PS384", JwsAlg::Ps384),
            ("PS512", JwsAlg::Ps512),
            ("ES384", JwsAlg::Es384),
            ("ES512", JwsAlg::Es512),
            ("EdDSA", JwsAlg::EdDsa),
        ] {
            let jwt =
                UnverifiedJwt::parse(&token(json!({ "alg": alg }), json!({"iss":"i"}))).unwrap();
            assert_eq!(jwt.alg, want);
            assert_eq!(want.as_str(), alg);
        }
    }

    #[test]
    fn loosely_typed_private_claims_are_not_malformed() {
        // email and email_verified are private to the identity types that read them
        let t = token(
            json!({"alg":"ES256"}),
            json!({"iss":"i","sub":"s","email_verified":1,"email":{"x":1}}),
        );
        let jwt = UnverifiedJwt::parse(&t).unwrap();
        assert_eq!(jwt.claims.other["email_verified"], 1);
        // the registered claims keep their types
        let t = token(json!({"alg":"ES256"}), json!({"iss":"i","sub":7}));
        assert!(matches!(
            UnverifiedJwt::parse(&t),
            Err(TokenError::Malformed(_))
        ));
        // from_value fills `other` too
        let c = claims(json!({"iss":"i","x":[1]}));
        assert_eq!(c.other["x"], json!([1]));
    }

    #[test]
    fn refuses_malformed_tokens() {
        for t in ["", "a.b", "a.b.c.d", "!!.e30.e30", "e30.e30.e30"] {
            assert!(
                matches!(UnverifiedJwt::parse(t), Err(TokenError::Malformed(_))),
                "{t}"
            );
        }
        // claims without iss
        let t = token(json!({"alg":"ES256"}), json!({"sub":"x"}));
        assert!(matches!(
            UnverifiedJwt::parse(&t),
            Err(TokenError::Malformed(_))
        ));
        // duplicate claim names are refused, not resolved silently
        for dup in [r#"{"iss":"a","iss":"b"}"#, r#"{"iss":"a","x":1,"x":2}"#] {
            let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
            let t = format!("{}.{}.c2ln", b64(r#"{"alg":"ES256"}"#), b64(dup));
            assert!(matches!(
                UnverifiedJwt::parse(&t),
                Err(TokenError::Malformed(_))
            ));
        }
    }

    #[test]
    fn refuses_oversized_tokens() {
        let t = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(
            UnverifiedJwt::parse(&t),
            Err(TokenError::TooLarge(_))
        ));
    }

    #[test]
    fn audience_string_or_array() {
        let ok = claims(json!({"iss":"i","aud":["x","sigstore"],"exp":NOW + 60}));
        ok.check("sigstore", now()).unwrap();
        let ok = claims(json!({"iss":"i","aud":"sigstore","exp":NOW + 60}));
        ok.check("sigstore", now()).unwrap();
        for aud in [json!("other"), json!(["a", "b"]), json!([])] {
            let c = claims(json!({"iss":"i","aud":aud,"exp":NOW + 60}));
            assert!(matches!(
                c.check("sigstore", now()),
                Err(TokenError::WrongAudience(_))
            ));
        }
        let c = claims(json!({"iss":"i","exp":NOW + 60}));
        assert!(matches!(
            c.check("sigstore", now()),
            Err(TokenError::WrongAudience(_))
        ));
    }

    #[test]
    fn exp_has_no_leeway_nbf_has_five_minutes() {
        let c = |v| claims(v);
        let base = |exp: u64| json!({"iss":"i","aud":"sigstore","exp":exp});
        c(base(NOW)).check("sigstore", now()).unwrap();
        assert!(matches!(
            c(base(NOW - 1)).check("sigstore", now()),
            Err(TokenError::Expired)
        ));
        let c2 = c(json!({"iss":"i","aud":"sigstore"}));
        assert!(matches!(
            c2.check("sigstore", now()),
            Err(TokenError::MissingClaim("exp"))
        ));
        let nbf = |nbf: u64| json!({"iss":"i","aud":"sigstore","exp":NOW + 600,"nbf":nbf});
        c(nbf(NOW + 300)).check("sigstore", now()).unwrap();
        assert!(matches!(
            c(nbf(NOW + 301)).check("sigstore", now()),
            Err(TokenError::NotYetValid)
        ));
        // float exp is accepted, as go-oidc does
        c(json!({"iss":"i","aud":"sigstore","exp":1.7e9 + 10.5}))
            .check("sigstore", now())
            .unwrap();
    }
}
