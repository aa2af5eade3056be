//! The C2SP tlog-tiles read API (https://c2sp.org/tlog-tiles) of the Rekor
//! v2 log (docs/rekor-v2.md §2): `GET /checkpoint`, `/tile/<L>/<N>[.p/<W>]`
//! and `/tile/entries/<N>[.p/<W>]`.
//!
//! Everything is cut to the latest checkpoint this process has published
//! (with a witness quorum, the latest one enough witnesses cosigned; see
//! `crate::witness`):
//! a tile or bundle is served only if that checkpoint's tree holds it at the
//! width asked (a narrower `.p/W` of a right-edge tile is a prefix of every
//! later version, so any `W` up to the published width is served). A tile
//! costs no signature and at most one store read (none when cached: full
//! tiles and bundles are kept as served, see `served_tiles`); full tiles
//! and partial ones alike are immutable, so they cache for a year.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use shared::tlog_tiles::{encode_entry_bundle, TilePath, FULL_TILE_WIDTH};

use super::error::ApiError;
use super::served_tiles::FullTile;
use super::AppState;
use crate::witness::Published;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `/checkpoint` changes with every batch; clients and caches may reuse it
/// for a couple of seconds at most.
const CHECKPOINT_MAX_AGE: &str = "public, max-age=2";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
}

/// `GET /checkpoint`: the signed note of the latest published head, with
/// the witnesses' cosignatures when there are any for it.
async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let v2 = state.rekor_v2.as_ref().ok_or(ApiError::NotFound)?;
    let Published::Note { note, .. } = v2.witnessed.published(&v2.tree.head()) else {
        return Err(ApiError::Unavailable(
            "no checkpoint has its witness quorum yet".into(),
        ));
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CHECKPOINT_MAX_AGE),
            ),
        ],
        note,
    )
        .into_response())
}

/// `GET /tile/...`: a hash tile or an entry bundle.
async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let v2 = state.rekor_v2.as_ref().ok_or(ApiError::NotFound)?;
    let Ok(parsed) = TilePath::parse(&path) else {
        return Err(ApiError::Missing(format!(
            "{path:?} is not a tlog-tiles path"
        )));
    };
    let size = v2.witnessed.published_size(&v2.tree.head());
    // How many hashes or entries the published tree holds of it, if any.
    let width = parsed.width_in(size).ok_or(ApiError::NotFound)?;
    let full = (width == FULL_TILE_WIDTH).then_some(match parsed {
        TilePath::Hashes { level, index, .. } => FullTile::Hashes { level, index },
        TilePath::Entries { index, .. } => FullTile::Entries { index },
    });
    if let Some(bytes) = full.and_then(|tile| v2.served.get(tile)) {
        return Ok(tile_response(bytes));
    }
    let bytes = match parsed {
        TilePath::Hashes { level, index, .. } => {
            let width = usize::from(width);
            let tile = state
                .store
                .read_tile(v2.tree.id(), level, index, width)
                .await?
                .ok_or_else(|| {
                    ApiError::Internal(format!(
                        "tile {level}/{index} of a published tree is not stored"
                    ))
                })?;
            tile[..width * 32].to_vec()
        }
        TilePath::Entries { index, .. } => {
            // No overflow: the published tree holds this bundle.
            let start = index * u64::from(FULL_TILE_WIDTH);
            let end = start + u64::from(width);
            let rows = state
                .store
                .entries_in_range(v2.tree.id(), start, end)
                .await?;
            if rows.len() != usize::from(width) {
                return Err(ApiError::Internal(format!(
                    "entries {start}..{end} of a published tree are not all stored"
                )));
            }
            encode_entry_bundle(rows.iter().map(|r| r.entry.body.as_slice()))
                .map_err(|e| ApiError::Internal(e.to_string()))?
        }
    };
    let bytes = Bytes::from(bytes);
    if let Some(tile) = full {
        v2.served.insert(tile, bytes.clone());
    }
    Ok(tile_response(bytes))
}

/// A 200 with a tile's bytes: immutable, whatever its width.
fn tile_response(bytes: Bytes) -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
        ],
        bytes,
    )
        .into_response()
}
