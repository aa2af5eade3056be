//! Two `Tlog` replicas on one fresh Postgres database (exactly one sequences
//! each tree; the other serves reads, refuses writes with 503, and takes
//! over when the leader dies), and a database outage (writes fail fast with
//! 503 while it is unreachable and work again after; nothing acknowledged
//! is lost). The outage is a TCP proxy cut, so the machine's shared
//! Postgres keeps serving every other test.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use shared::keys::EcdsaP256Signer;
use shared::merkle::{leaf_hash, verify_inclusion};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::sequencer::{LeafData, SequenceError, Submission};
use crate::store::suite::PgDatabase;
use crate::{SequencerConfig, Tlog, TlogConfig};

fn config(url: &str, rekor: &EcdsaP256Signer, ct: &EcdsaP256Signer) -> TlogConfig {
    TlogConfig {
        database_url: url.to_owned(),
        rekor_signer: rekor.clone(),
        ct_signer: ct.clone(),
        ct_roots: vec![],
        hostname: "localhost".into(),
        sequencer: SequencerConfig {
            flush_interval: Duration::from_millis(2),
            ..SequencerConfig::default()
        },
        entry_cache_bytes: crate::DEFAULT_ENTRY_CACHE_BYTES,
        tile_cache_bytes: crate::store::DEFAULT_TILE_CACHE_BYTES,
        rekor_v2: None,
    }
}

fn raw(n: u32) -> Submission {
    let body = format!("entry {n}").into_bytes();
    Submission {
        identity: leaf_hash(&body),
        data: LeafData::Raw(body),
        index_keys: vec![format!("key:{n}")],
        extra_data: vec![],
    }
}

/// A hashedrekord entry over a random digest (each call a new entry).
fn hashedrekord() -> Vec<u8> {
    use rand_core::RngCore as _;
    let mut digest = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut digest);
    crate::http::tests::hashedrekord(digest)
}

async fn post_entry(router: axum::Router) -> (StatusCode, serde_json::Value) {
    let request = Request::post("/api/v1/log/entries")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(hashedrekord()))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// Polls `f` every 50 ms until it is true or `limit` passes.
async fn eventually(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_sequencer_and_a_standby_takes_over() {
    let db = PgDatabase::create().unwrap();
    let (rekor_key, ct_key) = (EcdsaP256Signer::generate(), EcdsaP256Signer::generate());
    // Replica A runs on a runtime of its own, so that it can "crash": shutting
    // that runtime down drops its tasks and sockets as a killed process would.
    let runtime_a = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let a = runtime_a
        .spawn(Tlog::open(config(&db.url(), &rekor_key, &ct_key)))
        .await
        .unwrap()
        .unwrap();
    let b = Tlog::open(config(&db.url(), &rekor_key, &ct_key))
        .await
        .unwrap();
    assert_eq!(
        a.rekor_tree_id(),
        b.rekor_tree_id(),
        "one tree in one database"
    );
    let (tree_a, tree_b) = (a.state.rekor.tree.clone(), b.state.rekor.tree.clone());

    // A leads both trees: it sequences; B refuses, in Rust and over HTTP.
    let first = tree_a.submit(raw(0)).await.unwrap();
    assert_eq!(
        first.entry.index, 1,
        "entry 0 is the Rekor tree's genesis entry"
    );
    assert_eq!(
        tree_b.submit(raw(1)).await.unwrap_err(),
        SequenceError::NotLeader
    );
    assert_eq!(
        b.state.ct.tree.submit(raw(1)).await.unwrap_err(),
        SequenceError::NotLeader
    );
    let (status, body) = post_entry(b.router()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["message"],
        "this replica is not the sequencer; send writes to the leader"
    );
    let (status, _) = runtime_a.spawn(post_entry(a.router())).await.unwrap();
    assert_eq!(status, StatusCode::CREATED);

    // B serves what A committed: entries at once, its head within a check.
    assert_eq!(
        tree_b.entry_by_index(1).await.unwrap(),
        Some(first.entry.clone())
    );
    assert!(
        eventually(Duration::from_secs(3), async || tree_b.head().size == 3).await,
        "the follower's head catches up"
    );
    let head = tree_b.head();
    let proof = tree_b.inclusion_proof(1, head.size).await.unwrap();
    verify_inclusion(
        &leaf_hash(&first.entry.body),
        1,
        head.size,
        &proof,
        &head.root,
    )
    .unwrap();

    // A crashes. Its sessions end, its locks go with them, and B takes over
    // within about a second, continuing the same tree.
    runtime_a.shutdown_background();
    // Dropping what is left closes its sockets without any goodbye, as the
    // kernel does for a killed process.
    drop((a, tree_a));
    let started = Instant::now();
    assert!(
        eventually(Duration::from_secs(5), async || tree_b
            .submit(raw(2))
            .await
            .is_ok())
        .await,
        "the standby takes over"
    );
    eprintln!("standby took over after {:?}", started.elapsed());
    let (status, _) = post_entry(b.router()).await;
    assert_eq!(status, StatusCode::CREATED);
    let head = tree_b.head();
    assert_eq!(
        head.size, 5,
        "genesis and entries 1..5, none lost, none forked"
    );
    for index in 0..5 {
        assert!(tree_b.entry_by_index(index).await.unwrap().is_some());
    }
    let proof = tree_b.inclusion_proof(1, head.size).await.unwrap();
    verify_inclusion(
        &leaf_hash(&first.entry.body),
        1,
        head.size,
        &proof,
        &head.root,
    )
    .unwrap();
    b.shutdown().await;
}

/// Forwards TCP connections to Postgres until cut.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Self {
        let (listener, addr) = test_support::net::listener().await;
        let port = addr.port();
        let down = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let (down, links) = (down.clone(), links.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if down.load(Ordering::SeqCst) {
                        // An unreachable database: the connection just closes.
                        continue;
                    }
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    links.lock().unwrap().push(link);
                }
            }
        });
        Self {
            port,
            down,
            links,
            accept,
        }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_fail_fast_while_the_database_is_down_and_resume_after() {
    let db = PgDatabase::create().unwrap();
    let proxy = Proxy::start().await;
    let name = db.name();
    let url = format!("postgres://postgres@127.0.0.1:{}/{name}", proxy.port);
    let (rekor_key, ct_key) = (EcdsaP256Signer::generate(), EcdsaP256Signer::generate());
    let tlog = Tlog::open(config(&url, &rekor_key, &ct_key)).await.unwrap();
    let tree = tlog.state.rekor.tree.clone();
    let mut acknowledged = vec![tree.submit(raw(0)).await.unwrap().entry];

    proxy.cut();
    for n in 1..4 {
        let started = Instant::now();
        let result = tree.submit(raw(n)).await;
        assert_eq!(result.unwrap_err(), SequenceError::Unavailable);
        eprintln!("write {n} refused after {:?}", started.elapsed());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "failed fast: {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let (status, body) = post_entry(tlog.router()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));

    proxy.restore();
    let restored = Instant::now();
    let mut n = 10;
    assert!(
        eventually(Duration::from_secs(10), async || {
            n += 1;
            match tree.submit(raw(n)).await {
                Ok(done) => {
                    acknowledged.push(done.entry);
                    true
                }
                Err(_) => false,
            }
        })
        .await,
        "writes work again once the database is back"
    );
    eprintln!(
        "writes resumed {:?} after the database came back",
        restored.elapsed()
    );
    let (status, _) = post_entry(tlog.router()).await;
    assert_eq!(status, StatusCode::CREATED);
    // Everything acknowledged is there, at the index it was given.
    for entry in &acknowledged {
        assert_eq!(
            tree.entry_by_index(entry.index).await.unwrap().as_ref(),
            Some(entry)
        );
    }
    assert_eq!(
        acknowledged[1].index, 2,
        "nothing unacknowledged took an index (0 is the genesis entry)"
    );
    tlog.shutdown().await;
}

/// A stand-in witness that cosigns every checkpoint it is sent (C2SP
/// tlog-witness; it checks no proof) and counts the requests.
async fn cosigning_witness(
    name: &str,
) -> (crate::WitnessConfig, Arc<std::sync::atomic::AtomicUsize>) {
    use base64::Engine as _;
    use std::sync::atomic::AtomicUsize;
    let key = shared::note::CosignerKey::generate(name).unwrap();
    let vkey = key.vkey();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/add-checkpoint",
        axum::routing::post(move |body: String| {
            counter.fetch_add(1, Ordering::SeqCst);
            let key = key.clone();
            async move {
                let (_, note) = body.split_once("\n\n").unwrap();
                let text = shared::note::SignedNote::parse(note).unwrap().text;
                let sig = key.cosign(&text, 1_700_000_000);
                let blob = [sig.key_hint.as_slice(), &sig.signature].concat();
                format!(
                    "\u{2014} {} {}\n",
                    sig.name,
                    base64::engine::general_purpose::STANDARD.encode(blob)
                )
            }
        }),
    );
    let url = format!("http://{}", test_support::net::serve(app).await);
    (format!("{url},{vkey}").parse().unwrap(), hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_asks_witnesses_and_followers_publish_what_it_stored() {
    use crate::witness::Published;
    let db = PgDatabase::create().unwrap();
    let (rekor_key, ct_key) = (EcdsaP256Signer::generate(), EcdsaP256Signer::generate());
    let v2_key = shared::note::CheckpointKey::generate(
        shared::note::CheckpointAlgorithm::Ed25519,
        "localhost",
    )
    .unwrap();
    // A quorum of one: a replica publishes only a cosigned checkpoint.
    let with_witness = |witness: crate::WitnessConfig| TlogConfig {
        rekor_v2: Some(crate::RekorV2Config {
            key: v2_key.clone(),
            witnesses: crate::WitnessPolicy {
                witnesses: vec![witness],
                quorum: 1,
            },
            served_tile_cache_bytes: 0,
        }),
        ..config(&db.url(), &rekor_key, &ct_key)
    };
    let (witness_a, hits_a) = cosigning_witness("witness.example/a").await;
    let (witness_b, hits_b) = cosigning_witness("witness.example/b").await;
    let a = Tlog::open(with_witness(witness_a)).await.unwrap();
    let b = Tlog::open(with_witness(witness_b)).await.unwrap();
    let v2_a = a.state.rekor_v2.clone().unwrap();
    let v2_b = b.state.rekor_v2.clone().unwrap();
    for n in 0..3 {
        v2_a.tree.submit(raw(n)).await.unwrap();
    }
    let published = |v2: &crate::http::RekorV2Log| match v2.witnessed.published(&v2.tree.head()) {
        Published::Note { note } => Some(String::from_utf8(note).unwrap()),
        Published::AwaitingQuorum => None,
    };
    let final_note = async || {
        published(&v2_a)
            .filter(|n| n.starts_with("localhost\n4\n") && n.contains("witness.example/a"))
    };
    assert!(
        eventually(Duration::from_secs(5), async || final_note()
            .await
            .is_some())
        .await,
        "the leader publishes the cosigned head"
    );
    let leader_note = final_note().await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), async || published(&v2_b).as_ref()
            == Some(&leader_note))
        .await,
        "the follower publishes the note the leader stored: {:?}",
        published(&v2_b)
    );
    assert!(hits_a.load(Ordering::SeqCst) > 0);
    assert_eq!(hits_b.load(Ordering::SeqCst), 0, "the follower asks nobody");

    // A restarted replica publishes the stored note before any new round.
    b.shutdown().await;
    let (witness_c, hits_c) = cosigning_witness("witness.example/c").await;
    let c = Tlog::open(with_witness(witness_c)).await.unwrap();
    let v2_c = c.state.rekor_v2.clone().unwrap();
    assert!(
        eventually(Duration::from_secs(5), async || published(&v2_c).as_ref()
            == Some(&leader_note))
        .await,
        "{:?}",
        published(&v2_c)
    );
    assert_eq!(hits_c.load(Ordering::SeqCst), 0);
    a.shutdown().await;
    c.shutdown().await;
}
