//! End to end: an entry the log cannot index never fails the entries
//! committed with it (docs/design.md, "One bad entry can never fail the others").
//! A `tlog-server` on SQLite and one on Postgres each get 20 good entries
//! and a handful of hostile ones at once: in-toto subject digests with a NUL
//! byte or thousands of characters (Postgres refuses the first in text and
//! the second as a B-tree key) and an entry naming too many index keys.
//! Every good entry gets its 201, every hostile one a 400 that says what is
//! wrong, and the log grows by exactly the good ones.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::thread;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use shared::entry::dsse::pae;
use shared::keys::EcdsaP256Signer;
use test_support::postgres::PgDatabase;
use test_support::tlog::{EntryMaker, TlogServer};

const GOOD: usize = 20;
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// A DSSE entry over an in-toto statement whose subjects carry `digests`.
fn dsse_with_subjects(digests: &[Value]) -> String {
    let key = EcdsaP256Signer::generate();
    let subjects: Vec<Value> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"name": format!("artifact-{i}"), "digest": d}))
        .collect();
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    })
    .to_string();
    let signature = key.sign(&pae(IN_TOTO, statement.as_bytes()));
    let envelope = json!({
        "payloadType": IN_TOTO,
        "payload": STANDARD.encode(&statement),
        "signatures": [{"keyid": "", "sig": STANDARD.encode(signature)}],
    })
    .to_string();
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope,
            "verifiers": [STANDARD.encode(key.public_pem())],
        }},
    })
    .to_string()
}

fn hostile_entries() -> Vec<(&'static str, String)> {
    let many: Vec<Value> = (0..300)
        .map(|i| json!({"sha256": format!("{i:064x}")}))
        .collect();
    vec![
        (
            "NUL byte in a subject digest",
            dsse_with_subjects(&[json!({"sha256": format!("{}\u{0}", "a".repeat(63))})]),
        ),
        (
            "3,000-character subject digest",
            dsse_with_subjects(&[json!({"sha256": "b".repeat(3000)})]),
        ),
        ("300 subjects", dsse_with_subjects(&many)),
    ]
}

fn tree_size(client: &reqwest::blocking::Client, url: &str) -> u64 {
    let info: Value = client
        .get(format!("{url}/api/v1/log"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    info["treeSize"].as_u64().unwrap()
}

/// Posts the good and the hostile entries at once, in one or a few batches
/// (the flush interval is long enough to gather them), and checks every answer.
fn hostile_entries_fail_alone(server: &TlogServer) {
    let url = server.url();
    let client = reqwest::blocking::Client::new();
    let before = tree_size(&client, &url);
    let mut maker = EntryMaker::new("poison-batch");
    let good: Vec<String> = (0..GOOD).map(|_| maker.next_entry()).collect();
    let hostile = hostile_entries();

    let post = |body: String| {
        let client = client.clone();
        let url = url.clone();
        thread::spawn(move || {
            let r = client
                .post(format!("{url}/api/v1/log/entries"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().unwrap())
        })
    };
    let hostile_posts: Vec<_> = hostile
        .iter()
        .map(|(what, body)| (*what, post(body.clone())))
        .collect();
    let good_posts: Vec<_> = good.into_iter().map(post).collect();

    for (n, handle) in good_posts.into_iter().enumerate() {
        let (status, body) = handle.join().unwrap();
        assert_eq!(status, 201, "good entry {n}: {body}\n{}", server.log());
    }
    for (what, handle) in hostile_posts {
        let (status, body) = handle.join().unwrap();
        assert_eq!(status, 400, "{what}: {body}");
        let message: Value = serde_json::from_str(&body).unwrap();
        let message = message["message"].as_str().unwrap();
        assert!(
            message.starts_with("error processing entry: invalid "),
            "{what}: {message}"
        );
    }
    assert_eq!(
        tree_size(&client, &url),
        before + GOOD as u64,
        "exactly the good entries were logged"
    );
}

#[test]
fn hostile_entries_fail_alone_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/tlog.db?mode=rwc", tmp.path().display());
    let server = TlogServer::start(tmp.path(), &db, &["--flush-interval-ms", "200"]).unwrap();
    hostile_entries_fail_alone(&server);
}

#[test]
fn hostile_entries_fail_alone_on_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    let db = PgDatabase::create().unwrap();
    let server = TlogServer::start(tmp.path(), &db.url(), &["--flush-interval-ms", "200"]).unwrap();
    hostile_entries_fail_alone(&server);
}
