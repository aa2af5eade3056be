//! The Rekor v2 log over HTTP on a fresh SQLite file (docs/rekor-v2.md):
//! the write API answers as rekor-tiles does, every answer verifies with the
//! log's checkpoint key alone (Ed25519, or ECDSA P-256 as an option), and the whole log — every entry,
//! every tile and the root — is rebuilt from the C2SP tiles it serves.

// A test crate: its helper fns should panic on failure just as its tests do.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{v2_request, Fixture};
use serde_json::{json, Value};
use shared::checkpoint::Checkpoint;
use shared::merkle::{leaf_hash, verify_inclusion, Frontier, Hash};
use shared::note::SignedNote;
use shared::tlog_tiles::decode_entry_bundle;

fn b64_hash(v: &Value) -> Hash {
    Hash::from_slice(&B64.decode(v.as_str().unwrap()).unwrap()).unwrap()
}

fn string_u64(v: &Value) -> u64 {
    v.as_str().unwrap().parse().unwrap()
}

/// The checkpoint note, verified with the fixture's v2 key; its body.
fn verified_checkpoint(fx: &Fixture, note: &str) -> Checkpoint {
    let parsed = SignedNote::parse(note).unwrap();
    fx.rekor_v2_key
        .verifier()
        .verify(&parsed)
        .expect("signed by the v2 checkpoint key");
    let checkpoint = Checkpoint::parse(&parsed.text).unwrap();
    assert_eq!(checkpoint.origin, "localhost");
    checkpoint
}

/// Checks a 201 answer as sigstore-python and sigstore-js would.
fn check_answer(fx: &Fixture, answer: &Value) -> (u64, Vec<u8>) {
    let index = string_u64(&answer["logIndex"]);
    assert_eq!(
        answer["logId"]["keyId"],
        B64.encode(fx.rekor_v2_key.key_hash())
    );
    assert_eq!(
        answer["kindVersion"],
        json!({"kind": "hashedrekord", "version": "0.0.2"})
    );
    assert_eq!(answer["integratedTime"], "0");
    assert!(answer["inclusionPromise"].is_null());
    let proof = &answer["inclusionProof"];
    assert_eq!(string_u64(&proof["logIndex"]), index);
    let body = B64
        .decode(answer["canonicalizedBody"].as_str().unwrap())
        .unwrap();
    let checkpoint = verified_checkpoint(fx, proof["checkpoint"]["envelope"].as_str().unwrap());
    let size = string_u64(&proof["treeSize"]);
    let root = b64_hash(&proof["rootHash"]);
    assert_eq!((checkpoint.size, checkpoint.root), (size, root));
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(b64_hash)
        .collect();
    verify_inclusion(&leaf_hash(&body), index, size, &hashes, &root).unwrap();
    (index, body)
}

async fn grpc_error(r: reqwest::Response, status: u16, code: u16) -> String {
    assert_eq!(r.status(), status);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["details"], json!([]));
    v["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn entries_are_logged_and_proved_against_a_signed_checkpoint() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let request = v2_request(b"v2 artifact");
    let r = server.post_json("/api/v2/log/entries", &request).await;
    assert_eq!(r.status(), 201);
    let answer: Value = r.json().await.unwrap();
    let (index, body) = check_answer(&fx, &answer);
    assert_eq!(index, 1, "index 0 is the v2 log's genesis entry");
    let stored: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(stored["apiVersion"], "0.0.2");
    assert_eq!(
        stored["spec"]["hashedRekordV002"]["signature"]["verifier"],
        request["hashedRekordRequestV002"]["signature"]["verifier"],
        "the verifier is stored as sent"
    );

    // The same entry again: 409 naming its index.
    let again = server.post_json("/api/v2/log/entries", &request).await;
    assert_eq!(again.headers()["x-log-index"], "1");
    let m = grpc_error(again, 409, 6).await;
    assert!(m.contains("with index 1"), "{m}");

    // Bad input: a 400 saying what is wrong, as a google.rpc.Status.
    let mut short = request.clone();
    short["hashedRekordRequestV002"]["digest"] = json!(B64.encode([0u8; 20]));
    let m = grpc_error(
        server.post_json("/api/v2/log/entries", &short).await,
        400,
        3,
    )
    .await;
    assert!(!m.is_empty());
    let m = grpc_error(
        server
            .post_json("/api/v2/log/entries", &json!({"unknownRequest": {}}))
            .await,
        400,
        3,
    )
    .await;
    assert!(!m.is_empty());

    // The v1 log is a separate tree.
    assert_eq!(
        server.log_info().await.tree_size,
        1,
        "v1 holds its genesis entry only"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_whole_log_is_rebuilt_from_its_tiles() {
    let fx = Fixture::new();
    let server = fx.start().await;
    // 260 entries after the genesis entry: one full leaf tile, a partial
    // one of width 5, and a level-1 tile of width 1.
    let mut logged = std::collections::BTreeMap::new();
    for i in 0..260 {
        let request = v2_request(format!("tiled {i}").as_bytes());
        let r = server.post_json("/api/v2/log/entries", &request).await;
        assert_eq!(r.status(), 201);
        let answer: Value = r.json().await.unwrap();
        let (index, body) = check_answer(&fx, &answer);
        logged.insert(index, body);
    }

    let r = server.get("/checkpoint").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let checkpoint = verified_checkpoint(&fx, &r.text().await.unwrap());
    assert_eq!(checkpoint.size, 261);

    let get_bytes = |path: String| {
        let server = &server;
        async move {
            let r = server.get(&path).await;
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(r.headers()["content-type"], "application/octet-stream");
            assert!(
                r.headers()["cache-control"]
                    .to_str()
                    .unwrap()
                    .contains("immutable"),
                "{path}"
            );
            r.bytes().await.unwrap().to_vec()
        }
    };
    // Entries from the bundles, leaf hashes from the level-0 tiles. A full
    // tile read again comes from the served-tile cache: the same bytes.
    let first_bundle = get_bytes("/tile/entries/000".into()).await;
    assert_eq!(get_bytes("/tile/entries/000".into()).await, first_bundle);
    assert_eq!(
        get_bytes("/tile/0/000".into()).await,
        get_bytes("/tile/0/000".into()).await
    );
    let mut entries = decode_owned(&first_bundle);
    entries.extend(decode_owned(
        &get_bytes("/tile/entries/001.p/5".into()).await,
    ));
    assert_eq!(entries.len(), 261);
    for (index, body) in &logged {
        assert_eq!(&entries[*index as usize], body, "entry {index}");
    }
    let mut leaves = get_bytes("/tile/0/000".into()).await;
    leaves.extend(get_bytes("/tile/0/001.p/5".into()).await);
    let leaves: Vec<Hash> = leaves
        .chunks(32)
        .map(|c| Hash::from_slice(c).unwrap())
        .collect();
    let mut frontier = Frontier::new();
    for (entry, leaf) in entries.iter().zip(&leaves) {
        assert_eq!(leaf_hash(entry), *leaf);
        frontier.append(*leaf);
    }
    assert_eq!(
        frontier.root(),
        checkpoint.root,
        "the tiles give the checkpoint's root"
    );
    // Level 1 holds the root of the full leaf tile.
    let level1 = get_bytes("/tile/1/000.p/1".into()).await;
    let mut first = Frontier::new();
    for leaf in &leaves[..256] {
        first.append(*leaf);
    }
    assert_eq!(Hash::from_slice(&level1).unwrap(), first.root());

    // Nothing beyond the checkpoint, nothing malformed.
    for path in [
        "/tile/0/001",
        "/tile/0/001.p/6",
        "/tile/0/002.p/1",
        "/tile/entries/001",
        "/tile/1/000",
        "/tile/8/000.p/1",
        "/tile/0/1",
        "/tile/0/000.p/0",
    ] {
        assert_eq!(server.get(path).await.status(), 404, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn an_ecdsa_p256_checkpoint_key_signs_every_checkpoint_and_names_the_log() {
    let mut fx = Fixture::new();
    fx.rekor_v2_key = shared::note::CheckpointKey::generate(
        shared::note::CheckpointAlgorithm::EcdsaP256,
        "localhost",
    )
    .unwrap();
    let server = fx.start().await;
    let r = server
        .post_json("/api/v2/log/entries", &v2_request(b"ecdsa-logged"))
        .await;
    assert_eq!(r.status(), 201);
    // The log ID is SHA-256 of the key's SPKI, and the 201's checkpoint
    // verifies as an ECDSA note under that ID's first four bytes.
    let answer: Value = r.json().await.unwrap();
    let (index, _) = check_answer(&fx, &answer);
    let spki_hash: [u8; 32] =
        <sha2::Sha256 as sha2::Digest>::digest(fx.rekor_v2_key.public_spki_der()).into();
    assert_eq!(answer["logId"]["keyId"], B64.encode(spki_hash));

    let r = server.get("/checkpoint").await;
    let checkpoint = verified_checkpoint(&fx, &r.text().await.unwrap());
    assert_eq!(checkpoint.size, index + 1);
    let ed25519 = shared::note::CheckpointKey::generate(
        shared::note::CheckpointAlgorithm::Ed25519,
        "localhost",
    )
    .unwrap();
    let note = SignedNote::parse(&server.get("/checkpoint").await.text().await.unwrap()).unwrap();
    assert!(
        ed25519.verifier().verify(&note).is_err(),
        "not an Ed25519 note"
    );

    // The genesis entry is signed by the same ECDSA key.
    let genesis = decode_owned(
        &server
            .get("/tile/entries/000.p/2")
            .await
            .bytes()
            .await
            .unwrap(),
    );
    let genesis: Value = serde_json::from_slice(&genesis[0]).unwrap();
    let verifier = &genesis["spec"]["hashedRekordV002"]["signature"]["verifier"];
    assert_eq!(verifier["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
    assert_eq!(
        verifier["publicKey"]["rawBytes"],
        B64.encode(fx.rekor_v2_key.public_spki_der())
    );
    server.stop().await;
}

fn decode_owned(bundle: &[u8]) -> Vec<Vec<u8>> {
    decode_entry_bundle(bundle)
        .unwrap()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect()
}
