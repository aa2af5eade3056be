//! `sigil bench tiles`: read load on a log's C2SP tlog-tiles API
//! (https://c2sp.org/tlog-tiles; docs/rekor-v2.md §2), the read side that
//! auditors, monitors and witnesses use: random full hash tiles (levels 0
//! and 1) and full entry bundles of the published tree, each checked for
//! its size. The ceiling, measured in the same run by the same load loop,
//! is a static-file server: the same tile bytes served from memory by a
//! minimal axum router on this machine.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use clap::Args;
use serde_json::{json, Map};
use shared::tlog_tiles::{decode_entry_bundle, TilePath, FULL_TILE_WIDTH};

use super::driver::get_random;
use super::report::{Ceiling, Report};
use super::LoadArgs;

#[derive(Debug, Args)]
pub struct TilesArgs {
    /// The log's base URL (tiles under `/tile/`, `/checkpoint`).
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Distinct tiles fetched up front for the static-file ceiling.
const SAMPLE: usize = 512;

pub(crate) async fn run(args: TilesArgs) -> anyhow::Result<()> {
    let load = &args.load;
    let client = load.client()?;
    let size = checkpoint_size(&client, load.base()).await?;
    let paths = full_tile_paths(size);
    anyhow::ensure!(
        !paths.is_empty(),
        "the log at {} has no full tile yet ({size} entries): fill it first \
         (sigil bench tlog --api v2)",
        load.url
    );
    // The bytes of a sample of tiles, for the ceiling (and a first check).
    let mut sample = HashMap::new();
    for path in paths.iter().take(SAMPLE) {
        let bytes = client
            .get(format!("{}/{path}", load.base()))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        anyhow::ensure!(tile_ok(path, &bytes), "{path} is not a full tile");
        sample.insert(path.clone(), bytes);
    }
    eprintln!(
        "reading {} full tiles of a {size}-entry tree for {} s (+{} s warm-up) with {} connections...",
        paths.len(),
        load.duration,
        load.warmup,
        load.concurrency
    );
    let (tally, measured) = get_random(
        &client,
        load.base(),
        Arc::new(paths.clone()),
        load.concurrency,
        load.warmup,
        load.duration,
        tile_ok,
    )
    .await;

    eprintln!(
        "measuring the static-file ceiling for {} s...",
        load.ceiling_secs
    );
    let sample_paths: Vec<String> = sample.keys().cloned().collect();
    let static_base = serve_static(sample).await?;
    let (ceiling_tally, ceiling_time) = get_random(
        &client,
        &static_base,
        Arc::new(sample_paths),
        load.concurrency,
        1,
        load.ceiling_secs,
        tile_ok,
    )
    .await;
    let ceiling = Ceiling {
        per_sec: ceiling_tally.latencies_us.len() as f64 / ceiling_time.as_secs_f64().max(1e-9),
        what: format!(
            "the same tiles served from memory by a minimal axum router, same load loop, \
             {} requests",
            ceiling_tally.latencies_us.len()
        ),
    };

    let mut extra = Map::new();
    extra.insert("tree_size".into(), json!(size));
    extra.insert("full_tiles".into(), json!(paths.len()));
    let report = Report {
        cpu: Some(ceiling),
        extra,
        ..Report::of("tiles", "tiles", load, measured, tally)
    };
    report.print();
    Ok(())
}

/// The tree size of the log's published checkpoint.
pub(super) async fn checkpoint_size(client: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let text = client
        .get(format!("{base}/checkpoint"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let note = shared::note::SignedNote::parse(&text)?;
    Ok(shared::checkpoint::Checkpoint::parse(&note.text)?.size)
}

/// Every full tile a tree of `size` leaves serves: hash tiles at levels 0
/// and 1, and entry bundles.
fn full_tile_paths(size: u64) -> Vec<String> {
    let width = u64::from(FULL_TILE_WIDTH);
    let mut paths = Vec::new();
    for index in 0..size / width {
        paths.push(
            TilePath::Hashes {
                level: 0,
                index,
                width: None,
            }
            .path(),
        );
        paths.push(TilePath::Entries { index, width: None }.path());
    }
    for index in 0..size / (width * width) {
        paths.push(
            TilePath::Hashes {
                level: 1,
                index,
                width: None,
            }
            .path(),
        );
    }
    paths
}

/// A full hash tile is 256 hashes; a full bundle decodes to 256 entries.
fn tile_ok(path: &str, bytes: &[u8]) -> bool {
    if path.starts_with("tile/entries/") {
        decode_entry_bundle(bytes).is_ok_and(|e| e.len() == usize::from(FULL_TILE_WIDTH))
    } else {
        bytes.len() == usize::from(FULL_TILE_WIDTH) * 32
    }
}

/// Serves `tiles` (path → bytes) from memory on a free loopback port, as a
/// static file server would; returns its base URL.
async fn serve_static(tiles: HashMap<String, Bytes>) -> anyhow::Result<String> {
    let tiles = Arc::new(tiles);
    let router = axum::Router::new().route(
        "/{*path}",
        axum::routing::get(
            move |axum::extract::Path(path): axum::extract::Path<String>| {
                let tiles = tiles.clone();
                async move {
                    match tiles.get(&path) {
                        Some(bytes) => (
                            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
                            bytes.clone(),
                        )
                            .into_response(),
                        None => axum::http::StatusCode::NOT_FOUND.into_response(),
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        // The ceiling server lives as long as the benchmark process.
        let _ = axum::serve(listener, router).await;
    });
    Ok(base)
}

use axum::response::IntoResponse as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_tiles_within_the_tree_are_asked_for() {
        assert!(full_tile_paths(255).is_empty());
        assert_eq!(full_tile_paths(256), ["tile/0/000", "tile/entries/000"]);
        let paths = full_tile_paths(256 * 256 + 300);
        assert_eq!(paths.len(), 2 * 257 + 1);
        assert!(paths.contains(&"tile/1/000".to_owned()));
        assert!(paths.contains(&"tile/0/256".to_owned()));
        assert!(!paths.contains(&"tile/0/257".to_owned()));
        assert!(tile_ok("tile/0/000", &[0u8; 8192]));
        assert!(!tile_ok("tile/0/000", &[0u8; 8191]));
    }
}
