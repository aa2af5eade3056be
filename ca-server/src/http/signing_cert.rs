//! `POST /api/v2/signingCert` (docs/fulcio-wire.md §1, §2): token from
//! `credentials.oidcIdentityToken` or `Authorization: Bearer`, key from
//! `certificateSigningRequest` (wins) or `publicKeyRequest`; replies with the
//! embedded-SCT chain `[leaf, CA…, root]` as trimmed PEMs. Request field names
//! are accepted in camelCase and snake_case, as protojson does.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{pem, ApiError, AppState, CertificateChain};
use crate::challenge::KeyProof;
use crate::identity::Principal;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v2/signingCert", post(create_signing_certificate))
}

/// protojson `bytes`: standard or URL-safe alphabet, padding optional.
const B64_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const B64_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SigningCertRequest {
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default, alias = "public_key_request")]
    public_key_request: Option<PublicKeyRequest>,
    #[serde(default, alias = "certificate_signing_request")]
    certificate_signing_request: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(default, alias = "oidc_identity_token")]
    oidc_identity_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    #[serde(default, alias = "public_key")]
    public_key: Option<PublicKeyContent>,
    #[serde(default, alias = "proof_of_possession")]
    proof_of_possession: Option<String>,
}

/// `algorithm` is ignored: the key decides (as in Fulcio).
#[derive(Deserialize)]
struct PublicKeyContent {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertResponse {
    signed_certificate_embedded_sct: EmbeddedSct,
}

#[derive(Serialize)]
struct EmbeddedSct {
    chain: CertificateChain,
}

async fn create_signing_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SigningCertResponse>, ApiError> {
    let body =
        body.map_err(|e| ApiError::InvalidArgument(format!("request body: {}", e.body_text())))?;
    let request: SigningCertRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidArgument(format!("request body is not valid JSON: {e}")))?;

    let token = token(&request, &headers)?;
    let certificates = issue(&state, token, || key_proof(&request)).await?;
    Ok(Json(SigningCertResponse {
        signed_certificate_embedded_sct: EmbeddedSct {
            chain: CertificateChain { certificates },
        },
    }))
}

/// The issuance both API versions share: verifies the token, then the key
/// proof (`proof` runs only after the token is accepted, as in Fulcio), and
/// returns the trimmed PEMs `[leaf, CA…, root]`.
pub(super) async fn issue(
    state: &AppState,
    token: &str,
    proof: impl FnOnce() -> Result<KeyProof, ApiError>,
) -> Result<Vec<String>, ApiError> {
    let verified = state.pool.verify(token).await?;
    let principal = Principal::from_token(&verified)?;
    if let Some(limit) = &state.subject_limit {
        limit.check(principal.issuer(), principal.name())?;
    }
    let key = proof()?.verify(&principal)?;
    let leaf = state.ca.issue(&principal, key).await?;
    state.metrics.issued();

    tracing::info!(
        issuer = principal.issuer(),
        subject = principal.name(),
        "issued certificate"
    );
    let mut certificates = vec![pem("CERTIFICATE", &leaf)];
    certificates.extend(state.chain_pems.iter().cloned());
    Ok(certificates)
}

/// The body's token first, else `Authorization: Bearer`.
fn token<'a>(request: &'a SigningCertRequest, headers: &'a HeaderMap) -> Result<&'a str, ApiError> {
    let from_body = request
        .credentials
        .as_ref()
        .and_then(|c| c.oidc_identity_token.as_deref())
        .filter(|t| !t.is_empty());
    if let Some(token) = from_body {
        return Ok(token);
    }
    bearer_token(headers).ok_or_else(|| {
        ApiError::InvalidArgument(
            "no identity token: set credentials.oidcIdentityToken or Authorization: Bearer".into(),
        )
    })
}

/// The token of an `Authorization: Bearer` header, if any.
pub(super) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}

/// The request's `certificateSigningRequest` as a key proof, if it holds
/// one: both API versions take a CSR first, under the same field name.
pub(super) fn csr_proof(csr: Option<&str>) -> Result<Option<KeyProof>, ApiError> {
    csr.filter(|c| !c.is_empty())
        .map(|csr| {
            Ok(KeyProof::Csr(decode_bytes(
                csr,
                "certificateSigningRequest",
            )?))
        })
        .transpose()
}

/// The CSR if there is one, else the public key and its proof.
fn key_proof(request: &SigningCertRequest) -> Result<KeyProof, ApiError> {
    if let Some(csr) = csr_proof(request.certificate_signing_request.as_deref())? {
        return Ok(csr);
    }
    let pkr = request.public_key_request.as_ref().ok_or_else(|| {
        ApiError::InvalidArgument(
            "no key: send publicKeyRequest or certificateSigningRequest".into(),
        )
    })?;
    let content = pkr
        .public_key
        .as_ref()
        .and_then(|k| k.content.as_deref())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::InvalidArgument("publicKeyRequest.publicKey.content is empty".into())
        })?;
    let signature = decode_bytes(
        pkr.proof_of_possession.as_deref().unwrap_or_default(),
        "publicKeyRequest.proofOfPossession",
    )?;
    Ok(KeyProof::PublicKey {
        content: public_key_bytes(content),
        signature,
    })
}

/// `publicKey.content` is a protobuf string: a PEM, or (rarely) DER smuggled
/// as text. Clients that base64-encode the DER are accepted too.
pub(super) fn public_key_bytes(content: &str) -> Vec<u8> {
    if content.trim_start().starts_with("-----BEGIN") {
        return content.as_bytes().to_vec();
    }
    B64_STD
        .decode(content.trim())
        .unwrap_or_else(|_| content.as_bytes().to_vec())
}

pub(super) fn decode_bytes(value: &str, field: &str) -> Result<Vec<u8>, ApiError> {
    B64_STD
        .decode(value)
        .or_else(|_| B64_URL.decode(value))
        .map_err(|e| ApiError::InvalidArgument(format!("{field} is not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn parse(json: &str) -> SigningCertRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn camel_and_snake_case() {
        for body in [
            r#"{"credentials":{"oidcIdentityToken":"T"},"publicKeyRequest":{"publicKey":{"algorithm":"ECDSA","content":"K"},"proofOfPossession":"AQID"}}"#,
            r#"{"credentials":{"oidc_identity_token":"T"},"public_key_request":{"public_key":{"algorithm":2,"content":"K"},"proof_of_possession":"AQID"},"unknown":1}"#,
        ] {
            let r = parse(body);
            assert_eq!(token(&r, &HeaderMap::new()).unwrap(), "T");
            match key_proof(&r).unwrap() {
                KeyProof::PublicKey { signature, .. } => assert_eq!(signature, [1, 2, 3]),
                KeyProof::Csr(_) => panic!("expected a public key"),
            }
        }
    }

    #[test]
    fn csr_wins_and_bearer_fallback() {
        let r = parse(
            r#"{"certificateSigningRequest":"LS0t","publicKeyRequest":{"publicKey":{"content":"K"}}}"#,
        );
        assert!(matches!(key_proof(&r).unwrap(), KeyProof::Csr(b) if b == b"---"));
        let mut headers = HeaderMap::new();
        assert!(token(&r, &headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(token(&r, &headers).unwrap(), "abc");
        // the body wins over the header
        let r = parse(r#"{"credentials":{"oidcIdentityToken":"body"}}"#);
        assert_eq!(token(&r, &headers).unwrap(), "body");
    }

    #[test]
    fn missing_pieces_are_client_errors() {
        let r = parse(r#"{}"#);
        assert!(matches!(key_proof(&r), Err(ApiError::InvalidArgument(_))));
        let r = parse(r#"{"publicKeyRequest":{"proofOfPossession":"AA=="}}"#);
        assert!(
            matches!(key_proof(&r), Err(ApiError::InvalidArgument(m)) if m.contains("content"))
        );
        let r =
            parse(r#"{"publicKeyRequest":{"publicKey":{"content":"K"},"proofOfPossession":"%%"}}"#);
        assert!(matches!(key_proof(&r), Err(ApiError::InvalidArgument(m)) if m.contains("base64")));
    }

    #[test]
    fn public_key_content_forms() {
        assert_eq!(
            public_key_bytes("-----BEGIN PUBLIC KEY-----\nx"),
            b"-----BEGIN PUBLIC KEY-----\nx"
        );
        assert_eq!(public_key_bytes("AQID"), [1, 2, 3]);
        assert_eq!(public_key_bytes("\u{1}\u{2}"), [1, 2]);
    }
}
