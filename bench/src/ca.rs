//! `sigil bench ca`: certificate issuance load on a running Fulcio-compatible
//! CA (`POST /api/v2/signingCert`, docs/fulcio-wire.md §1). Every request carries
//! its own identity token from a test issuer, a fresh P-256 key and its proof
//! of possession (docs/fulcio-wire.md §2), all made before the timed phase; the CA
//! gets each certificate's SCT from the real CT log over HTTP. A request
//! counts as done on a 200 whose chain holds a leaf and its issuer.
//!
//! The ceiling, measured in the same run with the server idle, is the
//! per-certificate crypto docs/design.md ("Performance targets") budgets at
//! "about 5,000/s per core": token verify,
//! proof-of-possession verify, two certificate signatures (precertificate and
//! final), SCT sign and SCT verify, on one thread per core.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use axum::body::Bytes;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use base64::Engine as _;
use clap::Args;
use dev_oidc::{DevIssuer, Identity};
use serde_json::{json, Map, Value};
use shared::keys::{EcdsaP256Signer, PublicKey};

use super::ceiling;
use super::driver::{drive, Expect};
use super::report::{Ceiling, Report};
use super::LoadArgs;
use super::LoadDevIssuer;

/// Typical DER sizes of what the CA signs: a leaf TBS with an email SAN and
/// the Sigstore extensions, and an SCT's signed input over it.
const TBS_LEN: usize = 560;
const SCT_INPUT_LEN: usize = 12 + 32 + 3 + TBS_LEN + 2;
/// Ceiling iterations between two looks at the clock.
const CLOCK_EVERY: u64 = 8;
/// Distinct key sets the ceiling cycles through.
const CEILING_SAMPLE: usize = 64;

#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// The `sigil dev` data directory whose development issuer signs the
    /// tokens (its key and URL); overridden by --issuer-key/--issuer-url.
    #[arg(long, env = "SIGIL_DATA_DIR", default_value = "./sigil-data")]
    pub data_dir: PathBuf,
    /// PKCS#8 PEM P-256 key of an issuer the CA trusts (its JWKS must
    /// publish this key with kid = hex of the first 8 bytes of SHA-256(SPKI),
    /// as `sigil dev`'s issuer does).
    #[arg(long, requires = "issuer_url")]
    pub issuer_key: Option<PathBuf>,
    /// That issuer's URL (the tokens' `iss`).
    #[arg(long, requires = "issuer_key")]
    pub issuer_url: Option<String>,
    /// Requests are pre-generated for this rate over warm-up + duration; set
    /// it above what the CA can take (running out is reported).
    #[arg(long, default_value_t = 3000)]
    pub max_rate: u64,
}

pub(crate) async fn run(args: CaArgs, dev_issuer: LoadDevIssuer) -> anyhow::Result<()> {
    let load = &args.load;
    let issuer = issuer(&args, dev_issuer)?;
    let client = load.client()?;
    let url = format!("{}/api/v2/signingCert", load.base());

    probe(&client, &url, &issuer).await?;

    let count = usize::try_from(args.max_rate * (load.warmup + load.duration))?;
    eprintln!(
        "generating {count} tokens, P-256 keys and proofs of possession on {} cores...",
        super::cores()
    );
    let t = Instant::now();
    let gen_issuer = issuer.clone();
    let pool = Arc::new(tokio::task::spawn_blocking(move || requests(&gen_issuer, count)).await?);
    eprintln!("  done in {:.1} s", t.elapsed().as_secs_f64());

    eprintln!(
        "issuing for {} s (+{} s warm-up) with {} connections...",
        load.duration, load.warmup, load.concurrency
    );
    let expect = Expect {
        status: 200,
        body_ok: chain_returned,
    };
    let run = drive(&client, &url, load, pool.clone(), expect).await;
    drop(client);
    drop(pool);

    eprintln!(
        "measuring the per-certificate crypto ceiling for {} s...",
        load.ceiling_secs
    );
    let secs = load.ceiling_secs;
    let (cpu, per_cpu_sec) = tokio::task::spawn_blocking(move || crypto_ceiling(secs)).await??;
    let costs = tokio::task::spawn_blocking(op_costs).await?;
    eprintln!(
        "one P-256 ECDSA operation on one thread: sign {:.0} µs, verify {:.0} µs (wall clock)",
        costs.sign_us, costs.verify_us
    );
    // On a shared machine the wall-clock ceiling shrinks with the other
    // load; the thread CPU time it took gives the ceiling of idle cores.
    if let Some(per_cpu_sec) = per_cpu_sec {
        eprintln!(
            "crypto per CPU-second: {per_cpu_sec:.0} certificates ({:.0}/s on {} idle cores)",
            per_cpu_sec * super::cores() as f64,
            super::cores()
        );
    }

    let mut extra = Map::new();
    extra.insert("max_rate".into(), json!(args.max_rate));
    extra.insert("requests_generated".into(), json!(count));
    extra.insert("requests_exhausted".into(), json!(run.exhausted));
    extra.insert("issuer".into(), json!(issuer_url(&issuer)));
    extra.insert("p256_sign_us".into(), json!(costs.sign_us.round()));
    extra.insert("p256_verify_us".into(), json!(costs.verify_us.round()));
    extra.insert(
        "ceiling_cpu_per_cpu_sec".into(),
        json!(per_cpu_sec.map(f64::round)),
    );
    extra.insert(
        "ceiling_cpu_idle_cores_per_sec".into(),
        json!(per_cpu_sec.map(|c| (c * super::cores() as f64).round())),
    );
    let report = Report {
        cpu: Some(cpu),
        extra,
        ..Report::of("ca", "certificates", load, run.measured, run.tally)
    };
    if run.exhausted {
        eprintln!("WARNING: the pre-generated requests ran out; rerun with a higher --max-rate");
    }
    report.print();
    Ok(())
}

/// The token issuer: explicit key + URL, or the `sigil dev` data directory's.
fn issuer(args: &CaArgs, dev_issuer: LoadDevIssuer) -> anyhow::Result<DevIssuer> {
    match (&args.issuer_key, &args.issuer_url) {
        (Some(key), Some(url)) => {
            let pem = std::fs::read_to_string(key)
                .with_context(|| format!("reading {}", key.display()))?;
            let key = EcdsaP256Signer::from_pem(&pem)
                .with_context(|| format!("parsing {}", key.display()))?;
            Ok(DevIssuer::new(url, key))
        }
        _ => (dev_issuer.0)(&args.data_dir),
    }
}

fn issuer_url(issuer: &DevIssuer) -> String {
    // The URL is the token's `iss`; read it back from a minted token rather
    // than widening DevIssuer's API.
    let token = issuer.mint(&Identity::Subject("probe"), 0);
    token
        .split('.')
        .nth(1)
        .and_then(|claims| URL_SAFE_NO_PAD.decode(claims).ok())
        .and_then(|claims| serde_json::from_slice::<Value>(&claims).ok())
        .and_then(|claims| claims["iss"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One request before the timed phase, checked in depth: a clear error
/// (wrong URL, untrusted issuer, CT log down) instead of a wall of failures.
async fn probe(client: &reqwest::Client, url: &str, issuer: &DevIssuer) -> anyhow::Result<()> {
    let body = request(issuer, "bench-probe@example.com");
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("the probe request got {status} from {url}: {}", text.trim());
    }
    let value: Value = serde_json::from_str(&text).context("the probe's answer is not JSON")?;
    let chain = value["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .context("the probe's answer has no signedCertificateEmbeddedSct chain")?;
    ensure!(chain.len() >= 2, "the chain lacks the issuer certificate");
    let leaf = chain[0].as_str().context("the leaf is not a PEM string")?;
    let (_, der) = shared::keys::pem_blocks(leaf.as_bytes())?
        .into_iter()
        .next()
        .context("the leaf is not PEM")?;
    // 1.3.6.1.4.1.11129.2.4.2, the embedded SCT list (RFC 6962 §3.3).
    const SCT_LIST_OID: &[u8] = &[
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02,
    ];
    ensure!(
        der.windows(SCT_LIST_OID.len()).any(|w| w == SCT_LIST_OID),
        "the probe's certificate carries no embedded SCT"
    );
    Ok(())
}

/// `count` request bodies, each with its own token, key and proof.
fn requests(issuer: &DevIssuer, count: usize) -> Vec<Bytes> {
    let threads = super::cores();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..count)
                        .step_by(threads)
                        .map(|i| request(issuer, &format!("bench-{i}@example.com")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// A sigstore-js style request (docs/fulcio-wire.md §1): token in the body, a PEM
/// SPKI and an ECDSA-SHA256 signature over the email as proof of possession.
fn request(issuer: &DevIssuer, email: &str) -> Bytes {
    let token = issuer.mint(
        &Identity::Email(email),
        time::OffsetDateTime::now_utc().unix_timestamp(),
    );
    let key = EcdsaP256Signer::generate();
    let proof = key.sign(email.as_bytes());
    let body = json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": key.public_pem()},
            "proofOfPossession": B64.encode(proof),
        },
    });
    Bytes::from(body.to_string())
}

/// A request counts when its 200 carries a chain of the leaf and its issuer.
fn chain_returned(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v["signedCertificateEmbeddedSct"]["chain"]["certificates"]
                .as_array()
                .map(Vec::len)
        })
        .is_some_and(|len| len >= 2)
}

/// Inputs of one certificate's crypto, as the CA and CT log see them.
struct CeilingCase {
    issuer_key: PublicKey,
    token_input: Vec<u8>,
    token_sig: Vec<u8>,
    client_key: PublicKey,
    email: Vec<u8>,
    proof: Vec<u8>,
}

/// Certificates per second the per-certificate crypto allows on every core
/// (wall clock), and per second of CPU time the threads actually got (None
/// where thread CPU time cannot be read).
fn crypto_ceiling(secs: u64) -> anyhow::Result<(Ceiling, Option<f64>)> {
    let issuer_signer = EcdsaP256Signer::generate();
    let issuer = DevIssuer::new("https://issuer.example.com", issuer_signer.clone());
    let cases = (0..CEILING_SAMPLE)
        .map(|i| -> anyhow::Result<CeilingCase> {
            let email = format!("ceiling-{i}@example.com");
            let token = issuer.mint(
                &Identity::Email(&email),
                time::OffsetDateTime::now_utc().unix_timestamp(),
            );
            let (input, sig) = token.rsplit_once('.').context("a JWT has three parts")?;
            let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig)?)?;
            let client = EcdsaP256Signer::generate();
            Ok(CeilingCase {
                issuer_key: issuer_signer.public_key(),
                token_input: input.as_bytes().to_vec(),
                token_sig: sig.to_der().as_bytes().to_vec(),
                client_key: client.public_key(),
                proof: client.sign(email.as_bytes()),
                email: email.into_bytes(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ca_key = EcdsaP256Signer::generate();
    let ct_key = EcdsaP256Signer::generate();
    let ct_public = ct_key.public_key();
    let threads = super::cores();
    let failed = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let cpu_us = AtomicU64::new(0);
    let cpu_known = AtomicBool::new(true);
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(secs.max(1));
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (cases, ca_key, ct_key, ct_public) = (&cases, &ca_key, &ct_key, &ct_public);
            let (failed, total, cpu_us, cpu_known) = (&failed, &total, &cpu_us, &cpu_known);
            scope.spawn(move || {
                let cpu_start = ceiling::cpu_seconds("thread-self");
                let mut tbs = vec![0x30u8; TBS_LEN];
                let mut sct_input = vec![0u8; SCT_INPUT_LEN];
                let mut done = 0u64;
                let mut i = t;
                while Instant::now() < stop_at {
                    for _ in 0..CLOCK_EVERY {
                        let case = &cases[i % cases.len()];
                        // Distinct inputs per certificate, like distinct serials.
                        tbs[..8].copy_from_slice(&done.to_be_bytes());
                        sct_input[..8].copy_from_slice(&done.to_be_bytes());
                        let ok = case
                            .issuer_key
                            .verify(&case.token_input, &case.token_sig)
                            .is_ok()
                            && case.client_key.verify(&case.email, &case.proof).is_ok();
                        let precert = ca_key.sign(&tbs);
                        let sct = ct_key.sign(&sct_input);
                        let ok = ok && ct_public.verify(&sct_input, &sct).is_ok();
                        let cert = ca_key.sign(&tbs);
                        std::hint::black_box((precert, cert));
                        if !ok {
                            failed.store(true, Ordering::Relaxed);
                            return;
                        }
                        i += 1;
                        done += 1;
                    }
                }
                total.fetch_add(done, Ordering::Relaxed);
                match (cpu_start, ceiling::cpu_seconds("thread-self")) {
                    (Some(a), Some(b)) => {
                        // Whole microseconds of a non-negative difference.
                        let used = ((b - a).max(0.0) * 1e6) as u64;
                        cpu_us.fetch_add(used, Ordering::Relaxed);
                    }
                    _ => cpu_known.store(false, Ordering::Relaxed),
                }
            });
        }
    });
    let elapsed = start.elapsed();
    ensure!(
        !failed.load(Ordering::Relaxed),
        "a ceiling signature did not verify"
    );
    let count = total.load(Ordering::Relaxed);
    let cpu_secs = cpu_us.load(Ordering::Relaxed) as f64 / 1e6;
    let per_cpu_sec =
        (cpu_known.load(Ordering::Relaxed) && cpu_secs > 0.0).then(|| count as f64 / cpu_secs);
    let ceiling = Ceiling {
        per_sec: count as f64 / elapsed.as_secs_f64(),
        what: format!(
            "token verify + PoP verify + 2 cert signs + SCT sign + SCT verify on {threads} threads, \
             {count} certificates in {:.1} s",
            elapsed.as_secs_f64()
        ),
    };
    Ok((ceiling, per_cpu_sec))
}

/// Single-thread cost of the two operations the ceiling is made of.
struct OpCosts {
    sign_us: f64,
    verify_us: f64,
}

/// Times one P-256 ECDSA sign and verify (SHA-256, a TBS-sized message),
/// so the report says what one certificate's six operations cost.
fn op_costs() -> OpCosts {
    const ROUNDS: u32 = 200;
    let key = EcdsaP256Signer::generate();
    let public = key.public_key();
    let message = vec![0x30u8; TBS_LEN];
    let t = Instant::now();
    let mut signature = Vec::new();
    for _ in 0..ROUNDS {
        signature = std::hint::black_box(key.sign(&message));
    }
    let sign = t.elapsed();
    let t = Instant::now();
    for _ in 0..ROUNDS {
        let _ = std::hint::black_box(public.verify(&message, &signature));
    }
    let verify = t.elapsed();
    let us = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(ROUNDS);
    OpCosts {
        sign_us: us(sign),
        verify_us: us(verify),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_distinct_and_their_proofs_verify() {
        let issuer = DevIssuer::new("http://localhost:5556", EcdsaP256Signer::generate());
        let bodies = requests(&issuer, 5);
        assert_eq!(bodies.len(), 5);
        let mut keys = std::collections::HashSet::new();
        for body in &bodies {
            let v: Value = serde_json::from_slice(body).unwrap();
            let pem = v["publicKeyRequest"]["publicKey"]["content"]
                .as_str()
                .unwrap();
            assert!(keys.insert(pem.to_owned()), "a key was reused");
            let key = PublicKey::from_pem(pem.as_bytes()).unwrap();
            let token = v["credentials"]["oidcIdentityToken"].as_str().unwrap();
            let claims: Value = serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(token.split('.').nth(1).unwrap())
                    .unwrap(),
            )
            .unwrap();
            let email = claims["email"].as_str().unwrap();
            let proof = B64
                .decode(v["publicKeyRequest"]["proofOfPossession"].as_str().unwrap())
                .unwrap();
            key.verify(email.as_bytes(), &proof).unwrap();
            assert!(key.verify(b"someone-else@example.com", &proof).is_err());
        }
        assert_eq!(issuer_url(&issuer), "http://localhost:5556");
    }

    #[test]
    fn crypto_ceiling_counts_verified_certificates() {
        let (c, per_cpu_sec) = crypto_ceiling(1).unwrap();
        if cfg!(target_os = "linux") {
            assert!(per_cpu_sec.unwrap() > 0.0);
        }
        assert!(c.per_sec > 0.0, "{c:?}");
        assert!(c.what.contains("certificates"));
        let costs = op_costs();
        assert!(costs.sign_us > 0.0 && costs.verify_us > 0.0);
    }
}
