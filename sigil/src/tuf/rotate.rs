//! Rotating a TUF role key (The Update Framework specification 1.0, §5.3
//! "Update the root role"): a new root, version N+1, names the new key for
//! the role, and is signed by the threshold of root keys that version N
//! trusts and by the root keys N+1 itself names. A client that trusts N
//! walks to N+1 (checking both sets of signatures), and from then on
//! accepts the role's metadata only from the new key. Targets, snapshot and
//! timestamp are then signed again, so everything served agrees with N+1.

use std::num::NonZeroU64;

use anyhow::Context as _;
use tough::editor::signed::SignedRole;
use tough::schema::{KeyHolder, RoleType, Root, Signed};

use super::hsm::TokenKey;
use super::{in_days, TufRepo, ROLES, ROOT_DAYS};

impl TufRepo {
    /// Replaces the key of `role` with a fresh one of the same form (see
    /// the module header); needs the current root key, and the password or
    /// PIN its keys are held with. A role whose key is in a PKCS#11 token
    /// gets its successor there too, labelled `token_label`. Answers the
    /// new root's version.
    ///
    /// Crash safety: the new root is checked against both roots' keys and
    /// written atomically before the successor key replaces the old one;
    /// an interrupted rotation is finished by the next `refresh` (see
    /// [`TufRepo::finish_rotation`]) or `rotate`.
    pub(crate) async fn rotate(
        &self,
        role: RoleType,
        token_label: Option<&str>,
    ) -> anyhow::Result<u64> {
        let name = ROLES
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, n)| *n)
            .context("not a top-level role")?;
        self.finish_rotation().await?;
        let latest = self.latest_root()?;
        let current: Signed<Root> = serde_json::from_slice(&std::fs::read(&latest)?)
            .with_context(|| format!("reading {}", latest.display()))?;
        let old_root = current.signed;
        // Unlock what signs the new root before anything is created, so a
        // missing key or secret leaves the repository as it was.
        let old_root_key = self.keys.source("root")?;
        old_root_key
            .as_sign()
            .await
            .map_err(|e| anyhow::anyhow!("the current root key: {e}"))?;

        let next_name = format!("{name}.next");
        self.keys.discard(&next_name)?;
        match self.keys.token_key(name)? {
            Some(current) => {
                let label = token_label.with_context(|| {
                    format!(
                        "the {name} key is in PKCS#11 token {:?}: give --pkcs11-key LABEL for \
                         its successor there",
                        current.token
                    )
                })?;
                let at = TokenKey {
                    key: label.to_owned(),
                    ..current
                };
                self.keys.create_in_token(&next_name, &at)?;
            }
            None => self.keys.create_like(&next_name, name)?,
        }
        let new_key = self
            .keys
            .source(&next_name)?
            .as_sign()
            .await
            .map_err(|e| anyhow::anyhow!("loading the new {name} key: {e}"))?
            .tuf_key();
        let new_id = new_key.key_id()?;

        let mut root = old_root.clone();
        let version = old_root.version.get() + 1;
        root.version = NonZeroU64::new(version).context("root version overflow")?;
        root.expires = in_days(ROOT_DAYS)?;
        let role_keys = root
            .roles
            .get_mut(&role)
            .context("the root names no key for the role")?;
        let old_ids = std::mem::replace(&mut role_keys.keyids, vec![new_id.clone()]);
        // One key per role here: a threshold above one could never be met.
        role_keys.threshold = NonZeroU64::MIN;
        root.keys.insert(new_id, new_key);
        // A key no role names any more leaves the root.
        for id in old_ids {
            if !root.roles.values().any(|r| r.keyids.contains(&id)) {
                root.keys.remove(&id);
            }
        }

        // Signed by the root keys of N (they vouch for N+1) and, when the
        // root key itself changes, by the new one (N+1 must meet its own
        // threshold).
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let by_old = SignedRole::new(
            root.clone(),
            &KeyHolder::Root(old_root.clone()),
            &[old_root_key],
            &rng,
        )
        .await?;
        let mut signatures = by_old.signed().signatures.clone();
        if role == RoleType::Root {
            let by_new = SignedRole::new(
                root.clone(),
                &KeyHolder::Root(root.clone()),
                &[self.keys.source(&next_name)?],
                &rng,
            )
            .await?;
            signatures.extend(by_new.signed().signatures.iter().cloned());
        }
        let signed = Signed {
            signed: root,
            signatures,
        };
        // tough does not check a root's own threshold when signing it; a
        // client checks both, so do it here before anything is published.
        old_root
            .verify_role(&signed)
            .context("the new root does not verify under the current one")?;
        signed
            .signed
            .verify_role(&signed)
            .context("the new root does not verify under its own keys")?;
        let mut bytes = serde_json::to_vec_pretty(&signed)?;
        bytes.push(b'\n');
        write_atomically(
            &self.served_dir().join(format!("{version}.root.json")),
            &bytes,
        )?;

        self.finish_rotation().await?;
        Ok(version)
    }

    /// Completes a rotation whose new root is published: a `<role>.next`
    /// key the latest root names replaces the role's key (the old one is
    /// kept in `keys/retired/`), then targets, snapshot and timestamp are
    /// signed again under that root. A `.next` key the root does not name
    /// is left for `rotate` to discard. Does nothing when no rotation is
    /// pending.
    pub(crate) async fn finish_rotation(&self) -> anyhow::Result<()> {
        let latest = self.latest_root()?;
        let root: Signed<Root> = serde_json::from_slice(&std::fs::read(&latest)?)
            .with_context(|| format!("reading {}", latest.display()))?;
        let mut promoted = false;
        for (role, name) in ROLES {
            let next = format!("{name}.next");
            if !self.keys.exists(&next) {
                continue;
            }
            let id = self
                .keys
                .source(&next)?
                .as_sign()
                .await
                .map_err(|e| anyhow::anyhow!("the pending {name} key: {e}"))?
                .tuf_key()
                .key_id()?;
            if root
                .signed
                .roles
                .get(&role)
                .is_some_and(|r| r.keyids.contains(&id))
            {
                let tag = format!("until-root-v{}", root.signed.version.get());
                self.keys.promote_next(name, &tag)?;
                promoted = true;
            }
        }
        if promoted {
            self.refresh().await?;
        }
        Ok(())
    }
}

/// Replaces `path` with `bytes` so that a reader sees the old file or the
/// new one, never a part: written beside it, synced, then renamed over it.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    // Test code: a failed step should panic with its error.
    #![allow(clippy::unwrap_used)]

    use super::super::tests::load_trusting;
    use super::*;

    async fn load(repo: &TufRepo, root: &[u8]) -> tough::Repository {
        load_trusting(repo, root).await.unwrap()
    }

    /// A client that trusts only version 1 follows two rotations (the
    /// timestamp key, then the root key itself) to version 3, and the
    /// served metadata verifies under the new keys.
    #[tokio::test]
    async fn a_client_on_the_first_root_follows_each_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let repo = TufRepo::at(dir.path());
        repo.init(b"{\"root\":1}", b"{}").await.unwrap();
        let first_root = std::fs::read(repo.bootstrap_root()).unwrap();
        let before = load(&repo, &first_root).await;
        let old_timestamp_key = before.root().signed.roles[&RoleType::Timestamp]
            .keyids
            .clone();

        assert_eq!(repo.rotate(RoleType::Timestamp, None).await.unwrap(), 2);
        assert_eq!(repo.rotate(RoleType::Root, None).await.unwrap(), 3);
        let after = load(&repo, &first_root).await;
        assert_eq!(after.root().signed.version.get(), 3);
        let roles = &after.root().signed.roles;
        assert_ne!(roles[&RoleType::Timestamp].keyids, old_timestamp_key);
        assert_ne!(
            roles[&RoleType::Root].keyids,
            before.root().signed.roles[&RoleType::Root].keyids
        );
        let retired = dir.path().join("keys/retired");
        assert!(retired.join("timestamp.until-root-v2.pk8").is_file());
        assert!(retired.join("root.until-root-v3.pk8").is_file());
        assert!(!dir.path().join("keys/root.next.pk8").exists());
    }

    /// A rotation that stopped after publishing its root (the new key not
    /// yet in place) is finished by the next step, and a successor key no
    /// root names is discarded by the next rotation.
    #[tokio::test]
    async fn an_interrupted_rotation_is_finished_and_a_stale_successor_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let repo = TufRepo::at(dir.path());
        repo.init(b"{}", b"{}").await.unwrap();
        let first_root = std::fs::read(repo.bootstrap_root()).unwrap();
        repo.rotate(RoleType::Timestamp, None).await.unwrap();
        // Back to the moment before the new key replaced the old one.
        let keys = dir.path().join("keys");
        std::fs::rename(keys.join("timestamp.pk8"), keys.join("timestamp.next.pk8")).unwrap();
        std::fs::rename(
            keys.join("retired/timestamp.until-root-v2.pk8"),
            keys.join("timestamp.pk8"),
        )
        .unwrap();
        repo.finish_rotation().await.unwrap();
        assert!(!keys.join("timestamp.next.pk8").exists());
        assert_eq!(
            load(&repo, &first_root).await.root().signed.version.get(),
            2
        );

        repo.keys.create("snapshot.next").unwrap();
        assert_eq!(repo.rotate(RoleType::Snapshot, None).await.unwrap(), 3);
        load(&repo, &first_root).await;
    }

    /// Version N+1 written without the old root's signature is not taken:
    /// the chain of trust is what the cross-signature carries.
    #[tokio::test]
    async fn a_new_root_the_old_key_did_not_sign_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = TufRepo::at(dir.path());
        repo.init(b"{}", b"{}").await.unwrap();
        let first_root = std::fs::read(repo.bootstrap_root()).unwrap();
        repo.rotate(RoleType::Root, None).await.unwrap();
        let path = repo.served_dir().join("2.root.json");
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let old_id = serde_json::from_slice::<serde_json::Value>(&first_root).unwrap()["signed"]
            ["roles"]["root"]["keyids"][0]
            .clone();
        doc["signatures"]
            .as_array_mut()
            .unwrap()
            .retain(|s| s["keyid"] != old_id);
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        let loaded = load_trusting(&repo, &first_root).await;
        assert!(loaded.is_err(), "a root without the old key's signature");
    }
}
