//! `sigil bench tsa`: time-stamp load on a running RFC 3161 authority
//! (`POST /api/v1/timestamp`, docs/rekor-v2.md §5), with the JSON request
//! sigstore-js sends. A request counts when its 200 carries a granted
//! `TimeStampResp` with a token. The ceiling is the raw ECDSA P-256
//! signature rate of this machine's cores: a token costs one signature.

use std::sync::Arc;

use axum::body::Bytes;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::Args;
use der::Decode as _;
use rand_core::RngCore as _;
use serde_json::{json, Map};
use sha2::{Digest as _, Sha256};

use super::driver::{drive, Expect};
use super::report::Report;
use super::{ceiling, LoadArgs};

#[derive(Debug, Args)]
pub struct TsaArgs {
    /// The CA's base URL (the TSA is served beside it).
    #[command(flatten)]
    pub load: LoadArgs,
    /// Requests are pre-generated for this rate over warm-up + duration.
    #[arg(long, default_value_t = 10_000)]
    pub max_rate: u64,
}

pub(crate) async fn run(args: TsaArgs) -> anyhow::Result<()> {
    let load = &args.load;
    let client = load.client()?;
    let count = (args.max_rate * (load.warmup + load.duration)) as usize;
    let pool: Arc<Vec<Bytes>> = Arc::new((0..count).map(|_| request()).collect());
    eprintln!(
        "time-stamping for {} s (+{} s warm-up) with {} connections...",
        load.duration, load.warmup, load.concurrency
    );
    let url = format!("{}/api/v1/timestamp", load.base());
    let expect = Expect {
        status: 200,
        body_ok: granted,
    };
    let run = drive(&client, &url, load, pool.clone(), expect).await;
    drop(client);
    eprintln!(
        "measuring the signature ceiling for {} s...",
        load.ceiling_secs
    );
    let secs = load.ceiling_secs;
    let cpu = tokio::task::spawn_blocking(move || ceiling::cpu_sign(secs)).await?;

    let mut extra = Map::new();
    extra.insert("max_rate".into(), json!(args.max_rate));
    extra.insert("requests_exhausted".into(), json!(run.exhausted));
    let report = Report {
        cpu: Some(cpu),
        extra,
        ..Report::of("tsa", "timestamps", load, run.measured, run.tally)
    };
    if run.exhausted {
        eprintln!("WARNING: the pre-generated requests ran out; rerun with a higher --max-rate");
    }
    report.print();
    Ok(())
}

/// A JSON request over the SHA-256 of fresh random bytes.
fn request() -> Bytes {
    let mut artifact = [0u8; 64];
    rand_core::OsRng.fill_bytes(&mut artifact);
    let body = json!({
        "artifactHash": B64.encode(Sha256::digest(artifact)),
        "hashAlgorithm": "sha256",
    });
    Bytes::from(body.to_string())
}

/// A granted response (PKIStatus 0) that carries a token.
fn granted(body: &[u8]) -> bool {
    x509_tsp::TimeStampResp::from_der(body).is_ok_and(|r| {
        r.status.status == cmpv2::status::PkiStatus::Accepted && r.time_stamp_token.is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_what_the_tsa_parses_and_refusals_do_not_count() {
        let body = request();
        let parsed = ca_server::tsa::StampRequest::from_json(&body).unwrap();
        assert_eq!(parsed.hashed_message.len(), 32);
        assert_ne!(request(), body, "every request is over fresh bytes");
        assert!(!granted(b"{\"code\":400}"));
    }
}
