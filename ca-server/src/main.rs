//! `ca-server`: Sigil's Fulcio-compatible CA as a standalone service.
//! Flags (each also an environment variable) load the CA key, its chain, the
//! CT log and the trusted email-type OIDC issuers; a YAML config comes later.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use ca_server::{Ca, CaConfig, IssuerType, OidcIssuerConfig};
use clap::Parser;
use shared::keys::{pem_blocks, EcdsaP256Signer, PublicKey};

#[derive(Parser, Debug)]
#[command(
    name = "ca-server",
    version,
    about = "Sigil's Fulcio-compatible certificate authority"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "SIGIL_CA_LISTEN", default_value = "0.0.0.0:5555")]
    listen: SocketAddr,
    /// The issuing CA's private key (PKCS#8 or SEC1 PEM).
    #[arg(long, env = "SIGIL_CA_KEY")]
    ca_key: PathBuf,
    /// The CA chain as PEM certificates, issuing CA first, root last.
    #[arg(long, env = "SIGIL_CA_CHAIN")]
    ca_chain: PathBuf,
    /// Base URL of the CT log that issues SCTs (e.g. http://localhost:3000).
    #[arg(long, env = "SIGIL_CT_LOG_URL")]
    ct_log_url: String,
    /// The CT log's public key (PEM); when set, every SCT is verified before use.
    #[arg(long, env = "SIGIL_CT_LOG_PUBLIC_KEY")]
    ct_log_public_key: Option<PathBuf>,
    /// An email-type OIDC issuer URL to trust (repeatable; comma-separated in the env var).
    #[arg(
        long = "oidc-issuer",
        env = "SIGIL_OIDC_ISSUERS",
        value_delimiter = ','
    )]
    oidc_issuers: Vec<String>,
    /// The audience tokens must carry.
    #[arg(long, env = "SIGIL_OIDC_CLIENT_ID", default_value = OidcIssuerConfig::DEFAULT_CLIENT_ID)]
    oidc_client_id: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let ca = Ca::new(config(&args)?).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(address = %args.listen, "ca-server listening");
    axum::serve(listener, ca.router())
        .with_graceful_shutdown(async {
            // If the signal handler cannot be installed, run until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await?;
    Ok(())
}

fn config(args: &Args) -> anyhow::Result<CaConfig> {
    let read =
        |path: &PathBuf| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let key_pem = String::from_utf8(read(&args.ca_key)?).context("CA key is not UTF-8 PEM")?;
    let signer = EcdsaP256Signer::from_pem(&key_pem).context("parsing the CA key")?;
    let chain_der: Vec<Vec<u8>> = pem_blocks(&read(&args.ca_chain)?)
        .context("parsing the CA chain")?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect();
    let ct_log_public_key = match &args.ct_log_public_key {
        Some(path) => Some(PublicKey::from_pem(&read(path)?).context("parsing the CT log key")?),
        None => None,
    };
    let issuers = args
        .oidc_issuers
        .iter()
        .map(|url| OidcIssuerConfig {
            client_id: args.oidc_client_id.clone(),
            ..OidcIssuerConfig::new(url, IssuerType::Email)
        })
        .collect();
    Ok(CaConfig {
        signer,
        chain_der,
        ct_log_url: args.ct_log_url.clone(),
        ct_log_public_key,
        issuers,
    })
}
