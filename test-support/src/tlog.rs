//! A standalone `tlog-server` process for tests (Rekor v1 + CT API on one
//! store), and a small Rekor client: signed hashedrekord submissions
//! (docs/rekor-wire.md §2), entries by index, checkpoints and consistency proofs
//! checked with `shared::merkle`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use shared::keys::EcdsaP256Signer;
use shared::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};

use crate::process::{self, Signal};
use crate::{check, free_port};

/// The `tlog-server` binary of the same build as this test, or `$TLOG_SERVER_BIN`.
pub fn tlog_server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TLOG_SERVER_BIN") {
        return bin.into();
    }
    crate::sigil_bin().with_file_name("tlog-server")
}

/// A running `tlog-server`, killed when dropped. Keys and the CT root are
/// made in `dir` on first start and reused, so a restart is the same log.
pub struct TlogServer {
    child: Option<Child>,
    pub dir: PathBuf,
    pub database_url: String,
    pub port: u16,
    extra_args: Vec<String>,
    starts: u32,
    /// With TLS: the PEM certificate clients trust for it.
    tls_ca_pem: Option<String>,
}

impl TlogServer {
    /// Starts `tlog-server` on `database_url` with keys in `dir`, on a free
    /// port, with extra flags (e.g. `--batch-size`), and waits for `/healthz`.
    pub fn start(dir: &Path, database_url: &str, extra_args: &[&str]) -> anyhow::Result<Self> {
        let extra_args = extra_args.iter().map(|s| (*s).to_owned()).collect();
        Self::launch(dir, database_url, extra_args, None)
    }

    /// Like [`Self::start`], serving HTTPS at `https://localhost:<port>`
    /// with the PEM certificate and key files given (`--tls-cert`,
    /// `--tls-key`); clients of [`Self::client`] trust `ca_pem`.
    pub fn start_tls(
        dir: &Path,
        database_url: &str,
        (cert, key): (&Path, &Path),
        ca_pem: &str,
    ) -> anyhow::Result<Self> {
        let extra_args = vec![
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
        ];
        Self::launch(dir, database_url, extra_args, Some(ca_pem.to_owned()))
    }

    fn launch(
        dir: &Path,
        database_url: &str,
        extra_args: Vec<String>,
        tls_ca_pem: Option<String>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        make_keys(dir)?;
        let mut server = Self {
            child: None,
            dir: dir.to_path_buf(),
            database_url: database_url.to_owned(),
            port: free_port(),
            extra_args,
            starts: 0,
            tls_ca_pem,
        };
        server.restart()?;
        Ok(server)
    }

    /// A client for this server: over TLS, one that trusts only its CA.
    pub fn client(&self) -> anyhow::Result<reqwest::blocking::Client> {
        let mut builder = reqwest::blocking::Client::builder().timeout(Duration::from_secs(2));
        if let Some(pem) = &self.tls_ca_pem {
            builder = builder
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?);
        }
        Ok(builder.build()?)
    }

    /// The process ID, to signal it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the process again (same store, keys and port) after a kill or stop.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let bin = tlog_server_bin();
        if !bin.exists() {
            bail!(
                "{} not found: build it first (`cargo build --workspace --bins`)",
                bin.display()
            );
        }
        self.starts += 1;
        let log = std::fs::File::create(self.log_path())?;
        let child = Command::new(&bin)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--database-url", &self.database_url])
            .arg("--rekor-key")
            .arg(self.dir.join("rekor.key.pem"))
            .arg("--ct-key")
            .arg(self.dir.join("ct.key.pem"))
            .arg("--ct-root")
            .arg(self.dir.join("ct-root.pem"))
            .args(["--hostname", "localhost"])
            .args(&self.extra_args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        self.child = Some(child);
        self.wait_healthy(Duration::from_secs(30))
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(format!("tlog-server-{}.log", self.starts))
    }

    fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let client = self.client()?;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("tlog-server exited with {status}:\n{}", self.log());
                }
            }
            let ok = client
                .get(format!("{}/healthz", self.url()))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("tlog-server did not become healthy:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        match self.tls_ca_pem {
            None => format!("http://127.0.0.1:{}", self.port),
            Some(_) => format!("https://localhost:{}", self.port),
        }
    }

    /// Waits until `done` holds, checking every 10 ms; panics with the
    /// server's log when 30 s pass first (the load it waits on stalled).
    pub fn wait_until(&self, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "load stalled:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything every start of the process printed.
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|n| {
                let path = self.dir.join(format!("tlog-server-{n}.log"));
                format!(
                    "--- start {n} ---\n{}",
                    std::fs::read_to_string(path).unwrap_or_default()
                )
            })
            .collect()
    }

    /// The peak resident memory of the running process so far (VmHWM, bytes).
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        let child = self.child.as_ref().context("tlog-server is not running")?;
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .context("no VmHWM in /proc/PID/status")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib * 1024)
    }

    /// Stops the process with `signal` and fails unless it drains, closes
    /// its store and exits cleanly.
    pub fn stop(&mut self, signal: Signal) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let status = process::stop(&mut child, signal)?;
            if !status.success() {
                bail!(
                    "tlog-server exited with {status} on {signal:?}:\n{}",
                    self.log()
                );
            }
        }
        Ok(())
    }

    /// SIGKILL: no shutdown hook runs, like a power cut of the process.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for TlogServer {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Writes the Rekor and CT keys and a self-signed CT root into `dir`, unless present.
fn make_keys(dir: &Path) -> anyhow::Result<()> {
    for name in ["rekor", "ct"] {
        let path = dir.join(format!("{name}.key.pem"));
        if !path.exists() {
            std::fs::write(&path, EcdsaP256Signer::generate().to_pkcs8_pem())?;
        }
    }
    let root = dir.join("ct-root.pem");
    if !root.exists() {
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=sigil test CT root", "-keyout"])
            .arg(dir.join("ct-root.key.pem"))
            .arg("-out")
            .arg(&root)
            .output()
            .context("running openssl")?;
        check(&out, "openssl req -x509")?;
    }
    Ok(())
}

/// A signer of unique hashedrekord entries (one key per writer).
pub struct EntryMaker {
    key: EcdsaP256Signer,
    pem_b64: String,
    tag: String,
    next: u64,
}

impl EntryMaker {
    /// `tag` makes this maker's artifacts distinct from every other's.
    pub fn new(tag: &str) -> Self {
        let key = EcdsaP256Signer::generate();
        let pem_b64 = STANDARD.encode(key.public_pem());
        Self {
            key,
            pem_b64,
            tag: tag.to_owned(),
            next: 0,
        }
    }

    /// The next proposed entry (a POST body).
    pub fn next_entry(&mut self) -> String {
        let artifact = format!("{} {}", self.tag, self.next);
        self.next += 1;
        let digest = Sha256::digest(artifact.as_bytes()).into();
        hashedrekord_body(&digest, &self.key.sign(artifact.as_bytes()), &self.pem_b64)
    }
}

/// A Rekor `hashedrekord` 0.0.1 proposed entry claiming the SHA-256
/// `claimed`, with the DER ECDSA `signature` and the base64 of the PEM
/// public key `pem_b64`. Nothing checks that they agree: tests of refusals
/// build mismatches with it.
pub fn hashedrekord_body(claimed: &[u8; 32], signature: &[u8], pem_b64: &str) -> String {
    serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": STANDARD.encode(signature),
                "publicKey": {"content": pem_b64},
            },
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(claimed)}},
        }
    })
    .to_string()
}

/// A `hashedrekord` that claims the digest `claimed` and carries a fresh
/// P-256 key's signature over the digest `signed`: a valid entry when the
/// two are equal, one whose signature does not verify otherwise.
pub fn hashedrekord_signing(claimed: &[u8; 32], signed: &[u8; 32]) -> String {
    use p256::ecdsa::signature::hazmat::PrehashSigner as _;
    use p256::pkcs8::{EncodePublicKey as _, LineEnding};
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    // A 32-byte prehash is always accepted for P-256.
    let signature: p256::ecdsa::Signature = key.sign_prehash(signed).expect("32-byte prehash");
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("a P-256 public key encodes as PEM");
    hashedrekord_body(
        claimed,
        signature.to_der().as_bytes(),
        &STANDARD.encode(pem),
    )
}

/// A valid `hashedrekord` over the digest `digest`, by a fresh key.
pub fn hashedrekord_of_digest(digest: &[u8; 32]) -> String {
    hashedrekord_signing(digest, digest)
}

/// An entry the log acknowledged with a 201.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acked {
    pub index: u64,
    /// The 80-hex entry ID (the LogEntry's key).
    pub entry_id: String,
    /// The canonical body (base64) the log returned.
    pub body: String,
}

/// A signed tree head as `GET /api/v1/log` serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: Hash,
}

/// Parses a LogEntry answer (`{"<id>": {...}}`), checks its inclusion
/// proof against the root it carries, and returns the entry and the
/// checkpoint (size, root) the proof is against.
pub fn parse_log_entry(answer: &Value) -> anyhow::Result<(Acked, Checkpoint)> {
    let obj = answer.as_object().context("LogEntry is not an object")?;
    anyhow::ensure!(obj.len() == 1, "LogEntry has {} keys", obj.len());
    let Some((id, v)) = obj.iter().next() else {
        bail!("empty LogEntry");
    };
    let body = v["body"].as_str().context("no body")?.to_owned();
    let index = v["logIndex"].as_u64().context("no logIndex")?;
    let proof = &v["verification"]["inclusionProof"];
    let hashes = proof["hashes"]
        .as_array()
        .context("no inclusionProof.hashes")?
        .iter()
        .map(|h| Hash::from_hex(h.as_str().unwrap_or_default()))
        .collect::<Result<Vec<_>, _>>()?;
    let root = Hash::from_hex(proof["rootHash"].as_str().context("no rootHash")?)?;
    let size = proof["treeSize"].as_u64().context("no treeSize")?;
    verify_inclusion(
        &leaf_hash(&STANDARD.decode(&body)?),
        index,
        size,
        &hashes,
        &root,
    )
    .context("inclusion proof does not verify")?;
    let acked = Acked {
        index,
        entry_id: id.clone(),
        body,
    };
    Ok((acked, Checkpoint { size, root }))
}

/// The log's current checkpoint.
pub fn checkpoint(client: &reqwest::blocking::Client, url: &str) -> anyhow::Result<Checkpoint> {
    let info: Value = client
        .get(format!("{url}/api/v1/log"))
        .send()?
        .error_for_status()?
        .json()?;
    Ok(Checkpoint {
        size: info["treeSize"].as_u64().context("no treeSize")?,
        root: Hash::from_hex(info["rootHash"].as_str().context("no rootHash")?)?,
    })
}

/// Checks with a consistency proof from the log that `new` extends `old`.
pub fn check_consistent(
    client: &reqwest::blocking::Client,
    url: &str,
    old: Checkpoint,
    new: Checkpoint,
) -> anyhow::Result<()> {
    anyhow::ensure!(old.size <= new.size, "the tree shrank: {old:?} -> {new:?}");
    if old.size == 0 || old.size == new.size {
        anyhow::ensure!(
            old.size == 0 || old.root == new.root,
            "fork at size {}",
            old.size
        );
        return Ok(());
    }
    let proof: Value = client
        .get(format!(
            "{url}/api/v1/log/proof?firstSize={}&lastSize={}",
            old.size, new.size
        ))
        .send()?
        .error_for_status()?
        .json()?;
    let hashes = proof["hashes"]
        .as_array()
        .context("no hashes")?
        .iter()
        .map(|h| Hash::from_hex(h.as_str().unwrap_or_default()))
        .collect::<Result<Vec<_>, _>>()?;
    verify_consistency(old.size, new.size, &old.root, &new.root, &hashes)
        .with_context(|| format!("{old:?} is not consistent with {new:?}"))?;
    Ok(())
}

/// Checks the log holds `acked` at the index it was given, with the same ID and body.
pub fn check_present(
    client: &reqwest::blocking::Client,
    url: &str,
    acked: &Acked,
) -> anyhow::Result<()> {
    let r = client
        .get(format!("{url}/api/v1/log/entries?logIndex={}", acked.index))
        .send()?;
    anyhow::ensure!(
        r.status() == 200,
        "entry {} answered {}",
        acked.index,
        r.status()
    );
    let (got, _) = parse_log_entry(&r.json()?)?;
    anyhow::ensure!(
        &got == acked,
        "index {} holds {got:?}, but {acked:?} was acknowledged",
        acked.index
    );
    Ok(())
}
