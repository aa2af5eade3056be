//! The command-line interface. This is a contract other tools drive:
//! extend it, don't change it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Sigil: a self-hosted Sigstore stack (Fulcio-compatible CA, Rekor-compatible
/// transparency log, RFC 6962 CT log).
#[derive(Debug, Parser)]
#[command(name = "sigil", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the whole stack in one process: CA, CT log, Rekor log and a
    /// development OIDC issuer, on embedded storage.
    Dev(DevArgs),
    /// Print a fresh identity token from the development OIDC issuer.
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Where keys, the root certificate, the log database and the trust
    /// config live. The first run creates everything; later runs reuse it.
    #[arg(long, env = "SIGIL_DATA_DIR", default_value = "./sigil-data")]
    pub(crate) data_dir: PathBuf,
    /// Port of the certificate authority (Fulcio API).
    #[arg(long, env = "SIGIL_CA_PORT", default_value_t = 5555)]
    pub(crate) ca_port: u16,
    /// Port of the transparency logs (Rekor API and CT API).
    #[arg(long, env = "SIGIL_TLOG_PORT", default_value_t = 3000)]
    pub(crate) tlog_port: u16,
    /// Port of the development OIDC issuer.
    #[arg(long, env = "SIGIL_OIDC_PORT", default_value_t = 5556)]
    pub(crate) oidc_port: u16,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The data directory of the `sigil dev` whose issuer signs the token.
    #[arg(long, env = "SIGIL_DATA_DIR", default_value = "./sigil-data")]
    pub(crate) data_dir: PathBuf,
    #[command(flatten)]
    pub(crate) identity: TokenIdentity,
}

/// Who the token is for: exactly one of `--email` or `--subject`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct TokenIdentity {
    /// An email identity: the token carries `email` and `email_verified: true`,
    /// and the certificate's SAN is this address.
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// A URI identity (a workload, e.g. `https://ci.example.com/pipelines/7`):
    /// the token's `sub`, and the certificate's URI SAN.
    #[arg(long)]
    pub(crate) subject: Option<String>,
}
