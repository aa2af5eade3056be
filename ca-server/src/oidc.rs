//! OIDC ID token verification as Fulcio's issuer pool does it
//! (docs/fulcio-wire.md §4): the unverified `iss` picks a configured issuer (exact
//! match), OpenID Connect Discovery 1.0 §4 finds its JWKS, the JWS signature
//! is checked against it, then `aud`, `exp` and `nbf`. Tokens never reach a log line.

pub(crate) mod jwk;
pub(crate) mod jwt;
mod pool;

pub use jwt::{Audience, Claims};
pub(crate) use pool::IssuerPool;
pub use pool::VerifiedToken;

/// Why a token was refused. Every variant is the client's problem (HTTP 400),
/// including an issuer that cannot be reached, as in Fulcio.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("identity token is {0} bytes, over the 64 KiB limit")]
    TooLarge(usize),
    #[error("malformed identity token: {0}")]
    Malformed(String),
    #[error("identity token uses alg none: unsigned tokens are refused")]
    AlgNone,
    #[error(
        "identity token uses HMAC alg {0}: only RS, PS, ES (256/384/512) and EdDSA are accepted"
    )]
    Hmac(String),
    #[error(
        "identity token uses unsupported alg {0}: only RS, PS, ES (256/384/512) and EdDSA are accepted"
    )]
    UnsupportedAlg(String),
    #[error("identity token alg {alg} is not one the issuer supports ({allowed})")]
    AlgNotAllowed { alg: &'static str, allowed: String },
    #[error("identity token issuer {0:?} is not a configured OIDC issuer")]
    UnknownIssuer(String),
    /// The details (`reason`) go to the log only; the client sees the issuer.
    #[error("error fetching OIDC configuration for issuer {issuer}")]
    Discovery { issuer: String, reason: String },
    #[error("no key in the issuer's JWKS matches kid {0:?}")]
    UnknownKid(String),
    #[error("no key in the issuer's JWKS fits alg {0}")]
    NoKeyForAlg(&'static str),
    #[error("alg {0} does not match the type of the issuer's key")]
    AlgKeyMismatch(&'static str),
    #[error("identity token signature does not verify")]
    BadSignature,
    #[error("identity token audience does not contain {0:?}")]
    WrongAudience(String),
    #[error("identity token has expired")]
    Expired,
    #[error("identity token is not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("identity token has no {0} claim")]
    MissingClaim(&'static str),
}
