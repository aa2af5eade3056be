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
    /// Write the client trust config (ClientTrustConfig: trusted root +
    /// signing config) of a running deployment, from its public endpoints.
    TrustRoot(TrustRootArgs),
    /// Generate the keys of a deployment (CA key + self-signed root, Rekor
    /// and CT log keys) into a directory; keeps whatever already exists.
    Keygen(KeygenArgs),
    /// Load-test a running service and compare with the ceilings measured in
    /// the same run; the last line of output is one JSON object.
    Bench(bench::BenchArgs),
    /// Deliver the trust root over TUF: make, publish to and refresh a TUF
    /// repository of `trusted_root.json` and `signing_config.v0.2.json`.
    Tuf(crate::tuf::TufArgs),
    /// Watch a Rekor v1 log as an auditor: verify its checkpoint and
    /// consistency since the last run, and report entries by watched
    /// signers (exit 0 nothing, 1 a match, 2 not verified).
    Monitor(auditor::monitor::MonitorArgs),
    /// Check, against a live Rekor v1 log, that a bundle's entry is still in
    /// it (`bundle`), or that the whole tree recomputes to its checkpoint
    /// (`log`); exits non-zero with the reason when something does not hold.
    Audit(auditor::audit::AuditArgs),
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
    /// Port of the TUF mirror that delivers the trust root (`sigil tuf`).
    #[arg(long, env = "SIGIL_TUF_PORT", default_value_t = 5557)]
    pub(crate) tuf_port: u16,
    /// Database of the transparency logs, e.g.
    /// `postgres://postgres@127.0.0.1:5432/sigil` (the database must exist;
    /// migrations run on start). Default: SQLite `tlog.db` in the data
    /// directory. The environment value is never shown in --help: it may
    /// hold a password.
    #[arg(long, env = "SIGIL_DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// A Fulcio issuer config file (JSON or YAML) whose issuers the CA trusts
    /// in addition to the development issuer.
    #[arg(long, env = "SIGIL_CA_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The Rekor API the signing config sends signers to: 1 (entries with a
    /// signed entry timestamp, every client) or 2 (tiles, time from the TSA;
    /// sigstore-python 4, sigstore-js 4+). Both logs are served and trusted
    /// either way.
    #[arg(long, env = "SIGIL_REKOR_API", value_enum, default_value_t = RekorApiArg::V1)]
    pub(crate) rekor_api: RekorApiArg,
    /// The Rekor v2 checkpoint key's algorithm when the data directory has
    /// none yet: `ed25519` (C2SP signed-note type 0x01) or `ecdsa-p256`.
    /// An existing key is kept; asking for another algorithm is an error.
    /// Default: the existing key's, else ed25519.
    #[arg(long, env = "SIGIL_REKOR_V2_KEY_ALGORITHM")]
    pub(crate) rekor_v2_key_algorithm: Option<shared::note::CheckpointAlgorithm>,
    /// A witness to cosign the Rekor v2 log's checkpoints: `URL,VKEY` (C2SP
    /// tlog-witness; a vkey of type 0x04). Repeatable; `;`-separated in the
    /// environment variable.
    #[arg(long = "witness", env = "SIGIL_WITNESSES", value_delimiter = ';')]
    pub(crate) witnesses: Vec<tlog_server::WitnessConfig>,
    /// Publish only Rekor v2 checkpoints that this many witnesses cosigned
    /// (0: publish every checkpoint, cosigned when witnesses answer in time).
    #[arg(long, env = "SIGIL_WITNESS_QUORUM", default_value_t = 0)]
    pub(crate) witness_quorum: usize,
}

/// `--rekor-api`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RekorApiArg {
    #[value(name = "1")]
    V1,
    #[value(name = "2")]
    V2,
}

impl From<RekorApiArg> for shared::trust::RekorApi {
    fn from(arg: RekorApiArg) -> Self {
        match arg {
            RekorApiArg::V1 => Self::V1,
            RekorApiArg::V2 => Self::V2,
        }
    }
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

#[derive(Debug, Args)]
pub(crate) struct TrustRootArgs {
    /// Public base URL of the CA (Fulcio API); its `/api/v2/trustBundle`
    /// gives the certificate chain.
    #[arg(long)]
    pub(crate) ca_url: String,
    /// Public base URL of the Rekor log; its `/api/v1/log/publicKey` gives
    /// the log key.
    #[arg(long)]
    pub(crate) tlog_url: String,
    /// Public base URL of the CT log (default: the --tlog-url).
    #[arg(long)]
    pub(crate) ct_url: Option<String>,
    /// The CT log's public key (PEM). Required: the CT API publishes no key;
    /// it is checked against the log's signed tree head.
    #[arg(long)]
    pub(crate) ct_public_key: Option<PathBuf>,
    /// The OIDC issuer for interactive sign-in (default: the first email
    /// issuer the CA reports at `/api/v2/configuration`, if any).
    #[arg(long)]
    pub(crate) oidc_url: Option<String>,
    /// Where to write the ClientTrustConfig (default: standard output).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Also write the TrustedRoot alone (for sigstore-js, cosign).
    #[arg(long)]
    pub(crate) trusted_root: Option<PathBuf>,
    /// Also write the SigningConfig alone.
    #[arg(long)]
    pub(crate) signing_config: Option<PathBuf>,
    /// Operator name of every service in the signing config.
    #[arg(long, default_value = "sigil")]
    pub(crate) operator: String,
    /// Start of validity of every key and service, RFC 3339 (default: the CA
    /// chain's earliest notBefore, or the first Rekor entry if earlier).
    #[arg(long)]
    pub(crate) valid_from: Option<String>,
    /// Public base URL of the Rekor v2 log (its API and tiles), if the
    /// deployment runs one. Needs --rekor-v2-vkey or --rekor-v2-public-key.
    #[arg(long)]
    pub(crate) rekor_v2_url: Option<String>,
    /// The Rekor v2 log's Ed25519 checkpoint verifier key,
    /// `<origin>+<key ID>+<base64 key>`; it is checked against the log's
    /// `/checkpoint`.
    #[arg(
        long,
        requires = "rekor_v2_url",
        conflicts_with = "rekor_v2_public_key"
    )]
    pub(crate) rekor_v2_vkey: Option<String>,
    /// The Rekor v2 log's ECDSA P-256 checkpoint key, as a `PUBLIC KEY` PEM
    /// file (the log's origin, its URL without the scheme, names it); it is
    /// checked against the log's `/checkpoint`.
    #[arg(long, requires = "rekor_v2_url")]
    pub(crate) rekor_v2_public_key: Option<PathBuf>,
    /// Public base URL of the RFC 3161 timestamp authority; its chain comes
    /// from `/api/v1/timestamp/certchain`. Default: the CA's URL, when the CA
    /// runs one.
    #[arg(long)]
    pub(crate) tsa_url: Option<String>,
    /// The Rekor API the signing config sends signers to (2 needs
    /// --rekor-v2-url, and clients then need a TSA).
    #[arg(long, value_enum, default_value_t = RekorApiArg::V1)]
    pub(crate) rekor_api: RekorApiArg,
}

#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Directory for the keys and the root certificate.
    #[arg(long, env = "SIGIL_KEYS_DIR")]
    pub(crate) out: PathBuf,
    /// Organization (O) of the root certificate's subject.
    #[arg(long, env = "SIGIL_ROOT_ORGANIZATION", default_value = "Sigil")]
    pub(crate) organization: String,
    /// Common name (CN) of the root certificate's subject.
    #[arg(long, env = "SIGIL_ROOT_COMMON_NAME", default_value = "sigil-root")]
    pub(crate) common_name: String,
    /// Algorithm of a new Rekor v2 checkpoint key: `ed25519` (C2SP
    /// signed-note type 0x01) or `ecdsa-p256`. An existing key is kept.
    #[arg(long, env = "SIGIL_REKOR_V2_KEY_ALGORITHM", default_value = "ed25519")]
    pub(crate) rekor_v2_key_algorithm: shared::note::CheckpointAlgorithm,
}
