//! The issuer pool: configured issuers keyed by exact issuer URL, each with a
//! lazily fetched key set (OpenID Connect Discovery 1.0 §4 then the
//! `jwks_uri`), refreshed when a token names a `kid` the cache lacks.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use super::jwk::{parse_jwks, Jwk};
use super::jwt::{Claims, UnverifiedJwt};
use super::TokenError;
use crate::config::OidcIssuerConfig;

/// go-oidc's discovery timeout.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// A refresh is not repeated sooner than this, so tokens with made-up `kid`s
/// cannot turn the CA into a request amplifier against the issuer.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Discovery documents and JWKS larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// A token whose signature and claims checked out, with the issuer that vouched for it.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    pub issuer: Arc<OidcIssuerConfig>,
    pub claims: Claims,
}

pub(crate) struct IssuerPool {
    issuers: HashMap<String, Arc<Issuer>>,
    http: reqwest::Client,
}

struct Issuer {
    config: Arc<OidcIssuerConfig>,
    keys: RwLock<Option<KeySet>>,
    /// Serialises refreshes; held across the HTTP fetches.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct KeySet {
    keys: Arc<Vec<Jwk>>,
    fetched_at: Instant,
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
}

impl IssuerPool {
    pub(crate) fn new(configs: &[OidcIssuerConfig]) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                // Same-host redirects only, as go-oidc's client.
                let same_host = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.host_str() == attempt.url().host_str());
                if same_host && attempt.previous().len() < 5 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()?;
        let issuers = configs
            .iter()
            .map(|c| {
                let issuer = Issuer {
                    config: Arc::new(c.clone()),
                    keys: RwLock::new(None),
                    refresh: tokio::sync::Mutex::new(()),
                };
                (c.issuer_url.clone(), Arc::new(issuer))
            })
            .collect();
        Ok(Self { issuers, http })
    }

    /// Verifies `token` completely: routing, signature, `iss`, `aud`, `exp`, `nbf`.
    pub(crate) async fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let jwt = UnverifiedJwt::parse(token)?;
        let issuer = self
            .issuers
            .get(&jwt.claims.iss)
            .ok_or_else(|| TokenError::UnknownIssuer(jwt.claims.iss.clone()))?;
        issuer.verify_signature(&self.http, &jwt).await?;
        // Routing already matched `iss` exactly; this guards the invariant.
        if jwt.claims.iss != issuer.config.issuer_url {
            return Err(TokenError::UnknownIssuer(jwt.claims.iss));
        }
        jwt.claims
            .check(&issuer.config.client_id, SystemTime::now())?;
        Ok(VerifiedToken {
            issuer: issuer.config.clone(),
            claims: jwt.claims,
        })
    }
}

impl Issuer {
    async fn verify_signature(
        &self,
        http: &reqwest::Client,
        jwt: &UnverifiedJwt,
    ) -> Result<(), TokenError> {
        let cached = self.cached();
        if let Some(set) = &cached {
            match Self::verify_with(&set.keys, jwt) {
                Err(TokenError::UnknownKid(_) | TokenError::NoKeyForAlg(_)) => {}
                Err(TokenError::BadSignature) if jwt.kid.is_none() => {}
                other => return other,
            }
        }
        // Unknown kid, a signature no cached key verifies, or nothing cached yet:
        // the issuer may have rotated its keys.
        let set = self.refresh(http, cached.as_ref()).await?;
        Self::verify_with(&set.keys, jwt)
    }

    fn cached(&self) -> Option<KeySet> {
        match self.keys.read() {
            Ok(guard) => guard.clone(),
            // A poisoned lock only means a writer panicked; the data is a plain Option.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn verify_with(keys: &[Jwk], jwt: &UnverifiedJwt) -> Result<(), TokenError> {
        let input = jwt.signing_input.as_bytes();
        match &jwt.kid {
            Some(kid) => {
                let key = keys
                    .iter()
                    .find(|k| k.kid.as_deref() == Some(kid))
                    .ok_or_else(|| TokenError::UnknownKid(kid.clone()))?;
                key.verify(jwt.alg, input, &jwt.signature)
            }
            None => {
                let mut fitting = keys.iter().filter(|k| k.fits(jwt.alg)).peekable();
                if fitting.peek().is_none() {
                    return Err(TokenError::NoKeyForAlg(jwt.alg.as_str()));
                }
                if fitting.any(|k| k.verify(jwt.alg, input, &jwt.signature).is_ok()) {
                    Ok(())
                } else {
                    Err(TokenError::BadSignature)
                }
            }
        }
    }

    /// Fetches the key set again unless another task just did, or the last
    /// fetch is younger than `MIN_REFRESH_INTERVAL`.
    async fn refresh(
        &self,
        http: &reqwest::Client,
        seen: Option<&KeySet>,
    ) -> Result<KeySet, TokenError> {
        let _guard = self.refresh.lock().await;
        if let Some(current) = self.cached() {
            let someone_else_refreshed =
                seen.is_none_or(|seen| !Arc::ptr_eq(&seen.keys, &current.keys));
            if someone_else_refreshed || current.fetched_at.elapsed() < MIN_REFRESH_INTERVAL {
                return Ok(current);
            }
        }
        let keys = self
            .fetch(http)
            .await
            .map_err(|reason| TokenError::Discovery {
                issuer: self.config.issuer_url.clone(),
                reason,
            })?;
        let set = KeySet {
            keys: Arc::new(keys),
            fetched_at: Instant::now(),
        };
        match self.keys.write() {
            Ok(mut guard) => *guard = Some(set.clone()),
            Err(poisoned) => *poisoned.into_inner() = Some(set.clone()),
        }
        Ok(set)
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Vec<Jwk>, String> {
        let issuer_url = &self.config.issuer_url;
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer_url.trim_end_matches('/')
        );
        let body = get_document(http, &discovery_url).await?;
        let doc: DiscoveryDocument = serde_json::from_slice(&body)
            .map_err(|e| format!("discovery document is not valid: {e}"))?;
        if &doc.issuer != issuer_url {
            return Err(format!(
                "discovery document names issuer {:?}, expected {issuer_url:?}",
                doc.issuer
            ));
        }
        let jwks = get_document(http, &doc.jwks_uri).await?;
        let keys = parse_jwks(&jwks)?;
        tracing::info!(issuer = %issuer_url, keys = keys.len(), "fetched OIDC issuer keys");
        Ok(keys)
    }
}

async fn get_document(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut resp = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", resp.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("GET {url}: document larger than 1 MiB"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
