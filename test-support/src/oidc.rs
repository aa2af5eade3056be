//! Test OIDC issuers: the development issuer (re-exported from `dev-oidc`,
//! which `sigil dev` serves) and [`Issuers`], many issuers on one server,
//! the shape of a company IdP, a CI system and a cluster side by side.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use shared::keys::EcdsaP256Signer;

pub use dev_oidc::{DevIssuer, Identity, AUDIENCE, TOKEN_LIFETIME_SECS};

use crate::jwt;

/// Several test OIDC issuers on one server, `<base>/<name>` each, sharing
/// one ES256 key: a discovery document for any path prefix and one JWKS at
/// `/keys`, which counts its fetches and can gain a second key (a rotation).
/// Tests mint their tokens with [`Issuers::sign`].
#[derive(Clone)]
pub struct Issuers {
    inner: Arc<IssuersInner>,
}

struct IssuersInner {
    base: String,
    key: EcdsaP256Signer,
    kid: String,
    jwks: std::sync::RwLock<Value>,
    jwks_fetches: std::sync::atomic::AtomicUsize,
}

impl Issuers {
    /// Issuers under `base` (e.g. `http://localhost:PORT`), not yet served.
    pub fn new(base: impl Into<String>) -> Self {
        let key = EcdsaP256Signer::generate();
        let kid = "k1".to_owned();
        let jwks = json!({"keys": [jwt::es256_jwk(&key, &kid)]});
        Self {
            inner: Arc::new(IssuersInner {
                base: base.into(),
                key,
                kid,
                jwks: std::sync::RwLock::new(jwks),
                jwks_fetches: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    pub fn base(&self) -> &str {
        &self.inner.base
    }

    /// The issuer URL `<base>/<name>`.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.inner.base)
    }

    /// The discovery document at `path` (`<prefix>/.well-known/openid-configuration`,
    /// naming issuer `<base><prefix>`), or `None` for any other path.
    pub fn discovery(&self, path: &str) -> Option<Value> {
        let prefix = path.strip_suffix("/.well-known/openid-configuration")?;
        let base = &self.inner.base;
        Some(json!({
            "issuer": format!("{base}{prefix}"),
            "jwks_uri": format!("{base}/keys"),
            "id_token_signing_alg_values_supported": ["ES256"],
        }))
    }

    /// The JWKS, counted as one fetch.
    pub fn jwks(&self) -> Value {
        self.inner
            .jwks_fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner
            .jwks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// How often the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.inner
            .jwks_fetches
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `/keys` and every discovery document; 404 elsewhere.
    pub fn router(&self) -> Router {
        let keys = self.clone();
        let documents = self.clone();
        Router::new()
            .route("/keys", get(move || async move { Json(keys.jwks()) }))
            .fallback(move |uri: axum::http::Uri| async move {
                documents
                    .discovery(uri.path())
                    .map(Json)
                    .ok_or(StatusCode::NOT_FOUND)
            })
    }

    /// Claims for issuer `iss` (audience `sigstore`, valid for ten minutes
    /// from now) and `extra` on top.
    pub fn claims(&self, iss: &str, extra: Value) -> Value {
        let now = jwt::now();
        let mut claims = json!({"iss": iss, "aud": AUDIENCE, "iat": now, "nbf": now,
                                "exp": now + TOKEN_LIFETIME_SECS});
        if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            claims.extend(extra);
        }
        claims
    }

    /// An ES256 JWT over `claims` with the first key.
    pub fn sign(&self, claims: &Value) -> String {
        jwt::es256(&self.inner.key, &self.inner.kid, claims)
    }

    /// Publishes one more key (a rotation) beside the ones already in the
    /// JWKS and answers its signer and `kid`: `k2`, then `k3`, … (the first
    /// key is `k1`), so that every rotation's `kid` is new.
    pub fn rotate(&self) -> (EcdsaP256Signer, String) {
        let key = EcdsaP256Signer::generate();
        let mut jwks = self
            .inner
            .jwks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Keys are only ever added, so one past the count is a new number.
        let kid = format!("k{}", jwks["keys"].as_array().map_or(0, Vec::len) + 1);
        if let Some(keys) = jwks["keys"].as_array_mut() {
            keys.push(jwt::es256_jwk(&key, &kid));
        }
        (key, kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn issuers_serve_discovery_for_any_prefix_and_one_counted_jwks() {
        let issuers = Issuers::new("http://localhost:1");
        let doc = issuers
            .discovery("/corp/.well-known/openid-configuration")
            .unwrap();
        assert_eq!(doc["issuer"], "http://localhost:1/corp");
        assert_eq!(doc["jwks_uri"], "http://localhost:1/keys");
        assert!(issuers.discovery("/corp/other").is_none());
        assert_eq!(issuers.jwks()["keys"].as_array().unwrap().len(), 1);
        issuers.rotate();
        assert_eq!(issuers.jwks()["keys"].as_array().unwrap().len(), 2);
        assert_eq!(issuers.jwks_fetches(), 2);
        let claims = issuers.claims(&issuers.url("corp"), json!({"sub": "x"}));
        assert_eq!(claims["iss"], "http://localhost:1/corp");
        assert_eq!(claims["sub"], "x");
        let (header, signed, _) = jwt::decode(&issuers.sign(&claims)).unwrap();
        assert_eq!(header["kid"], "k1");
        assert_eq!(signed, claims);
    }

    #[test]
    fn each_rotation_publishes_a_key_under_a_new_kid() {
        let issuers = Issuers::new("http://localhost:1");
        let (_, second) = issuers.rotate();
        let (third_key, third) = issuers.rotate();
        let jwks = issuers.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, ["k1", second.as_str(), third.as_str()]);
        let mut distinct = kids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 3, "{kids:?}");
        // The JWKS entry under the newest kid is the newest key's.
        assert_eq!(jwks["keys"][2], jwt::es256_jwk(&third_key, &third));
    }
}
