//! `ca-server`: Sigil's Fulcio-compatible CA as a standalone service.
//! Flags (each also an environment variable) choose the CA key backend
//! (`--ca file|pkcs11|ephemeral`, docs/fulcio-wire.md §5) and load the key, its
//! chain, the CT log and the trusted OIDC issuers. Passwords and PINs come
//! from files or environment variables and are never logged.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use ca_server::ca::{load_ca, load_signer, CaBackend, LoadedCa, Pkcs11Config, Secret};
use ca_server::tsa::{TsaConfig, TsaPolicies, DEFAULT_POLICY};
use ca_server::{Ca, CaConfig, IssuerType, OidcIssuerConfig};
use clap::Parser;
use const_oid::ObjectIdentifier;
use shared::keys::{pem_encode, PublicKey};

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
    /// Where the CA key lives: a PEM file, a PKCS#11 token, or a fresh
    /// in-memory key and root per start (development only).
    #[arg(long = "ca", env = "SIGIL_CA", value_enum, default_value_t = CaKind::File)]
    ca: CaKind,
    /// `--ca file`: the CA private key (PEM: PKCS#8, encrypted PKCS#8, SEC1 or PKCS#1).
    /// P-256, P-384 or RSA >= 2048.
    #[arg(long, env = "SIGIL_CA_KEY", required_if_eq("ca", "file"))]
    ca_key: Option<PathBuf>,
    /// `--ca file`: a file holding the password of an ENCRYPTED PRIVATE KEY
    /// (one trailing newline is ignored). SIGIL_CA_KEY_PASSWORD holds it directly.
    #[arg(long, env = "SIGIL_CA_KEY_PASSWORD_FILE")]
    ca_key_password_file: Option<PathBuf>,
    /// The CA chain as PEM certificates, issuing CA first, root last
    /// (`--ca file` and `--ca pkcs11`).
    #[arg(long, env = "SIGIL_CA_CHAIN")]
    ca_chain: Option<PathBuf>,
    /// `--ca pkcs11`: the PKCS#11 module (shared library) of the HSM.
    #[arg(long, env = "SIGIL_PKCS11_MODULE", default_value = DEFAULT_PKCS11_MODULE)]
    pkcs11_module: PathBuf,
    /// `--ca pkcs11`: the label of the token holding the CA key.
    #[arg(long, env = "SIGIL_PKCS11_TOKEN_LABEL", required_if_eq("ca", "pkcs11"))]
    pkcs11_token_label: Option<String>,
    /// `--ca pkcs11`: the label (CKA_LABEL) of the CA key pair on the token.
    #[arg(long, env = "SIGIL_PKCS11_KEY_LABEL", required_if_eq("ca", "pkcs11"))]
    pkcs11_key_label: Option<String>,
    /// `--ca pkcs11`: a file holding the token's user PIN (one trailing
    /// newline is ignored). SIGIL_PKCS11_PIN holds it directly.
    #[arg(long, env = "SIGIL_PKCS11_PIN_FILE")]
    pkcs11_pin_file: Option<PathBuf>,
    /// Load the CA key, print its public key (PEM) and exit: the key an
    /// offline root certifies when the key was generated inside an HSM.
    #[arg(long)]
    print_public_key: bool,
    /// Base URL of the CT log that issues SCTs (e.g. http://localhost:3000).
    /// Required to serve (not for --print-public-key).
    #[arg(
        long,
        env = "SIGIL_CT_LOG_URL",
        default_value = "",
        hide_default_value = true
    )]
    ct_log_url: String,
    /// PEM CA certificate(s) to trust for an https CT log URL instead of the
    /// system's roots (a private PKI).
    #[arg(long, env = "SIGIL_CT_LOG_CA_CERT")]
    ct_log_ca_cert: Option<PathBuf>,
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
    /// A Fulcio issuer config file (JSON or YAML: OIDCIssuers, MetaIssuers,
    /// CIIssuerMetadata); its issuers are trusted in addition to --oidc-issuer.
    #[arg(long = "config", env = "SIGIL_CA_CONFIG")]
    issuer_config: Option<PathBuf>,
    /// Serve an RFC 3161 time-stamp authority at /api/v1/timestamp with this
    /// private key (PEM, like --ca-key); Rekor v2 signers need one.
    #[arg(
        long,
        env = "SIGIL_TSA_KEY",
        requires = "tsa_chain",
        conflicts_with = "tsa_pkcs11_key_label"
    )]
    tsa_key: Option<PathBuf>,
    /// Serve the time-stamp authority with this key pair (CKA_LABEL) on the
    /// PKCS#11 token of --pkcs11-module/--pkcs11-token-label, with the same PIN.
    #[arg(long, env = "SIGIL_TSA_PKCS11_KEY_LABEL", requires_all = ["tsa_chain", "pkcs11_token_label"])]
    tsa_pkcs11_key_label: Option<String>,
    /// A file holding the password of an encrypted --tsa-key.
    /// SIGIL_TSA_KEY_PASSWORD holds it directly.
    #[arg(long, env = "SIGIL_TSA_KEY_PASSWORD_FILE")]
    tsa_key_password_file: Option<PathBuf>,
    /// The TSA chain as PEM certificates: the TSA certificate (critical EKU
    /// timeStamping alone) first, root last.
    #[arg(long, env = "SIGIL_TSA_CHAIN")]
    tsa_chain: Option<PathBuf>,
    /// The policy OID of tokens whose request names none.
    #[arg(long, env = "SIGIL_TSA_POLICY", default_value_t = DEFAULT_POLICY)]
    tsa_policy: ObjectIdentifier,
    /// Another policy OID a request may ask for (repeatable; comma-separated
    /// in the env var).
    #[arg(
        long = "tsa-accepted-policy",
        env = "SIGIL_TSA_ACCEPTED_POLICIES",
        value_delimiter = ','
    )]
    tsa_accepted_policies: Vec<ObjectIdentifier>,
    /// Certificates per second one identity (OIDC issuer and subject) may
    /// get, with bursts of ten seconds' worth; beyond it 429 (gRPC
    /// ResourceExhausted) with Retry-After. 0: no limit.
    #[arg(long, env = "SIGIL_CERTS_PER_SUBJECT_PER_SEC", default_value_t = ca_server::DEFAULT_CERTS_PER_SUBJECT_PER_SEC)]
    certs_per_subject_per_sec: u32,
    #[command(flatten)]
    connections: serving::ConnectionLimits,
}

/// Debian's SoftHSM2 module; HSM vendors ship their own.
const DEFAULT_PKCS11_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The environment variable holding the CA key password itself.
const CA_KEY_PASSWORD_ENV: &str = "SIGIL_CA_KEY_PASSWORD";
/// The environment variable holding the TSA key password itself.
const TSA_KEY_PASSWORD_ENV: &str = "SIGIL_TSA_KEY_PASSWORD";
/// The environment variable holding the PKCS#11 user PIN itself.
const PKCS11_PIN_ENV: &str = "SIGIL_PKCS11_PIN";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CaKind {
    File,
    Pkcs11,
    Ephemeral,
}

/// mimalloc instead of glibc malloc: responses are built from many short-lived
/// allocations, whose slow paths cost ≈ 10 % of a busy server's cycles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    serving::startup::init_tracing();
    let args = Args::parse();
    let mut stop = serving::startup::shutdown_signal();
    if args.print_public_key {
        let signer = load_signer(&backend(&args)?)?;
        println!(
            "{}",
            pem_encode("PUBLIC KEY", &signer.public_spki_der()).trim_end()
        );
        return Ok(());
    }
    let Some(ca) = stop
        .unless_stopped(Ca::new(config(&args)?))
        .await
        .transpose()?
    else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(address = %args.listen, "ca-server listening");
    serving::serve(listener, ca.router(), &args.connections, stop).await?;
    Ok(())
}

fn config(args: &Args) -> anyhow::Result<CaConfig> {
    let read =
        |path: &PathBuf| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let LoadedCa { signer, chain_der } = load_ca(&backend(args)?, args.ca_chain.as_ref())?;
    tracing::info!(
        ca = ?args.ca,
        key = ?signer,
        certificates = chain_der.len(),
        "CA key loaded"
    );
    let ct_log_public_key = match &args.ct_log_public_key {
        Some(path) => Some(PublicKey::from_pem(&read(path)?).context("parsing the CT log key")?),
        None => None,
    };
    let mut issuers: Vec<OidcIssuerConfig> = args
        .oidc_issuers
        .iter()
        .map(|url| OidcIssuerConfig {
            client_id: args.oidc_client_id.clone(),
            ..OidcIssuerConfig::new(url, IssuerType::Email)
        })
        .collect();
    if let Some(path) = &args.issuer_config {
        issuers.extend(ca_server::load_issuer_config(path)?);
    }
    let tsa_backend = match (&args.tsa_key, &args.tsa_pkcs11_key_label) {
        (Some(key), _) => Some(CaBackend::File {
            key: key.clone(),
            password: secret(&args.tsa_key_password_file, TSA_KEY_PASSWORD_ENV)?,
        }),
        (None, Some(label)) => Some(CaBackend::Pkcs11(pkcs11_config(args, label)?)),
        (None, None) => None,
    };
    let tsa = match (tsa_backend, &args.tsa_chain) {
        (Some(backend), Some(chain)) => {
            let LoadedCa { signer, chain_der } = load_ca(&backend, Some(chain))?;
            tracing::info!(key = ?signer, certificates = chain_der.len(), "TSA key loaded");
            Some(TsaConfig {
                signer,
                chain_der,
                policies: TsaPolicies {
                    default: args.tsa_policy,
                    accepted: args.tsa_accepted_policies.clone(),
                },
            })
        }
        (None, None) => None,
        _ => anyhow::bail!(
            "a TSA needs its key (--tsa-key or --tsa-pkcs11-key-label) and --tsa-chain"
        ),
    };
    Ok(CaConfig {
        tsa,
        certs_per_subject_per_sec: args.certs_per_subject_per_sec,
        signer,
        chain_der,
        ct_log_url: args.ct_log_url.clone(),
        ct_log_ca_pem: args
            .ct_log_ca_cert
            .as_ref()
            .map(|path| {
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading --ct-log-ca-cert {}", path.display()))
            })
            .transpose()?,
        ct_log_public_key,
        issuers,
    })
}

/// A secret from its file flag, else from its environment variable.
fn secret(file: &Option<PathBuf>, env: &str) -> anyhow::Result<Option<Secret>> {
    Ok(match file {
        Some(path) => Some(Secret::from_file(path)?),
        None => Secret::from_env(env),
    })
}

/// The PKCS#11 token of the flags, for the key pair labelled `key_label`.
fn pkcs11_config(args: &Args, key_label: &str) -> anyhow::Result<Pkcs11Config> {
    Ok(Pkcs11Config {
        module: args.pkcs11_module.clone(),
        token_label: args
            .pkcs11_token_label
            .clone()
            .context("a PKCS#11 key needs --pkcs11-token-label")?,
        key_label: key_label.to_owned(),
        pin: secret(&args.pkcs11_pin_file, PKCS11_PIN_ENV)?.context(
            "a PKCS#11 key needs a PIN: --pkcs11-pin-file (SIGIL_PKCS11_PIN_FILE) or SIGIL_PKCS11_PIN",
        )?,
    })
}

/// The backend the flags describe. Secrets come from a file flag first, else
/// from their environment variable; they are never logged.
fn backend(args: &Args) -> anyhow::Result<CaBackend> {
    Ok(match args.ca {
        CaKind::Ephemeral => {
            tracing::warn!("ephemeral CA: a new key and root on every start; for development only");
            CaBackend::Ephemeral
        }
        CaKind::File => CaBackend::File {
            key: args
                .ca_key
                .clone()
                .context("--ca file needs --ca-key (SIGIL_CA_KEY)")?,
            password: secret(&args.ca_key_password_file, CA_KEY_PASSWORD_ENV)?,
        },
        CaKind::Pkcs11 => CaBackend::Pkcs11(pkcs11_config(
            args,
            args.pkcs11_key_label
                .as_deref()
                .context("--ca pkcs11 needs --pkcs11-key-label")?,
        )?),
    })
}
