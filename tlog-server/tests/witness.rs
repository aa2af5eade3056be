//! Witness cosignatures of the Rekor v2 log against a witness written here
//! from C2SP tlog-witness § add-checkpoint: it checks the log's signature,
//! the old size (409 with its own), and the consistency proof (422), and
//! cosigns per tlog-cosignature. The log must follow a 409, carry on when
//! witnesses refuse or are down, append cosignatures only to the v2
//! `/checkpoint`, and hold publication back under a quorum policy.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{v2_request, Fixture, Server};
use shared::checkpoint::Checkpoint;
use shared::merkle::{empty_root, verify_consistency, Hash};
use shared::note::{Cosigner, CosignerKey, SignedNote};
use tlog_server::{WitnessConfig, WitnessPolicy};

/// How the test witness behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Honest,
    /// Answers every request 422, as for a proof that does not verify.
    Refuse,
}

#[derive(Default)]
struct WitnessLog {
    /// The (size, root) it last cosigned for the log's origin.
    latest: Option<(u64, Hash)>,
    /// Every status it answered, in order.
    answers: Vec<u16>,
}

struct TestWitness {
    url: String,
    key: CosignerKey,
    state: Arc<Mutex<WitnessLog>>,
}

#[derive(Clone)]
struct WitnessState {
    origin: String,
    log_key: [u8; 32],
    key: CosignerKey,
    mode: Mode,
    log: Arc<Mutex<WitnessLog>>,
}

impl TestWitness {
    async fn start(fx: &Fixture, name: &str, mode: Mode) -> Self {
        let key = CosignerKey::generate(name).unwrap();
        let log = Arc::new(Mutex::new(WitnessLog::default()));
        let state = WitnessState {
            origin: fx.rekor_v2_key.name().to_owned(),
            log_key: fx.rekor_v2_ed25519().public_key_bytes(),
            key: key.clone(),
            mode,
            log: log.clone(),
        };
        let router = Router::new()
            .route("/w/add-checkpoint", post(add_checkpoint))
            .with_state(state);
        let addr = test_support::net::serve(router).await;
        Self {
            url: format!("http://{addr}/w"),
            key,
            state: log,
        }
    }

    fn config(&self) -> WitnessConfig {
        format!("{},{}", self.url, self.key.vkey()).parse().unwrap()
    }

    fn answers(&self) -> Vec<u16> {
        self.state.lock().unwrap().answers.clone()
    }

    fn latest_size(&self) -> Option<u64> {
        self.state.lock().unwrap().latest.map(|(size, _)| size)
    }
}

fn answer(log: &mut WitnessLog, status: StatusCode, body: String) -> Response {
    log.answers.push(status.as_u16());
    (status, body).into_response()
}

/// C2SP tlog-witness § add-checkpoint, for one log.
async fn add_checkpoint(State(w): State<WitnessState>, body: Bytes) -> Response {
    let body = String::from_utf8(body.to_vec()).unwrap();
    let (head, note) = body.split_once("\n\n").unwrap();
    let mut lines = head.lines();
    let old: u64 = lines
        .next()
        .unwrap()
        .strip_prefix("old ")
        .unwrap()
        .parse()
        .unwrap();
    let proof: Vec<Hash> = lines
        .map(|l| Hash::from_slice(&B64.decode(l).unwrap()).unwrap())
        .collect();
    let note = SignedNote::parse(note).unwrap();
    let checkpoint = Checkpoint::parse(&note.text).unwrap();
    let mut log = w.log.lock().unwrap();
    if checkpoint.origin != w.origin {
        return answer(&mut log, StatusCode::NOT_FOUND, "unknown log\n".into());
    }
    if note.verify_ed25519(&w.origin, &w.log_key).is_err() {
        return answer(&mut log, StatusCode::FORBIDDEN, "bad signature\n".into());
    }
    if old > checkpoint.size {
        return answer(&mut log, StatusCode::BAD_REQUEST, "old > size\n".into());
    }
    let (known_size, known_root) = log.latest.unwrap_or((0, empty_root()));
    if old != known_size {
        log.answers.push(409);
        return (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{known_size}\n"),
        )
            .into_response();
    }
    let consistent = match old {
        0 => proof.is_empty(),
        old if old == checkpoint.size => proof.is_empty() && known_root == checkpoint.root,
        old => {
            verify_consistency(old, checkpoint.size, &known_root, &checkpoint.root, &proof).is_ok()
        }
    };
    if !consistent || w.mode == Mode::Refuse {
        return answer(
            &mut log,
            StatusCode::UNPROCESSABLE_ENTITY,
            "inconsistent\n".into(),
        );
    }
    log.latest = Some((checkpoint.size, checkpoint.root));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let line = SignedNote {
        text: String::new(),
        signatures: vec![w.key.cosign(&note.text, now)],
    }
    .to_text();
    answer(
        &mut log,
        StatusCode::OK,
        line.trim_start_matches('\n').to_owned(),
    )
}

async fn log_entries(server: &Server, count: usize) {
    for i in 0..count {
        let r = server
            .post_json(
                "/api/v2/log/entries",
                &v2_request(format!("witnessed {i} {:?}", SystemTime::now()).as_bytes()),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
}

/// Polls `/checkpoint` until it carries `cosigners` cosignatures for a tree
/// of at least `min_size`; returns the parsed note.
async fn cosigned_checkpoint(
    server: &Server,
    cosigners: &[&TestWitness],
    min_size: u64,
) -> SignedNote {
    for _ in 0..200 {
        let text = server.get("/checkpoint").await.text().await.unwrap();
        if let Ok(note) = SignedNote::parse(&text) {
            let size = Checkpoint::parse(&note.text).unwrap().size;
            let all = cosigners.iter().all(|w| {
                let c = Cosigner::from_vkey(&w.key.vkey()).unwrap();
                note.signatures
                    .iter()
                    .any(|s| c.verify(&note.text, s).is_ok())
            });
            if all && size >= min_size {
                return note;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/checkpoint never carried the cosignatures");
}

#[tokio::test]
async fn cosignatures_reach_the_v2_checkpoint_and_never_the_v1_one() {
    let mut fx = Fixture::new();
    let w1 = TestWitness::start(&fx, "witness.example/w1", Mode::Honest).await;
    let w2 = TestWitness::start(&fx, "witness.example/w2", Mode::Honest).await;
    fx.witnesses = WitnessPolicy {
        witnesses: vec![w1.config(), w2.config()],
        quorum: 0,
    };
    let server = fx.start().await;
    log_entries(&server, 3).await;
    let note = cosigned_checkpoint(&server, &[&w1, &w2], 4).await;
    assert_eq!(
        note.signatures.len(),
        3,
        "the log's signature and two cosignatures"
    );
    note.verify_ed25519("localhost", &fx.rekor_v2_ed25519().public_key_bytes())
        .unwrap();

    // More entries: the witnesses now check consistency proofs from the
    // size they cosigned, and cosign the new head.
    log_entries(&server, 5).await;
    let note = cosigned_checkpoint(&server, &[&w1, &w2], 9).await;
    assert_eq!(Checkpoint::parse(&note.text).unwrap().size, 9);
    assert_eq!(w1.latest_size(), Some(9));
    assert!(!w1.answers().contains(&422), "{:?}", w1.answers());

    // The v1 checkpoint keeps its single signature.
    let v1 = server.log_info().await;
    assert_eq!(
        SignedNote::parse(&v1.signed_tree_head)
            .unwrap()
            .signatures
            .len(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn after_a_restart_the_log_follows_the_witnesses_409() {
    let mut fx = Fixture::new();
    let w = TestWitness::start(&fx, "witness.example/w", Mode::Honest).await;
    fx.witnesses = WitnessPolicy {
        witnesses: vec![w.config()],
        quorum: 0,
    };
    let server = fx.start().await;
    log_entries(&server, 2).await;
    cosigned_checkpoint(&server, &[&w], 3).await;
    server.stop().await;

    // A new process knows nothing of what the witness cosigned: it says
    // `old 0`, gets 409 with the witness's size, and proves from there.
    let server = fx.start().await;
    log_entries(&server, 2).await;
    cosigned_checkpoint(&server, &[&w], 5).await;
    let answers = w.answers();
    let conflict = answers.iter().position(|s| *s == 409).expect("a 409");
    assert_eq!(answers[conflict + 1], 200, "{answers:?}");
    assert_eq!(w.latest_size(), Some(5));
    server.stop().await;
}

#[tokio::test]
async fn a_refusing_or_unreachable_witness_does_not_stop_the_log() {
    let mut fx = Fixture::new();
    let refusing = TestWitness::start(&fx, "witness.example/no", Mode::Refuse).await;
    let unreachable: WitnessConfig = format!(
        "http://127.0.0.1:1/w,{}",
        CosignerKey::generate("witness.example/down")
            .unwrap()
            .vkey()
    )
    .parse()
    .unwrap();
    fx.witnesses = WitnessPolicy {
        witnesses: vec![refusing.config(), unreachable],
        quorum: 0,
    };
    let server = fx.start().await;
    log_entries(&server, 4).await;
    for _ in 0..100 {
        if refusing.answers().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refusing.answers().iter().all(|s| *s == 422));
    // The checkpoint is published, with the log's signature alone.
    let text = server.get("/checkpoint").await.text().await.unwrap();
    let note = SignedNote::parse(&text).unwrap();
    assert_eq!(note.signatures.len(), 1);
    assert_eq!(Checkpoint::parse(&note.text).unwrap().size, 5);
    server.stop().await;
}

#[tokio::test]
async fn a_quorum_holds_publication_back_until_witnesses_cosign() {
    // One witness, down: nothing is published, though entries are logged.
    let mut fx = Fixture::new();
    let down: WitnessConfig = format!(
        "http://127.0.0.1:1/w,{}",
        CosignerKey::generate("witness.example/down")
            .unwrap()
            .vkey()
    )
    .parse()
    .unwrap();
    fx.witnesses = WitnessPolicy {
        witnesses: vec![down],
        quorum: 1,
    };
    let server = fx.start().await;
    log_entries(&server, 2).await;
    assert_eq!(server.get("/checkpoint").await.status(), 503);
    assert_eq!(server.get("/tile/entries/000.p/1").await.status(), 404);
    server.stop().await;

    // The same log with a witness that answers: published once cosigned,
    // and tiles follow the cosigned size.
    let w = TestWitness::start(&fx, "witness.example/w", Mode::Honest).await;
    fx.witnesses = WitnessPolicy {
        witnesses: vec![w.config()],
        quorum: 1,
    };
    let server = fx.start().await;
    let note = cosigned_checkpoint(&server, &[&w], 3).await;
    assert_eq!(note.signatures.len(), 2);
    assert_eq!(server.get("/tile/entries/000.p/3").await.status(), 200);
    server.stop().await;

    // A quorum larger than the witness list is a configuration error.
    fx.witnesses.quorum = 2;
    assert!(tlog_server::Tlog::open(fx.config()).await.is_err());
}
