//! Unit tests of the sequencer on the in-memory store with a fixed clock.

use super::*;
use crate::clock::FixedClock;
use crate::heads::HeadError;
use crate::metrics::Metrics;
use crate::store::memory::MemoryStore;

/// Signs nothing: the "signature" is the size, so tests can see which head they got.
struct SizeSigner;

impl HeadSigner for SizeSigner {
    fn sign_head(&self, size: u64, _root: &Hash, _ts: u64) -> Result<Vec<u8>, HeadError> {
        Ok(size.to_be_bytes().to_vec())
    }
}

fn submission(n: u8) -> Submission {
    let body = vec![n; 3];
    Submission {
        identity: leaf_hash(&body),
        data: LeafData::Raw(body),
        index_keys: vec![format!("key{n}")],
        extra_data: vec![],
    }
}

fn config(batch_size: usize, pool_size: usize) -> SequencerConfig {
    SequencerConfig {
        batch_size,
        pool_size,
        flush_interval: Duration::from_millis(10),
        retry_after: Duration::from_secs(7),
    }
}

async fn start_on(
    store: &MemoryStore,
    config: SequencerConfig,
) -> (SequencerHandle, SequencerTask, TreeId) {
    let tree = store.tree("rekor").await.unwrap();
    let (handle, task) = start(
        tree,
        Arc::new(store.clone()),
        Arc::new(SizeSigner),
        Arc::new(FixedClock(1_700_000_000_123)),
        config,
        Arc::new(Metrics::new().sequencer_stats("rekor", true)),
        None,
    )
    .await
    .unwrap();
    (handle, task, tree)
}

/// The root of leaves `bodies` computed independently of the sequencer.
fn reference_root(bodies: &[Vec<u8>]) -> Hash {
    let mut f = Frontier::new();
    for b in bodies {
        f.append(leaf_hash(b));
    }
    f.root()
}

#[tokio::test(start_paused = true)]
async fn a_full_batch_flushes_without_waiting() {
    let store = MemoryStore::new();
    let (handle, task, _) = start_on(&store, config(4, 100)).await;
    let start = Instant::now();
    let waiters: Vec<_> = (0..8)
        .map(|n| handle.enqueue(submission(n)).unwrap())
        .collect();
    for (n, w) in waiters.into_iter().enumerate() {
        let done = w.await.unwrap().unwrap();
        assert_eq!(done.entry.index, n as u64);
        assert!(!done.duplicate);
        assert!(
            done.head.size > done.entry.index,
            "the head covers the entry"
        );
    }
    // The empty initial head, then two full batches, with no timer involved.
    assert_eq!(store.batch_sizes(), vec![0, 4, 4]);
    assert_eq!(start.elapsed(), Duration::ZERO);
    task.shutdown().await;
}

/// Group commit (the default, no linger): an entry alone is committed at
/// once, and what arrives during a commit forms the next batch.
#[tokio::test(start_paused = true)]
async fn group_commit_takes_what_arrived_during_the_previous_commit() {
    let (store, gate) = MemoryStore::gated();
    gate.add_permits(1); // the initial empty head
    let config = SequencerConfig {
        flush_interval: Duration::ZERO,
        ..config(256, 100)
    };
    let (handle, task, _) = start_on(&store, config).await;
    let start = Instant::now();
    // One entry while idle: its commit starts at once, with it alone.
    let first = handle.enqueue(submission(0)).unwrap();
    while store.commits_started() < 2 {
        tokio::task::yield_now().await;
    }
    // Five more arrive while that commit is at the gate.
    let rest: Vec<_> = (1..6)
        .map(|n| handle.enqueue(submission(n)).unwrap())
        .collect();
    gate.add_permits(2);
    assert_eq!(first.await.unwrap().unwrap().entry.index, 0);
    for (n, w) in rest.into_iter().enumerate() {
        assert_eq!(w.await.unwrap().unwrap().entry.index, n as u64 + 1);
    }
    assert_eq!(store.batch_sizes(), vec![0, 1, 5]);
    assert_eq!(start.elapsed(), Duration::ZERO, "no timer involved");
    task.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_flushes_after_the_interval() {
    let store = MemoryStore::new();
    let (handle, task, tree) = start_on(&store, config(256, 100)).await;
    let start = Instant::now();
    let waiters: Vec<_> = (0..3)
        .map(|n| handle.enqueue(submission(n)).unwrap())
        .collect();
    let mut last = None;
    for w in waiters {
        last = Some(w.await.unwrap().unwrap());
    }
    assert_eq!(start.elapsed(), Duration::from_millis(10));
    assert_eq!(store.batch_sizes(), vec![0, 3]);
    let head = last.unwrap().head;
    assert_eq!(head.size, 3);
    assert_eq!(head.signed, 3u64.to_be_bytes().to_vec());
    assert_eq!(
        head.root,
        reference_root(&[vec![0; 3], vec![1; 3], vec![2; 3]])
    );
    assert_eq!(head.timestamp_ms, 1_700_000_000_123);
    assert_eq!(handle.latest_head(), head);
    assert_eq!(store.search(tree, "key1").await.unwrap(), vec![1]);
    task.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_full_pool_is_refused_with_retry_after() {
    let (store, gate) = MemoryStore::gated();
    gate.add_permits(1); // for the initial empty head
    let (handle, task, _) = start_on(&store, config(1, 2)).await;
    let a = handle.enqueue(submission(0)).unwrap();
    // Let the sequencer take `a` and block in its commit.
    tokio::time::sleep(Duration::from_millis(1)).await;
    let b = handle.enqueue(submission(1)).unwrap();
    let c = handle.enqueue(submission(2)).unwrap();
    assert_eq!(
        handle.enqueue(submission(3)).unwrap_err(),
        SequenceError::Pushback {
            retry_after: Duration::from_secs(7)
        }
    );
    gate.add_permits(3);
    for (n, w) in [a, b, c].into_iter().enumerate() {
        assert_eq!(w.await.unwrap().unwrap().entry.index, n as u64);
    }
    // Room again once the pool drained.
    gate.add_permits(1);
    assert_eq!(handle.submit(submission(3)).await.unwrap().entry.index, 3);
    task.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn duplicates_resolve_to_the_existing_entry() {
    let store = MemoryStore::new();
    let (handle, task, _) = start_on(&store, config(256, 100)).await;
    // Twice in one batch, next to another entry.
    let first = handle.enqueue(submission(5)).unwrap();
    let other = handle.enqueue(submission(6)).unwrap();
    let again = handle.enqueue(submission(5)).unwrap();
    let first = first.await.unwrap().unwrap();
    let again = again.await.unwrap().unwrap();
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.entry, first.entry);
    assert_eq!(other.await.unwrap().unwrap().entry.index, 1);
    // And in a later batch, against the store.
    let later = handle.submit(submission(5)).await.unwrap();
    assert!(later.duplicate);
    assert_eq!(later.entry, first.entry);
    assert_eq!(later.head.size, 2);
    // A batch of only duplicates commits nothing.
    assert_eq!(store.batch_sizes(), vec![0, 2]);
    task.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn ct_leaves_carry_the_batch_timestamp() {
    let store = MemoryStore::new();
    let (handle, task, _) = start_on(&store, config(256, 100)).await;
    let entry = SignedEntry::X509(vec![1, 2, 3]);
    let done = handle
        .submit(Submission {
            identity: Hash([9; 32]),
            data: LeafData::Ct(entry.clone()),
            index_keys: vec![],
            extra_data: vec![],
        })
        .await
        .unwrap();
    assert_eq!(done.entry.timestamp_ms, 1_700_000_000_123);
    assert_eq!(
        done.entry.body,
        shared::ct::merkle_tree_leaf(1_700_000_000_123, &entry, &[])
    );
    assert_eq!(done.head.timestamp_ms, done.entry.timestamp_ms);
    task.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn restart_rebuilds_the_right_edge() {
    let store = MemoryStore::new();
    let (handle, task, tree) = start_on(&store, config(3, 100)).await;
    for n in 0..7 {
        handle.submit(submission(n)).await.unwrap();
    }
    let before = handle.latest_head();
    task.shutdown().await;

    let (handle, task, tree2) = start_on(&store, config(3, 100)).await;
    assert_eq!(tree2, tree);
    assert_eq!(handle.latest_head(), before);
    for n in 7..12 {
        handle.submit(submission(n)).await.unwrap();
    }
    let bodies: Vec<Vec<u8>> = (0..12).map(|n| vec![n; 3]).collect();
    assert_eq!(handle.latest_head().root, reference_root(&bodies));
    assert_eq!(handle.latest_head().size, 12);
    task.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_commits_the_pool_then_refuses() {
    let store = MemoryStore::new();
    let (handle, task, _) = start_on(&store, config(256, 100)).await;
    let waiters: Vec<_> = (0..3)
        .map(|n| handle.enqueue(submission(n)).unwrap())
        .collect();
    task.shutdown().await;
    for w in waiters {
        w.await.unwrap().unwrap();
    }
    assert_eq!(store.batch_sizes(), vec![0, 3]);
    assert_eq!(
        handle.enqueue(submission(9)).unwrap_err(),
        SequenceError::ShuttingDown
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_commit_fails_its_waiters_and_resyncs() {
    let store = MemoryStore::new();
    let (handle, task, tree) = start_on(&store, config(256, 100)).await;
    handle.submit(submission(0)).await.unwrap();

    // Another writer appends behind the sequencer's back: its next batch no
    // longer continues the stored tree and must be refused, not forked.
    let mut f = Frontier::new();
    let bodies = [vec![0u8; 3], vec![42u8; 3]];
    let mut nodes = vec![];
    for b in &bodies {
        nodes.extend(f.append(leaf_hash(b)));
    }
    let intruder = StoredEntry {
        index: 1,
        identity: leaf_hash(&bodies[1]),
        body: bodies[1].clone(),
        timestamp_ms: 1,
    };
    let only_new: Vec<_> = nodes
        .into_iter()
        .filter(|(id, _)| *id != shared::merkle::NodeId { level: 0, index: 0 })
        .collect();
    store
        .commit(Batch {
            tree,
            entries: vec![NewEntry {
                entry: intruder,
                index_keys: vec![],
                extra_data: vec![],
            }],
            nodes: only_new,
            head: SignedHead {
                size: 2,
                root: f.root(),
                timestamp_ms: 1,
                signed: vec![],
            },
        })
        .await
        .unwrap();

    assert!(matches!(
        handle.submit(submission(1)).await,
        Err(SequenceError::Failed(_))
    ));
    // Resynced: the next submission lands after the intruder.
    let next = handle.submit(submission(1)).await.unwrap();
    assert_eq!(next.entry.index, 2);
    let all = [vec![0u8; 3], vec![42u8; 3], vec![1u8; 3]];
    assert_eq!(next.head.root, reference_root(&all));
    task.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_new_tree_opens_with_its_genesis_entry_once() {
    let store = MemoryStore::new();
    let tree = store.tree("rekor").await.unwrap();
    let open = |genesis: Option<Submission>| {
        start(
            tree,
            Arc::new(store.clone()),
            Arc::new(SizeSigner),
            Arc::new(FixedClock(1_700_000_000_123)),
            config(4, 100),
            Arc::new(Metrics::new().sequencer_stats("rekor", true)),
            genesis,
        )
    };
    let (handle, task) = open(Some(submission(200))).await.unwrap();
    assert_eq!(
        handle.latest_head().size,
        1,
        "the genesis entry is committed before any submission"
    );
    let first = handle.submit(submission(1)).await.unwrap();
    assert_eq!(first.entry.index, 1, "no submitted entry gets index 0");
    task.shutdown().await;
    // One commit held the genesis entry (no separate empty head), then one the submission.
    assert_eq!(store.batch_sizes(), vec![1, 1]);
    let genesis = store.entry_by_index(tree, 0).await.unwrap().unwrap();
    assert_eq!(genesis.body, vec![200; 3]);

    // Reopened with the same genesis: nothing is added.
    let (handle, task) = open(Some(submission(200))).await.unwrap();
    assert_eq!(handle.latest_head().size, 2);
    task.shutdown().await;
    assert_eq!(store.batch_sizes(), vec![1, 1]);
}

#[tokio::test(start_paused = true)]
async fn an_entry_the_database_refuses_fails_alone() {
    // Entry 13 carries an index key the store refuses; it sits in one batch
    // with 19 good entries, which must all be committed.
    let store = MemoryStore::refusing("key13");
    let (handle, task, tree) = start_on(&store, config(32, 100)).await;
    let waiters: Vec<_> = (0..20)
        .map(|n| handle.enqueue(submission(n)).unwrap())
        .collect();
    let mut logged = Vec::new();
    for (n, w) in waiters.into_iter().enumerate() {
        match w.await.unwrap() {
            Ok(done) => {
                assert_ne!(n, 13);
                logged.push(done.entry);
            }
            Err(SequenceError::Failed(detail)) => {
                assert_eq!(n, 13, "only the refused entry fails");
                assert!(detail.contains("refused index key"), "{detail}");
            }
            Err(other) => panic!("entry {n}: {other}"),
        }
    }
    assert_eq!(logged.len(), 19);
    // Indices are dense and the tree holds exactly the 19 good entries.
    let mut indices: Vec<u64> = logged.iter().map(|e| e.index).collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..19).collect::<Vec<u64>>());
    let head = handle.latest_head();
    assert_eq!(head.size, 19);
    let mut bodies = Vec::new();
    for i in 0..19 {
        bodies.push(store.entry_by_index(tree, i).await.unwrap().unwrap().body);
    }
    assert_eq!(head.root, reference_root(&bodies));
    assert!(
        bodies.iter().all(|b| b != &vec![13u8; 3]),
        "the refused entry is not in the tree"
    );
    // The halves that held no bad entry were committed whole.
    assert!(store.batch_sizes().iter().filter(|&&n| n > 0).count() <= 12);
    assert_eq!(handle.stats().failed_in_a_row(), 0, "commits succeed again");
    task.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failed_commits_in_a_row_are_counted_until_one_succeeds() {
    let store = MemoryStore::refusing("key1");
    let (handle, task, _) = start_on(&store, config(4, 100)).await;
    for _ in 0..3 {
        let refused = handle.submit(submission(1)).await.unwrap_err();
        assert!(matches!(refused, SequenceError::Failed(_)), "{refused}");
    }
    assert_eq!(handle.stats().failed_in_a_row(), 3);
    handle.submit(submission(2)).await.unwrap();
    assert_eq!(handle.stats().failed_in_a_row(), 0);
    task.shutdown().await;
}
