//! RFC 6962 §4 CT log API (docs/ct-wire.md), submission side: `add-chain`,
//! `add-pre-chain` (§4.1, §4.2), `get-sth` (§4.3) and `get-roots` (§4.7); the
//! audit reads are in `ct_read`. An SCT is returned only once its entry is durably
//! committed, so every SCT this log hands out is already covered by a stored
//! STH. Each entry is committed with its §4.6 `extra_data` (the chain up to
//! the accepted root), which `get-entries` serves. `get-sth` serves the
//! latest head through [`super::sth::SthCache`], which signs it again when
//! it is over an hour old or was signed by another key.
//!
//! Framing follows ctfe (certificate-transparency-go `trillian/ctfe`
//! handlers): success bodies are compact JSON without a trailing newline;
//! errors are `text/plain` as Go's `http.Error` writes them,
//! `"<status text>\n<message>\n"` ([`ctfe_error_framing`]).

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use shared::ct::{accept_chain, merkle_tree_leaf};
use shared::merkle::Hash;
use shared::sct::{AddChainResponse, SignedCertificateTimestamp, SignedEntry, MAX_U24};

use super::error::{ApiError, ErrorMessage};
use super::go_json::GoJson;
use super::{body_bytes, verify_pool, AppState, MAX_BODY_BYTES};
use crate::sequencer::{LeafData, Submission};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/ct/v1/add-chain", post(add_chain))
        .route("/ct/v1/add-pre-chain", post(add_pre_chain))
        .route("/ct/v1/get-sth", get(get_sth))
        .route("/ct/v1/get-roots", get(get_roots))
}

/// Re-frames an error response of the CT API as ctfe sends it: Go's
/// `http.Error` with the body `"<status text>\n<message>\n"`, `text/plain;
/// charset=utf-8` and `X-Content-Type-Options: nosniff`. Status and other
/// headers (`Retry-After`) stay. Responses that are not errors pass as they are.
pub(super) async fn ctfe_error_framing(mut response: Response) -> Response {
    let Some(ErrorMessage(message)) = response.extensions_mut().remove::<ErrorMessage>() else {
        return response;
    };
    let reason = response.status().canonical_reason().unwrap_or("Error");
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(format!("{reason}\n{message}\n"));
    response
}

/// `{"chain": [base64 DER, ...]}`, leaf first.
#[derive(serde::Deserialize)]
struct AddChainRequest {
    chain: Vec<String>,
}

/// RFC 6962 §4.3 `get-sth` response.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub(crate) struct GetSthResponse {
    pub(crate) tree_size: u64,
    pub(crate) timestamp: u64,
    pub(crate) sha256_root_hash: String,
    pub(crate) tree_head_signature: String,
}

/// RFC 6962 §4.7 `get-roots` response.
#[derive(serde::Serialize)]
struct GetRootsResponse {
    certificates: Vec<String>,
}

async fn add_chain(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AddChainResponse>, ApiError> {
    add(&state, body, false).await
}

async fn add_pre_chain(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AddChainResponse>, ApiError> {
    add(&state, body, true).await
}

async fn add(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
    precert: bool,
) -> Result<Json<AddChainResponse>, ApiError> {
    let body = body_bytes(body, MAX_BODY_BYTES)?;
    let request: AddChainRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("malformed request: {e}")))?;
    let chain = request
        .chain
        .iter()
        .enumerate()
        .map(|(i, c)| {
            B64.decode(c)
                .map_err(|e| ApiError::BadRequest(format!("chain[{i}] is not base64: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Chain signature checks are CPU work: off the async workers, one per CPU.
    let log = state.ct.clone();
    let accepted = verify_pool::run(verify_pool::Lane::Chains, move || {
        accept_chain(&chain, &log.roots, precert)
    })
    .await?
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let ct = &state.ct;
    let identity = entry_identity(&accepted.entry);
    let extra_data = extra_data(&accepted.chain, &accepted.root, precert)?;
    let done = ct
        .tree
        .submit(Submission {
            identity,
            data: LeafData::Ct(accepted.entry.clone()),
            index_keys: vec![],
            extra_data,
        })
        .await?;
    // For a resubmission this is the first submission's timestamp, so the
    // SCT matches the leaf already in the tree.
    let sct =
        SignedCertificateTimestamp::sign(&ct.signer, done.entry.timestamp_ms, &accepted.entry);
    Ok(Json(sct.to_add_chain_response()))
}

/// RFC 6962 §4.6 `extra_data`, TLS-encoded: for an X.509 entry the
/// `certificate_chain` (`ASN.1Cert <0..2^24-1>`), for a precertificate a
/// `PrecertChainEntry` (the precertificate, then that list). The list is the
/// chain after the leaf and MUST end with an accepted root, so the root is
/// appended when the submitter left it out (as ctfe stores its verified path).
fn extra_data(chain: &[Vec<u8>], root: &[u8], precert: bool) -> Result<Vec<u8>, ApiError> {
    let Some((leaf, rest)) = chain.split_first() else {
        return Err(ApiError::BadRequest("empty chain".into()));
    };
    let mut path: Vec<&[u8]> = rest.iter().map(Vec::as_slice).collect();
    if chain.last().map(Vec::as_slice) != Some(root) {
        path.push(root);
    }
    let mut list = Vec::new();
    for cert in path {
        put_u24_opaque(&mut list, cert)?;
    }
    let mut out = Vec::with_capacity(list.len() + leaf.len() + 6);
    if precert {
        put_u24_opaque(&mut out, leaf)?;
    }
    put_u24_opaque(&mut out, &list)?;
    Ok(out)
}

/// Appends a TLS `opaque <0..2^24-1>`: a 3-byte big-endian length, the bytes.
fn put_u24_opaque(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), ApiError> {
    if bytes.len() > MAX_U24 {
        return Err(ApiError::BadRequest(
            "certificate chain is too large to log (over 16 MiB)".into(),
        ));
    }
    // Checked above: the length fits 24 bits.
    let len = bytes.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(bytes);
    Ok(())
}

/// What identifies a CT entry regardless of when it was logged: the hash of
/// its `MerkleTreeLeaf` with the timestamp fixed at zero.
fn entry_identity(entry: &SignedEntry) -> Hash {
    Hash(Sha256::digest(merkle_tree_leaf(0, entry, &[])).into())
}

/// The latest head's STH, re-signed when it is over an hour old or was
/// signed by another key (see `sth`). All four fields come from one STH.
async fn get_sth(State(state): State<AppState>) -> Json<GetSthResponse> {
    let ct = &state.ct;
    let sth = ct.sths.for_head(ct.tree.head(), ct.clock.now_ms());
    Json(GetSthResponse {
        tree_size: sth.size,
        timestamp: sth.timestamp_ms,
        sha256_root_hash: B64.encode(sth.root.0),
        tree_head_signature: B64.encode(&sth.signed),
    })
}

/// `get-roots`: the one ctfe answer written with `json.Encoder`, so its
/// body ends in a newline (ctfe `getRoots`).
async fn get_roots(State(state): State<AppState>) -> GoJson<GetRootsResponse> {
    GoJson(GetRootsResponse {
        certificates: state.ct.roots.iter().map(|r| B64.encode(r)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_data_ends_with_the_root() {
        let (leaf, inter, root) = (vec![1u8; 2], vec![2u8; 3], vec![3u8; 1]);
        // X.509 entry, root left out: list = inter, root.
        let got = extra_data(&[leaf.clone(), inter.clone()], &root, false).unwrap();
        assert_eq!(got, vec![0, 0, 10, 0, 0, 3, 2, 2, 2, 0, 0, 1, 3]);
        // Root included: not repeated.
        let with_root = extra_data(&[leaf.clone(), inter, root.clone()], &root, false).unwrap();
        assert_eq!(with_root, got);
        // Precert issued by the root: the precert, then a one-root list.
        let pre = extra_data(&[leaf], &root, true).unwrap();
        assert_eq!(pre, vec![0, 0, 2, 1, 1, 0, 0, 4, 0, 0, 1, 3]);
    }
}
