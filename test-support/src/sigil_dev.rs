//! A `sigil dev` process for end-to-end tests: the whole stack on free ports
//! over a fresh data directory, its tokens (good, and deliberately bad ones
//! signed by the development issuer's key), and its public keys as files.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use base64::Engine as _;
use serde_json::Value;
use shared::keys::EcdsaP256Signer;

use crate::process::{self, Signal};
use crate::{check, free_port, sigil_bin};

/// A running `sigil dev`, killed when dropped.
pub struct SigilDev {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub ca_port: u16,
    pub tlog_port: u16,
    pub oidc_port: u16,
    /// The TUF mirror of the trust root (`sigil dev --tuf-port`).
    pub tuf_port: u16,
    log_path: PathBuf,
    /// Flags given to `sigil dev` beyond the data directory and ports; a
    /// restart passes them again.
    pub extra_args: Vec<String>,
}

impl SigilDev {
    /// Starts `sigil dev` over `data_dir` on fresh ports and waits until every
    /// port answers `/healthz`.
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_on(data_dir, free_port(), free_port(), free_port())
    }

    /// Starts with more `sigil dev` flags, e.g. `["--rekor-api", "2"]`.
    pub fn start_with(data_dir: &Path, extra_args: &[&str]) -> anyhow::Result<Self> {
        Self::start_on_with(
            data_dir,
            (free_port(), free_port(), free_port()),
            extra_args,
        )
    }

    /// Starts on the given ports (a restart keeps the ports, since the trust
    /// config and issued certificates name the URLs).
    pub fn start_on(
        data_dir: &Path,
        ca_port: u16,
        tlog_port: u16,
        oidc_port: u16,
    ) -> anyhow::Result<Self> {
        Self::start_on_with(data_dir, (ca_port, tlog_port, oidc_port), &[])
    }

    /// Starts on the given (CA, tlog, OIDC) ports with more flags.
    pub fn start_on_with(
        data_dir: &Path,
        ports: (u16, u16, u16),
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        Self::launch(data_dir, ports, free_port(), extra_args)
    }

    /// Stops and starts again over the same data directory, on the same
    /// ports (the TUF mirror's too: clients keep its URL) with the same flags.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        let extra: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        *self = Self::launch(
            &self.data_dir,
            (self.ca_port, self.tlog_port, self.oidc_port),
            self.tuf_port,
            &extra,
        )?;
        Ok(())
    }

    fn launch(
        data_dir: &Path,
        (ca_port, tlog_port, oidc_port): (u16, u16, u16),
        tuf_port: u16,
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        let bin = sigil_bin();
        if !bin.exists() {
            bail!(
                "{} not found: build it first (`cargo build -p sigil`)",
                bin.display()
            );
        }
        std::fs::create_dir_all(data_dir)?;
        let log_path = data_dir.join(format!("sigil-dev-{tlog_port}.log"));
        let log = std::fs::File::create(&log_path)?;
        let child = dev_command(
            data_dir,
            (ca_port, tlog_port, oidc_port),
            tuf_port,
            extra_args,
        )
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
        let mut dev = Self {
            child: Some(child),
            data_dir: data_dir.to_path_buf(),
            ca_port,
            tlog_port,
            oidc_port,
            tuf_port,
            log_path,
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
        };
        dev.wait_healthy(Duration::from_secs(60))?;
        Ok(dev)
    }

    /// `sigil dev` over `data_dir` on fresh ports with more flags, not
    /// started: for a start that must fail (its exit status and output are
    /// the test's to check).
    pub fn command(data_dir: &Path, extra_args: &[&str]) -> Command {
        dev_command(
            data_dir,
            (free_port(), free_port(), free_port()),
            free_port(),
            extra_args,
        )
    }

    fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        for port in [self.ca_port, self.tlog_port, self.oidc_port, self.tuf_port] {
            loop {
                if let Some(child) = self.child.as_mut() {
                    if let Some(status) = child.try_wait()? {
                        bail!("sigil dev exited with {status}:\n{}", self.log());
                    }
                }
                let ok = client
                    .get(format!("http://127.0.0.1:{port}/healthz"))
                    .send()
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if ok {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "sigil dev did not become healthy on port {port}:\n{}",
                        self.log()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// What the process printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn ca_url(&self) -> String {
        format!("http://localhost:{}", self.ca_port)
    }
    pub fn tlog_url(&self) -> String {
        format!("http://localhost:{}", self.tlog_port)
    }
    pub fn oidc_url(&self) -> String {
        format!("http://localhost:{}", self.oidc_port)
    }
    /// The TUF mirror's URL and the root clients bootstrap from.
    pub fn tuf(&self) -> (String, PathBuf) {
        (
            format!("http://localhost:{}", self.tuf_port),
            self.data_dir.join("tuf/root.json"),
        )
    }

    /// The Rekor log's public key (PEM) written to `dir/rekor.pub.pem`: the
    /// out-of-band key auditor tools are given (they never ask the log).
    pub fn rekor_public_key_file(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let pem = reqwest::blocking::get(format!("{}/api/v1/log/publicKey", self.tlog_url()))?
            .error_for_status()?
            .text()?;
        let path = dir.join("rekor.pub.pem");
        std::fs::write(&path, pem)?;
        Ok(path)
    }

    /// The Rekor v2 log's checkpoint key (PEM) written to
    /// `dir/rekor-v2.pub.pem`, from the trust config's second tlog: what an
    /// auditor takes from the trusted root.
    pub fn rekor_v2_public_key_file(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let trust: Value = serde_json::from_slice(&std::fs::read(self.trust_config())?)?;
        let raw = trust["trustedRoot"]["tlogs"][1]["publicKey"]["rawBytes"]
            .as_str()
            .context("the trust config has no second tlog key")?;
        let der = base64::engine::general_purpose::STANDARD.decode(raw)?;
        let pem = shared::keys::pem_encode("PUBLIC KEY", &der);
        let path = dir.join("rekor-v2.pub.pem");
        std::fs::write(&path, pem)?;
        Ok(path)
    }

    /// Logs a proposed Rekor v1 entry (e.g. from [`tlog::EntryMaker`]) and
    /// fails unless the log answers 201.
    pub fn log_entry(&self, body: String) -> anyhow::Result<()> {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/log/entries", self.tlog_url()))
            .header("content-type", "application/json")
            .body(body)
            .send()?;
        if r.status() != 201 {
            bail!("logging an entry: {} {}", r.status(), r.text()?);
        }
        Ok(())
    }

    pub fn trust_config(&self) -> PathBuf {
        self.data_dir.join("trust_config.json")
    }

    /// A token from `sigil token --email`.
    pub fn email_token(&self, email: &str) -> anyhow::Result<String> {
        let out = Command::new(sigil_bin())
            .arg("token")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--email", email])
            .output()?;
        check(&out, "sigil token")?;
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    }

    /// A token from `sigil token --subject` (a URI identity).
    pub fn subject_token(&self, subject: &str) -> anyhow::Result<String> {
        let out = Command::new(sigil_bin())
            .arg("token")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--subject", subject])
            .output()?;
        check(&out, "sigil token")?;
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    }

    /// A token with arbitrary claims signed by the development issuer's key
    /// (for tokens that must be refused: expired, wrong audience, …).
    pub fn custom_token(&self, claims: &Value) -> anyhow::Result<String> {
        let pem = std::fs::read_to_string(self.data_dir.join("keys/oidc.key.pem"))?;
        let key = EcdsaP256Signer::from_pem(&pem)?;
        Ok(crate::jwt::es256(
            &key,
            &crate::jwt::dev_key_id(&key),
            claims,
        ))
    }

    /// Stops the process with SIGTERM, as a container runtime would, and
    /// fails unless it drains and exits cleanly.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.stop_with(Signal::Term)
    }

    /// Stops the process with `signal` and fails unless it exits cleanly.
    pub fn stop_with(&mut self, signal: Signal) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let status = process::stop(&mut child, signal)?;
            if !status.success() {
                bail!(
                    "sigil dev exited with {status} on {signal:?}:\n{}",
                    self.log()
                );
            }
        }
        Ok(())
    }
}

/// `sigil dev` over `data_dir` on the given (CA, tlog, OIDC) and TUF ports,
/// with more flags.
fn dev_command(
    data_dir: &Path,
    (ca_port, tlog_port, oidc_port): (u16, u16, u16),
    tuf_port: u16,
    extra_args: &[&str],
) -> Command {
    let mut cmd = Command::new(sigil_bin());
    cmd.arg("dev")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--ca-port", &ca_port.to_string()])
        .args(["--tlog-port", &tlog_port.to_string()])
        .args(["--oidc-port", &oidc_port.to_string()])
        .args(["--tuf-port", &tuf_port.to_string()])
        .args(extra_args);
    cmd
}

impl Drop for SigilDev {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
