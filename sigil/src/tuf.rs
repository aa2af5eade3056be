//! The trust root over TUF (The Update Framework specification 1.0: §4
//! "Document formats", §5 "Detailed client workflow"), built with the `tough`
//! crate in the layout every Sigstore client fetches (docs/clients.md §7):
//! metadata at the mirror's base URL (`N.root.json`, `timestamp.json`,
//! `N.snapshot.json`, `N.targets.json`: consistent snapshots), targets under
//! `targets/` as `<sha256>.<name>`, and two targets, `trusted_root.json` and
//! `signing_config.v0.2.json`.
//!
//! A repository directory holds:
//! - `keys/`: one Ed25519 key per role, made on `init`, in the clear or
//!   encrypted with a password; the root key may be kept offline (see
//!   [`keys`]);
//! - `root.json`: the root clients bootstrap from (`sigstore trust-instance`,
//!   sigstore-js `tufRootPath`);
//! - `repository/`: what a mirror serves, as static files;
//! - `staged/`: the targets as last published.
//!
//! Every publish signs new versions of targets, snapshot and timestamp; the
//! root changes only on `init` and when a role key is rotated ([`rotate`]). Lifetimes: root and targets a year, snapshot
//! a week, timestamp a day, so a mirror must be refreshed (`sigil tuf
//! refresh`, or `sigil dev`, which does it hourly) more often than daily.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ca_server::ca::Secret;
use clap::{Args, Subcommand};
use serde_json::Value;
use tough::editor::signed::{PathExists, SignedRole};
use tough::editor::RepositoryEditor;
use tough::key_source::KeySource;
use tough::schema::{KeyHolder, RoleKeys as TufRoleKeys, RoleType, Root};

use keys::RoleKeys;

mod hsm;
mod keys;
mod rotate;

/// `sigil tuf` arguments.
#[derive(Debug, Args)]
pub(crate) struct TufArgs {
    #[command(subcommand)]
    command: TufCommand,
    /// A file holding the password of the role keys: `init` encrypts the
    /// keys it makes with it, every other step unlocks them with it. The
    /// password may instead be in `SIGIL_TUF_KEY_PASSWORD`.
    #[arg(long, global = true)]
    key_password_file: Option<PathBuf>,
    /// A file holding the user PIN of the PKCS#11 token that holds role
    /// keys (`init --pkcs11-key`); or set `SIGIL_TUF_PKCS11_PIN`.
    #[arg(long, global = true)]
    pkcs11_pin_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum TufCommand {
    /// Make one key per role and a version-1 root in `--dir`, and publish
    /// the trust root and signing config as targets.
    Init {
        #[command(flatten)]
        publish: PublishArgs,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Publish a new trust root and signing config (new versions of
    /// targets, snapshot and timestamp).
    Publish(PublishArgs),
    /// Sign targets, snapshot and timestamp again with new expiry dates;
    /// run it more often than daily (the timestamp lives a day).
    Refresh {
        /// The repository directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Replace one role's key: a new root version names the new key, signed
    /// by the current root key (and the new one, for the root role), then
    /// targets, snapshot and timestamp are signed again. The old key moves
    /// to `keys/retired/`.
    Rotate {
        /// The repository directory.
        #[arg(long)]
        dir: PathBuf,
        /// The role whose key is replaced.
        #[arg(long, value_enum)]
        role: RoleName,
        /// For a role whose key is in a PKCS#11 token: the label of its
        /// successor there (generated if the token has none).
        #[arg(long = "pkcs11-key")]
        token_label: Option<String>,
    },
}

/// A top-level TUF role, as `sigil tuf rotate --role` names it.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum RoleName {
    Root,
    Targets,
    Snapshot,
    Timestamp,
}

impl From<RoleName> for RoleType {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::Root => Self::Root,
            RoleName::Targets => Self::Targets,
            RoleName::Snapshot => Self::Snapshot,
            RoleName::Timestamp => Self::Timestamp,
        }
    }
}

/// Role keys to keep in a PKCS#11 token instead of files.
#[derive(Debug, Args)]
struct TokenArgs {
    /// Keep this role's key in the token, as the key pair labelled LABEL
    /// (generated as ECDSA P-256 if the token has none): `ROLE=LABEL`,
    /// repeatable.
    #[arg(long = "pkcs11-key", requires_all = ["pkcs11_module", "pkcs11_token"])]
    keys: Vec<String>,
    /// The vendor's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long)]
    pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long)]
    pkcs11_token: Option<String>,
}

impl TokenArgs {
    fn token_keys(&self) -> anyhow::Result<HashMap<String, hsm::TokenKey>> {
        let (Some(module), Some(token)) = (&self.pkcs11_module, &self.pkcs11_token) else {
            return Ok(HashMap::new());
        };
        Ok(hsm::role_labels(&self.keys)?
            .into_iter()
            .map(|(role, key)| {
                let at = hsm::TokenKey {
                    module: module.clone(),
                    token: token.clone(),
                    key,
                };
                (role, at)
            })
            .collect())
    }
}

#[derive(Debug, Args)]
struct PublishArgs {
    /// The repository directory; serve its `repository/` folder as the
    /// mirror, and give clients its `root.json`.
    #[arg(long)]
    dir: PathBuf,
    /// The trusted root to publish (e.g. `sigil trust-root`'s `trusted_root.json`).
    #[arg(long)]
    trusted_root: PathBuf,
    /// The signing config to publish (`signing_config.json`, v0.2).
    #[arg(long)]
    signing_config: PathBuf,
}

/// Runs `sigil tuf`.
pub(crate) fn run(args: TufArgs) -> anyhow::Result<()> {
    let password = match &args.key_password_file {
        Some(path) => Some(Secret::from_file(path)?),
        None => Secret::from_env(keys::PASSWORD_ENV),
    };
    let pin = match &args.pkcs11_pin_file {
        Some(path) => Some(Secret::from_file(path)?),
        None => Secret::from_env(hsm::PIN_ENV),
    };
    let open = |dir: &Path| TufRepo::unlocked(dir, password.clone(), pin.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match args.command {
            TufCommand::Init { publish: a, token } => {
                let (root, config) = a.read()?;
                let repo = open(&a.dir).with_token_keys(token.token_keys()?);
                repo.init(&root, &config).await?;
                println!("bootstrap root: {}", repo.bootstrap_root().display());
                println!("serve: {}", repo.served_dir().display());
                Ok(())
            }
            TufCommand::Publish(a) => {
                let (root, config) = a.read()?;
                open(&a.dir).publish(&root, &config).await
            }
            TufCommand::Refresh { dir } => {
                let repo = open(&dir);
                repo.finish_rotation().await?;
                repo.refresh().await
            }
            TufCommand::Rotate {
                dir,
                role,
                token_label,
            } => {
                let version = open(&dir)
                    .rotate(role.into(), token_label.as_deref())
                    .await?;
                println!("published root version {version} with a new {role:?} key");
                Ok(())
            }
        }
    })
}

impl PublishArgs {
    fn read(&self) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
        let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        Ok((read(&self.trusted_root)?, read(&self.signing_config)?))
    }
}

/// The TUF target names Sigstore clients look up.
pub(crate) const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
pub(crate) const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";

/// The last trust root given to `publish`, beside the staged targets (the
/// published one also holds the retired keys).
const INPUT_TRUSTED_ROOT: &str = "input.trusted_root.json";

const ROOT_DAYS: i64 = 365;
const TARGETS_DAYS: i64 = 365;
const SNAPSHOT_DAYS: i64 = 7;
const TIMESTAMP_DAYS: i64 = 1;

/// The four top-level roles, each with its own key file.
const ROLES: [(RoleType, &str); 4] = [
    (RoleType::Root, "root"),
    (RoleType::Targets, "targets"),
    (RoleType::Snapshot, "snapshot"),
    (RoleType::Timestamp, "timestamp"),
];

/// A TUF repository directory (see the module header for its layout).
pub(crate) struct TufRepo {
    dir: PathBuf,
    keys: RoleKeys,
    /// Roles whose key `init` puts in a PKCS#11 token.
    token_keys: HashMap<String, hsm::TokenKey>,
}

impl TufRepo {
    /// The repository in `dir`, its keys in the clear (`sigil dev`'s).
    pub(crate) fn at(dir: &Path) -> Self {
        Self::unlocked(dir, None, None)
    }

    /// The repository in `dir`, its key files encrypted with `password`
    /// and its token keys opened with `pin`.
    pub(crate) fn unlocked(dir: &Path, password: Option<Secret>, pin: Option<Secret>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            keys: RoleKeys::new(dir.join("keys"), password, pin),
            token_keys: HashMap::new(),
        }
    }

    /// `init` puts these roles' keys in a PKCS#11 token.
    fn with_token_keys(mut self, keys: HashMap<String, hsm::TokenKey>) -> Self {
        self.token_keys = keys;
        self
    }

    /// Where the served files are: the mirror's base URL maps here.
    pub(crate) fn served_dir(&self) -> PathBuf {
        self.dir.join("repository")
    }

    /// The root clients bootstrap from.
    pub(crate) fn bootstrap_root(&self) -> PathBuf {
        self.dir.join("root.json")
    }

    pub(crate) fn exists(&self) -> bool {
        self.bootstrap_root().is_file()
    }

    /// Makes the keys and a version-1 root (refusing to overwrite either),
    /// then publishes `trusted_root` and `signing_config` as targets.
    pub(crate) async fn init(
        &self,
        trusted_root: &[u8],
        signing_config: &[u8],
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.exists(),
            "{} already holds a TUF repository",
            self.dir.display()
        );
        for (_, name) in ROLES {
            match self.token_keys.get(name) {
                Some(at) => self.keys.create_in_token(name, at)?,
                None => self.keys.create(name)?,
            }
        }

        let mut root = Root {
            spec_version: "1.0.0".to_owned(),
            consistent_snapshot: true,
            version: NonZeroU64::MIN,
            expires: in_days(ROOT_DAYS)?,
            keys: Default::default(),
            roles: Default::default(),
            _extra: Default::default(),
        };
        for (role, name) in ROLES {
            let key = self
                .keys
                .source(name)?
                .as_sign()
                .await
                .map_err(|e| anyhow::anyhow!("loading the {name} key: {e}"))?
                .tuf_key();
            let id = key.key_id()?;
            root.keys.insert(id.clone(), key);
            root.roles.insert(
                role,
                TufRoleKeys {
                    keyids: vec![id],
                    threshold: NonZeroU64::MIN,
                    _extra: Default::default(),
                },
            );
        }
        let holder = KeyHolder::Root(root.clone());
        let signed = SignedRole::new(
            root,
            &holder,
            &[self.keys.source("root")?],
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .await?;
        std::fs::create_dir_all(self.served_dir())?;
        signed.write(self.served_dir(), true).await?;
        std::fs::write(self.bootstrap_root(), signed.buffer())?;
        self.publish(trusted_root, signing_config).await
    }

    /// Signs new versions of targets, snapshot and timestamp over the given
    /// trust root and signing config.
    ///
    /// A key or certificate authority the previously published trust root
    /// had and this one lacks is kept, retired (see [`carry_over_retired`]),
    /// so bundles made before a rotation still verify.
    pub(crate) async fn publish(
        &self,
        trusted_root: &[u8],
        signing_config: &[u8],
    ) -> anyhow::Result<()> {
        let staged = self.dir.join("staged");
        std::fs::create_dir_all(&staged)?;
        let published = staged.join(TRUSTED_ROOT_TARGET);
        let merged = match std::fs::read(&published) {
            Ok(previous) => carry_over_retired(&previous, trusted_root, &now_rfc3339()?)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => trusted_root.to_vec(),
            Err(e) => return Err(e).context("reading the published trust root"),
        };
        std::fs::write(&published, merged)?;
        std::fs::write(staged.join(SIGNING_CONFIG_TARGET), signing_config)?;
        // What was asked for, to tell later whether anything changed.
        std::fs::write(staged.join(INPUT_TRUSTED_ROOT), trusted_root)?;
        self.sign_staged().await
    }

    /// Signs the staged targets again with new versions and expiry dates.
    pub(crate) async fn refresh(&self) -> anyhow::Result<()> {
        self.sign_staged().await
    }

    /// Brings the repository in line with the given targets: `init` when
    /// there is none, `publish` when they differ from the published ones,
    /// `refresh` when the timestamp has less than half its life left, and
    /// nothing otherwise (what `sigil dev` does on start and every hour).
    pub(crate) async fn keep_current(
        &self,
        trusted_root: &[u8],
        signing_config: &[u8],
    ) -> anyhow::Result<()> {
        if !self.exists() {
            return self.init(trusted_root, signing_config).await;
        }
        self.finish_rotation().await?;
        let staged = self.dir.join("staged");
        let same =
            |name: &str, bytes: &[u8]| std::fs::read(staged.join(name)).is_ok_and(|b| b == bytes);
        if !same(INPUT_TRUSTED_ROOT, trusted_root) || !same(SIGNING_CONFIG_TARGET, signing_config) {
            return self.publish(trusted_root, signing_config).await;
        }
        let half_life = jiff::SignedDuration::from_hours(TIMESTAMP_DAYS * 12);
        let due = match self.published_timestamp()? {
            Some((_, expires)) => expires.duration_since(jiff::Timestamp::now()) < half_life,
            None => true,
        };
        if due {
            self.refresh().await?;
        }
        Ok(())
    }

    /// The mirror as static files, plus `/healthz`.
    pub(crate) fn router(&self) -> axum::Router {
        axum::Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .fallback_service(tower_http::services::ServeDir::new(self.served_dir()))
    }

    /// The published timestamp's version and expiry, if one is published.
    /// Targets, snapshot and timestamp share one version number here.
    fn published_timestamp(&self) -> anyhow::Result<Option<(u64, jiff::Timestamp)>> {
        let path = self.served_dir().join("timestamp.json");
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let doc: Value = serde_json::from_slice(&bytes)?;
        let version = doc["signed"]["version"]
            .as_u64()
            .context("timestamp.json has no signed.version")?;
        let expires = doc["signed"]["expires"]
            .as_str()
            .context("timestamp.json has no signed.expires")?
            .parse()?;
        Ok(Some((version, expires)))
    }

    async fn sign_staged(&self) -> anyhow::Result<()> {
        let staged = self.dir.join("staged");
        let root_path = self.latest_root()?;
        let published = self
            .published_timestamp()?
            .map_or(0, |(version, _)| version);
        let version = published.saturating_add(1);
        let version = NonZeroU64::new(version).context("version overflow")?;
        let mut editor = RepositoryEditor::new(&root_path).await?;
        editor
            .targets_version(version)?
            .targets_expires(in_days(TARGETS_DAYS)?)?
            .snapshot_version(version)
            .snapshot_expires(in_days(SNAPSHOT_DAYS)?)
            .timestamp_version(version)
            .timestamp_expires(in_days(TIMESTAMP_DAYS)?);
        editor
            .add_target_paths(vec![
                staged.join(TRUSTED_ROOT_TARGET),
                staged.join(SIGNING_CONFIG_TARGET),
            ])
            .await?;
        // Not the root key: it may be kept offline between root changes.
        let keys: Vec<Box<dyn KeySource>> = ROLES
            .iter()
            .filter(|(role, _)| *role != RoleType::Root)
            .map(|(_, name)| self.keys.source(name))
            .collect::<anyhow::Result<_>>()?;
        let signed = editor.sign(&keys).await?;
        // Targets first, then metadata, timestamp last (tough writes it
        // after the files it names), so a client never sees a timestamp
        // whose snapshot or targets are not there yet.
        signed
            .copy_targets(&staged, self.served_dir().join("targets"), PathExists::Skip)
            .await?;
        // tough rewrites files in place; a reader (or a crash) must never
        // see half of one. So: written aside on the same file system, then
        // renamed in, versioned files first and `timestamp.json` last; the
        // root, which refreshing does not change, is left alone when equal.
        let pending = self.dir.join(".pending");
        if pending.exists() {
            std::fs::remove_dir_all(&pending)?;
        }
        std::fs::create_dir_all(&pending)?;
        signed.write(&pending).await?;
        let mut names: Vec<_> = std::fs::read_dir(&pending)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort_by_key(|n| n == "timestamp.json");
        for name in names {
            let (from, to) = (pending.join(&name), self.served_dir().join(&name));
            if std::fs::read(&to).is_ok_and(|old| std::fs::read(&from).is_ok_and(|new| new == old))
            {
                continue;
            }
            std::fs::File::open(&from)?.sync_all()?;
            std::fs::rename(&from, &to).with_context(|| format!("publishing {}", to.display()))?;
        }
        std::fs::remove_dir_all(&pending)?;
        Ok(())
    }

    /// The newest `N.root.json` in the served directory.
    fn latest_root(&self) -> anyhow::Result<PathBuf> {
        let mut newest: Option<(u64, PathBuf)> = None;
        for entry in std::fs::read_dir(self.served_dir())? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(n) = name
                .strip_suffix(".root.json")
                .and_then(|n| n.parse::<u64>().ok())
            {
                if newest.as_ref().is_none_or(|(v, _)| n > *v) {
                    newest = Some((n, path));
                }
            }
        }
        newest
            .map(|(_, p)| p)
            .context("no N.root.json in the repository: run `sigil tuf init` first")
    }
}

/// The trust root to publish when `previous` was published and `next` is
/// asked for: `next`, plus every transparency log, CT log, certificate
/// authority and timestamp authority of `previous` that `next` lacks, kept
/// with `validFor.end` set to `now` (if it had no end). That is the overlap
/// window of a rotation: clients still verify what the retired key signed
/// before `now`, and nothing it signs after. Entries new in `next` start at
/// `now`. Logs are told apart by `logId.keyId`, authorities by the first
/// certificate of their chain.
pub(crate) fn carry_over_retired(
    previous: &[u8],
    next: &[u8],
    now: &str,
) -> anyhow::Result<Vec<u8>> {
    let previous: Value = serde_json::from_slice(previous).context("the published trust root")?;
    let mut merged: Value = serde_json::from_slice(next).context("the new trust root")?;
    let mut changed = false;
    for (list, id) in [
        ("tlogs", "/logId/keyId"),
        ("ctlogs", "/logId/keyId"),
        (
            "certificateAuthorities",
            "/certChain/certificates/0/rawBytes",
        ),
        ("timestampAuthorities", "/certChain/certificates/0/rawBytes"),
    ] {
        let before: Vec<Value> = previous[list].as_array().cloned().unwrap_or_default();
        let Some(after) = merged.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        let ids = |items: &[Value]| -> Vec<Value> {
            items
                .iter()
                .filter_map(|e| e.pointer(id).cloned())
                .collect()
        };
        let (old_ids, new_ids) = (ids(&before), ids(after));
        if !before.is_empty() {
            for entry in after.iter_mut() {
                if entry.pointer(id).is_some_and(|i| !old_ids.contains(i)) {
                    entry["validFor"]["start"] = now.into();
                    changed = true;
                }
            }
        }
        for mut entry in before {
            if entry.pointer(id).is_some_and(|i| !new_ids.contains(i)) {
                if entry["validFor"]["end"].is_null() {
                    entry["validFor"]["end"] = now.into();
                }
                after.push(entry);
                changed = true;
            }
        }
    }
    if !changed {
        // Nothing rotated: publish the bytes as given.
        return Ok(next.to_vec());
    }
    let mut out = serde_json::to_vec_pretty(&merged)?;
    out.push(b'\n');
    Ok(out)
}

fn now_rfc3339() -> anyhow::Result<String> {
    Ok(now_whole_seconds()?.to_string())
}

/// Now, to the second: TUF and trust-root dates are whole seconds
/// (`2030-01-01T00:00:00Z`).
fn now_whole_seconds() -> anyhow::Result<jiff::Timestamp> {
    Ok(jiff::Timestamp::from_second(
        jiff::Timestamp::now().as_second(),
    )?)
}

fn in_days(days: i64) -> anyhow::Result<jiff::Timestamp> {
    Ok(now_whole_seconds()?.checked_add(jiff::SignedDuration::from_hours(days * 24))?)
}

#[cfg(test)]
mod tests {
    use tough::IntoVec as _;

    use super::*;

    /// What a TUF client (tough's own) that trusts `root` loads from the
    /// repository's served files.
    pub(super) async fn load_trusting(
        repo: &TufRepo,
        root: &[u8],
    ) -> Result<tough::Repository, tough::error::Error> {
        let base = url::Url::from_directory_path(repo.served_dir()).unwrap();
        let targets = base.join("targets/").unwrap();
        tough::RepositoryLoader::new(&root, base, targets)
            .load()
            .await
    }

    async fn load(repo: &TufRepo) -> tough::Repository {
        let root = std::fs::read(repo.bootstrap_root()).unwrap();
        load_trusting(repo, &root).await.unwrap()
    }

    async fn target(repo: &tough::Repository, name: &str) -> Vec<u8> {
        let name = tough::TargetName::new(name).unwrap();
        repo.read_target(&name)
            .await
            .unwrap()
            .unwrap()
            .into_vec()
            .await
            .unwrap()
    }

    /// A second TUF client (tough's own) loads what `init` and `publish`
    /// write, from the bootstrap root alone, and reads the targets back.
    #[tokio::test]
    async fn a_tuf_client_reads_each_published_trust_root() {
        let dir = tempfile::tempdir().unwrap();
        let repo = TufRepo::at(dir.path());
        repo.init(b"{\"root\":1}", b"{\"config\":1}").await.unwrap();
        let loaded = load(&repo).await;
        assert_eq!(target(&loaded, TRUSTED_ROOT_TARGET).await, b"{\"root\":1}");
        assert_eq!(
            target(&loaded, SIGNING_CONFIG_TARGET).await,
            b"{\"config\":1}"
        );
        assert_eq!(loaded.timestamp().signed.version.get(), 1);

        repo.publish(b"{\"root\":2}", b"{\"config\":1}")
            .await
            .unwrap();
        let loaded = load(&repo).await;
        assert_eq!(target(&loaded, TRUSTED_ROOT_TARGET).await, b"{\"root\":2}");
        assert_eq!(loaded.timestamp().signed.version.get(), 2);
        assert!(
            repo.init(b"{}", b"{}").await.is_err(),
            "init never overwrites"
        );
    }

    /// With encrypted keys and the root key taken offline after `init`, a
    /// publish still signs what a client accepts; without the password it
    /// cannot, and says why.
    #[tokio::test]
    async fn encrypted_keys_publish_with_the_root_key_offline() {
        let dir = tempfile::tempdir().unwrap();
        let password = || Some(Secret::new("tuf pass".into()));
        let repo = TufRepo::unlocked(dir.path(), password(), None);
        repo.init(b"{\"root\":1}", b"{}").await.unwrap();
        let keys = dir.path().join("keys");
        for role in ["root", "targets", "snapshot", "timestamp"] {
            assert!(keys.join(format!("{role}.p8e.pem")).is_file(), "{role}");
            assert!(!keys.join(format!("{role}.pk8")).exists(), "{role}");
        }
        let offline = tempfile::tempdir().unwrap();
        std::fs::rename(
            keys.join("root.p8e.pem"),
            offline.path().join("root.p8e.pem"),
        )
        .unwrap();

        repo.publish(b"{\"root\":2}", b"{}").await.unwrap();
        let loaded = load(&repo).await;
        assert_eq!(target(&loaded, TRUSTED_ROOT_TARGET).await, b"{\"root\":2}");

        let locked = TufRepo::at(dir.path());
        let err = locked.refresh().await.unwrap_err().to_string();
        assert!(err.contains(keys::PASSWORD_ENV), "{err}");
        assert_eq!(load(&repo).await.timestamp().signed.version.get(), 2);
    }

    /// A rotated-out CA stays, ending now; the new one starts now; what
    /// both have is untouched.
    #[test]
    fn a_rotation_keeps_the_retired_authority_with_an_end() {
        let log = serde_json::json!({"logId": {"keyId": "LOG"}, "validFor": {"start": "2026-01-01T00:00:00Z"}});
        let ca = |cert: &str| {
            serde_json::json!({"certChain": {"certificates": [{"rawBytes": cert}]},
                "validFor": {"start": "2026-01-01T00:00:00Z"}})
        };
        let previous = serde_json::json!({"tlogs": [log], "certificateAuthorities": [ca("OLD")]});
        let next = serde_json::json!({"tlogs": [log], "certificateAuthorities": [ca("NEW")]});
        let now = "2026-12-04T00:00:00Z";
        let merged: Value = serde_json::from_slice(
            &carry_over_retired(
                previous.to_string().as_bytes(),
                next.to_string().as_bytes(),
                now,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(merged["tlogs"], serde_json::json!([log]));
        let cas = merged["certificateAuthorities"].as_array().unwrap();
        assert_eq!(cas.len(), 2);
        assert_eq!(cas[0]["certChain"]["certificates"][0]["rawBytes"], "NEW");
        assert_eq!(cas[0]["validFor"]["start"], now);
        assert_eq!(cas[1]["certChain"]["certificates"][0]["rawBytes"], "OLD");
        assert_eq!(cas[1]["validFor"]["start"], "2026-01-01T00:00:00Z");
        assert_eq!(cas[1]["validFor"]["end"], now);

        // Publishing the merged root again changes nothing.
        let again = carry_over_retired(
            merged.to_string().as_bytes(),
            merged.to_string().as_bytes(),
            "2027-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&again).unwrap(), merged);
    }

    /// `keep_current` publishes only what changed, and leaves a fresh
    /// repository alone.
    #[tokio::test]
    async fn keep_current_signs_only_when_something_changed_or_ages() {
        let dir = tempfile::tempdir().unwrap();
        let repo = TufRepo::at(dir.path());
        repo.keep_current(b"{\"root\":1}", b"{}").await.unwrap();
        let version = || repo.published_timestamp().unwrap().unwrap().0;
        assert_eq!(version(), 1);
        repo.keep_current(b"{\"root\":1}", b"{}").await.unwrap();
        assert_eq!(version(), 1, "nothing changed, nothing signed");
        repo.keep_current(b"{\"root\":2}", b"{}").await.unwrap();
        assert_eq!(version(), 2);
        let (_, expires) = repo.published_timestamp().unwrap().unwrap();
        let left = expires.duration_since(jiff::Timestamp::now());
        assert!(left > jiff::SignedDuration::from_hours(23), "{left:?}");
    }
}
