//! The pool against a local issuer: the discovery document's algorithm list
//! and the key set's time to live.

use super::*;
use serde_json::{json, Value};
use test_support::jwk;

/// A one-issuer OIDC provider whose discovery document and JWKS tests swap.
struct Provider {
    url: String,
    discovery: Arc<RwLock<Value>>,
    jwks: Arc<RwLock<Value>>,
    jwks_fetches: Arc<std::sync::atomic::AtomicUsize>,
}

impl Provider {
    async fn start(algs: Option<Value>, jwks: Value) -> Self {
        let (listener, addr) = test_support::net::listener().await;
        let url = format!("http://{addr}");
        let mut doc = json!({"issuer": url, "jwks_uri": format!("{url}/keys")});
        if let Some(algs) = algs {
            doc["id_token_signing_alg_values_supported"] = algs;
        }
        let discovery = Arc::new(RwLock::new(doc));
        let jwks = Arc::new(RwLock::new(jwks));
        let jwks_fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (d, j, n) = (discovery.clone(), jwks.clone(), jwks_fetches.clone());
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move { axum::Json(d.read().unwrap().clone()) }),
            )
            .route(
                "/keys",
                axum::routing::get(move || async move {
                    n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    axum::Json(j.read().unwrap().clone())
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            discovery,
            jwks,
            jwks_fetches,
        }
    }

    fn pool(&self) -> IssuerPool {
        let mut config = OidcIssuerConfig::new(&self.url, crate::config::IssuerType::Email);
        config.client_id = "sigstore".into();
        IssuerPool::new(&[config]).unwrap()
    }

    fn claims(&self) -> Value {
        let exp = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        json!({"iss": self.url, "sub": "s", "aud": "sigstore", "exp": exp})
    }

    fn fetches(&self) -> usize {
        self.jwks_fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn signed(alg: &str, kid: &str, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
    test_support::jwt::encode(&header, claims, sign)
}

#[tokio::test]
async fn only_the_discovery_documents_algs_are_accepted() {
    let (ec, ec_jwk) = jwk::p256_fixture(7, "ec");
    let (rsa, rsa_jwk) = jwk::rsa_fixture("rsa");
    let provider = Provider::start(Some(json!(["ES256"])), json!({"keys":[ec_jwk, rsa_jwk]})).await;
    let pool = provider.pool();
    let claims = provider.claims();
    pool.verify(&signed("ES256", "ec", &claims, jwk::es256(&ec)))
        .await
        .unwrap();
    // validly signed by a key in the JWKS, but RS256 is not in the list
    let err = pool
        .verify(&signed("RS256", "rsa", &claims, jwk::rs256(&rsa)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TokenError::AlgNotAllowed { alg: "RS256", .. }),
        "{err}"
    );

    // no list: go-oidc's RS256 default
    let (ec, ec_jwk) = jwk::p256_fixture(8, "ec");
    let (rsa, rsa_jwk) = jwk::rsa_fixture("rsa");
    let provider = Provider::start(None, json!({"keys":[ec_jwk, rsa_jwk]})).await;
    let pool = provider.pool();
    let claims = provider.claims();
    pool.verify(&signed("RS256", "rsa", &claims, jwk::rs256(&rsa)))
        .await
        .unwrap();
    let err = pool
        .verify(&signed("ES256", "ec", &claims, jwk::es256(&ec)))
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::AlgNotAllowed { .. }), "{err}");

    // unknown names in the list are ignored, known ones kept
    *provider.discovery.write().unwrap() = json!({"issuer": provider.url,
        "jwks_uri": format!("{}/keys", provider.url),
        "id_token_signing_alg_values_supported": ["HS256", "none", 5, "ES256"]});
    let pool = provider.pool();
    pool.verify(&signed("ES256", "ec", &claims, jwk::es256(&ec)))
        .await
        .unwrap();
    assert!(pool
        .verify(&signed("RS256", "rsa", &claims, jwk::rs256(&rsa)))
        .await
        .is_err());
}

#[tokio::test]
async fn a_key_set_past_its_ttl_is_fetched_again() {
    let (old, old_jwk) = jwk::p256_fixture(7, "k");
    let provider = Provider::start(Some(json!(["ES256"])), json!({"keys":[old_jwk]})).await;
    let mut pool = provider.pool();
    let claims = provider.claims();
    pool.verify(&signed("ES256", "k", &claims, jwk::es256(&old)))
        .await
        .unwrap();
    assert_eq!(provider.fetches(), 1);

    // The issuer revokes the key and publishes another under the same kid.
    let (new, new_jwk) = jwk::p256_fixture(9, "k");
    *provider.jwks.write().unwrap() = json!({"keys":[new_jwk]});
    // Within the TTL the cached (revoked) key still answers: no refetch.
    pool.verify(&signed("ES256", "k", &claims, jwk::es256(&old)))
        .await
        .unwrap();
    assert_eq!(provider.fetches(), 1);

    // Once the set is older than the TTL it is not used again.
    let issuer = pool.issuers.get_mut(&provider.url).unwrap();
    Arc::get_mut(issuer).unwrap().key_ttl = Duration::ZERO;
    let err = pool
        .verify(&signed("ES256", "k", &claims, jwk::es256(&old)))
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::BadSignature), "{err}");
    assert_eq!(provider.fetches(), 2);
    pool.verify(&signed("ES256", "k", &claims, jwk::es256(&new)))
        .await
        .unwrap();
}

#[tokio::test]
async fn discovery_failures_name_only_the_issuer() {
    let provider = Provider::start(Some(json!(["ES256"])), json!({"keys":[]})).await;
    let pool = provider.pool();
    let (ec, _) = jwk::p256_fixture(7, "k");
    let err = pool
        .verify(&signed("ES256", "k", &provider.claims(), jwk::es256(&ec)))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "error fetching OIDC configuration for issuer {}",
            provider.url
        )
    );
    assert!(matches!(err, TokenError::Discovery { reason, .. } if reason.contains("no usable")));
}
