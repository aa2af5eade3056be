//! The development OIDC issuer of `sigil dev` and the JWS/JWK code it
//! mints with: a crate of its own so that the `sigil` binary carries it
//! without the test helpers around it (test-support re-exports both).

mod issuer;
pub mod jwt;

pub use issuer::{DevIssuer, Identity, AUDIENCE, TOKEN_LIFETIME_SECS};
