//! `sigil dev`: the whole stack in one process on embedded storage — the
//! CA (Fulcio API), the Rekor and CT logs, and a development OIDC issuer —
//! each on its own `http://localhost:<port>`, plus the trust config that
//! points the real Sigstore clients at them.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context as _;
use axum::Router;
use dev_oidc::{DevIssuer, AUDIENCE};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::DevArgs;
use crate::data_dir::{write_atomic, DataDir, Material, ROOT_COMMON_NAME, ROOT_ORGANIZATION};

pub(crate) fn run(args: DevArgs) -> anyhow::Result<()> {
    serving::startup::init_tracing();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve_stack(args))
}

async fn serve_stack(args: DevArgs) -> anyhow::Result<()> {
    let mut stop = serving::startup::shutdown_signal();
    let dir = DataDir::new(&args.data_dir)?;
    let oidc_url = format!("http://localhost:{}", args.oidc_port);
    let ca_url = format!("http://localhost:{}", args.ca_port);
    let tlog_url = format!("http://localhost:{}", args.tlog_port);
    // The v2 log's origin is its URL without the scheme (docs/rekor-v2.md §3).
    let rekor_v2_origin = format!("localhost:{}", args.tlog_port);
    let material = dir.load_or_create(&oidc_url, &rekor_v2_origin, args.rekor_v2_key_algorithm)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();

    // Opening waits for the database: a stop signal meanwhile ends it.
    let opening = tlog_server::Tlog::open(tlog_server::TlogConfig {
        database_url: args
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("tlog.db").display())),
        rekor_signer: material.rekor_key.clone(),
        ct_signer: material.ct_key.clone(),
        ct_roots: vec![material.root_der.clone()],
        hostname: "localhost".to_owned(),
        sequencer: Default::default(),
        entry_cache_bytes: tlog_server::DEFAULT_ENTRY_CACHE_BYTES,
        tile_cache_bytes: tlog_server::DEFAULT_TILE_CACHE_BYTES,
        rekor_v2: Some(tlog_server::RekorV2Config {
            key: material.rekor_v2_key.clone(),
            witnesses: tlog_server::WitnessPolicy {
                witnesses: args.witnesses.clone(),
                quorum: args.witness_quorum,
            },
            served_tile_cache_bytes: tlog_server::DEFAULT_SERVED_TILE_CACHE_BYTES,
        }),
    });
    let Some(tlog) = stop
        .unless_stopped(opening)
        .await
        .transpose()
        .context("opening the transparency logs")?
    else {
        return Ok(());
    };
    spawn_server(
        &mut servers,
        "tlog",
        tlog.router(),
        args.tlog_port,
        &stop_rx,
    )
    .await?;

    let issuer = DevIssuer::new(&oidc_url, material.oidc_key.clone());
    spawn_server(
        &mut servers,
        "oidc",
        issuer.router(),
        args.oidc_port,
        &stop_rx,
    )
    .await?;

    let ca = ca_server::Ca::new(ca_server::CaConfig {
        // No per-identity limit: benchmarks and tests mint one identity's
        // tokens by the thousand.
        certs_per_subject_per_sec: 0,
        tsa: Some(ca_server::tsa::TsaConfig {
            signer: std::sync::Arc::new(material.tsa_key.clone()),
            chain_der: vec![material.tsa_der.clone(), material.root_der.clone()],
            policies: Default::default(),
        }),
        signer: std::sync::Arc::new(material.ca_key.clone()),
        chain_der: vec![material.root_der.clone()],
        ct_log_url: tlog_url.clone(),
        ct_log_ca_pem: None,
        ct_log_public_key: Some(material.ct_key.public_key()),
        issuers: dev_and_configured_issuers(&oidc_url, args.config.as_deref())?,
    })
    .await
    .context("starting the certificate authority")?;
    spawn_server(&mut servers, "ca", ca.router(), args.ca_port, &stop_rx).await?;

    let trust = write_trust_files(
        &dir,
        &material,
        &TrustUrls {
            ca: &ca_url,
            oidc: &oidc_url,
            tlog: &tlog_url,
        },
        args.rekor_api.into(),
    )?;
    // The same trust root and signing config, delivered over TUF.
    let tuf = crate::tuf::TufRepo::at(&dir.join("tuf"));
    let TrustFiles {
        trusted_root,
        signing_config,
    } = trust;
    tuf.keep_current(&trusted_root, &signing_config)
        .await
        .context("publishing the trust root over TUF")?;
    spawn_server(&mut servers, "tuf", tuf.router(), args.tuf_port, &stop_rx).await?;
    let tuf_root = tuf.bootstrap_root();
    servers.spawn(refresh_tuf(
        tuf,
        trusted_root,
        signing_config,
        stop_rx.clone(),
    ));

    print_banner(
        &dir,
        &TrustUrls {
            ca: &ca_url,
            oidc: &oidc_url,
            tlog: &tlog_url,
        },
        &rekor_v2_key_line(&material.rekor_v2_key),
        args.rekor_api.into(),
    );
    let tuf_url = format!("http://localhost:{}", args.tuf_port);
    println!(
        "\
Or take the trust root over TUF ({tuf_url}, bootstrap root {root}):
  sigstore --instance {tuf_url} trust-instance {root}
  sigstore --instance {tuf_url} sign --identity-token \"$TOKEN\" README.md
",
        root = tuf_root.display()
    );

    tokio::select! {
        () = &mut stop => {}
        Some(result) = servers.join_next() => {
            result.context("server task")?.context("server")?;
        }
    }
    // Stop accepting requests, let in-flight ones finish, then drain the
    // sequencers so everything acknowledged is committed.
    let _ = stop_tx.send(true);
    while let Some(result) = servers.join_next().await {
        result.context("server task")?.context("server")?;
    }
    tlog.shutdown().await;
    Ok(())
}

/// The development issuer, then those of the `--config` file.
/// Keeps the TUF timestamp fresh: checks every hour until the stack stops.
async fn refresh_tuf(
    tuf: crate::tuf::TufRepo,
    trusted_root: Vec<u8>,
    signing_config: Vec<u8>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {
                if let Err(e) = tuf.keep_current(&trusted_root, &signing_config).await {
                    tracing::error!(error = %e, "refreshing the TUF repository");
                }
            }
            _ = stop.changed() => return Ok(()),
        }
    }
}

fn dev_and_configured_issuers(
    oidc_url: &str,
    config: Option<&std::path::Path>,
) -> anyhow::Result<Vec<ca_server::OidcIssuerConfig>> {
    let mut issuers = vec![ca_server::OidcIssuerConfig {
        client_id: AUDIENCE.to_owned(),
        ..ca_server::OidcIssuerConfig::new(oidc_url, ca_server::IssuerType::EmailOrUri)
    }];
    if let Some(path) = config {
        issuers.extend(ca_server::load_issuer_config(path)?);
    }
    Ok(issuers)
}

/// Serves `router` on `localhost:port`: 127.0.0.1 always, and ::1 when the
/// machine has IPv6 (clients resolve `localhost` to either).
async fn spawn_server(
    servers: &mut tokio::task::JoinSet<anyhow::Result<()>>,
    name: &'static str,
    router: Router,
    port: u16,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(v4)
        .await
        .with_context(|| format!("{name}: binding {v4}"))?;
    servers.spawn(serve(listener, router.clone(), stop.clone()));
    match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
        Ok(listener) => {
            servers.spawn(serve(listener, router, stop.clone()));
        }
        Err(err) => tracing::debug!(%err, "{name}: no IPv6 loopback; serving 127.0.0.1 only"),
    }
    Ok(())
}

async fn serve(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // The same connection limits and timeouts as the standalone servers,
    // but no per-IP rate limit: on loopback every client is one address.
    serving::serve(
        listener,
        router,
        &serving::ConnectionLimits {
            rate_limit_per_ip: 0,
            ..serving::ConnectionLimits::default()
        },
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        },
    )
    .await?;
    Ok(())
}

/// Where the dev stack's services answer.
#[derive(Clone, Copy)]
struct TrustUrls<'a> {
    ca: &'a str,
    oidc: &'a str,
    /// Rekor v1, Rekor v2 (API and tiles) and CT, on one port.
    tlog: &'a str,
}

/// The trusted root and signing config as written, for the TUF mirror.
struct TrustFiles {
    trusted_root: Vec<u8>,
    signing_config: Vec<u8>,
}

fn write_trust_files(
    dir: &DataDir,
    material: &Material,
    urls: &TrustUrls<'_>,
    rekor_api: shared::trust::RekorApi,
) -> anyhow::Result<TrustFiles> {
    let deployment = shared::trust::Deployment {
        ca_url: urls.ca.to_owned(),
        oidc_url: urls.oidc.to_owned(),
        rekor_url: urls.tlog.to_owned(),
        ct_url: urls.tlog.to_owned(),
        ca_chain_der: vec![material.root_der.clone()],
        ca_subject: shared::trust::DistinguishedName {
            organization: ROOT_ORGANIZATION.to_owned(),
            common_name: ROOT_COMMON_NAME.to_owned(),
        },
        rekor_spki_der: material.rekor_key.public_spki_der(),
        ct_spki_der: material.ct_key.public_spki_der(),
        valid_from: material.instance.created_at.clone(),
        operator: "sigil-dev".to_owned(),
        rekor_v2: Some(shared::trust::RekorV2Log {
            url: urls.tlog.to_owned(),
            spki_der: material.rekor_v2_key.public_spki_der(),
            key_hash: material.rekor_v2_key.key_hash(),
            algorithm: material.rekor_v2_key.algorithm(),
        }),
        tsa: Some(shared::trust::TimestampAuthority {
            url: format!("{}/api/v1/timestamp", urls.ca),
            chain_der: vec![material.tsa_der.clone(), material.root_der.clone()],
            subject: shared::trust::DistinguishedName {
                organization: ROOT_ORGANIZATION.to_owned(),
                common_name: ROOT_COMMON_NAME.to_owned(),
            },
        }),
        rekor_api,
    };
    write_atomic(
        &dir.join("trust_config.json"),
        &pretty(&deployment.client_trust_config())?,
        false,
    )?;
    let trusted_root = pretty(&deployment.trusted_root())?;
    let signing_config = pretty(&deployment.signing_config())?;
    write_atomic(&dir.join("trusted_root.json"), &trusted_root, false)?;
    write_atomic(&dir.join("signing_config.json"), &signing_config, false)?;
    Ok(TrustFiles {
        trusted_root,
        signing_config,
    })
}

fn pretty<T: serde::Serialize>(value: &T) -> anyhow::Result<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    Ok(text)
}

/// The banner's line for the v2 checkpoint key: the C2SP verifier key for
/// Ed25519, which `sigil trust-root --rekor-v2-vkey` and witnesses take;
/// the algorithm and log ID otherwise (the PEM is `keys/rekor-v2.key.pem`'s
/// public half).
fn rekor_v2_key_line(key: &shared::note::CheckpointKey) -> String {
    match key {
        shared::note::CheckpointKey::Ed25519(key) => format!("vkey {}", key.vkey()),
        other => format!(
            "{} key, log ID {}",
            other.algorithm().name(),
            hex::encode(other.key_hash())
        ),
    }
}

fn print_banner(
    dir: &DataDir,
    urls: &TrustUrls<'_>,
    rekor_v2_key: &str,
    rekor_api: shared::trust::RekorApi,
) {
    let TrustUrls {
        ca: ca_url,
        oidc: oidc_url,
        tlog: tlog_url,
    } = *urls;
    let signing_log = match rekor_api {
        shared::trust::RekorApi::V1 => "Rekor v1",
        shared::trust::RekorApi::V2 => "Rekor v2 + TSA",
    };
    let data = dir.path().display();
    let trust = dir.join("trust_config.json");
    let trust = trust.display();
    println!(
        "\
Sigil dev stack is running (Ctrl-C to stop).
  CA (Fulcio API)        {ca_url}
  Rekor v1 + v2, CT log  {tlog_url}
  log explorer           {tlog_url}/ui
  Rekor v2 checkpoints   {rekor_v2_key}
  OIDC issuer            {oidc_url}
  data directory         {data}
  trust config           {trust} (signers use {signing_log})

Sign and verify a file with sigstore-python:
  TOKEN=$(sigil token --data-dir {data} --email alice@example.com)
  sigstore --trust-config {trust} sign --identity-token \"$TOKEN\" README.md
  sigstore --trust-config {trust} verify identity \\
      --cert-identity alice@example.com --cert-oidc-issuer {oidc_url} README.md
"
    );
}
