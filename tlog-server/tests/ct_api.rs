//! The RFC 6962 CT personality over HTTP on a fresh SQLite file: chains to
//! the configured root get an SCT that verifies with the CT key, committed
//! before it is returned; chains to other roots are refused.

// A test crate: its helper fns should panic on failure just as its tests do.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{Fixture, Server, TestCa};
use sha2::{Digest, Sha256};
use shared::ct::{issuer_key_hash, merkle_tree_leaf, tbs_without_extension};
use shared::merkle::{leaf_hash, Hash};
use shared::oids::CT_POISON;
use shared::sct::{AddChainResponse, SignedCertificateTimestamp, SignedEntry};

#[derive(serde::Deserialize)]
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
    let response: AddChainResponse = r.json().await.unwrap();
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

    // The Rekor tree is separate.
    assert_eq!(server.log_info().await.tree_size, 0);
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
    let roots: serde_json::Value = r.json().await.unwrap();
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
        assert_eq!(r.status(), 400);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], 400);
        v["message"].as_str().unwrap().to_owned()
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
