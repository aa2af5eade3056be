//! The RFC 6962 CT personality over HTTP on a fresh SQLite file: chains to
//! the configured root get an SCT that verifies with the CT key, committed
//! before it is returned; chains to other roots are refused; get-entries,
//! get-proof-by-hash and get-sth-consistency answers verify against the
//! signed tree heads with `shared::merkle`.

// A test crate: its helper fns should panic on failure just as its tests do.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{ct_error_message, Fixture, Server, TestCa};
use sha2::{Digest, Sha256};
use shared::ct::{issuer_key_hash, merkle_tree_leaf, tbs_without_extension};
use shared::keys::EcdsaP256Signer;
use shared::merkle::{leaf_hash, verify_consistency, verify_inclusion, Frontier, Hash};
use shared::oids::CT_POISON;
use shared::sct::{AddChainResponse, SignedCertificateTimestamp, SignedEntry};

#[derive(serde::Deserialize, Debug, PartialEq, Eq)]
struct Sth {
    tree_size: u64,
    timestamp: u64,
    sha256_root_hash: String,
    tree_head_signature: String,
}

async fn submit(server: &Server, path: &str, chain: &[&[u8]]) -> reqwest::Response {
    let body =
        serde_json::json!({ "chain": chain.iter().map(|c| B64.encode(c)).collect::<Vec<_>>() });
    server
        .client
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Fetches the STH and verifies its RFC 6962 §3.5 signature with `fx.ct_key`.
async fn verified_sth(server: &Server, fx: &Fixture) -> Sth {
    let r = server.get("/ct/v1/get-sth").await;
    assert_eq!(r.status(), 200);
    let sth: Sth = r.json().await.unwrap();
    let root = B64.decode(&sth.sha256_root_hash).unwrap();
    assert_eq!(root.len(), 32);
    let mut signed = vec![0u8, 1];
    signed.extend_from_slice(&sth.timestamp.to_be_bytes());
    signed.extend_from_slice(&sth.tree_size.to_be_bytes());
    signed.extend_from_slice(&root);
    let ds = B64.decode(&sth.tree_head_signature).unwrap();
    assert_eq!(&ds[..2], &[4, 3], "DigitallySigned: SHA-256, ECDSA");
    assert_eq!(
        usize::from(u16::from_be_bytes([ds[2], ds[3]])),
        ds.len() - 4
    );
    fx.ct_key
        .public_key()
        .verify(&signed, &ds[4..])
        .expect("STH signature verifies");
    sth
}

fn sct_of(response: AddChainResponse) -> SignedCertificateTimestamp {
    SignedCertificateTimestamp::from_add_chain_response(&response).unwrap()
}

#[tokio::test]
async fn a_precert_chain_to_the_root_gets_a_verifiable_sct() {
    let fx = Fixture::new();
    let server = fx.start().await;
    assert_eq!(verified_sth(&server, &fx).await.tree_size, 0);

    let precert = fx.ca.issue(7, true);
    let r = submit(
        &server,
        "/ct/v1/add-pre-chain",
        &[&precert, &fx.ca.root_der],
    )
    .await;
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    assert_eq!(
        body.last(),
        Some(&b'}'),
        "ctfe writes success bodies with json.Marshal: no trailing newline"
    );
    let response: AddChainResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(response.sct_version, 0);
    let sct = sct_of(response);
    assert_eq!(sct.log_id, fx.ct_key.log_id());

    let entry = SignedEntry::Precert {
        issuer_key_hash: issuer_key_hash(&fx.ca.root_der).unwrap(),
        tbs_certificate: tbs_without_extension(&precert, &CT_POISON).unwrap(),
    };
    sct.verify(&fx.ct_key.public_key(), &entry)
        .expect("SCT verifies with the CT key");

    // Committed before the SCT was returned: the STH already covers the leaf
    // with exactly the SCT's timestamp.
    let sth = verified_sth(&server, &fx).await;
    assert_eq!(sth.tree_size, 1);
    assert!(sth.timestamp >= sct.timestamp_ms);
    let leaf = leaf_hash(&merkle_tree_leaf(sct.timestamp_ms, &entry, &[]));
    assert_eq!(
        B64.decode(&sth.sha256_root_hash).unwrap(),
        leaf.0.to_vec(),
        "a one-leaf tree's root is the leaf"
    );

    // Resubmitting gives the same timestamp (the leaf already logged) and logs nothing new.
    let again = submit(
        &server,
        "/ct/v1/add-pre-chain",
        &[&precert, &fx.ca.root_der],
    )
    .await;
    assert_eq!(again.status(), 200);
    let again = sct_of(again.json().await.unwrap());
    assert_eq!(again.timestamp_ms, sct.timestamp_ms);
    again.verify(&fx.ct_key.public_key(), &entry).unwrap();
    assert_eq!(verified_sth(&server, &fx).await.tree_size, 1);

    // The Rekor tree is separate: it holds only its genesis entry.
    assert_eq!(server.log_info().await.tree_size, 1);
    server.stop().await;
}

#[tokio::test]
async fn add_chain_logs_final_certificates() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let cert = fx.ca.issue(8, false);
    let r = submit(&server, "/ct/v1/add-chain", &[&cert, &fx.ca.root_der]).await;
    assert_eq!(r.status(), 200);
    let sct = sct_of(r.json().await.unwrap());
    sct.verify(&fx.ct_key.public_key(), &SignedEntry::X509(cert.clone()))
        .unwrap();
    let sth = verified_sth(&server, &fx).await;
    let leaf = leaf_hash(&merkle_tree_leaf(
        sct.timestamp_ms,
        &SignedEntry::X509(cert),
        &[],
    ));
    assert_eq!(
        Hash(<[u8; 32]>::try_from(B64.decode(&sth.sha256_root_hash).unwrap()).unwrap()),
        leaf
    );

    let r = server.get("/ct/v1/get-roots").await;
    // ctfe writes get-roots (only) with json.Encoder: a trailing newline.
    let body = r.bytes().await.unwrap();
    assert_eq!(body.last(), Some(&b'\n'));
    let roots: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        roots["certificates"],
        serde_json::json!([B64.encode(&fx.ca.root_der)])
    );
    server.stop().await;
}

#[tokio::test]
async fn chains_that_do_not_qualify_are_refused_with_a_message() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let stranger = TestCa::new("Somebody Else");

    async fn refused(r: reqwest::Response) -> String {
        ct_error_message(r, 400).await
    }

    // A chain to another root.
    let foreign = stranger.issue(1, true);
    let m = refused(
        submit(
            &server,
            "/ct/v1/add-pre-chain",
            &[&foreign, &stranger.root_der],
        )
        .await,
    )
    .await;
    assert!(m.contains("root"), "{m}");
    // A leaf that claims our root but was signed by another key.
    let m = refused(
        submit(
            &server,
            "/ct/v1/add-pre-chain",
            &[&foreign, &fx.ca.root_der],
        )
        .await,
    )
    .await;
    assert!(!m.is_empty());
    // A precert to add-chain, a final certificate to add-pre-chain.
    let precert = fx.ca.issue(2, true);
    refused(submit(&server, "/ct/v1/add-chain", &[&precert, &fx.ca.root_der]).await).await;
    let cert = fx.ca.issue(3, false);
    refused(submit(&server, "/ct/v1/add-pre-chain", &[&cert, &fx.ca.root_der]).await).await;
    // Malformed requests.
    refused(submit(&server, "/ct/v1/add-pre-chain", &[]).await).await;
    let r = server
        .client
        .post(server.url("/ct/v1/add-pre-chain"))
        .body("{")
        .send()
        .await
        .unwrap();
    refused(r).await;
    let r = server
        .client
        .post(server.url("/ct/v1/add-chain"))
        .json(&serde_json::json!({"chain": ["!!"]}))
        .send()
        .await
        .unwrap();
    let m = refused(r).await;
    assert!(m.contains("base64"), "{m}");
    let r = submit(
        &server,
        "/ct/v1/add-chain",
        &[&Sha256::digest(b"not a certificate")],
    )
    .await;
    refused(r).await;

    assert_eq!(
        verified_sth(&server, &fx).await.tree_size,
        0,
        "nothing was logged"
    );
    server.stop().await;
}

/// What a test submitted and got back: the logged entry, its SCT timestamp,
/// the chain as submitted, and whether it went to add-pre-chain.
struct Logged {
    entry: SignedEntry,
    timestamp_ms: u64,
    chain: Vec<Vec<u8>>,
    precert: bool,
}

/// Submits certificate `serial`: odd serials as precertificates, and every
/// third chain without the root (the log must add it to extra_data).
async fn log_cert(server: &Server, fx: &Fixture, serial: u32) -> Logged {
    let precert = !serial.is_multiple_of(2);
    let leaf = fx.ca.issue(serial, precert);
    let chain = if serial.is_multiple_of(3) {
        vec![leaf.clone()]
    } else {
        vec![leaf.clone(), fx.ca.root_der.clone()]
    };
    let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    let path = if precert {
        "/ct/v1/add-pre-chain"
    } else {
        "/ct/v1/add-chain"
    };
    let r = submit(server, path, &refs).await;
    assert_eq!(r.status(), 200, "serial {serial}");
    let sct = sct_of(r.json().await.unwrap());
    let entry = if precert {
        SignedEntry::Precert {
            issuer_key_hash: issuer_key_hash(&fx.ca.root_der).unwrap(),
            tbs_certificate: tbs_without_extension(&leaf, &CT_POISON).unwrap(),
        }
    } else {
        SignedEntry::X509(leaf)
    };
    Logged {
        entry,
        timestamp_ms: sct.timestamp_ms,
        chain,
        precert,
    }
}

/// RFC 6962 §4.6 extra_data the log must store for `logged`: the chain after
/// the leaf, ending with the root, as u24-prefixed certificates in a
/// u24-prefixed list, preceded by the precertificate for precert entries.
fn expected_extra_data(logged: &Logged, root: &[u8]) -> Vec<u8> {
    fn u24(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(bytes);
    }
    let mut list = Vec::new();
    for cert in &logged.chain[1..] {
        u24(&mut list, cert);
    }
    if logged.chain.last().unwrap().as_slice() != root {
        u24(&mut list, root);
    }
    let mut out = Vec::new();
    if logged.precert {
        u24(&mut out, &logged.chain[0]);
    }
    u24(&mut out, &list);
    out
}

fn root_of(sth: &Sth) -> Hash {
    Hash::from_slice(&B64.decode(&sth.sha256_root_hash).unwrap()).unwrap()
}

fn hashes(list: &serde_json::Value) -> Vec<Hash> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_slice(&B64.decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn entries_inclusion_and_consistency_proofs_verify_against_the_sths() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut logged = Vec::new();
    for serial in 1..=3 {
        logged.push(log_cert(&server, &fx, serial).await);
    }
    let small = verified_sth(&server, &fx).await;
    assert_eq!(small.tree_size, 3);
    for serial in 4..=7 {
        logged.push(log_cert(&server, &fx, serial).await);
    }
    let big = verified_sth(&server, &fx).await;
    assert_eq!(big.tree_size, 7);

    // get-entries: each leaf is the MerkleTreeLeaf the SCT was signed over,
    // with its chain; together they hash to the STH's root.
    let r = server.get("/ct/v1/get-entries?start=0&end=6").await;
    assert_eq!(r.status(), 200);
    let got: serde_json::Value = r.json().await.unwrap();
    let entries = got["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 7);
    let mut tree = Frontier::new();
    for (e, want) in entries.iter().zip(&logged) {
        let leaf_input = B64.decode(e["leaf_input"].as_str().unwrap()).unwrap();
        assert_eq!(
            leaf_input,
            merkle_tree_leaf(want.timestamp_ms, &want.entry, &[])
        );
        assert_eq!(
            B64.decode(e["extra_data"].as_str().unwrap()).unwrap(),
            expected_extra_data(want, &fx.ca.root_der)
        );
        tree.append(leaf_hash(&leaf_input));
    }
    assert_eq!(tree.root(), root_of(&big));

    // get-proof-by-hash: every leaf in the big tree, the early ones in the small tree too.
    for (i, want) in logged.iter().enumerate() {
        let leaf = leaf_hash(&merkle_tree_leaf(want.timestamp_ms, &want.entry, &[]));
        for sth in [&small, &big] {
            let url = format!(
                "/ct/v1/get-proof-by-hash?hash={}&tree_size={}",
                urlencode(&B64.encode(leaf.0)),
                sth.tree_size
            );
            let r = server.get(&url).await;
            if (i as u64) >= sth.tree_size {
                let m = ct_error_message(r, 404).await;
                assert!(m.contains("no leaf"), "{m}");
                continue;
            }
            assert_eq!(r.status(), 200);
            let proof: serde_json::Value = r.json().await.unwrap();
            assert_eq!(proof["leaf_index"], i as u64);
            verify_inclusion(
                &leaf,
                i as u64,
                sth.tree_size,
                &hashes(&proof["audit_path"]),
                &root_of(sth),
            )
            .expect("inclusion proof verifies against the STH");
        }
    }

    // get-sth-consistency between the two heads; trivial cases are empty.
    let r = server
        .get("/ct/v1/get-sth-consistency?first=3&second=7")
        .await;
    assert_eq!(r.status(), 200);
    let proof: serde_json::Value = r.json().await.unwrap();
    verify_consistency(
        3,
        7,
        &root_of(&small),
        &root_of(&big),
        &hashes(&proof["consistency"]),
    )
    .expect("the heads are consistent");
    for (first, second) in [(0, 7), (7, 7), (0, 0)] {
        let r = server
            .get(&format!(
                "/ct/v1/get-sth-consistency?first={first}&second={second}"
            ))
            .await;
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v, serde_json::json!({"consistency": []}));
    }

    // get-entry-and-proof (§4.8): the same leaf and chain as get-entries,
    // with an audit path that verifies against either STH.
    for (i, want) in logged.iter().enumerate() {
        for sth in [&small, &big] {
            if (i as u64) >= sth.tree_size {
                continue;
            }
            let r = server
                .get(&format!(
                    "/ct/v1/get-entry-and-proof?leaf_index={i}&tree_size={}",
                    sth.tree_size
                ))
                .await;
            assert_eq!(r.status(), 200);
            let v: serde_json::Value = r.json().await.unwrap();
            let leaf_input = B64.decode(v["leaf_input"].as_str().unwrap()).unwrap();
            assert_eq!(
                leaf_input,
                merkle_tree_leaf(want.timestamp_ms, &want.entry, &[])
            );
            assert_eq!(
                B64.decode(v["extra_data"].as_str().unwrap()).unwrap(),
                expected_extra_data(want, &fx.ca.root_der)
            );
            verify_inclusion(
                &leaf_hash(&leaf_input),
                i as u64,
                sth.tree_size,
                &hashes(&v["audit_path"]),
                &root_of(sth),
            )
            .expect("get-entry-and-proof's audit path verifies");
        }
    }

    // A range past the end is cut at the tree size.
    let r = server.get("/ct/v1/get-entries?start=5&end=100").await;
    let got: serde_json::Value = r.json().await.unwrap();
    assert_eq!(got["entries"].as_array().unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn get_entries_pages_are_capped() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let posts: Vec<_> = (0..300u32)
        .map(|serial| {
            let cert = fx.ca.issue(1000 + serial, false);
            let body =
                serde_json::json!({"chain": [B64.encode(&cert), B64.encode(&fx.ca.root_der)]});
            let request = server
                .client
                .post(server.url("/ct/v1/add-chain"))
                .json(&body);
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for p in posts {
        assert_eq!(p.await.unwrap(), 200);
    }
    assert_eq!(verified_sth(&server, &fx).await.tree_size, 300);
    let r = server.get("/ct/v1/get-entries?start=10&end=299").await;
    let got: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        got["entries"].as_array().unwrap().len(),
        256,
        "one page holds at most 256 entries; clients ask again from start + 256"
    );
    let r = server.get("/ct/v1/get-entries?start=266&end=299").await;
    let got: serde_json::Value = r.json().await.unwrap();
    assert_eq!(got["entries"].as_array().unwrap().len(), 34);
    server.stop().await;
}

#[tokio::test]
async fn audit_endpoints_refuse_bad_parameters_with_a_message() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let logged = log_cert(&server, &fx, 2).await;
    log_cert(&server, &fx, 4).await;
    let leaf = leaf_hash(&merkle_tree_leaf(logged.timestamp_ms, &logged.entry, &[]));
    let leaf_b64 = urlencode(&B64.encode(leaf.0));

    for (path, needle) in [
        ("/ct/v1/get-entries", "start"),
        ("/ct/v1/get-entries?start=0", "end"),
        ("/ct/v1/get-entries?start=x&end=1", "start"),
        ("/ct/v1/get-entries?start=-1&end=1", "start"),
        ("/ct/v1/get-entries?start=1&end=0", "valid range"),
        ("/ct/v1/get-entries?start=2&end=5", "beyond"),
        ("/ct/v1/get-sth-consistency?second=2", "first"),
        ("/ct/v1/get-sth-consistency?first=1", "second"),
        ("/ct/v1/get-sth-consistency?first=a&second=2", "first"),
        ("/ct/v1/get-sth-consistency?first=2&second=1", "larger"),
        ("/ct/v1/get-sth-consistency?first=1&second=3", "tree size"),
        ("/ct/v1/get-proof-by-hash?tree_size=1", "hash"),
        ("/ct/v1/get-proof-by-hash?hash=%%%&tree_size=1", "hash"),
        ("/ct/v1/get-proof-by-hash?hash=AAAA&tree_size=1", "hash"),
        ("/ct/v1/get-proof-by-hash?hash=!!&tree_size=1", "hash"),
        ("/ct/v1/get-entry-and-proof?tree_size=1", "leaf_index"),
        ("/ct/v1/get-entry-and-proof?leaf_index=0", "tree_size"),
        (
            "/ct/v1/get-entry-and-proof?leaf_index=x&tree_size=1",
            "leaf_index",
        ),
        (
            "/ct/v1/get-entry-and-proof?leaf_index=1&tree_size=1",
            "less than",
        ),
        (
            "/ct/v1/get-entry-and-proof?leaf_index=0&tree_size=0",
            "less than",
        ),
    ] {
        let m = ct_error_message(server.get(path).await, 400).await;
        assert!(m.contains(needle), "{path}: {m}");
    }
    for size in ["0", "x", ""] {
        let m = ct_error_message(
            server
                .get(&format!(
                    "/ct/v1/get-proof-by-hash?hash={leaf_b64}&tree_size={size}"
                ))
                .await,
            400,
        )
        .await;
        assert!(m.contains("tree_size"), "{size}: {m}");
    }
    // A tree_size beyond the log's is ctfe's 404 with a message, not a 400.
    for path in [
        format!("/ct/v1/get-proof-by-hash?hash={leaf_b64}&tree_size=3"),
        "/ct/v1/get-entry-and-proof?leaf_index=0&tree_size=3".to_owned(),
    ] {
        let m = ct_error_message(server.get(&path).await, 404).await;
        assert!(
            m.contains("larger than the current tree size (2)"),
            "{path}: {m}"
        );
    }
    // A well-formed hash that is not a leaf: 404 with a message.
    let unknown = urlencode(&B64.encode([7u8; 32]));
    let m = ct_error_message(
        server
            .get(&format!(
                "/ct/v1/get-proof-by-hash?hash={unknown}&tree_size=2"
            ))
            .await,
        404,
    )
    .await;
    assert!(m.contains("no leaf"), "{m}");
    // An unescaped '+' (read as a space) is still understood.
    let sloppy = B64.encode(leaf.0);
    let r = server
        .get(&format!(
            "/ct/v1/get-proof-by-hash?hash={sloppy}&tree_size=2"
        ))
        .await;
    assert_eq!(r.status(), 200, "{sloppy}");
    assert_eq!(verified_sth(&server, &fx).await.tree_size, 2);
    server.stop().await;
}

#[tokio::test]
async fn the_sth_is_signed_again_under_a_new_ct_key_after_a_restart() {
    let mut fx = Fixture::new();
    let server = fx.start().await;
    for serial in 1..=2 {
        log_cert(&server, &fx, serial).await;
    }
    let before = verified_sth(&server, &fx).await;
    assert_eq!(before.tree_size, 2);
    server.stop().await;

    // Same store, rotated CT key: the stored STH carries the old key's
    // signature, which no monitor holding the new key would accept.
    fx.ct_key = EcdsaP256Signer::generate();
    let server = fx.start().await;
    let after = verified_sth(&server, &fx).await;
    assert_eq!(
        (after.tree_size, &after.sha256_root_hash),
        (before.tree_size, &before.sha256_root_hash)
    );
    assert!(after.timestamp >= before.timestamp);
    assert_ne!(after.tree_head_signature, before.tree_head_signature);
    // Signed once, then served as it is.
    assert_eq!(verified_sth(&server, &fx).await, after);
    server.stop().await;
}

/// Percent-encodes the base64 characters that are special in a query.
fn urlencode(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}
