//! `sigil trust-root`: the ClientTrustConfig (TrustedRoot v0.1 and
//! SigningConfig v0.2 of sigstore/protobuf-specs, in the form docs/clients.md
//! §1 describes) of a running deployment, built from its public endpoints:
//!
//! * the CA chain from the CA's `GET /api/v2/trustBundle` (docs/fulcio-wire.md §1);
//! * the Rekor key from `GET /api/v1/log/publicKey` (docs/rekor-wire.md);
//! * the CT log key from a file (the CT API of RFC 6962 publishes no key),
//!   checked against the log's signed tree head (`GET /ct/v1/get-sth`) so a
//!   wrong file is caught here, not by every verifier later.
//!
//! * the Rekor v2 log's key from `--rekor-v2-vkey` (Ed25519) or
//!   `--rekor-v2-public-key` (ECDSA P-256), checked against the
//!   log's `GET /checkpoint` (C2SP tlog-tiles publishes no key either);
//! * the TSA chain from `GET /api/v1/timestamp/certchain`.
//!
//! Validity starts at `--valid-from`, or else at the earliest of the chain's
//! notBefore and the first Rekor entry's integrated time, so no entry the
//! deployment ever made falls before it.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context as _};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use der::asn1::{Ia5StringRef, ObjectIdentifier, PrintableStringRef, Utf8StringRef};
use der::Decode as _;
use serde::Deserialize;
use shared::keys::{pem_blocks, PublicKey};
use shared::trust::{ClientTrustConfig, Deployment, DistinguishedName};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::cli::TrustRootArgs;
use crate::data_dir::write_atomic;

/// X.520 organizationName and commonName.
const ORGANIZATION_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

pub(crate) fn run(args: TrustRootArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let config = runtime.block_on(build(&args))?;
    match &args.out {
        Some(path) => write_file(path, &pretty(&config)?)?,
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&pretty(&config)?)?;
        }
    }
    if let Some(path) = &args.trusted_root {
        write_file(path, &pretty(&config.trusted_root)?)?;
    }
    if let Some(path) = &args.signing_config {
        write_file(path, &pretty(&config.signing_config)?)?;
    }
    Ok(())
}

/// Fetches everything and assembles the trust config.
async fn build(args: &TrustRootArgs) -> anyhow::Result<ClientTrustConfig> {
    let ct_key_path = args.ct_public_key.as_deref().context(
        "--ct-public-key FILE is required: the CT log's public key (PEM) is not published \
         by any endpoint of the CT API (get-roots lists the accepted roots, not the log's key). \
         Take it from the deployment's key directory, e.g. `ct.pub.pem` written by `sigil keygen`",
    )?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let ca_url = base_url(&args.ca_url)?;
    let tlog_url = base_url(&args.tlog_url)?;
    let ct_url = match &args.ct_url {
        Some(url) => base_url(url)?,
        None => tlog_url.clone(),
    };

    let chain_der = fetch_ca_chain(&client, &ca_url).await?;
    let rekor_key = fetch_rekor_key(&client, &tlog_url).await?;
    let ct_key = read_ct_key(ct_key_path)?;
    check_ct_key(&client, &ct_url, &ct_key).await?;
    check_ct_roots(&client, &ct_url, &chain_der).await;

    let root = chain_der.last().context("the CA trust bundle is empty")?;
    let ca_subject = subject_of(root)?;
    let valid_from = match &args.valid_from {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .with_context(|| format!("--valid-from {text:?} is not an RFC 3339 time"))?,
        None => {
            let mut start = earliest_not_before(&chain_der)?;
            if let Some(first) = first_rekor_entry_time(&client, &tlog_url).await? {
                start = start.min(first);
            }
            start
        }
    };
    let oidc_url = match &args.oidc_url {
        Some(url) => Some(base_url(url)?),
        None => first_email_issuer(&client, &ca_url).await?,
    };
    let rekor_v2 = match &args.rekor_v2_url {
        Some(url) => {
            let url = base_url(url)?;
            let verifier = rekor_v2_verifier(args, &url)?;
            Some(check_rekor_v2(&client, &url, &verifier).await?)
        }
        _ => None,
    };
    let rekor_api = shared::trust::RekorApi::from(args.rekor_api);
    ensure!(
        rekor_api == shared::trust::RekorApi::V1 || rekor_v2.is_some(),
        "--rekor-api 2 needs the v2 log: --rekor-v2-url and its key"
    );
    let tsa = match &args.tsa_url {
        Some(url) => Some(fetch_tsa(&client, &base_url(url)?).await?),
        // A CA that runs a TSA serves its chain; signers stamp through it
        // whenever the signing config lists it, and a trusted root without it
        // cannot verify their bundles.
        None => match client
            .get(format!("{ca_url}/api/v1/timestamp/certchain"))
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {
                eprintln!("the CA at {ca_url} runs a timestamp authority: listing it");
                Some(fetch_tsa(&client, &ca_url).await?)
            }
            _ => None,
        },
    };
    if rekor_api == shared::trust::RekorApi::V2 && tsa.is_none() {
        eprintln!(
            "warning: --rekor-api 2 without --tsa-url: Rekor v2 entries carry no time, \
             so clients will refuse bundles that have no TSA timestamp"
        );
    }

    let deployment = Deployment {
        ca_url,
        oidc_url: oidc_url.clone().unwrap_or_default(),
        rekor_url: tlog_url,
        ct_url,
        ca_chain_der: chain_der,
        ca_subject,
        rekor_spki_der: rekor_key.to_spki_der(),
        ct_spki_der: ct_key.to_spki_der(),
        valid_from: rfc3339(valid_from)?,
        operator: args.operator.clone(),
        rekor_v2,
        tsa,
        rekor_api,
    };
    let mut config = deployment.client_trust_config();
    if oidc_url.is_none() {
        // No issuer for interactive login: clients then need a token
        // (`--identity-token`, ambient CI credentials), which is what CI uses.
        config.signing_config.oidc_urls.clear();
        eprintln!(
            "note: no --oidc-url and the CA reports no email issuer; oidcUrls is empty \
             (clients must be given identity tokens)"
        );
    }
    Ok(config)
}

/// A URL without its trailing slash; clients append `/api/...` themselves.
fn base_url(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    ensure!(
        matches!(parsed.scheme(), "http" | "https"),
        "{url:?} is not an http(s) URL"
    );
    Ok(url.trim_end_matches('/').to_owned())
}

async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<reqwest::Response> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("GET {url}: {status}: {}", body.trim());
    }
    Ok(response)
}

/// `GET /api/v2/trustBundle`: the first chain, issuing CA first, as DER.
async fn fetch_ca_chain(client: &reqwest::Client, ca_url: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    #[derive(Deserialize)]
    struct TrustBundle {
        chains: Vec<Chain>,
    }
    #[derive(Deserialize)]
    struct Chain {
        certificates: Vec<String>,
    }
    let url = format!("{ca_url}/api/v2/trustBundle");
    let bundle: TrustBundle = get(client, &url)
        .await?
        .json()
        .await
        .with_context(|| format!("parsing {url}"))?;
    if bundle.chains.len() > 1 {
        eprintln!(
            "warning: {url} lists {} chains; using the first",
            bundle.chains.len()
        );
    }
    let chain = bundle
        .chains
        .into_iter()
        .next()
        .with_context(|| format!("{url} lists no chain"))?;
    let mut ders = Vec::new();
    for pem in &chain.certificates {
        for (label, der) in pem_blocks(pem.as_bytes()).with_context(|| format!("parsing {url}"))? {
            if label == "CERTIFICATE" {
                Certificate::from_der(&der)
                    .with_context(|| format!("{url}: a certificate does not parse"))?;
                ders.push(der);
            }
        }
    }
    ensure!(!ders.is_empty(), "{url} holds no certificate");
    Ok(ders)
}

/// `GET /api/v1/log/publicKey`: the Rekor log's PEM key.
async fn fetch_rekor_key(client: &reqwest::Client, tlog_url: &str) -> anyhow::Result<PublicKey> {
    let url = format!("{tlog_url}/api/v1/log/publicKey");
    let pem = get(client, &url).await?.bytes().await?;
    let key = PublicKey::from_pem(&pem).with_context(|| format!("parsing the key at {url}"))?;
    ensure_p256(&key, &url)?;
    Ok(key)
}

fn read_ct_key(path: &Path) -> anyhow::Result<PublicKey> {
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let key = PublicKey::from_pem(&pem)
        .with_context(|| format!("{} holds no PUBLIC KEY PEM", path.display()))?;
    ensure_p256(&key, &path.display().to_string())?;
    Ok(key)
}

/// The trust root declares every key `PKIX_ECDSA_P256_SHA_256`
/// (shared::trust); anything else would be a lie clients act on.
fn ensure_p256(key: &PublicKey, source: &str) -> anyhow::Result<()> {
    ensure!(
        matches!(key, PublicKey::EcdsaP256(_)),
        "the key from {source} is not ECDSA P-256, the only kind Sigil logs use"
    );
    Ok(())
}

/// Verifies the CT log's current signed tree head (RFC 6962 §3.5) with `key`.
async fn check_ct_key(
    client: &reqwest::Client,
    ct_url: &str,
    key: &PublicKey,
) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Sth {
        tree_size: u64,
        timestamp: u64,
        sha256_root_hash: String,
        tree_head_signature: String,
    }
    let url = format!("{ct_url}/ct/v1/get-sth");
    let sth: Sth = get(client, &url)
        .await?
        .json()
        .await
        .with_context(|| format!("parsing {url}"))?;
    let root = B64.decode(&sth.sha256_root_hash)?;
    let signed = B64.decode(&sth.tree_head_signature)?;
    // DigitallySigned: hash (4 = sha256), signature (3 = ecdsa), u16 length.
    let der = match signed.as_slice() {
        [4, 3, hi, lo, rest @ ..] if usize::from(u16::from_be_bytes([*hi, *lo])) == rest.len() => {
            rest
        }
        _ => bail!("{url}: the tree head signature is not an ECDSA-SHA256 DigitallySigned"),
    };
    let mut input = vec![0u8, 1];
    input.extend_from_slice(&sth.timestamp.to_be_bytes());
    input.extend_from_slice(&sth.tree_size.to_be_bytes());
    input.extend_from_slice(&root);
    key.verify(&input, der).map_err(|_| {
        anyhow::anyhow!(
            "the CT public key does not verify the signed tree head at {url}: \
             it is not this log's key"
        )
    })
}

/// The origin of a log at `url`: the URL without its scheme
/// (docs/rekor-v2.md §3).
fn origin_of(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

/// The v2 checkpoint key given on the command line: an Ed25519 vkey, or an
/// ECDSA P-256 public key PEM named by the log's origin.
fn rekor_v2_verifier(
    args: &TrustRootArgs,
    url: &str,
) -> anyhow::Result<shared::note::CheckpointVerifier> {
    use shared::note::CheckpointVerifier;
    match (&args.rekor_v2_vkey, &args.rekor_v2_public_key) {
        (Some(vkey), _) => {
            CheckpointVerifier::from_vkey(vkey).with_context(|| format!("--rekor-v2-vkey {vkey:?}"))
        }
        (None, Some(path)) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            CheckpointVerifier::from_ecdsa_pem(origin_of(url), &pem)
                .with_context(|| format!("--rekor-v2-public-key {}", path.display()))
        }
        (None, None) => {
            bail!("--rekor-v2-url needs the log's key: --rekor-v2-vkey or --rekor-v2-public-key")
        }
    }
}

/// The v2 log's trust entry from its checkpoint key, after checking that the
/// key signs the log's current checkpoint under the origin the URL implies
/// (docs/rekor-v2.md §3).
async fn check_rekor_v2(
    client: &reqwest::Client,
    url: &str,
    verifier: &shared::note::CheckpointVerifier,
) -> anyhow::Result<shared::trust::RekorV2Log> {
    let name = verifier.name();
    let origin = origin_of(url).to_owned();
    ensure!(
        name == origin,
        "the v2 key is named {name:?}, but its log at {url} has origin {origin:?} \
         (sigstore-js accepts a checkpoint only if the log URL contains the key name)"
    );
    let checkpoint_url = format!("{url}/checkpoint");
    let text = get(client, &checkpoint_url).await?.text().await?;
    let note = shared::note::SignedNote::parse(&text)
        .with_context(|| format!("{checkpoint_url} is not a signed note"))?;
    ensure!(
        note.text.lines().next() == Some(origin.as_str()),
        "{checkpoint_url} is not a checkpoint of origin {origin:?}"
    );
    verifier
        .verify(&note)
        .map_err(|e| anyhow::anyhow!("the Rekor v2 key does not verify {checkpoint_url}: {e}"))?;
    Ok(shared::trust::RekorV2Log {
        url: url.to_owned(),
        spki_der: verifier.public_spki_der(),
        key_hash: verifier.key_hash(),
        algorithm: verifier.algorithm(),
    })
}

/// `GET /api/v1/timestamp/certchain` of a timestamp authority: its chain,
/// the TSA's certificate first, with the root's subject as the TSA's name.
async fn fetch_tsa(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<shared::trust::TimestampAuthority> {
    let chain_url = format!("{url}/api/v1/timestamp/certchain");
    let pem = get(client, &chain_url).await?.bytes().await?;
    let mut chain_der = Vec::new();
    for (label, der) in pem_blocks(&pem).with_context(|| format!("parsing {chain_url}"))? {
        if label == "CERTIFICATE" {
            Certificate::from_der(&der)
                .with_context(|| format!("{chain_url}: a certificate does not parse"))?;
            chain_der.push(der);
        }
    }
    let root = chain_der
        .last()
        .with_context(|| format!("{chain_url} holds no certificate"))?;
    Ok(shared::trust::TimestampAuthority {
        url: format!("{url}/api/v1/timestamp"),
        subject: subject_of(root)?,
        chain_der,
    })
}

/// Warns when the CT log would refuse the CA's precertificates.
async fn check_ct_roots(client: &reqwest::Client, ct_url: &str, chain: &[Vec<u8>]) {
    #[derive(Deserialize)]
    struct Roots {
        certificates: Vec<String>,
    }
    let url = format!("{ct_url}/ct/v1/get-roots");
    let roots: anyhow::Result<Roots> = async { Ok(get(client, &url).await?.json().await?) }.await;
    match roots {
        Ok(roots) => {
            let accepted = roots
                .certificates
                .iter()
                .filter_map(|b64| B64.decode(b64).ok())
                .any(|der| chain.contains(&der));
            if !accepted {
                eprintln!("warning: the CT log at {ct_url} accepts none of the CA's certificates");
            }
        }
        Err(err) => eprintln!("warning: could not list the CT log's roots: {err:#}"),
    }
}

/// The `O` and `CN` of a certificate's subject (the schema requires both).
fn subject_of(der: &[u8]) -> anyhow::Result<DistinguishedName> {
    let cert = Certificate::from_der(der).context("parsing the root certificate")?;
    let mut organization = None;
    let mut common_name = None;
    for rdn in cert.tbs_certificate.subject.0.iter() {
        for attribute in rdn.0.iter() {
            let value = directory_string(&attribute.value);
            if attribute.oid == ORGANIZATION_NAME {
                organization = organization.or(value);
            } else if attribute.oid == COMMON_NAME {
                common_name = common_name.or(value);
            }
        }
    }
    let common_name = common_name.unwrap_or_default();
    Ok(DistinguishedName {
        // A root without O still has a name clients can show.
        organization: organization.unwrap_or_else(|| common_name.clone()),
        common_name,
    })
}

/// An X.520 DirectoryString in the encodings CAs use.
fn directory_string(value: &der::Any) -> Option<String> {
    if let Ok(s) = Utf8StringRef::try_from(value) {
        return Some(s.as_str().to_owned());
    }
    if let Ok(s) = PrintableStringRef::try_from(value) {
        return Some(s.as_str().to_owned());
    }
    Ia5StringRef::try_from(value)
        .ok()
        .map(|s| s.as_str().to_owned())
}

fn earliest_not_before(chain: &[Vec<u8>]) -> anyhow::Result<OffsetDateTime> {
    let mut earliest = None;
    for der in chain {
        let cert = Certificate::from_der(der)?;
        let since_epoch = cert.tbs_certificate.validity.not_before.to_unix_duration();
        let at = OffsetDateTime::from_unix_timestamp(i64::try_from(since_epoch.as_secs())?)?;
        earliest = Some(earliest.map_or(at, |e: OffsetDateTime| e.min(at)));
    }
    earliest.context("the CA chain is empty")
}

/// The integrated time of Rekor entry 0, if the log has one.
async fn first_rekor_entry_time(
    client: &reqwest::Client,
    tlog_url: &str,
) -> anyhow::Result<Option<OffsetDateTime>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct LogInfo {
        tree_size: u64,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        integrated_time: i64,
    }
    let url = format!("{tlog_url}/api/v1/log");
    let info: LogInfo = get(client, &url).await?.json().await?;
    if info.tree_size == 0 {
        return Ok(None);
    }
    let url = format!("{tlog_url}/api/v1/log/entries?logIndex=0");
    let entry: std::collections::BTreeMap<String, Entry> = get(client, &url)
        .await?
        .json()
        .await
        .with_context(|| format!("parsing {url}"))?;
    let time = entry
        .values()
        .next()
        .with_context(|| format!("{url} returned no entry"))?
        .integrated_time;
    Ok(Some(OffsetDateTime::from_unix_timestamp(time)?))
}

/// The first non-wildcard email issuer of `GET /api/v2/configuration`: the
/// one interactive clients would log in with.
async fn first_email_issuer(
    client: &reqwest::Client,
    ca_url: &str,
) -> anyhow::Result<Option<String>> {
    #[derive(Deserialize)]
    struct Configuration {
        #[serde(default)]
        issuers: Vec<Issuer>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Issuer {
        #[serde(default)]
        issuer_url: Option<String>,
        #[serde(default)]
        issuer_type: Option<String>,
    }
    let url = format!("{ca_url}/api/v2/configuration");
    let config: Configuration = get(client, &url)
        .await?
        .json()
        .await
        .with_context(|| format!("parsing {url}"))?;
    Ok(config
        .issuers
        .into_iter()
        .filter(|i| i.issuer_type.as_deref() == Some("email"))
        .find_map(|i| i.issuer_url)
        .map(|u| u.trim_end_matches('/').to_owned()))
}

fn rfc3339(at: OffsetDateTime) -> anyhow::Result<String> {
    Ok(at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)?
        .format(&Rfc3339)?)
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic(path, bytes, false)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn pretty<T: serde::Serialize>(value: &T) -> anyhow::Result<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::keys::EcdsaP256Signer;

    #[test]
    fn subject_and_not_before_come_from_the_certificate() {
        let key = EcdsaP256Signer::generate();
        let before = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let der =
            ca_server::generate_root_certificate(&key, "Example Org", "example-root").unwrap();
        let subject = subject_of(&der).unwrap();
        assert_eq!(subject.organization, "Example Org");
        assert_eq!(subject.common_name, "example-root");
        let start = earliest_not_before(&[der]).unwrap();
        assert!(
            start >= before - Duration::from_secs(1),
            "{start} < {before}"
        );
        assert!(start <= OffsetDateTime::now_utc());
    }

    #[test]
    fn base_url_drops_the_trailing_slash_and_refuses_non_http() {
        assert_eq!(
            base_url("https://ca.example.com/").unwrap(),
            "https://ca.example.com"
        );
        assert!(base_url("ftp://ca.example.com").is_err());
        assert!(base_url("ca.example.com").is_err());
    }

    #[test]
    fn rfc3339_is_utc_whole_seconds() {
        let at = OffsetDateTime::parse("2026-11-26T15:04:05.123+01:00", &Rfc3339).unwrap();
        assert_eq!(rfc3339(at).unwrap(), "2026-11-26T14:04:05Z");
    }
}
