//! Reading a log's answers as an auditor must: a hostile log may answer
//! without end, or with an error page, so every answer is read up to a cap
//! and a non-success status is an error that quotes the start of the body.

use anyhow::{bail, ensure, Context as _};

/// How much of an error answer is read, to quote it.
const ERROR_QUOTE_BYTES: usize = 300;

/// The body of `response` (from `url`), at most `cap` bytes; an error if it
/// is longer or its status is not a success.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    url: &str,
    cap: usize,
) -> anyhow::Result<Vec<u8>> {
    let status = response.status();
    let limit = if status.is_success() {
        cap
    } else {
        ERROR_QUOTE_BYTES
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if !status.is_success() {
            bytes.extend_from_slice(&chunk[..chunk.len().min(limit - bytes.len())]);
            if bytes.len() == limit {
                break;
            }
            continue;
        }
        ensure!(
            bytes.len() + chunk.len() <= limit,
            "{url} answered more than {cap} bytes"
        );
        bytes.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        bail!(
            "{url} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    Ok(bytes)
}

/// `GET url`, its body read as [`read_capped`] does.
pub(crate) async fn get_capped(
    http: &reqwest::Client,
    url: &str,
    cap: usize,
) -> anyhow::Result<Vec<u8>> {
    let response = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    read_capped(response, url, cap).await
}
