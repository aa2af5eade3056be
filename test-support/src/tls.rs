//! TLS identities for tests of the servers' HTTPS: a fresh self-signed
//! end-entity certificate for `localhost` written as the PEM files
//! `--tls-cert`/`--tls-key` take, and HTTP clients that trust only it.
//! The certificates come from `rcgen`: `openssl req -x509` marks its
//! certificate as a CA, which webpki refuses as a server certificate.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A self-signed certificate for `localhost` and its key, in memory.
pub struct LocalhostCert {
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    pub key_pem: String,
}

/// A fresh self-signed certificate for DNS name `localhost` (ECDSA P-256).
pub fn localhost_cert() -> anyhow::Result<LocalhostCert> {
    let identity = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    Ok(LocalhostCert {
        cert_der: identity.cert.der().to_vec(),
        cert_pem: identity.cert.pem(),
        key_der: identity.key_pair.serialize_der(),
        key_pem: identity.key_pair.serialize_pem(),
    })
}

/// A certificate for `localhost` and its key, as files and as PEM.
pub struct LocalhostIdentity {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cert_pem: String,
}

/// A fresh identity written to `dir` as `NAME.crt.pem` and `NAME.key.pem`.
pub fn localhost_identity(dir: &Path, name: &str) -> anyhow::Result<LocalhostIdentity> {
    let made = localhost_cert()?;
    let cert = dir.join(format!("{name}.crt.pem"));
    let key = dir.join(format!("{name}.key.pem"));
    std::fs::write(&cert, &made.cert_pem)?;
    std::fs::write(&key, &made.key_pem)?;
    Ok(LocalhostIdentity {
        cert,
        key,
        cert_pem: made.cert_pem,
    })
}

/// An async client that trusts only the certificate `pem`.
pub fn trusting(pem: &str) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?)
        .timeout(Duration::from_secs(5))
        .build()?)
}

/// A blocking client that trusts only the certificate `pem`.
pub fn trusting_blocking(pem: &str) -> anyhow::Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?)
        .timeout(Duration::from_secs(2))
        .build()?)
}
