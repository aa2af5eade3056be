//! `sigil monitor`: an auditor's watch over a Rekor log, in the spirit of
//! rekor-monitor. Each run verifies the log's signed checkpoint with a key
//! given out of band, proves the new tree consistent with the one the state
//! file remembers, reads every entry added since, and prints one JSON line
//! per entry whose signer a rule watches. The state file moves on only
//! after a run that verified.
//!
//! - Rekor v1 (`--rekor-api 1`): consistency proofs (RFC 6962 §2.1.2) and
//!   one verified inclusion proof per entry read (`rekor_v1`).
//! - Rekor v2 (`--rekor-api 2`): C2SP tiles; the state keeps the tree's
//!   right edge, and the entries read from entry bundles must extend it to
//!   the new checkpoint's root (`rekor_v2`). A v2 entry has no UUID and no
//!   integrated time: its match line gives the leaf hash as `uuid` and a
//!   null `integratedTime`.
//!
//! Exit status: 0 consistent, no match; 1 consistent, a watched signer
//! appeared; 2 the log is inconsistent or could not be verified (also
//! clap's status for bad arguments).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::rekor_v1::{RekorV1, VerifiedHead};
use super::rekor_v2::{RekorV2, TiledHead};
use super::watch::{self, Rule, SanMatch};

/// Entries of a v1 log held in memory at once while catching up.
pub const ENTRIES_PER_READ: u64 = 10_000;

/// Exit status when a watched signer appeared.
const EXIT_MATCH: i32 = 1;
/// Exit status when the log is inconsistent or unverifiable.
const EXIT_UNVERIFIED: i32 = 2;

/// `sigil monitor` arguments.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Base URL of the Rekor log (for v2, the prefix of `/checkpoint` and
    /// `/tile/`; its origin is this URL without the scheme).
    #[arg(long)]
    url: String,
    /// The log's protocol: 1 (the `/api/v1` REST API) or 2 (C2SP tiles).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    rekor_api: u8,
    /// The log's public key (PEM), from its trust root, not from the log.
    #[arg(long)]
    public_key: PathBuf,
    /// Where the last verified checkpoint is kept between runs.
    #[arg(long)]
    state: PathBuf,
    /// Run once and exit (for cron and CI); otherwise check every --interval.
    #[arg(long)]
    once: bool,
    /// Seconds between checks when not --once.
    #[arg(long, default_value_t = 300)]
    interval: u64,
    /// On the first run (no state file), scan from this index instead of
    /// only remembering the current head.
    #[arg(long)]
    from_index: Option<u64>,
    /// Watch a certificate SAN (email or URI), exactly. Repeatable.
    #[arg(long = "identity")]
    identities: Vec<String>,
    /// Watch SANs matching a regular expression (anchored). Repeatable.
    #[arg(long = "identity-regex")]
    identity_patterns: Vec<String>,
    /// Only count identity matches from certificates of this OIDC issuer.
    #[arg(long)]
    issuer: Option<String>,
    /// Watch a source repository (`owner/repo` or its URL), from the
    /// certificate's repository extensions. Repeatable.
    #[arg(long = "repository")]
    repositories: Vec<String>,
    /// Only count repository matches at this git ref (e.g. `refs/heads/main`).
    #[arg(long = "ref")]
    git_ref: Option<String>,
    /// Watch a signing key by the hex SHA-256 of its DER SPKI. Repeatable.
    #[arg(long = "key-fingerprint")]
    key_fingerprints: Vec<String>,
}

/// The log watched.
enum Log {
    V1(RekorV1),
    V2(RekorV2),
}

/// Runs `sigil monitor`; exits the process with its status.
pub fn run(args: MonitorArgs) -> anyhow::Result<()> {
    let rules = rules(&args)?;
    let log = if args.rekor_api == 2 {
        Log::V2(RekorV2::with_key_file(&args.url, &args.public_key)?)
    } else {
        Log::V1(RekorV1::with_key_file(&args.url, &args.public_key)?)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    loop {
        let checked = runtime.block_on(async {
            match &log {
                Log::V1(log) => check_v1(log, &args, &rules).await,
                Log::V2(log) => check_v2(log, &args, &rules).await,
            }
        });
        let status = match checked {
            Ok(true) => EXIT_MATCH,
            Ok(false) => 0,
            Err(e) => {
                eprintln!("sigil monitor: NOT VERIFIED: {e:#}");
                std::process::exit(EXIT_UNVERIFIED);
            }
        };
        if args.once {
            std::process::exit(status);
        }
        std::thread::sleep(std::time::Duration::from_secs(args.interval));
    }
}

/// One check of a v1 log; true when a watched signer appeared.
async fn check_v1(log: &RekorV1, args: &MonitorArgs, rules: &[Rule]) -> anyhow::Result<bool> {
    let head = log.head().await?;
    let previous: Option<VerifiedHead> = read_state(&args.state)?;
    let from = match &previous {
        Some(old) => {
            log.prove_consistent(old, &head).await?;
            old.size
        }
        None => args.from_index.unwrap_or(head.size),
    };
    let mut matched = false;
    // In chunks, so that catching up on a large log holds one chunk at a time.
    let mut next = from;
    while next < head.size {
        let end = (next + ENTRIES_PER_READ).min(head.size);
        for entry in log.entries(next..end, &head).await? {
            matched |= report(
                rules,
                entry.index,
                &entry.uuid,
                Some(entry.integrated_time),
                &entry.body,
            );
        }
        next = end;
    }
    write_state(&args.state, &head)?;
    eprintln!(
        "sigil monitor: tree {} verified at size {} (root {}), {} new entries read",
        head.tree_id,
        head.size,
        head.root_hash,
        head.size - from
    );
    Ok(matched)
}

/// One check of a v2 log; true when a watched signer appeared.
async fn check_v2(log: &RekorV2, args: &MonitorArgs, rules: &[Rule]) -> anyhow::Result<bool> {
    let head = log.head().await?;
    let previous: Option<TiledHead> = read_state(&args.state)?;
    let frontier = match &previous {
        Some(old) => {
            anyhow::ensure!(
                old.origin == log.origin(),
                "the state file is for log {:?}, not {:?}",
                old.origin,
                log.origin()
            );
            old.frontier()?
        }
        None => {
            log.frontier_at(args.from_index.unwrap_or(head.size), &head)
                .await?
        }
    };
    let from = frontier.size();
    // Entries are only known to be the log's once the scan lands on the
    // signed root, so what they match is held until then and printed after.
    let mut found = Vec::new();
    let verified = log
        .scan(frontier, &head, |entry| {
            found.extend(
                matches(rules, &entry.body)
                    .into_iter()
                    .map(|(rule, signer)| {
                        match_line(entry.index, &entry.leaf_hash.to_hex(), None, rule, &signer)
                    }),
            );
        })
        .await?;
    let matched = !found.is_empty();
    for line in found {
        println!("{line}");
    }
    write_state(&args.state, &verified)?;
    eprintln!(
        "sigil monitor: log {} verified at size {} (root {}), {} new entries read",
        verified.origin,
        verified.size,
        verified.root_hash,
        verified.size - from
    );
    Ok(matched)
}

/// Prints one line per rule a signer of the entry matches; true if any did.
pub fn report(
    rules: &[Rule],
    index: u64,
    uuid: &str,
    integrated_time: Option<i64>,
    body: &serde_json::Value,
) -> bool {
    let found = matches(rules, body);
    for (rule, signer) in &found {
        println!("{}", match_line(index, uuid, integrated_time, rule, signer));
    }
    !found.is_empty()
}

/// Every (rule, signer) of the entry that matches.
fn matches<'r>(rules: &'r [Rule], body: &serde_json::Value) -> Vec<(&'r Rule, watch::Signer)> {
    let mut found = Vec::new();
    for signer in watch::signers(body) {
        for rule in rules.iter().filter(|r| r.matches(&signer)) {
            found.push((rule, signer.clone()));
        }
    }
    found
}

/// The JSON line printed for a match.
fn match_line(
    index: u64,
    uuid: &str,
    integrated_time: Option<i64>,
    rule: &Rule,
    signer: &watch::Signer,
) -> serde_json::Value {
    serde_json::json!({
        "logIndex": index,
        "uuid": uuid,
        "integratedTime": integrated_time,
        "rule": rule.name,
        "signer": signer,
    })
}

/// A rule that reads every entry's signers and matches none (benchmarks).
pub fn watching_nobody() -> Vec<Rule> {
    vec![Rule {
        name: "nobody".into(),
        san: Some(SanMatch::Exact(String::new())),
        ..Rule::default()
    }]
}

fn rules(args: &MonitorArgs) -> anyhow::Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for id in &args.identities {
        rules.push(Rule {
            name: format!("identity {id}"),
            san: Some(SanMatch::Exact(id.clone())),
            issuer: args.issuer.clone(),
            ..Rule::default()
        });
    }
    for pattern in &args.identity_patterns {
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .with_context(|| format!("--identity-regex {pattern:?}"))?;
        rules.push(Rule {
            name: format!("identity-regex {pattern}"),
            san: Some(SanMatch::Pattern(re)),
            issuer: args.issuer.clone(),
            ..Rule::default()
        });
    }
    for repo in &args.repositories {
        rules.push(Rule {
            name: format!("repository {repo}"),
            repository: Some(repo.clone()),
            git_ref: args.git_ref.clone(),
            ..Rule::default()
        });
    }
    for fp in &args.key_fingerprints {
        rules.push(Rule {
            name: format!("key {fp}"),
            key_fingerprint: Some(fp.clone()),
            ..Rule::default()
        });
    }
    Ok(rules)
}

fn read_state<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!("{} is not a monitor state file", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Replaces the state file atomically (write aside, then rename).
fn write_state(path: &Path, head: &impl serde::Serialize) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(head)?)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}
