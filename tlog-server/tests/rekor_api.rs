//! The Rekor v1 API over HTTP on a fresh SQLite file (docs/rekor-wire.md §1, §3):
//! everything a client checks is verified with the log key alone.

// A test crate: its helper fns should panic on failure just as its tests do.
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_log_entry, hashedrekord, hashedrekord_signing, Fixture, Server};
use shared::checkpoint::Checkpoint;
use shared::keys::EcdsaP256Signer;
use shared::merkle::{verify_consistency, Hash};
use shared::note::SignedNote;
use shared::rekor::ConsistencyProof;

#[tokio::test]
async fn hashedrekord_is_logged_with_a_verifiable_set_proof_and_checkpoint() {
    let fx = Fixture::new();
    let server = fx.start().await;
    assert_eq!(
        server.log_info().await.tree_size,
        1,
        "a new log holds its genesis entry"
    );

    let r = server.post_entry(hashedrekord(b"hello sigil")).await;
    assert_eq!(r.status(), 201);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let json: serde_json::Value = r.json().await.unwrap();
    let (id, value, leaf) = check_log_entry(&json, &server, &fx.rekor_key);
    assert_eq!(etag, id);
    assert_eq!(location, format!("/api/v1/log/entries/{id}"));
    assert_eq!(value.log_index, 1, "index 0 is the genesis entry");

    // More entries, concurrently, so proofs have real paths.
    let posts: Vec<_> = (0..6)
        .map(|i| server.post_entry(hashedrekord(format!("artifact {i}").as_bytes())))
        .collect();
    for r in posts {
        let r = r.await;
        assert_eq!(r.status(), 201);
        check_log_entry(&r.json().await.unwrap(), &server, &fx.rekor_key);
    }
    let info = server.log_info().await;
    assert_eq!(info.tree_size, 8);
    assert_eq!(info.tree_id, server.tlog_tree_id.to_string());
    let note = SignedNote::parse(&info.signed_tree_head).unwrap();
    note.verify_v1("localhost", &fx.rekor_key.public_key())
        .unwrap();
    assert_eq!(
        Checkpoint::parse(&note.text).unwrap().root.to_hex(),
        info.root_hash
    );

    // Reads by index, UUID and entry ID give the same entry, proved against the latest head.
    for path in [
        "/api/v1/log/entries?logIndex=1".to_owned(),
        format!("/api/v1/log/entries/{}", leaf.to_hex()),
        format!("/api/v1/log/entries/{id}"),
        location.clone(),
    ] {
        let r = server.get(&path).await;
        assert_eq!(r.status(), 200, "{path}");
        let (read_id, read, _) = check_log_entry(&r.json().await.unwrap(), &server, &fx.rekor_key);
        assert_eq!(read_id, id);
        assert_eq!(
            (read.body.as_str(), read.integrated_time),
            (value.body.as_str(), value.integrated_time)
        );
        assert_eq!(read.verification.inclusion_proof.tree_size, 8);
    }

    let r = server.get("/api/v1/log/publicKey").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-pem-file");
    assert_eq!(r.text().await.unwrap(), fx.rekor_key.public_pem());
    server.stop().await;
}

#[tokio::test]
async fn a_duplicate_is_409_with_the_location_of_the_first() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let entry = hashedrekord(b"only once");
    let first = server.post_entry(entry.clone()).await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let id = first.headers()["etag"].to_str().unwrap().to_owned();

    let again = server.post_entry(entry).await;
    assert_eq!(again.status(), 409);
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "code": 409,
            "message": format!("an equivalent entry already exists in the transparency log with UUID {id}")
        })
    );
    assert_eq!(server.log_info().await.tree_size, 2);
    // cosign follows the Location's last segment.
    assert_eq!(server.get(&location).await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_message_and_writes_nothing() {
    let fx = Fixture::new();
    let server = fx.start().await;
    assert_eq!(server.post_entry(hashedrekord(b"seed")).await.status(), 201);
    let before = server.log_info().await;

    async fn message(r: reqwest::Response, status: u16) -> String {
        assert_eq!(r.status(), status);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], status);
        v["message"].as_str().unwrap().to_owned()
    }

    let m = message(server.post_entry(b"{not json".to_vec()).await, 400).await;
    assert!(m.starts_with("error processing entry: "), "{m}");

    let m = message(
        server
            .post_entry(br#"{"apiVersion":"0.0.1","kind":"nope","spec":{}}"#.to_vec())
            .await,
        400,
    )
    .await;
    assert!(m.starts_with("error processing entry: "), "{m}");

    let bad_sig = hashedrekord_signing(&[1; 32], &[2; 32]);
    let m = message(server.post_entry(bad_sig).await, 400).await;
    assert!(m.starts_with("error processing entry: "), "{m}");

    // Entries may be up to 32 MiB (large attestations); one byte more is 413.
    let huge = vec![b' '; (32 << 20) + 1];
    let m = message(server.post_entry(huge).await, 413).await;
    assert!(m.contains("limit of 33554432 bytes"), "{m}");

    let m = message(server.get("/api/v1/log/entries/not-a-uuid").await, 400).await;
    assert!(!m.is_empty());
    // Rekor types logIndex as int64 >= 0: 2^63 and beyond are 400s, not
    // store errors.
    for raw in ["-1", "9223372036854775808", "18446744073709551616", "1.5"] {
        let m = message(
            server
                .get(&format!("/api/v1/log/entries?logIndex={raw}"))
                .await,
            400,
        )
        .await;
        assert!(
            m.contains("logIndex must be an integer from 0 to 9223372036854775807"),
            "{raw}: {m}"
        );
    }
    // The largest int64 is well-formed, and simply not there.
    let r = server
        .get("/api/v1/log/entries?logIndex=9223372036854775807")
        .await;
    assert_eq!(r.status(), 404);
    let m = message(server.get("/api/v1/log/entries").await, 400).await;
    assert!(m.contains("logIndex"), "{m}");

    // Missing entries: 404 with an empty body.
    for path in [
        "/api/v1/log/entries?logIndex=99".to_owned(),
        format!("/api/v1/log/entries/{}", "ab".repeat(32)),
        format!(
            "/api/v1/log/entries/{:016x}{}",
            server.tlog_tree_id.wrapping_add(1),
            "ab".repeat(32)
        ),
    ] {
        let r = server.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(r.bytes().await.unwrap().is_empty());
    }

    // An unknown treeID is Rekor's 400 with a JSON message, not a 404.
    let other_tree = server.tlog_tree_id.wrapping_add(1);
    for path in [
        format!("/api/v1/log/publicKey?treeID={other_tree}"),
        format!("/api/v1/log/proof?lastSize=1&treeID={other_tree}"),
    ] {
        let m = message(server.get(&path).await, 400).await;
        assert!(m.contains(&format!("treeID {other_tree}")), "{path}: {m}");
    }
    // An empty treeID means the active tree, as Rekor reads it.
    for path in [
        "/api/v1/log/publicKey?treeID=".to_owned(),
        "/api/v1/log/proof?lastSize=1&treeID=".to_owned(),
        format!("/api/v1/log/publicKey?treeID={}", server.tlog_tree_id),
        format!(
            "/api/v1/log/proof?lastSize=1&treeID={}",
            server.tlog_tree_id
        ),
    ] {
        assert_eq!(server.get(&path).await.status(), 200, "{path}");
    }

    // Proof bounds.
    message(
        server.get("/api/v1/log/proof?firstSize=2&lastSize=1").await,
        400,
    )
    .await;
    message(server.get("/api/v1/log/proof?lastSize=5").await, 400).await;
    message(server.get("/api/v1/log/proof?firstSize=1").await, 400).await;

    assert_eq!(server.log_info().await, before, "nothing was written");
    server.stop().await;
}

#[tokio::test]
async fn reopening_keeps_entries_and_the_new_head_is_consistent_with_the_old() {
    let fx = Fixture::new();
    let server = fx.start().await;
    for i in 0..5 {
        assert_eq!(
            server
                .post_entry(hashedrekord(format!("before {i}").as_bytes()))
                .await
                .status(),
            201
        );
    }
    let old = server.log_info().await;
    let tree_id = server.tlog_tree_id;
    server.stop().await;

    let server = fx.start().await;
    assert_eq!(server.tlog_tree_id, tree_id, "the tree id is persisted");
    assert_eq!(
        server.log_info().await,
        old,
        "the stored head is served after a restart"
    );
    for i in 0..4 {
        assert_eq!(
            server
                .post_entry(hashedrekord(format!("after {i}").as_bytes()))
                .await
                .status(),
            201
        );
    }
    let new = server.log_info().await;
    assert_eq!(new.tree_size, 10, "genesis, five before, four after");

    let r = server
        .get(&format!(
            "/api/v1/log/proof?firstSize={}&lastSize={}",
            old.tree_size, new.tree_size
        ))
        .await;
    assert_eq!(r.status(), 200);
    let proof: ConsistencyProof = r.json().await.unwrap();
    assert_eq!(proof.root_hash, new.root_hash);
    let hashes: Vec<Hash> = proof
        .hashes
        .iter()
        .map(|h| Hash::from_hex(h).unwrap())
        .collect();
    verify_consistency(
        old.tree_size,
        new.tree_size,
        &Hash::from_hex(&old.root_hash).unwrap(),
        &Hash::from_hex(&new.root_hash).unwrap(),
        &hashes,
    )
    .expect("new head is consistent with the old");

    // Every old entry is still there, proved against the new head.
    for i in 0..old.tree_size {
        let r = server
            .get(&format!("/api/v1/log/entries?logIndex={i}"))
            .await;
        assert_eq!(r.status(), 200);
        let (_, v, _) = check_log_entry(&r.json().await.unwrap(), &server, &fx.rekor_key);
        assert_eq!(v.verification.inclusion_proof.tree_size, 10);
    }
    // firstSize == lastSize is an empty proof.
    let r = server
        .get("/api/v1/log/proof?firstSize=10&lastSize=10")
        .await;
    let same: ConsistencyProof = r.json().await.unwrap();
    assert!(same.hashes.is_empty());
    server.stop().await;
}

/// Reads served from the entry cache and from the store with a fresh
/// signature (the cache off) carry the same entry, and both verify; a read
/// after a 201 carries the 201's SET with a proof against the newer tree.
#[tokio::test]
async fn reads_are_the_same_with_the_entry_cache_on_and_off() {
    let fx = Fixture::new();
    let mut config = fx.config();
    config.entry_cache_bytes = 0;
    let uncached = Server::start(config).await;
    let mut created = Vec::new();
    for i in 0..5 {
        let r = uncached
            .post_entry(hashedrekord(format!("cache {i}").as_bytes()))
            .await;
        assert_eq!(r.status(), 201);
        created.push(check_log_entry(
            &r.json().await.unwrap(),
            &uncached,
            &fx.rekor_key,
        ));
    }
    let mut fresh_sets = Vec::new();
    for (id, value, _) in &created {
        let r = uncached.get(&format!("/api/v1/log/entries/{id}")).await;
        let (_, read, _) = check_log_entry(&r.json().await.unwrap(), &uncached, &fx.rekor_key);
        assert_eq!(read.body, value.body);
        fresh_sets.push(read.verification.signed_entry_timestamp);
    }
    uncached.stop().await;

    let cached = fx.start().await;
    for (i, (id, value, _)) in created.iter().enumerate() {
        // Index 0 is the genesis entry.
        let path = format!("/api/v1/log/entries?logIndex={}", i + 1);
        let r = cached.get(&path).await;
        let (read_id, first, _) = check_log_entry(&r.json().await.unwrap(), &cached, &fx.rekor_key);
        assert_eq!((&read_id, &first.body), (id, &value.body));
        // ECDSA signatures are randomised: a second identical SET means the
        // second read came from the cache, not from a new signature.
        let r = cached.get(&format!("/api/v1/log/entries/{id}")).await;
        let (_, second, _) = check_log_entry(&r.json().await.unwrap(), &cached, &fx.rekor_key);
        assert_eq!(
            second.verification.signed_entry_timestamp,
            first.verification.signed_entry_timestamp
        );
        assert_ne!(first.verification.signed_entry_timestamp, fresh_sets[i]);
    }
    // A 201 fills the cache: the read that follows carries its very SET,
    // and after another entry is committed the cached entry is proved
    // against the larger tree.
    let r = cached.post_entry(hashedrekord(b"cache 5")).await;
    assert_eq!(r.status(), 201);
    let (id, created, _) = check_log_entry(&r.json().await.unwrap(), &cached, &fx.rekor_key);
    let r = cached.post_entry(hashedrekord(b"cache 6")).await;
    assert_eq!(r.status(), 201);
    let r = cached.get(&format!("/api/v1/log/entries/{id}")).await;
    let (_, read, _) = check_log_entry(&r.json().await.unwrap(), &cached, &fx.rekor_key);
    assert_eq!(
        read.verification.signed_entry_timestamp,
        created.verification.signed_entry_timestamp
    );
    assert_eq!(read.verification.inclusion_proof.tree_size, 8);
    assert_eq!(created.verification.inclusion_proof.tree_size, 7);
    cached.stop().await;
}

#[tokio::test]
async fn an_in_memory_store_serves_the_same_api() {
    let fx = Fixture::new();
    let mut config = fx.config();
    config.database_url = "sqlite::memory:".into();
    let server = Server::start(config).await;
    let r = server.post_entry(hashedrekord(b"in memory")).await;
    assert_eq!(r.status(), 201);
    check_log_entry(&r.json().await.unwrap(), &server, &fx.rekor_key);
    let r = server.get("/api/v1/log/entries?logIndex=0").await;
    assert_eq!(r.status(), 200);
    check_log_entry(&r.json().await.unwrap(), &server, &fx.rekor_key);
    server.stop().await;
}

#[tokio::test]
async fn checkpoints_follow_a_new_hostname_and_key_after_a_restart() {
    let mut fx = Fixture::new();
    let server = fx.start().await;
    assert_eq!(
        server
            .post_entry(hashedrekord(b"signed as localhost"))
            .await
            .status(),
        201
    );
    let before = server.log_info().await;
    let tree_id = server.tlog_tree_id;
    server.stop().await;

    // Same store, another public host name and a rotated key: the stored
    // checkpoint names the old ones, which no client would accept any more.
    fx.rekor_key = EcdsaP256Signer::generate();
    let mut config = fx.config();
    config.hostname = "rekor.example.com".into();
    let server = Server::start(config).await;
    let info = server.log_info().await;
    assert_eq!(
        (info.tree_size, &info.root_hash),
        (before.tree_size, &before.root_hash)
    );
    let note = SignedNote::parse(&info.signed_tree_head).unwrap();
    assert_eq!(note.signatures.len(), 1);
    note.verify_v1("rekor.example.com", &fx.rekor_key.public_key())
        .expect("the served checkpoint is signed with the current name and key");
    let checkpoint = Checkpoint::parse(&note.text).unwrap();
    assert_eq!(checkpoint.origin, format!("rekor.example.com - {tree_id}"));

    // Entries read back carry the same, current checkpoint.
    let r = server.get("/api/v1/log/entries?logIndex=0").await;
    assert_eq!(r.status(), 200);
    let entry: serde_json::Value = r.json().await.unwrap();
    let value = entry.as_object().unwrap().values().next().unwrap();
    let served = value["verification"]["inclusionProof"]["checkpoint"]
        .as_str()
        .unwrap();
    assert_eq!(served, info.signed_tree_head);
    server.stop().await;
}

#[tokio::test]
async fn every_json_body_ends_in_a_newline_as_rekor_writes_it() {
    // Rekor writes every JSON answer with Go's json.Encoder; sigstore-rs
    // 0.15 cuts LogEntry bodies at offsets that assume the newline.
    let fx = Fixture::new();
    let server = fx.start().await;
    let entry = hashedrekord(b"framed");
    let created = server.post_entry(entry.clone()).await;
    assert_eq!(created.status(), 201);
    let id = created.headers()["etag"].to_str().unwrap().to_owned();
    let mut bodies = vec![("create".to_owned(), created.bytes().await.unwrap())];
    for path in [
        "/api/v1/log/entries?logIndex=1".to_owned(),
        format!("/api/v1/log/entries/{id}"),
        "/api/v1/log".to_owned(),
        "/api/v1/log/proof?firstSize=1&lastSize=2".to_owned(),
    ] {
        let r = server.get(&path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        bodies.push((path, r.bytes().await.unwrap()));
    }
    let entry_json: serde_json::Value = serde_json::from_slice(&entry).unwrap();
    for (path, query) in [
        (
            "/api/v1/log/entries/retrieve",
            serde_json::json!({"entryUUIDs": [id]}),
        ),
        (
            "/api/v1/index/retrieve",
            serde_json::json!({"hash": entry_json["spec"]["data"]["hash"]["value"]}),
        ),
    ] {
        let r = server.post_json(path, &query).await;
        assert_eq!(r.status(), 200, "{path}");
        bodies.push((path.to_owned(), r.bytes().await.unwrap()));
    }
    let duplicate = server.post_entry(entry).await;
    assert_eq!(duplicate.status(), 409);
    bodies.push(("409".to_owned(), duplicate.bytes().await.unwrap()));

    for (what, body) in bodies {
        let (json, newline) = body.split_at(body.len() - 1);
        assert_eq!(newline, b"\n", "{what}: {body:?}");
        serde_json::from_slice::<serde_json::Value>(json).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!json.ends_with(b"\n"), "{what}: exactly one newline");
    }
    server.stop().await;
}
