//! Crash safety of the Rekor v2 log (docs/rekor-v2.md §6; docs/design.md,
//! "Nothing acknowledged is lost"): a standalone `tlog-server` is SIGKILLed
//! while clients write v2 entries, and restarted on the same store. Afterwards
//! every entry that got a 201 must be in the C2SP tiles at the index it was
//! given, and every checkpoint ever served (at `/checkpoint` or in a 201) must
//! be a prefix of the tree the tiles hold now, which is what consistency means
//! when the whole tree is read.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::checkpoint::Checkpoint;
use shared::keys::EcdsaP256Signer;
use shared::merkle::{leaf_hash, verify_inclusion, Frontier, Hash};
use shared::note::{Ed25519NoteKey, SignedNote};
use shared::tlog_tiles::{decode_entry_bundle, entry_bundle_fill, TilePath};
use test_support::postgres::PgDatabase;
use test_support::tlog::TlogServer;

const WRITERS: usize = 6;
const SEQUENCER_FLAGS: [&str; 4] = ["--batch-size", "32", "--flush-interval-ms", "5"];
const ORIGIN: &str = "localhost";

#[test]
fn sigkill_under_v2_load_loses_nothing_acknowledged_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tlog.db?mode=rwc", tmp.path().display());
    sigkill_under_v2_load(tmp.path(), &url);
}

#[test]
fn sigkill_under_v2_load_loses_nothing_acknowledged_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    let db = PgDatabase::create().unwrap();
    sigkill_under_v2_load(tmp.path(), &db.url());
}

/// What the test saw: acknowledged entries by index, and served (size, root).
#[derive(Default)]
struct Seen {
    acked: BTreeMap<u64, Vec<u8>>,
    checkpoints: BTreeSet<(u64, [u8; 32])>,
    acked_after_restart: usize,
}

fn sigkill_under_v2_load(dir: &std::path::Path, database_url: &str) {
    let log_dir = dir.join("log");
    std::fs::create_dir_all(&log_dir).unwrap();
    let key = Ed25519NoteKey::generate(ORIGIN).unwrap();
    let key_path = log_dir.join("rekor-v2.key.pem");
    std::fs::write(&key_path, key.to_pkcs8_pem()).unwrap();
    let key_arg = key_path.to_str().unwrap().to_owned();
    let mut flags = SEQUENCER_FLAGS.to_vec();
    flags.extend(["--rekor-v2-key", &key_arg, "--rekor-v2-origin", ORIGIN]);
    let mut server = TlogServer::start(&log_dir, database_url, &flags).unwrap();
    let url = server.url();
    let public = key.public_key_bytes();

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let restarted = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let (url, seen, stop, restarted) =
            (url.clone(), seen.clone(), stop.clone(), restarted.clone());
        threads.push(std::thread::spawn(move || {
            write_loop(&url, w, &public, &seen, &stop, &restarted)
        }));
    }
    {
        let (url, seen, stop) = (url.clone(), seen.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let client = client();
            let deadline = Instant::now() + Duration::from_secs(90);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Ok(r) = client.get(format!("{url}/checkpoint")).send() {
                    if r.status() == 200 {
                        let c = verified(&r.text().unwrap(), &public);
                        seen.lock().unwrap().checkpoints.insert((c.size, c.root.0));
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }));
    }

    server.wait_until(|| seen.lock().unwrap().acked.len() >= 300);
    server.kill().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.restart().unwrap();
    restarted.store(true, Ordering::Relaxed);
    server.wait_until(|| seen.lock().unwrap().acked_after_restart >= 50);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }

    // Read the whole tree back from the tiles of the final checkpoint.
    let client = client();
    let now = verified(
        &client
            .get(format!("{url}/checkpoint"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        &public,
    );
    let mut entries: Vec<Vec<u8>> = Vec::new();
    for index in 0.. {
        let Some(fill) = entry_bundle_fill(now.size, index) else {
            break;
        };
        let path = TilePath::Entries {
            index,
            width: fill.path_width(),
        }
        .path();
        let r = client.get(format!("{url}/{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let bytes = r.bytes().unwrap();
        entries.extend(
            decode_entry_bundle(&bytes)
                .unwrap()
                .into_iter()
                .map(<[u8]>::to_vec),
        );
    }
    assert_eq!(entries.len() as u64, now.size);

    let seen = seen.lock().unwrap();
    for (index, body) in &seen.acked {
        assert_eq!(
            entries.get(*index as usize),
            Some(body),
            "the 201 for index {index} is not what the tiles hold\n{}",
            server.log()
        );
    }
    // Every served checkpoint is a prefix of this tree.
    let mut frontier = Frontier::new();
    let mut roots = BTreeMap::new();
    for entry in &entries {
        frontier.append(leaf_hash(entry));
        roots.insert(frontier.size(), frontier.root().0);
    }
    assert_eq!(
        frontier.root(),
        now.root,
        "the tiles give the checkpoint's root"
    );
    for (size, root) in &seen.checkpoints {
        assert_eq!(
            roots.get(size),
            Some(root),
            "checkpoint of size {size} is not a prefix of the log"
        );
    }
    eprintln!(
        "{} acknowledged v2 entries present in the tiles; {} served checkpoints consistent \
         with size {}",
        seen.acked.len(),
        seen.checkpoints.len(),
        now.size
    );
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The checkpoint of a note signed by the v2 key.
fn verified(note: &str, public: &[u8; 32]) -> Checkpoint {
    let note = SignedNote::parse(note).unwrap();
    note.verify_ed25519(ORIGIN, public).unwrap();
    Checkpoint::parse(&note.text).unwrap()
}

/// One writer: unique v2 entries until stopped; records each verified 201.
fn write_loop(
    url: &str,
    w: usize,
    public: &[u8; 32],
    seen: &Mutex<Seen>,
    stop: &AtomicBool,
    restarted: &AtomicBool,
) {
    let client = client();
    let key = EcdsaP256Signer::generate();
    let spki = B64.encode(key.public_spki_der());
    let deadline = Instant::now() + Duration::from_secs(90);
    for n in 0..20_000 {
        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
            return;
        }
        let artifact = format!("v2 crash writer {w} {n} {:?}", Instant::now());
        let request = json!({"hashedRekordRequestV002": {
            "digest": B64.encode(Sha256::digest(artifact.as_bytes())),
            "signature": {
                "content": B64.encode(key.sign(artifact.as_bytes())),
                "verifier": {
                    "publicKey": {"rawBytes": spki},
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                },
            },
        }});
        let after_restart = restarted.load(Ordering::Relaxed);
        let answer = client
            .post(format!("{url}/api/v2/log/entries"))
            .json(&request)
            .send()
            .ok()
            .filter(|r| r.status() == 201)
            .and_then(|r| r.json::<Value>().ok());
        let Some(answer) = answer else {
            // Down or refusing: do not spin.
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        // A 201 must carry a proof against a checkpoint signed by the log.
        let number = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
        let index = number(&answer["logIndex"]);
        let body = B64
            .decode(answer["canonicalizedBody"].as_str().unwrap())
            .unwrap();
        let proof = &answer["inclusionProof"];
        let checkpoint = verified(proof["checkpoint"]["envelope"].as_str().unwrap(), public);
        let hashes: Vec<Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash::from_slice(&B64.decode(h.as_str().unwrap()).unwrap()).unwrap())
            .collect();
        verify_inclusion(
            &leaf_hash(&body),
            index,
            checkpoint.size,
            &hashes,
            &checkpoint.root,
        )
        .unwrap();
        let mut seen = seen.lock().unwrap();
        assert!(
            seen.acked.insert(index, body).is_none(),
            "index {index} given twice"
        );
        seen.checkpoints
            .insert((checkpoint.size, checkpoint.root.0));
        if after_restart {
            seen.acked_after_restart += 1;
        }
    }
}
