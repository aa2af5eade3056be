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

use super::{in_days, TufRepo, ROLES, ROOT_DAYS};

impl TufRepo {
    /// Replaces the key of `role` with a fresh one (see the module header);
    /// needs the current root key, and the password if keys are sealed.
    /// Answers the new root's version.
    pub(crate) async fn rotate(&self, role: RoleType) -> anyhow::Result<u64> {
        let name = ROLES
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, n)| *n)
            .context("not a top-level role")?;
        let latest = self.latest_root()?;
        let current: Signed<Root> = serde_json::from_slice(&std::fs::read(&latest)?)
            .with_context(|| format!("reading {}", latest.display()))?;
        let old_root = current.signed;

        let next_name = format!("{name}.next");
        self.keys.create(&next_name)?;
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
            &KeyHolder::Root(old_root),
            &[self.keys.source("root")?],
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
        let path = self.served_dir().join(format!("{version}.root.json"));
        let mut bytes = serde_json::to_vec_pretty(&signed)?;
        bytes.push(b'\n');
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;

        self.keys
            .promote_next(name, &format!("until-root-v{version}"))?;
        self.refresh().await?;
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    // Test code: a failed step should panic with its error.
    #![allow(clippy::unwrap_used)]

    use super::*;

    async fn load(repo: &TufRepo, root: &[u8]) -> tough::Repository {
        let base = url::Url::from_directory_path(repo.served_dir()).unwrap();
        let targets = base.join("targets/").unwrap();
        tough::RepositoryLoader::new(&root, base, targets)
            .load()
            .await
            .unwrap()
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

        assert_eq!(repo.rotate(RoleType::Timestamp).await.unwrap(), 2);
        assert_eq!(repo.rotate(RoleType::Root).await.unwrap(), 3);
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

    /// Version N+1 written without the old root's signature is not taken:
    /// the chain of trust is what the cross-signature carries.
    #[tokio::test]
    async fn a_new_root_the_old_key_did_not_sign_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = TufRepo::at(dir.path());
        repo.init(b"{}", b"{}").await.unwrap();
        let first_root = std::fs::read(repo.bootstrap_root()).unwrap();
        repo.rotate(RoleType::Root).await.unwrap();
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
        let base = url::Url::from_directory_path(repo.served_dir()).unwrap();
        let loaded =
            tough::RepositoryLoader::new(&first_root, base.clone(), base.join("targets/").unwrap())
                .load()
                .await;
        assert!(loaded.is_err(), "a root without the old key's signature");
    }
}
