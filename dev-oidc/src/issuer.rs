//! The development OIDC issuer of `sigil dev`: an OpenID Connect Discovery
//! 1.0 document and a JWKS (RFC 7517) serving one ES256 key, and the minting
//! of ES256 JWTs (RFC 7515/7519) shaped like the tokens real issuers give CI
//! systems and users. The CA trusts it through discovery and JWKS over HTTP
//! like any other issuer; nothing here is a shortcut.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use shared::keys::EcdsaP256Signer;

use crate::jwt;

/// The audience every Sigstore client asks for.
pub const AUDIENCE: &str = "sigstore";
/// How long a minted token is valid.
pub const TOKEN_LIFETIME_SECS: i64 = 600;

/// One development issuer: its URL and signing key.
#[derive(Clone)]
pub struct DevIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    key: EcdsaP256Signer,
    kid: String,
}

/// Whom a token names.
pub enum Identity<'a> {
    Email(&'a str),
    Subject(&'a str),
}

impl DevIssuer {
    pub fn new(url: &str, key: EcdsaP256Signer) -> Self {
        let kid = jwt::dev_key_id(&key);
        Self {
            inner: Arc::new(Inner {
                url: url.trim_end_matches('/').to_owned(),
                key,
                kid,
            }),
        }
    }

    /// Discovery document, JWKS, the login endpoints' refusals and `/healthz`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/jwks.json", get(jwks))
            .route("/auth", get(no_interactive_login))
            .route("/token", post(no_interactive_login))
            .route("/healthz", get(|| async { "ok" }))
            .with_state(self.clone())
    }

    /// A signed ES256 JWT for `identity`, valid from `now` for ten minutes.
    pub fn mint(&self, identity: &Identity<'_>, now: i64) -> String {
        let mut claims = json!({
            "iss": self.inner.url,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECS,
        });
        match identity {
            Identity::Email(email) => {
                claims["sub"] = json!(email);
                claims["email"] = json!(email);
                claims["email_verified"] = json!(true);
            }
            Identity::Subject(subject) => claims["sub"] = json!(subject),
        }
        jwt::es256(&self.inner.key, &self.inner.kid, &claims)
    }

    fn jwk(&self) -> Value {
        jwt::es256_jwk(&self.inner.key, &self.inner.kid)
    }
}

async fn discovery(State(issuer): State<DevIssuer>) -> Json<Value> {
    let url = &issuer.inner.url;
    // The fields OpenID Connect Discovery 1.0 §3 requires, plus the ones
    // real identity providers publish and clients read: sigstore-python
    // builds its `Issuer` from this document (OpenSSF model-signing does so
    // even when given a token) and refuses one without `token_endpoint`.
    // There is no interactive login here: tokens come from `sigil token`, and
    // both endpoints answer with RFC 6749 errors saying so.
    Json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/auth"),
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/.well-known/jwks.json"),
        "response_types_supported": ["code", "id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "email"],
        "token_endpoint_auth_methods_supported": ["none"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "email", "email_verified"],
    }))
}

/// `GET /auth` and `POST /token`: an RFC 6749 §4.1.2.1 / §5.2 error, since
/// the development issuer has no users to log in.
async fn no_interactive_login() -> (StatusCode, Json<Value>) {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": "unsupported_grant_type",
            "error_description": "the development issuer has no interactive login; \
                mint a token with `sigil token --email ADDRESS` and pass it to the client",
        })),
    )
}

async fn jwks(State(issuer): State<DevIssuer>) -> Json<Value> {
    Json(json!({ "keys": [issuer.jwk()] }))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::*;

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn email_token_has_the_claims_clients_and_the_ca_check() {
        let issuer = DevIssuer::new("http://localhost:5556/", EcdsaP256Signer::generate());
        let token = issuer.mint(&Identity::Email("alice@example.com"), 1_700_000_000);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], issuer.jwk()["kid"]);
        let claims = decode(parts[1]);
        assert_eq!(claims["iss"], "http://localhost:5556");
        assert_eq!(claims["aud"], "sigstore");
        assert_eq!(claims["sub"], "alice@example.com");
        assert_eq!(claims["email"], "alice@example.com");
        assert_eq!(claims["email_verified"], true);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            600
        );
        assert_eq!(claims["nbf"], claims["iat"]);
    }

    #[test]
    fn signature_verifies_with_the_published_key() {
        let key = EcdsaP256Signer::generate();
        let public = key.public_key();
        let issuer = DevIssuer::new("http://localhost:5556", key);
        let token = issuer.mint(
            &Identity::Subject("https://ci.example.com/job/1"),
            1_700_000_000,
        );
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig =
            p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
        public
            .verify(input.as_bytes(), sig.to_der().as_bytes())
            .unwrap();
        let claims = decode(input.split('.').nth(1).unwrap());
        assert_eq!(claims["sub"], "https://ci.example.com/job/1");
        assert!(claims.get("email").is_none());
        // Tampering with the claims breaks the signature.
        let forged = input.replace('.', ".e30");
        assert!(public
            .verify(forged.as_bytes(), sig.to_der().as_bytes())
            .is_err());
    }

    #[tokio::test]
    async fn discovery_has_every_field_an_oidc_client_requires() {
        let issuer = DevIssuer::new("http://localhost:5556/", EcdsaP256Signer::generate());
        let Json(doc) = discovery(State(issuer)).await;
        // OpenID Connect Discovery 1.0 §3 REQUIRED fields, and the token
        // endpoint sigstore-python's `Issuer` refuses to do without.
        for field in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "response_types_supported",
            "subject_types_supported",
            "id_token_signing_alg_values_supported",
        ] {
            assert!(doc.get(field).is_some(), "discovery lacks {field}: {doc}");
        }
        assert_eq!(doc["issuer"], "http://localhost:5556");
        assert_eq!(doc["token_endpoint"], "http://localhost:5556/token");
        assert_eq!(
            doc["jwks_uri"],
            "http://localhost:5556/.well-known/jwks.json"
        );
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["ES256"])
        );
    }

    #[tokio::test]
    async fn login_endpoints_refuse_with_an_oauth_error() {
        let (status, Json(body)) = no_interactive_login().await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "unsupported_grant_type");
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("sigil token"));
    }
}
