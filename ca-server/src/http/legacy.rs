//! Fulcio's legacy v1 API (docs/fulcio-wire.md §1 "Legacy"), which cosign's
//! keyless path still uses:
//! - `POST /api/v1/signingCert`: token from `Authorization: Bearer` only; body
//!   `{"publicKey":{"content":<bytes>,"algorithm":…},"signedEmailAddress":<bytes>,
//!   "certificateSigningRequest":<bytes>}` (protobuf `bytes`, so base64 in
//!   JSON; a CSR wins). Replies **201** `application/pem-certificate-chain`
//!   with `[leaf, CA…, root]` joined by `\n`; the SCT is embedded, so no `SCT`
//!   header. Errors are the v2 JSON errors.
//! - `GET /api/v1/rootCert`: 200, every trust-bundle PEM joined by `\n`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::signing_cert::{bearer_token, csr_proof, decode_bytes, issue, public_key_bytes};
use super::{ApiError, AppState};
use crate::challenge::KeyProof;

/// The media type of both legacy replies.
pub(crate) const PEM_CERTIFICATE_CHAIN: &str = "application/pem-certificate-chain";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/signingCert", post(create_signing_certificate))
        .route("/api/v1/rootCert", get(root_certificate))
}

/// `dev.sigstore.fulcio.v1beta1.CertificateRequest` as protojson.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LegacyRequest {
    #[serde(default, alias = "public_key")]
    public_key: Option<LegacyPublicKey>,
    #[serde(default, alias = "signed_email_address")]
    signed_email_address: Option<String>,
    #[serde(default, alias = "certificate_signing_request")]
    certificate_signing_request: Option<String>,
}

/// `algorithm` ("ecdsa", …) is ignored: the key decides, as in v2.
#[derive(Deserialize)]
struct LegacyPublicKey {
    #[serde(default)]
    content: Option<String>,
}

async fn create_signing_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body =
        body.map_err(|e| ApiError::InvalidArgument(format!("request body: {}", e.body_text())))?;
    let request: LegacyRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidArgument(format!("request body is not valid JSON: {e}")))?;
    let token = bearer_token(&headers).ok_or_else(|| {
        ApiError::InvalidArgument("no identity token: set Authorization: Bearer".into())
    })?;
    let certificates = issue(&state, token, || key_proof(&request)).await?;
    Ok(pem_chain(StatusCode::CREATED, &certificates))
}

async fn root_certificate(State(state): State<AppState>) -> Response {
    pem_chain(StatusCode::OK, &state.chain_pems)
}

/// The CSR if there is one, else the public key and the signature over the
/// challenge (named `signedEmailAddress` from the days of email-only Fulcio).
fn key_proof(request: &LegacyRequest) -> Result<KeyProof, ApiError> {
    if let Some(csr) = csr_proof(request.certificate_signing_request.as_deref())? {
        return Ok(csr);
    }
    let content = request
        .public_key
        .as_ref()
        .ok_or_else(|| ApiError::InvalidArgument("public key not provided".into()))?
        .content
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::InvalidArgument("publicKey.content is empty".into()))?;
    let signature = decode_bytes(
        request.signed_email_address.as_deref().unwrap_or_default(),
        "signedEmailAddress",
    )?;
    Ok(KeyProof::PublicKey {
        content: public_key_bytes(content),
        signature,
    })
}

/// PEMs joined by `\n`, without a trailing newline (Fulcio trims the body).
fn pem_chain(status: StatusCode, pems: &[String]) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, PEM_CERTIFICATE_CHAIN)],
        pems.join("\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> LegacyRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn public_key_and_signed_email() {
        // "LS0t" is base64 of "---": content is protobuf bytes.
        let r = parse(
            r#"{"publicKey":{"content":"LS0t","algorithm":"ecdsa"},"signedEmailAddress":"AQID"}"#,
        );
        match key_proof(&r).unwrap() {
            KeyProof::PublicKey { content, signature } => {
                assert_eq!(content, b"---");
                assert_eq!(signature, [1, 2, 3]);
            }
            KeyProof::Csr(_) => panic!("expected a public key"),
        }
        let r = parse(r#"{"public_key":{"content":"LS0t"},"signed_email_address":"AQID"}"#);
        assert!(matches!(key_proof(&r).unwrap(), KeyProof::PublicKey { .. }));
    }

    #[test]
    fn csr_wins_and_missing_key_is_refused() {
        let r = parse(r#"{"certificateSigningRequest":"AQID","publicKey":{"content":"LS0t"}}"#);
        assert!(matches!(key_proof(&r).unwrap(), KeyProof::Csr(b) if b == [1, 2, 3]));
        assert!(
            matches!(key_proof(&parse("{}")), Err(ApiError::InvalidArgument(m)) if m.contains("public key not provided"))
        );
        let r = parse(r#"{"publicKey":{"content":"LS0t"},"signedEmailAddress":"%%"}"#);
        assert!(
            matches!(key_proof(&r), Err(ApiError::InvalidArgument(m)) if m.contains("signedEmailAddress"))
        );
    }
}
