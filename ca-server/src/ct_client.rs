//! Client for an RFC 6962 §4.1 CT log's `add-pre-chain` (docs/fulcio-wire.md §6):
//! POST `{"chain":[b64 DER…]}`, read the SCT from the JSON reply. 30 s
//! timeout, as Fulcio.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use shared::sct::{AddChainResponse, SignedCertificateTimestamp};

const TIMEOUT: Duration = Duration::from_secs(30);
/// An SCT reply is a few hundred bytes; anything past this is not one.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// Why the CT log did not hand out an SCT.
#[derive(Debug, thiserror::Error)]
pub enum CtClientError {
    #[error("request to {url} failed: {reason}")]
    Http { url: String, reason: String },
    #[error("CT log answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("CT log reply is not an SCT: {0}")]
    BadReply(String),
}

#[derive(Serialize)]
struct AddChainRequest {
    chain: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct CtLogClient {
    http: reqwest::Client,
    add_pre_chain_url: String,
}

impl CtLogClient {
    /// `base_url` is the log's prefix, e.g. `http://localhost:3000`. With
    /// `ca_pem` (PEM certificates), an `https` log must present a chain to
    /// one of them; the built-in roots are then not trusted.
    pub fn new(base_url: &str, ca_pem: Option<&str>) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder().timeout(TIMEOUT);
        if let Some(pem) = ca_pem {
            builder = builder.tls_built_in_root_certs(false);
            for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes())? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build()?;
        Ok(Self {
            http,
            add_pre_chain_url: format!("{}/ct/v1/add-pre-chain", base_url.trim_end_matches('/')),
        })
    }

    /// Submits `[precert, CA…, root]` (DER) and returns the log's SCT.
    pub async fn add_pre_chain(
        &self,
        chain: &[&[u8]],
    ) -> Result<SignedCertificateTimestamp, CtClientError> {
        let url = &self.add_pre_chain_url;
        let http_err = |e: reqwest::Error| CtClientError::Http {
            url: url.clone(),
            reason: e.to_string(),
        };
        let request = AddChainRequest {
            chain: chain.iter().map(|der| STANDARD.encode(der)).collect(),
        };
        let mut resp = self
            .http
            .post(url)
            .json(&request)
            .send()
            .await
            .map_err(http_err)?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(http_err)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(CtClientError::BadReply("reply larger than 64 KiB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let mut text = String::from_utf8_lossy(&body).into_owned();
            text.truncate(512);
            return Err(CtClientError::Status {
                status: status.as_u16(),
                body: text,
            });
        }
        let reply: AddChainResponse =
            serde_json::from_slice(&body).map_err(|e| CtClientError::BadReply(e.to_string()))?;
        SignedCertificateTimestamp::from_add_chain_response(&reply)
            .map_err(|e| CtClientError::BadReply(e.to_string()))
    }
}
