//! The RFC 6962 §3.5 signed tree head `get-sth` (§4.3) serves. The
//! sequencer signs and stores one STH per committed batch; while the log is
//! idle that STH ages without bound, yet §3.4/§3.5 expect a log to issue a
//! fresh one at least once per Maximum Merge Delay, and monitors take an old
//! one for a frozen log. So, like Trillian's sequencer (which re-signs the
//! same root once its `MaxRootDuration` has passed), the head is signed
//! again at the current time once it is [`MAX_STH_AGE_MS`] old. It is also
//! signed again when the stored signature does not verify under the key the
//! log now runs with (a restart with a rotated CT key), as
//! `CheckpointCache` does for Rekor checkpoints.
//!
//! Re-signed STHs live in memory only: each process signs its own, and a
//! restart starts again from the stored head.

use std::sync::{Arc, Mutex};

use shared::keys::{EcdsaP256Signer, PublicKey};

use crate::heads::{
    digitally_signed_ecdsa_sha256, parse_digitally_signed_ecdsa_sha256, tree_head_signature_input,
};
use crate::store::SignedHead;

/// Oldest STH `get-sth` serves: one hour. This is Trillian's default
/// `MaxRootDuration`, the interval at which Trillian-based CT logs re-sign
/// an unchanged root, and far below any Maximum Merge Delay a CT log
/// promises (24 h for the logs in Chrome's and Apple's programs), so an
/// idle log never looks frozen. A constant, not a setting: re-signing costs
/// one ECDSA signature per hour.
pub(crate) const MAX_STH_AGE_MS: u64 = 60 * 60 * 1000;

/// The STH served for the CT tree's latest head, signed under the current
/// key and at most [`MAX_STH_AGE_MS`] old when it is served.
///
/// Contract of [`SthCache::for_head`]: the answer covers exactly the given
/// head's `(size, root)`; its `timestamp_ms`, `size`, `root` and `signed`
/// belong together (the signature is over those three); it verifies under
/// the current key; and within one process the served timestamp never
/// decreases, even if the wall clock steps back.
pub(crate) struct SthCache {
    signer: EcdsaP256Signer,
    key: PublicKey,
    /// The STH last served: the stored head itself or a re-signed copy.
    served: Mutex<Option<Arc<SignedHead>>>,
}

impl SthCache {
    /// A cache signing with `signer`, the CT log's key.
    pub(crate) fn new(signer: EcdsaP256Signer) -> Self {
        Self {
            key: signer.public_key(),
            signer,
            served: Mutex::new(None),
        }
    }

    /// The STH to serve at `now_ms` for `head`, the latest committed head:
    /// the last STH served while it is for this head and fresh; else `head`
    /// itself if it is fresh, verifies under the current key and is not
    /// older than what was served before; else `head`'s tree signed at
    /// `max(now, head's timestamp, last served timestamp)`.
    pub(crate) fn for_head(&self, head: Arc<SignedHead>, now_ms: u64) -> Arc<SignedHead> {
        // A poisoned lock only means another reader panicked mid-update; the
        // cached value is either complete or absent, so keep using it.
        let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        let floor = match served.as_ref() {
            Some(last) => {
                // `>=`: a later head for the same tree (none is committed
                // today) replaces an older re-signed copy.
                let same_head = last.size == head.size
                    && last.root == head.root
                    && last.timestamp_ms >= head.timestamp_ms;
                if same_head && is_fresh(last, now_ms) {
                    return last.clone();
                }
                last.timestamp_ms
            }
            None => 0,
        };
        let sth = if is_fresh(&head, now_ms) && head.timestamp_ms >= floor && self.verifies(&head) {
            head
        } else {
            let timestamp_ms = now_ms.max(head.timestamp_ms).max(floor);
            tracing::debug!(
                size = head.size,
                stored_timestamp_ms = head.timestamp_ms,
                timestamp_ms,
                "re-signing the CT tree head"
            );
            Arc::new(self.sign(head.size, head.root, timestamp_ms))
        };
        *served = Some(sth.clone());
        sth
    }

    /// Whether `head.signed` is an RFC 6962 `TreeHeadSignature` over its
    /// own timestamp, size and root under the current key.
    fn verifies(&self, head: &SignedHead) -> bool {
        let input = tree_head_signature_input(head.timestamp_ms, head.size, &head.root);
        parse_digitally_signed_ecdsa_sha256(&head.signed)
            .is_some_and(|sig| self.key.verify(&input, sig).is_ok())
    }

    fn sign(&self, size: u64, root: shared::merkle::Hash, timestamp_ms: u64) -> SignedHead {
        let input = tree_head_signature_input(timestamp_ms, size, &root);
        SignedHead {
            size,
            root,
            timestamp_ms,
            signed: digitally_signed_ecdsa_sha256(&self.signer.sign(&input)),
        }
    }
}

/// Younger than [`MAX_STH_AGE_MS`] at `now_ms`. A timestamp ahead of the
/// clock (the clock stepped back) counts as fresh.
fn is_fresh(sth: &SignedHead, now_ms: u64) -> bool {
    now_ms.saturating_sub(sth.timestamp_ms) < MAX_STH_AGE_MS
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use shared::merkle::Hash;
    use shared::sct::SignedEntry;
    use tower::ServiceExt as _;

    use super::*;
    use crate::clock::SettableClock;
    use crate::http::ct::GetSthResponse;
    use crate::sequencer::{LeafData, Submission};
    use crate::store::memory::MemoryStore;
    use crate::{SequencerConfig, Tlog, TlogConfig};

    const T0: u64 = 1_700_000_000_000;
    const MINUTE: u64 = 60 * 1000;

    /// A head of `size` signed by `signer` at `timestamp_ms`, as the
    /// sequencer stores it.
    fn stored(signer: &EcdsaP256Signer, size: u64, timestamp_ms: u64) -> Arc<SignedHead> {
        let root = Hash([u8::try_from(size).unwrap(); 32]);
        Arc::new(SthCache::new(signer.clone()).sign(size, root, timestamp_ms))
    }

    /// Asserts `sth` is a valid STH under `signer` for `head`'s tree.
    fn assert_signed(sth: &SignedHead, signer: &EcdsaP256Signer, head: &SignedHead) {
        assert_eq!((sth.size, sth.root), (head.size, head.root));
        let sig = parse_digitally_signed_ecdsa_sha256(&sth.signed).unwrap();
        let input = tree_head_signature_input(sth.timestamp_ms, sth.size, &sth.root);
        signer.public_key().verify(&input, sig).unwrap();
    }

    #[test]
    fn a_fresh_stored_head_is_served_as_stored() {
        let key = EcdsaP256Signer::generate();
        let cache = SthCache::new(key.clone());
        let head = stored(&key, 3, T0);
        let sth = cache.for_head(head.clone(), T0 + MAX_STH_AGE_MS - 1);
        assert!(Arc::ptr_eq(&sth, &head));
    }

    #[test]
    fn a_stale_head_is_re_signed_now_and_kept_for_an_hour() {
        let key = EcdsaP256Signer::generate();
        let cache = SthCache::new(key.clone());
        let head = stored(&key, 3, T0);
        let now = T0 + MAX_STH_AGE_MS;
        let sth = cache.for_head(head.clone(), now);
        assert_eq!(sth.timestamp_ms, now);
        assert_signed(&sth, &key, &head);
        // Kept until it is in turn an hour old, then signed again.
        let again = cache.for_head(head.clone(), now + MAX_STH_AGE_MS - 1);
        assert!(Arc::ptr_eq(&again, &sth));
        let later = cache.for_head(head.clone(), now + MAX_STH_AGE_MS);
        assert_eq!(later.timestamp_ms, now + MAX_STH_AGE_MS);
        assert_signed(&later, &key, &head);
        // A newer head replaces it at once.
        let next = stored(&key, 4, now + MAX_STH_AGE_MS + 5);
        assert!(Arc::ptr_eq(
            &cache.for_head(next.clone(), now + MAX_STH_AGE_MS + 5),
            &next
        ));
    }

    #[test]
    fn a_head_signed_by_another_key_is_re_signed_with_the_current_key() {
        let old = EcdsaP256Signer::generate();
        let key = EcdsaP256Signer::generate();
        let cache = SthCache::new(key.clone());
        let head = stored(&old, 3, T0);
        let sth = cache.for_head(head.clone(), T0 + MINUTE);
        assert_eq!(sth.timestamp_ms, T0 + MINUTE);
        assert_signed(&sth, &key, &head);
        // Signed once, then served from the cache.
        assert!(Arc::ptr_eq(&cache.for_head(head, T0 + 2 * MINUTE), &sth));
    }

    #[test]
    fn served_timestamps_never_go_backwards() {
        let old = EcdsaP256Signer::generate();
        let key = EcdsaP256Signer::generate();
        let cache = SthCache::new(key.clone());
        // The clock is behind the stored head: its timestamp is kept.
        let head = stored(&old, 3, T0);
        let sth = cache.for_head(head.clone(), T0 - MINUTE);
        assert_eq!(sth.timestamp_ms, T0);
        assert_signed(&sth, &key, &head);
        // Re-signed at T0 + 1 h; then a new head dated before that (the
        // clock stepped back in between) is signed at the served time.
        let resigned = cache.for_head(head, T0 + MAX_STH_AGE_MS);
        let next = stored(&key, 4, T0 + MAX_STH_AGE_MS - MINUTE);
        let sth = cache.for_head(next.clone(), T0 + MAX_STH_AGE_MS - MINUTE);
        assert_eq!(sth.timestamp_ms, resigned.timestamp_ms);
        assert_signed(&sth, &key, &next);
    }

    async fn get_sth(tlog: &Tlog) -> GetSthResponse {
        let r = tlog
            .router()
            .oneshot(Request::get("/ct/v1/get-sth").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        serde_json::from_slice(&axum::body::to_bytes(r.into_body(), 4096).await.unwrap()).unwrap()
    }

    async fn log_ct_entry(tlog: &Tlog, n: u8) {
        tlog.state
            .ct
            .tree
            .submit(Submission {
                identity: Hash([n; 32]),
                data: LeafData::Ct(SignedEntry::X509(vec![n; 3])),
                index_keys: vec![],
                extra_data: vec![],
            })
            .await
            .unwrap();
    }

    /// Checks the RFC 6962 §3.5 signature of a `get-sth` answer.
    fn assert_verifies(sth: &GetSthResponse, key: &EcdsaP256Signer) {
        let root = Hash::from_slice(&B64.decode(&sth.sha256_root_hash).unwrap()).unwrap();
        let ds = B64.decode(&sth.tree_head_signature).unwrap();
        let sig = parse_digitally_signed_ecdsa_sha256(&ds).unwrap();
        let input = tree_head_signature_input(sth.timestamp, sth.tree_size, &root);
        key.public_key().verify(&input, sig).unwrap();
    }

    #[tokio::test]
    async fn get_sth_re_signs_the_head_of_an_idle_log_hourly() {
        let ct_key = EcdsaP256Signer::generate();
        let config = TlogConfig {
            database_url: "memory".into(),
            rekor_signer: EcdsaP256Signer::generate(),
            ct_signer: ct_key.clone(),
            ct_roots: vec![],
            hostname: "localhost".into(),
            sequencer: SequencerConfig::default(),
            entry_cache_bytes: 0,
            tile_cache_bytes: 0,
            rekor_v2: None,
        };
        let clock = Arc::new(SettableClock::new(T0));
        let tlog = Tlog::open_on(Arc::new(MemoryStore::new()), config, clock.clone())
            .await
            .unwrap();

        // After a commit: the stored STH, byte for byte.
        clock.advance(1000);
        log_ct_entry(&tlog, 1).await;
        let head = tlog.state.ct.tree.head();
        let first = get_sth(&tlog).await;
        assert_eq!(
            first,
            GetSthResponse {
                tree_size: 1,
                timestamp: T0 + 1000,
                sha256_root_hash: B64.encode(head.root.0),
                tree_head_signature: B64.encode(&head.signed),
            }
        );

        // Idle for over an hour: the same tree, signed now.
        clock.advance(MAX_STH_AGE_MS + 1);
        let resigned = get_sth(&tlog).await;
        assert_eq!(resigned.timestamp, T0 + 1000 + MAX_STH_AGE_MS + 1);
        assert_eq!(
            (resigned.tree_size, &resigned.sha256_root_hash),
            (first.tree_size, &first.sha256_root_hash)
        );
        assert_ne!(resigned.tree_head_signature, first.tree_head_signature);
        assert_verifies(&resigned, &ct_key);

        // Less than another hour: unchanged.
        clock.advance(MAX_STH_AGE_MS - 1);
        assert_eq!(get_sth(&tlog).await, resigned);

        // A new commit: its head is served.
        clock.advance(1);
        log_ct_entry(&tlog, 2).await;
        let head = tlog.state.ct.tree.head();
        let second = get_sth(&tlog).await;
        assert_eq!(second.tree_size, 2);
        assert_eq!(second.timestamp, head.timestamp_ms);
        assert_eq!(second.tree_head_signature, B64.encode(&head.signed));
        assert_verifies(&second, &ct_key);

        // The clock steps back: what was served stays.
        clock.set(T0);
        assert_eq!(get_sth(&tlog).await, second);
        tlog.shutdown().await;
    }
}
