//! `sigstore-rs-client`: keyless signing and bundle verification of a file
//! with sigstore-rs 0.15.0 against the services a Sigstore `ClientTrustConfig`
//! names (a Fulcio-compatible CA, a Rekor v1 log), with the flags of
//! sigstore-python's `sign` and `verify identity`:
//!
//! ```text
//! sigstore-rs-client sign   --trust-config T --identity-token JWT --bundle OUT FILE
//! sigstore-rs-client verify --trust-config T --bundle B \
//!     --cert-identity ID --cert-oidc-issuer ISSUER FILE
//! ```
//!
//! Exits 0 on success and 1, with the reason on stderr, otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sigil_sigstore_rs_e2e::{
    bundle_from_json, bundle_to_json, sign_blob, verify_blob, TrustConfig,
};

#[derive(Parser)]
#[command(about = "Sign and verify with sigstore-rs 0.15.0 against a private Sigstore")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign FILE keylessly and write its Sigstore bundle (v0.3).
    Sign {
        /// ClientTrustConfig JSON (trustedRoot + signingConfig).
        #[arg(long)]
        trust_config: PathBuf,
        /// OIDC identity token (aud "sigstore", with an email claim).
        #[arg(long)]
        identity_token: String,
        /// Where to write the bundle.
        #[arg(long)]
        bundle: PathBuf,
        file: PathBuf,
    },
    /// Verify FILE against a bundle, for a signer identity and OIDC issuer.
    Verify {
        /// ClientTrustConfig JSON (its trustedRoot is used).
        #[arg(long)]
        trust_config: PathBuf,
        #[arg(long)]
        bundle: PathBuf,
        /// The certificate's SAN: an email address or a URI.
        #[arg(long)]
        cert_identity: String,
        /// The OIDC issuer recorded in the certificate.
        #[arg(long)]
        cert_oidc_issuer: String,
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Sign {
            trust_config,
            identity_token,
            bundle,
            file,
        } => {
            let trust = TrustConfig::load(&trust_config)?;
            let artifact = read(&file)?;
            let signed = runtime.block_on(sign_blob(&trust, &identity_token, &artifact))?;
            std::fs::write(&bundle, bundle_to_json(&signed)?)
                .with_context(|| format!("writing {}", bundle.display()))?;
            eprintln!("Wrote bundle to {}", bundle.display());
        }
        Command::Verify {
            trust_config,
            bundle,
            cert_identity,
            cert_oidc_issuer,
            file,
        } => {
            let trust = TrustConfig::load(&trust_config)?;
            let artifact = read(&file)?;
            let bundle = bundle_from_json(&read(&bundle)?)?;
            runtime.block_on(verify_blob(
                &trust,
                bundle,
                &artifact,
                &cert_identity,
                &cert_oidc_issuer,
            ))?;
            eprintln!("OK: {}", file.display());
        }
    }
    Ok(())
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
