//! The sequencer: the single writer of one tree (docs/design.md "Single writer
//! per tree"; the pool-and-futures shape of Sunlight and Tessera).
//!
//! Submissions wait in a bounded pool (an `mpsc` channel). The sequencer task
//! group-commits: as soon as it is free it takes every submission waiting,
//! up to `batch_size` (so a batch is what arrived during the previous
//! commit: one entry when idle, full batches under load), optionally
//! lingering up to `flush_interval` for more; it resolves duplicates (against the store and
//! within the batch), assigns indices, extends the in-memory right edge,
//! signs the new head and commits everything as one store transaction. Only
//! then are the waiters answered. A full pool is refused at once with
//! [`SequenceError::Pushback`] (HTTP 503 + Retry-After), never queued.
//!
//! The sequencer owns the tree's [`Frontier`]; it is rebuilt from stored nodes
//! on start and after any failed commit, so memory never drifts from the store.
//! A batch the database refuses is retried in halves until the entry at
//! fault fails alone; every other submission of the batch is committed.
//!
//! Replicas (several processes on one Postgres database): a sequencer only
//! sequences while [`LogStore::lead`] says this process leads the tree. A
//! follower refuses submissions at once ([`SequenceError::NotLeader`], 503),
//! refreshes its view of the latest head every [`ROLE_CHECK_INTERVAL`] so it
//! serves current reads, and tries to take the lock at the same pace, so a
//! standby takes over within about a second of the leader's death. When the
//! database is unreachable, submissions fail at once with
//! [`SequenceError::Unavailable`] (503) until a check finds it back; then the
//! state is reloaded from the store before anything is sequenced.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use shared::merkle::{empty_root, leaf_hash, Frontier, Hash};
use shared::sct::SignedEntry;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::heads::HeadSigner;
use crate::metrics::SequencerStats;
use crate::store::{
    Batch, Leadership, LogStore, NewEntry, SignedHead, StoreError, StoredEntry, TreeId,
};

mod role;
use role::{Role, SharedRole};

/// How often a replica re-checks its role (and a follower its head).
const ROLE_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// Batching and pushback knobs of every tree's sequencer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequencerConfig {
    /// Most entries committed in one transaction. Default 256 (Tessera's default).
    pub batch_size: usize,
    /// How long a batch may linger for more submissions after its first
    /// arrived, once the writer is free. Default 0: commit at once with what
    /// is waiting (group commit), which batches by itself under load since
    /// submissions pile up during each commit.
    pub flush_interval: Duration,
    /// Submissions that may wait for a batch; beyond this the API answers 503.
    /// Default 4096 (Tessera's pushback threshold).
    pub pool_size: usize,
    /// The `Retry-After` given with a 503. Default 1 s.
    pub retry_after: Duration,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            batch_size: 256,
            flush_interval: Duration::ZERO,
            pool_size: 4096,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// What a submission logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LeafData {
    /// Bytes logged as they are (a Rekor canonical body).
    Raw(Vec<u8>),
    /// An RFC 6962 entry: its `MerkleTreeLeaf` is built with the batch
    /// timestamp, which thereby is the SCT timestamp and never after the STH's.
    Ct(SignedEntry),
}

impl LeafData {
    fn encode(&self, timestamp_ms: u64) -> Vec<u8> {
        match self {
            Self::Raw(body) => body.clone(),
            Self::Ct(entry) => shared::ct::merkle_tree_leaf(timestamp_ms, entry, &[]),
        }
    }
}

/// One submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Submission {
    /// Duplicate key; see [`StoredEntry::identity`].
    pub(crate) identity: Hash,
    pub(crate) data: LeafData,
    pub(crate) index_keys: Vec<String>,
    /// Stored beside the entry, outside its leaf; see [`NewEntry::extra_data`].
    pub(crate) extra_data: Vec<u8>,
}

/// A committed submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sequenced {
    pub(crate) entry: StoredEntry,
    /// The identity was already logged (or submitted earlier in the same
    /// batch); `entry` is that earlier entry.
    pub(crate) duplicate: bool,
    /// A committed head that covers `entry`.
    pub(crate) head: Arc<SignedHead>,
}

/// Why a submission was not sequenced.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SequenceError {
    #[error("the log is busy; retry in {} s", retry_after.as_secs())]
    Pushback { retry_after: Duration },
    #[error("the log is shutting down")]
    ShuttingDown,
    #[error("this replica is not the sequencer; send writes to the leader")]
    NotLeader,
    #[error("the log database is unreachable; retry later")]
    Unavailable,
    #[error("sequencing failed: {0}")]
    Failed(String),
}

type Reply = oneshot::Sender<Result<Sequenced, SequenceError>>;

struct Job {
    submission: Submission,
    reply: Reply,
}

/// The submitting side of a sequencer; cheap to clone.
#[derive(Clone)]
pub(crate) struct SequencerHandle {
    pool: mpsc::Sender<Job>,
    heads: watch::Receiver<Arc<SignedHead>>,
    retry_after: Duration,
    stats: Arc<SequencerStats>,
    role: SharedRole,
}

impl SequencerHandle {
    /// Puts a submission in the pool, or refuses it at once if the pool is full.
    pub(crate) fn enqueue(
        &self,
        submission: Submission,
    ) -> Result<oneshot::Receiver<Result<Sequenced, SequenceError>>, SequenceError> {
        if let Some(refusal) = self.role.refusal() {
            return Err(refusal);
        }
        let (reply, rx) = oneshot::channel();
        self.pool
            .try_send(Job { submission, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SequenceError::Pushback {
                    retry_after: self.retry_after,
                },
                mpsc::error::TrySendError::Closed(_) => SequenceError::ShuttingDown,
            })?;
        Ok(rx)
    }

    /// Submits and waits until the submission is committed.
    pub(crate) async fn submit(&self, submission: Submission) -> Result<Sequenced, SequenceError> {
        let rx = self.enqueue(submission)?;
        rx.await.unwrap_or(Err(SequenceError::ShuttingDown))
    }

    /// The latest head this sequencer committed (or, on a follower, last read).
    pub(crate) fn latest_head(&self) -> Arc<SignedHead> {
        self.heads.borrow().clone()
    }

    /// Every head this sequencer commits from now on (witnesses follow it).
    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<SignedHead>> {
        self.heads.clone()
    }

    /// Whether this process sequences the tree now (always, on a store
    /// with one writer; on a shared store, while it holds the lead).
    pub(crate) fn is_leader(&self) -> bool {
        self.role.get() == Role::Leader
    }

    /// Submissions waiting in the pool (for metrics).
    pub(crate) fn pool_depth(&self) -> usize {
        self.pool.max_capacity() - self.pool.capacity()
    }

    /// Submissions the pool holds before pushing back.
    pub(crate) fn pool_capacity(&self) -> usize {
        self.pool.max_capacity()
    }

    /// Whether the sequencer task still takes submissions: the pool closes
    /// when it shuts down or its task ends.
    pub(crate) fn is_running(&self) -> bool {
        !self.pool.is_closed()
    }

    /// Batch sizes and flush latencies (for metrics).
    pub(crate) fn stats(&self) -> &SequencerStats {
        &self.stats
    }
}

/// The running sequencer task, for shutdown.
pub(crate) struct SequencerTask {
    shutdown: oneshot::Sender<()>,
    join: JoinHandle<()>,
}

impl SequencerTask {
    /// Stops taking submissions, commits what is in the pool, and waits for the task.
    pub(crate) async fn shutdown(self) {
        // The task may already be gone (send fails); joining is all that is left.
        let _ = self.shutdown.send(());
        if let Err(e) = self.join.await {
            tracing::error!(error = %e, "sequencer task failed");
        }
    }
}

/// The search-index key under which a CT entry is found by its RFC 6962
/// leaf hash (CT identities are timestamp-free, leaf hashes are not).
pub(crate) fn ct_leaf_key(leaf: &Hash) -> String {
    format!("leaf:{}", leaf.to_hex())
}

/// Starts the sequencer of `tree`. As its leader: loads (or, for a new
/// tree, signs and commits the empty) head and rebuilds the right edge; a
/// tree that has a `genesis` entry and is still empty gets it as its first
/// entry, before any submission. As a follower: loads the head (or holds a
/// signed empty one in memory until the leader commits one). Then spawns the
/// task.
pub(crate) async fn start(
    tree: TreeId,
    store: Arc<dyn LogStore>,
    signer: Arc<dyn HeadSigner>,
    clock: Arc<dyn Clock>,
    config: SequencerConfig,
    stats: Arc<SequencerStats>,
    genesis: Option<Submission>,
) -> Result<(SequencerHandle, SequencerTask), StoreError> {
    let leadership = store.lead(tree).await?;
    let stored = store.latest_head(tree).await?;
    let empty = || {
        let timestamp_ms = clock.now_ms();
        let root = empty_root();
        let signed = signer
            .sign_head(0, &root, timestamp_ms)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok::<_, StoreError>(SignedHead {
            size: 0,
            root,
            timestamp_ms,
            signed,
        })
    };
    let (head, frontier, role) = match (leadership, stored) {
        (Leadership::Follower, stored) => {
            let head = match stored {
                Some(head) => head,
                None => empty()?,
            };
            // Rebuilt from the store when this process takes over.
            (head, Frontier::new(), Role::Follower)
        }
        (Leadership::Sole | Leadership::Leader, stored) => {
            let head = match stored {
                Some(head) => head,
                // The genesis batch below is the tree's first commit.
                None if genesis.is_some() => empty()?,
                None => {
                    let head = empty()?;
                    store
                        .commit(Batch {
                            tree,
                            entries: vec![],
                            nodes: vec![],
                            head: head.clone(),
                        })
                        .await?;
                    head
                }
            };
            let frontier = load_frontier(store.as_ref(), tree, &head).await?;
            (head, frontier, Role::Leader)
        }
    };
    let role = SharedRole::new(role);
    let (pool, rx) = mpsc::channel(config.pool_size.max(1));
    let (publish, heads) = watch::channel(Arc::new(head));
    let (shutdown, shutdown_rx) = oneshot::channel();
    let handle = SequencerHandle {
        pool,
        heads,
        retry_after: config.retry_after,
        stats: stats.clone(),
        role: role.clone(),
    };
    let mut worker = Worker {
        tree,
        store,
        signer,
        clock,
        config,
        frontier,
        publish,
        stats,
        role,
        // Only a shared store has roles to re-check.
        replicated: leadership != Leadership::Sole,
        genesis,
    };
    if worker.role.get() == Role::Leader {
        worker.open_with_genesis().await?;
    }
    let join = tokio::spawn(worker.run(rx, shutdown_rx));
    Ok((handle, SequencerTask { shutdown, join }))
}

/// Rebuilds the right edge of the tree `head` describes and checks it against the head's root.
async fn load_frontier(
    store: &dyn LogStore,
    tree: TreeId,
    head: &SignedHead,
) -> Result<Frontier, StoreError> {
    let ids = Frontier::nodes_for_size(head.size);
    let hashes = store.read_nodes(tree, &ids).await?;
    let frontier =
        Frontier::from_nodes(head.size, &hashes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if frontier.root() != head.root {
        return Err(StoreError::Corrupt(format!(
            "stored nodes do not give the root of tree size {}",
            head.size
        )));
    }
    Ok(frontier)
}

struct Worker {
    tree: TreeId,
    store: Arc<dyn LogStore>,
    signer: Arc<dyn HeadSigner>,
    clock: Arc<dyn Clock>,
    config: SequencerConfig,
    frontier: Frontier,
    publish: watch::Sender<Arc<SignedHead>>,
    stats: Arc<SequencerStats>,
    role: SharedRole,
    /// Whether roles change at run time (a shared store), so the worker
    /// re-checks them every [`ROLE_CHECK_INTERVAL`].
    replicated: bool,
    /// The entry an empty tree opens with (see `crate::genesis`).
    genesis: Option<Submission>,
}

impl Worker {
    async fn run(mut self, mut pool: mpsc::Receiver<Job>, mut shutdown: oneshot::Receiver<()>) {
        let mut closing = false;
        let mut checks = tokio::time::interval(ROLE_CHECK_INTERVAL);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let first = tokio::select! {
                biased;
                // Closing the channel refuses new submissions but keeps the
                // queued ones receivable, so they are still committed.
                _ = &mut shutdown, if !closing => {
                    pool.close();
                    closing = true;
                    continue;
                }
                _ = checks.tick(), if self.replicated && !closing => {
                    self.check_role().await;
                    continue;
                }
                job = pool.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
            };
            let deadline = Instant::now() + self.config.flush_interval;
            let mut jobs = vec![first];
            // Group commit: whatever is already waiting joins at once.
            while jobs.len() < self.config.batch_size {
                match pool.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            // An optional linger for more (flush_interval > 0).
            while jobs.len() < self.config.batch_size && !self.config.flush_interval.is_zero() {
                match tokio::time::timeout_at(deadline, pool.recv()).await {
                    Ok(Some(job)) => jobs.push(job),
                    Ok(None) | Err(_) => break,
                }
            }
            self.process(jobs).await;
        }
    }

    /// Sequences `jobs` and answers each. A batch the database refuses is
    /// split in halves that are committed on their own, down to single
    /// entries, so an entry the database cannot store (docs/design.md: "One bad
    /// entry can never fail the others") fails alone; this costs at most
    /// about 2·log2(batch size) extra commits, and only on that path.
    async fn process(&mut self, jobs: Vec<Job>) {
        // Submitted just before this process lost the lead or the database.
        if let Some(refusal) = self.role.refusal() {
            for job in jobs {
                let _ = job.reply.send(Err(refusal.clone()));
            }
            return;
        }
        let (mut committed, mut failed) = (false, false);
        // Groups still to commit, the next one last.
        let mut groups = vec![jobs];
        while let Some(mut group) = groups.pop() {
            let submissions: Vec<&Submission> = group.iter().map(|j| &j.submission).collect();
            match self.sequence(&submissions).await {
                Ok(outcomes) => {
                    committed = true;
                    for (job, outcome) in group.into_iter().zip(outcomes) {
                        // A dropped receiver is a client that went away; the entry is logged regardless.
                        let _ = job.reply.send(Ok(outcome));
                    }
                }
                Err(e) if e.is_unavailable() => {
                    tracing::error!(tree = %self.tree, error = %e, "database unreachable; batch not committed");
                    self.stats.observe_failure();
                    for job in groups.into_iter().flatten().chain(group) {
                        let _ = job.reply.send(Err(SequenceError::Unavailable));
                    }
                    if self.replicated {
                        // Refuse everything (queued too) at once until a role
                        // check finds the database back and reloads the state.
                        self.role.set(Role::Unavailable);
                    } else {
                        // No role checks run for a single-writer store.
                        self.resync().await;
                    }
                    return;
                }
                Err(e) => {
                    failed = true;
                    tracing::error!(tree = %self.tree, entries = group.len(), error = %e, "batch not committed");
                    self.resync().await;
                    // Only the database refusing a row can be one entry's
                    // fault; a conflict or a corrupt store is the tree's.
                    if group.len() > 1 && matches!(e, StoreError::Database(_)) {
                        let second = group.split_off(group.len() / 2);
                        groups.push(second);
                        groups.push(group);
                    } else {
                        for job in group {
                            let _ = job.reply.send(Err(SequenceError::Failed(e.to_string())));
                        }
                    }
                }
            }
        }
        if failed && !committed {
            self.stats.observe_failure();
        }
    }

    /// Commits the genesis entry if the tree has one and is still empty.
    /// Called by a leader before it sequences anything: at start and when it
    /// takes over from another replica.
    async fn open_with_genesis(&mut self) -> Result<(), StoreError> {
        if self.frontier.size() > 0 {
            return Ok(());
        }
        let Some(genesis) = self.genesis.clone() else {
            return Ok(());
        };
        self.sequence(&[&genesis]).await?;
        tracing::info!(tree = %self.tree, "committed the genesis entry");
        Ok(())
    }

    /// Sequences and commits one batch; one outcome per submission, in order.
    async fn sequence(
        &mut self,
        submissions: &[&Submission],
    ) -> Result<Vec<Sequenced>, StoreError> {
        let started = Instant::now();
        let current = self.publish.borrow().clone();
        // Head timestamps never go backwards, even if the wall clock does.
        let now = self.clock.now_ms().max(current.timestamp_ms);

        let mut identities: Vec<Hash> = submissions.iter().map(|s| s.identity).collect();
        identities.sort_unstable();
        identities.dedup();
        let existing: HashMap<Hash, StoredEntry> = self
            .store
            .entries_by_identity(self.tree, &identities)
            .await?
            .into_iter()
            .map(|e| (e.identity, e))
            .collect();

        let mut frontier = self.frontier.clone();
        let mut added: HashMap<Hash, StoredEntry> = HashMap::new();
        let mut entries = Vec::new();
        let mut nodes = Vec::new();
        // (entry, duplicate) per submission; the head is attached at the end.
        let mut outcomes = Vec::with_capacity(submissions.len());
        for s in submissions {
            if let Some(e) = existing.get(&s.identity).or_else(|| added.get(&s.identity)) {
                outcomes.push((e.clone(), true));
                continue;
            }
            let body = s.data.encode(now);
            let index = frontier.size();
            let leaf = leaf_hash(&body);
            nodes.extend(frontier.append(leaf));
            let mut index_keys = s.index_keys.clone();
            // A CT leaf embeds the batch timestamp, so only here is its leaf
            // hash known; get-proof-by-hash finds the entry by this key.
            if let LeafData::Ct(_) = s.data {
                index_keys.push(ct_leaf_key(&leaf));
            }
            let entry = StoredEntry {
                index,
                identity: s.identity,
                body,
                timestamp_ms: now,
            };
            added.insert(s.identity, entry.clone());
            outcomes.push((entry.clone(), false));
            entries.push(NewEntry {
                entry,
                index_keys,
                extra_data: s.extra_data.clone(),
            });
        }

        let head = if entries.is_empty() {
            current
        } else {
            let root = frontier.root();
            let signed = self
                .signer
                .sign_head(frontier.size(), &root, now)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let head = SignedHead {
                size: frontier.size(),
                root,
                timestamp_ms: now,
                signed,
            };
            let count = entries.len();
            self.store
                .commit(Batch {
                    tree: self.tree,
                    entries,
                    nodes,
                    head: head.clone(),
                })
                .await?;
            tracing::debug!(tree = %self.tree, entries = count, size = head.size, "batch committed");
            self.stats.observe_batch(count, started.elapsed());
            self.frontier = frontier;
            let head = Arc::new(head);
            self.publish.send_replace(head.clone());
            head
        };
        Ok(outcomes
            .into_iter()
            .map(|(entry, duplicate)| Sequenced {
                entry,
                duplicate,
                head: head.clone(),
            })
            .collect())
    }

    /// After a failed commit the store may or may not hold the batch (a
    /// commit can fail after it became durable); reload the truth. Returns
    /// whether the reload worked.
    async fn resync(&mut self) -> bool {
        let reloaded = async {
            let stored = self.store.latest_head(self.tree).await?;
            let held = self.publish.borrow().clone();
            let head = match stored {
                Some(head) => head,
                // Nobody has committed to this tree yet (its first leader
                // died before its first commit): the empty head held since start.
                None if held.size == 0 => (*held).clone(),
                None => return Err(StoreError::Corrupt("tree lost its head".into())),
            };
            let frontier = load_frontier(self.store.as_ref(), self.tree, &head).await?;
            Ok::<_, StoreError>((head, frontier))
        }
        .await;
        match reloaded {
            Ok((head, frontier)) => {
                self.frontier = frontier;
                self.publish.send_replace(Arc::new(head));
                true
            }
            // Keep the old state: the next commit is checked against the
            // store and fails again rather than forking the tree.
            Err(e) => {
                tracing::error!(tree = %self.tree, error = %e, "cannot reload tree state");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
