//! The issuer pool: configured issuers keyed by exact issuer URL, plus
//! meta-issuers (anchored wildcard patterns, instantiated per matching URL
//! and kept in a bounded cache, as Fulcio's LRU of 100), each with a lazily
//! fetched key set (OpenID Connect Discovery 1.0 §4 then the `jwks_uri`),
//! refreshed when a token names a `kid` the cache lacks or the set is older
//! than an hour. Only the algorithms the discovery document lists in
//! `id_token_signing_alg_values_supported` are accepted (RS256 when it lists
//! none), as go-oidc's verifier does. An issuer with a
//! `CACert` gets its own HTTP client that trusts only that CA.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use super::jwk::{parse_jwks, Jwk};
use super::jwt::{Claims, JwsAlg, UnverifiedJwt};
use super::TokenError;
use crate::config::{meta_issuer_matches, OidcIssuerConfig};

/// go-oidc's discovery timeout, applied to every discovery and JWKS request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// A refresh is not repeated sooner than this, so tokens with made-up `kid`s
/// cannot turn the CA into a request amplifier against the issuer.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// A cached key set older than this is fetched again before use, so a key the
/// issuer revoked stops verifying tokens.
const KEY_SET_TTL: Duration = Duration::from_secs(3600);
/// Discovery documents and JWKS larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// How many concrete issuers instantiated from meta-issuers are kept.
const META_CACHE_SIZE: usize = 100;

/// A token whose signature and claims checked out, with the issuer that vouched for it.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    pub issuer: Arc<OidcIssuerConfig>,
    pub claims: Claims,
}

/// Why the pool could not be built (a bad `CACert` or TLS setup).
#[derive(Debug, thiserror::Error)]
#[error("OIDC issuer {issuer}: HTTP client: {source}")]
pub(crate) struct PoolError {
    issuer: String,
    source: reqwest::Error,
}

pub(crate) struct IssuerPool {
    issuers: HashMap<String, Arc<Issuer>>,
    metas: Vec<MetaIssuer>,
    /// Concrete issuers made from `metas`, oldest first.
    meta_cache: Mutex<VecDeque<Arc<Issuer>>>,
}

struct MetaIssuer {
    config: Arc<OidcIssuerConfig>,
    http: reqwest::Client,
}

struct Issuer {
    config: Arc<OidcIssuerConfig>,
    http: reqwest::Client,
    keys: RwLock<Option<KeySet>>,
    /// How long a fetched key set is used (`KEY_SET_TTL`; tests shorten it).
    key_ttl: Duration,
    /// Serialises refreshes; held across the HTTP fetches.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct KeySet {
    keys: Arc<Vec<Jwk>>,
    /// The token algorithms the issuer's discovery document allows.
    algs: Arc<Vec<JwsAlg>>,
    fetched_at: Instant,
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Option<Vec<serde_json::Value>>,
}

impl DiscoveryDocument {
    /// go-oidc keeps the listed algorithms it supports and falls back to RS256.
    fn allowed_algs(&self) -> Vec<JwsAlg> {
        let listed: Vec<JwsAlg> = self
            .id_token_signing_alg_values_supported
            .iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .filter_map(|a| JwsAlg::parse(a).ok())
            .collect();
        if listed.is_empty() {
            vec![JwsAlg::Rs256]
        } else {
            listed
        }
    }
}

impl IssuerPool {
    pub(crate) fn new(configs: &[OidcIssuerConfig]) -> Result<Self, PoolError> {
        let default_http = http_client(None).map_err(|source| PoolError {
            issuer: "(default)".into(),
            source,
        })?;
        let client_for = |c: &OidcIssuerConfig| match &c.ca_cert_pem {
            None => Ok(default_http.clone()),
            Some(pem) => http_client(Some(pem)).map_err(|source| PoolError {
                issuer: c.issuer_url.clone(),
                source,
            }),
        };
        let mut issuers = HashMap::new();
        let mut metas = Vec::new();
        for c in configs {
            let http = client_for(c)?;
            if c.wildcard {
                metas.push(MetaIssuer {
                    config: Arc::new(c.clone()),
                    http,
                });
            } else {
                issuers.insert(
                    c.issuer_url.clone(),
                    Arc::new(Issuer::new(Arc::new(c.clone()), http)),
                );
            }
        }
        Ok(Self {
            issuers,
            metas,
            meta_cache: Mutex::new(VecDeque::new()),
        })
    }

    /// Verifies `token` completely: routing, signature, `iss`, `aud`, `exp`, `nbf`.
    pub(crate) async fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let jwt = UnverifiedJwt::parse(token)?;
        let issuer = self
            .route(&jwt.claims.iss)
            .ok_or_else(|| TokenError::UnknownIssuer(jwt.claims.iss.clone()))?;
        issuer.verify_signature(&jwt).await?;
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

    /// The issuer for an exact URL, else the first meta-issuer whose pattern matches.
    fn route(&self, iss: &str) -> Option<Arc<Issuer>> {
        if let Some(issuer) = self.issuers.get(iss) {
            return Some(issuer.clone());
        }
        let meta = self
            .metas
            .iter()
            .find(|m| meta_issuer_matches(&m.config.issuer_url, iss))?;
        let mut cache = match self.meta_cache.lock() {
            Ok(guard) => guard,
            // A poisoned lock only means a holder panicked; the cache stays usable.
            Err(poisoned) => poisoned.into_inner(),
        };
        // Least recently used first: a hit moves to the back.
        if let Some(at) = cache.iter().position(|i| i.config.issuer_url == iss) {
            let found = cache.remove(at)?;
            cache.push_back(found.clone());
            return Some(found);
        }
        let issuer = Arc::new(Issuer::new(
            Arc::new(meta.config.instantiate(iss)),
            meta.http.clone(),
        ));
        if cache.len() >= META_CACHE_SIZE {
            cache.pop_front();
        }
        cache.push_back(issuer.clone());
        Some(issuer)
    }
}

/// An HTTP client for discovery and JWKS: 10 s timeouts, same-host
/// redirects only (as go-oidc's client), and with `ca_pem` only that CA.
fn http_client(ca_pem: Option<&str>) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_host = attempt
                .previous()
                .first()
                .is_some_and(|first| first.host_str() == attempt.url().host_str());
            if same_host && attempt.previous().len() < 5 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }));
    if let Some(pem) = ca_pem {
        builder = builder.tls_built_in_root_certs(false);
        for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes())? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build()
}

impl Issuer {
    fn new(config: Arc<OidcIssuerConfig>, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            keys: RwLock::new(None),
            key_ttl: KEY_SET_TTL,
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    async fn verify_signature(&self, jwt: &UnverifiedJwt) -> Result<(), TokenError> {
        let cached = self
            .cached()
            .filter(|set| set.fetched_at.elapsed() < self.key_ttl);
        if let Some(set) = &cached {
            match Self::verify_with(set, jwt) {
                Err(TokenError::UnknownKid(_) | TokenError::NoKeyForAlg(_)) => {}
                Err(TokenError::BadSignature) if jwt.kid.is_none() => {}
                other => return other,
            }
        }
        // Unknown kid, a signature no cached key verifies, or nothing cached yet:
        // the issuer may have rotated its keys.
        let set = self.refresh(cached.as_ref()).await?;
        Self::verify_with(&set, jwt)
    }

    fn cached(&self) -> Option<KeySet> {
        match self.keys.read() {
            Ok(guard) => guard.clone(),
            // A poisoned lock only means a writer panicked; the data is a plain Option.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn verify_with(set: &KeySet, jwt: &UnverifiedJwt) -> Result<(), TokenError> {
        if !set.algs.contains(&jwt.alg) {
            let allowed: Vec<&str> = set.algs.iter().map(|a| a.as_str()).collect();
            return Err(TokenError::AlgNotAllowed {
                alg: jwt.alg.as_str(),
                allowed: allowed.join(", "),
            });
        }
        let keys = &set.keys;
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
    /// fetch is younger than `MIN_REFRESH_INTERVAL`. A set past its TTL is
    /// never returned. `seen` is the fresh set the caller tried, if any.
    async fn refresh(&self, seen: Option<&KeySet>) -> Result<KeySet, TokenError> {
        let _guard = self.refresh.lock().await;
        if let Some(current) = self.cached() {
            let age = current.fetched_at.elapsed();
            let someone_else_refreshed =
                seen.is_none_or(|seen| !Arc::ptr_eq(&seen.keys, &current.keys));
            if age < self.key_ttl && (someone_else_refreshed || age < MIN_REFRESH_INTERVAL) {
                return Ok(current);
            }
        }
        let (keys, algs) = self.fetch().await.map_err(|reason| {
            // The client only learns which issuer failed; the reason (URLs,
            // HTTP statuses, parse errors) is for the operator.
            tracing::warn!(issuer = %self.config.issuer_url, %reason, "OIDC discovery failed");
            TokenError::Discovery {
                issuer: self.config.issuer_url.clone(),
                reason,
            }
        })?;
        let set = KeySet {
            keys: Arc::new(keys),
            algs: Arc::new(algs),
            fetched_at: Instant::now(),
        };
        match self.keys.write() {
            Ok(mut guard) => *guard = Some(set.clone()),
            Err(poisoned) => *poisoned.into_inner() = Some(set.clone()),
        }
        Ok(set)
    }

    async fn fetch(&self) -> Result<(Vec<Jwk>, Vec<JwsAlg>), String> {
        let http = &self.http;
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
        Ok((keys, doc.allowed_algs()))
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

#[cfg(test)]
mod tests;
