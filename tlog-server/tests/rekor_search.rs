//! Rekor v1 search over HTTP on a fresh SQLite file (docs/rekor-wire.md §1):
//! `POST /api/v1/log/entries/retrieve` (by UUID, entry ID, log index and
//! proposed entry; at most 10 items, 422 beyond) and
//! `POST /api/v1/index/retrieve` (hash, publicKey, email; and/or), which
//! finds an entry immediately after its 201.

// A test crate: its helper fns should panic on failure just as its tests do.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{check_log_entry, error_message, hashedrekord, Fixture, Server};
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// A hashedrekord over `artifact` signed by `key`, verified by `pem`
/// (the key's PEM or a certificate for it).
fn signed_by(key: &p256::ecdsa::SigningKey, pem: &str, artifact: &[u8]) -> Value {
    let digest = Sha256::digest(artifact);
    let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {"content": B64.encode(sig.to_der().as_bytes()), "publicKey": {"content": B64.encode(pem)}},
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}}
        }
    })
}

fn key_pem(key: &p256::ecdsa::SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}

/// Posts and returns the entry ID.
async fn log(server: &Server, entry: &Value) -> String {
    let r = server.post_json("/api/v1/log/entries", entry).await;
    assert_eq!(r.status(), 201);
    r.headers()["etag"].to_str().unwrap().to_owned()
}

async fn retrieve(server: &Server, query: Value) -> Vec<Value> {
    let r = server
        .post_json("/api/v1/log/entries/retrieve", &query)
        .await;
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.unwrap()
}

async fn search(server: &Server, query: Value) -> Vec<String> {
    let r = server.post_json("/api/v1/index/retrieve", &query).await;
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.unwrap()
}

/// The single key (entry ID) of each LogEntry map, after checking it.
fn ids(server: &Server, fx: &Fixture, entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| check_log_entry(e, server, &fx.rekor_key).0)
        .collect()
}

#[tokio::test]
async fn retrieve_finds_by_uuid_entry_id_index_and_proposed_entry() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let entries: Vec<Value> = (0..3)
        .map(|i| serde_json::from_slice(&hashedrekord(format!("r{i}").as_bytes())).unwrap())
        .collect();
    let mut logged = Vec::new();
    for e in &entries {
        logged.push(log(&server, e).await);
    }
    let uuid = |id: &str| id[16..].to_owned();

    // Request order is kept: UUIDs, then proposed entries, then indexes.
    let got = retrieve(
        &server,
        json!({
            "entryUUIDs": [uuid(&logged[2]), logged[0]],
            "entries": [entries[1]],
            "logIndexes": [3, 1],
        }),
    )
    .await;
    assert_eq!(
        ids(&server, &fx, &got),
        vec![
            logged[2].clone(),
            logged[0].clone(),
            logged[1].clone(),
            logged[2].clone(),
            logged[0].clone()
        ]
    );

    // Misses are omitted: an unknown UUID, another tree's entry ID, an index
    // past the end, an entry never logged.
    let unlogged: Value = serde_json::from_slice(&hashedrekord(b"never")).unwrap();
    let other_tree = format!(
        "{:016x}{}",
        server.tlog_tree_id.wrapping_add(1),
        uuid(&logged[0])
    );
    let got = retrieve(
        &server,
        json!({
            "entryUUIDs": ["ab".repeat(32), other_tree],
            "logIndexes": [99],
            "entries": [unlogged],
        }),
    )
    .await;
    assert!(got.is_empty(), "{got:?}");
    assert!(retrieve(&server, json!({})).await.is_empty());
    assert!(
        retrieve(&server, json!({"entryUUIDs": null, "logIndexes": null}))
            .await
            .is_empty()
    );

    // Ten items are fine, eleven are 422.
    let ten: Vec<u64> = vec![0; 10];
    assert_eq!(
        retrieve(&server, json!({ "logIndexes": ten })).await.len(),
        10
    );
    let eleven = json!({
        "logIndexes": [0, 1, 2, 0, 1, 2],
        "entryUUIDs": vec![uuid(&logged[0]); 4],
        "entries": [entries[0]],
    });
    let m = error_message(
        server
            .post_json("/api/v1/log/entries/retrieve", &eleven)
            .await,
        422,
    )
    .await;
    assert_eq!(m, "more than max allowed 10 entries in request");
    // A list given empty is Rekor's 422 (its schema's minItems: 1).
    for name in ["entryUUIDs", "logIndexes", "entries"] {
        let m = error_message(
            server
                .post_json("/api/v1/log/entries/retrieve", &json!({ name: [] }))
                .await,
            422,
        )
        .await;
        assert_eq!(m, format!("{name} in body should have at least 1 items"));
    }

    // Bad items are 400 with a message.
    for (query, needle) in [
        (json!({"entryUUIDs": ["xyz"]}), "entryUUID"),
        (json!({"entryUUIDs": "abc"}), "malformed"),
        (json!({"entryUUIDs": [12]}), "malformed"),
        (json!({"logIndexes": [-1]}), "non-negative"),
        (json!({"logIndexes": ["1"]}), "malformed"),
        (
            json!({"entries": [{"apiVersion": "0.0.1", "kind": "nope", "spec": {}}]}),
            "error processing entry 0",
        ),
        (json!([1, 2]), "malformed"),
        (json!([]), "must be a JSON object"),
        // A proposed entry goes through the submission's bounded parser:
        // 100,000 values are refused, never built into a tree.
        (
            json!({"entries": [vec![0; 100_000]]}),
            "error processing entry 0",
        ),
    ] {
        let m = error_message(
            server
                .post_json("/api/v1/log/entries/retrieve", &query)
                .await,
            400,
        )
        .await;
        assert!(m.contains(needle), "{query}: {m}");
    }
    assert_eq!(
        server.log_info().await.tree_size,
        4,
        "searches write nothing (genesis + three entries)"
    );
    server.stop().await;
}

#[tokio::test]
async fn index_search_finds_an_entry_right_after_its_201() {
    let fx = Fixture::new();
    let server = fx.start().await;
    // Concurrent writers, each searching the moment its 201 arrives: the
    // index rows are committed with the entry, never after it.
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let client = server.client.clone();
            let base = server.base.clone();
            tokio::spawn(async move {
                let artifact = format!("concurrent artifact {i}");
                let r = client
                    .post(format!("{base}/api/v1/log/entries"))
                    .header("content-type", "application/json")
                    .body(hashedrekord(artifact.as_bytes()))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let id = r.headers()["etag"].to_str().unwrap().to_owned();
                let hash = format!("sha256:{}", hex::encode(Sha256::digest(&artifact)));
                let found: Vec<String> = client
                    .post(format!("{base}/api/v1/index/retrieve"))
                    .json(&json!({ "hash": hash }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(found, vec![id]);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn index_search_by_hash_key_and_email_with_and_or() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let alice = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let bob = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let bob_cert = fx.ca.issue_for_email(&bob, "Bob@Example.com");
    let bob_cert_pem = pem_cert(&bob_cert);

    let a1 = log(&server, &signed_by(&alice, &key_pem(&alice), b"one")).await;
    let a2 = log(&server, &signed_by(&alice, &key_pem(&alice), b"two")).await;
    let b1 = log(&server, &signed_by(&bob, &bob_cert_pem, b"one")).await;

    let digest = |a: &[u8]| hex::encode(Sha256::digest(a));
    let x509 = |pem: &str| json!({"format": "x509", "content": B64.encode(pem)});

    // Hash: prefixed, bare and upper-case forms find the same entries, in log order.
    for hash in [
        format!("sha256:{}", digest(b"one")),
        digest(b"one"),
        digest(b"one").to_uppercase(),
    ] {
        assert_eq!(
            search(&server, json!({ "hash": hash })).await,
            vec![a1.clone(), b1.clone()]
        );
    }
    // Public key: Alice's PKIX key; Bob's certificate (as the entry carried it).
    assert_eq!(
        search(&server, json!({"publicKey": x509(&key_pem(&alice))})).await,
        vec![a1.clone(), a2.clone()]
    );
    assert_eq!(
        search(&server, json!({"publicKey": x509(&bob_cert_pem)})).await,
        vec![b1.clone()]
    );
    // Email from the certificate's SAN, case-insensitively.
    assert_eq!(
        search(&server, json!({"email": "bob@example.COM"})).await,
        vec![b1.clone()]
    );
    // Operators: or (the default) unions, and intersects.
    let one = digest(b"one");
    assert_eq!(
        search(
            &server,
            json!({"hash": one, "publicKey": x509(&key_pem(&alice))})
        )
        .await,
        vec![a1.clone(), a2.clone(), b1.clone()]
    );
    assert_eq!(
        search(
            &server,
            json!({"hash": one, "publicKey": x509(&key_pem(&alice)), "operator": "and"})
        )
        .await,
        vec![a1.clone()]
    );
    assert_eq!(
        search(
            &server,
            json!({"hash": digest(b"two"), "email": "bob@example.com", "operator": "and"})
        )
        .await,
        Vec::<String>::new()
    );
    // Nothing matches, or nothing asked.
    assert!(search(&server, json!({"hash": digest(b"three")}))
        .await
        .is_empty());
    assert!(search(&server, json!({})).await.is_empty());

    // Bad queries are 400 with a message.
    for (query, needle) in [
        (json!({"hash": "sha256:1234"}), "hash"),
        (json!({"hash": 5}), "malformed"),
        (json!([]), "must be a JSON object"),
        (json!({"operator": "xor", "hash": one}), "operator"),
        (
            json!({"publicKey": {"format": "ssh", "content": "AAAA"}}),
            "not supported",
        ),
        (
            json!({"publicKey": {"format": "x509", "content": B64.encode("junk")}}),
            "could not be parsed",
        ),
        (json!({"email": "not-an-address"}), "email"),
    ] {
        let m = error_message(
            server.post_json("/api/v1/index/retrieve", &query).await,
            400,
        )
        .await;
        assert!(m.contains(needle), "{query}: {m}");
    }
    server.stop().await;
}

fn pem_cert(der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}
