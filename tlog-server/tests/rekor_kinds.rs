//! Entry kinds over HTTP on a fresh SQLite file (docs/rekor-wire.md §2): every
//! hashedrekord key type with its digest, intoto 0.0.2, and bad input of
//! every sort (malformed, wrongly typed, wrongly signed, unknown kind,
//! oversized) answered 400/413 with a message and nothing written.

// A test crate: its helper fns should panic on failure just as its tests do.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{check_log_entry, ct_error_message, error_message, hashedrekord, Fixture};
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// A hashedrekord ProposedEntry from its parts.
fn hashedrekord_of(sig: &[u8], pem: &str, algorithm: &str, digest: &[u8]) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {"content": B64.encode(sig), "publicKey": {"content": B64.encode(pem)}},
            "data": {"hash": {"algorithm": algorithm, "value": hex::encode(digest)}}
        }
    })
}

/// (label, entry) for each key type Rekor accepts, each with its digest.
fn one_entry_per_key_type(artifact: &[u8]) -> Vec<(&'static str, Value)> {
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    use p256::ecdsa::signature::hazmat::PrehashSigner as _;

    let p256 = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let d256 = Sha256::digest(artifact);
    let s256: p256::ecdsa::Signature = p256.sign_prehash(&d256).unwrap();
    let pem256 = p256
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();

    let p384 = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let d384 = Sha384::digest(artifact);
    let s384: p384::ecdsa::Signature = p384.sign_prehash(&d384).unwrap();
    let pem384 = p384
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();

    let p521 = p521::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let d512 = Sha512::digest(artifact);
    let s521: p521::ecdsa::Signature = p521.sign_prehash(&d512).unwrap();
    let vk521 = p521::ecdsa::VerifyingKey::from(&p521);
    let pem521 = p521::PublicKey::from_affine(*vk521.as_affine())
        .unwrap()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();

    let rsa = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    let srsa = rsa.sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &d256).unwrap();
    let pemrsa = rsa
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();

    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let ed = ed25519_dalek::SigningKey::from_bytes(&seed);
    let sed = ed
        .sign_prehashed(Sha512::new().chain_update(artifact), None)
        .unwrap();
    let pemed = ed
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();

    vec![
        (
            "ECDSA P-256 / sha256",
            hashedrekord_of(s256.to_der().as_bytes(), &pem256, "sha256", &d256),
        ),
        (
            "ECDSA P-384 / sha384",
            hashedrekord_of(s384.to_der().as_bytes(), &pem384, "sha384", &d384),
        ),
        (
            "ECDSA P-521 / sha512",
            hashedrekord_of(s521.to_der().as_bytes(), &pem521, "sha512", &d512),
        ),
        (
            "RSA-2048 PKCS#1 v1.5 / sha256",
            hashedrekord_of(&srsa, &pemrsa, "sha256", &d256),
        ),
        (
            "Ed25519ph / sha512",
            hashedrekord_of(&sed.to_bytes(), &pemed, "sha512", &d512),
        ),
    ]
}

#[tokio::test]
async fn every_hashedrekord_key_type_and_digest_is_logged() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let entries = one_entry_per_key_type(b"multi-key artifact");
    for (i, (label, entry)) in entries.iter().enumerate() {
        let r = server.post_json("/api/v1/log/entries", entry).await;
        assert_eq!(r.status(), 201, "{label}");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let (_, value, _) = check_log_entry(&r.json().await.unwrap(), &server, &fx.rekor_key);
        // Index 0 is the genesis entry.
        assert_eq!(value.log_index, i as u64 + 1, "{label}");
        // The stored body keeps the algorithm and digest as sent.
        let body: Value = serde_json::from_slice(&B64.decode(&value.body).unwrap()).unwrap();
        assert_eq!(body["spec"]["data"], entry["spec"]["data"], "{label}");
        assert_eq!(server.get(&location).await.status(), 200, "{label}");
        // A resubmission is the same leaf.
        let again = server.post_json("/api/v1/log/entries", entry).await;
        assert_eq!(again.status(), 409, "{label}");
    }
    assert_eq!(server.log_info().await.tree_size, entries.len() as u64 + 1);

    // A pair outside Rekor's client-signing-algorithms: P-384 key, sha256 digest.
    let mut mismatched = entries[1].1.clone();
    mismatched["spec"]["data"]["hash"] = json!({
        "algorithm": "sha256",
        "value": hex::encode(Sha256::digest(b"multi-key artifact")),
    });
    let m = error_message(
        server.post_json("/api/v1/log/entries", &mismatched).await,
        400,
    )
    .await;
    assert!(m.starts_with("error processing entry: "), "{m}");
    assert!(m.contains("not allowed"), "{m}");
    assert_eq!(server.log_info().await.tree_size, entries.len() as u64 + 1);
    server.stop().await;
}

/// An intoto 0.0.2 ProposedEntry over `statement`, signed by `key`.
fn intoto(key: &p256::ecdsa::SigningKey, statement: &str) -> Value {
    use p256::ecdsa::signature::Signer as _;
    let payload_type = "application/vnd.in-toto+json";
    let pae = shared::entry::dsse::pae(payload_type, statement.as_bytes());
    let sig: p256::ecdsa::Signature = key.sign(&pae);
    let sig_text = B64.encode(sig.to_der().as_bytes());
    let payload_text = B64.encode(statement);
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let envelope = json!({
        "payloadType": payload_type,
        "payload": payload_text,
        "signatures": [{"keyid": "", "sig": sig_text}],
    });
    json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {"content": {
            "envelope": {
                "payloadType": payload_type,
                // Rekor byte fields carrying the envelope's base64 strings.
                "payload": B64.encode(&payload_text),
                "signatures": [{"sig": B64.encode(&sig_text), "publicKey": B64.encode(&pem)}],
            },
            "hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope.to_string()))},
        }},
    })
}

#[tokio::test]
async fn intoto_0_0_2_is_verified_stored_without_payload_and_searchable() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let subject_digest = hex::encode(Sha256::digest(b"the built artifact"));
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "artifact", "digest": {"sha256": subject_digest}}],
        "predicate": {},
    })
    .to_string();
    let entry = intoto(&key, &statement);

    let r = server.post_json("/api/v1/log/entries", &entry).await;
    assert_eq!(r.status(), 201);
    let id = r.headers()["etag"].to_str().unwrap().to_owned();
    let (_, value, _) = check_log_entry(&r.json().await.unwrap(), &server, &fx.rekor_key);
    let body: Value = serde_json::from_slice(&B64.decode(&value.body).unwrap()).unwrap();
    assert_eq!(body["apiVersion"], "0.0.2");
    assert_eq!(body["kind"], "intoto");
    let content = &body["spec"]["content"];
    assert!(content["envelope"].get("payload").is_none(), "{content}");
    assert_eq!(
        content["envelope"]["signatures"],
        entry["spec"]["content"]["envelope"]["signatures"]
    );
    assert_eq!(content["hash"], entry["spec"]["content"]["hash"]);
    assert_eq!(
        content["payloadHash"],
        json!({"algorithm": "sha256", "value": hex::encode(Sha256::digest(&statement))})
    );

    // Found by the statement's subject digest and by the payload hash.
    for hash in [
        format!("sha256:{subject_digest}"),
        hex::encode(Sha256::digest(&statement)),
    ] {
        let r = server
            .post_json("/api/v1/index/retrieve", &json!({ "hash": hash }))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Vec<String>>().await.unwrap(), vec![id.clone()]);
    }
    // Found by key: Rekor's `sha256:<key hash>` (a hash search) and our
    // publicKey search (the bare hex).
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    for query in [
        json!({"hash": format!("sha256:{}", hex::encode(Sha256::digest(&pem)))}),
        json!({"publicKey": {"format": "x509", "content": B64.encode(&pem)}}),
    ] {
        let r = server.post_json("/api/v1/index/retrieve", &query).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<Vec<String>>().await.unwrap(),
            vec![id.clone()],
            "{query}"
        );
    }
    assert_eq!(
        server
            .post_json("/api/v1/log/entries", &entry)
            .await
            .status(),
        409
    );

    // A signature by another key, presented with this key, is refused.
    let other = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let mut forged = intoto(&other, &statement);
    forged["spec"]["content"]["envelope"]["signatures"][0]["publicKey"] =
        entry["spec"]["content"]["envelope"]["signatures"][0]["publicKey"].clone();
    let m = error_message(server.post_json("/api/v1/log/entries", &forged).await, 400).await;
    assert!(
        m.starts_with("error processing entry: verifying signature"),
        "{m}"
    );
    assert_eq!(server.log_info().await.tree_size, 2, "genesis + one entry");
    server.stop().await;
}

/// A DSSE ProposedEntry over `payload`, signed and verified by `key`.
fn dsse(key: &p256::ecdsa::SigningKey, payload: &[u8]) -> Value {
    use p256::ecdsa::signature::Signer as _;
    let payload_type = "text/plain";
    let sig: p256::ecdsa::Signature = key.sign(&shared::entry::dsse::pae(payload_type, payload));
    let envelope = json!({
        "payloadType": payload_type,
        "payload": B64.encode(payload),
        "signatures": [{"keyid": "", "sig": B64.encode(sig.to_der().as_bytes())}],
    });
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope.to_string(),
            "verifiers": [B64.encode(&pem)],
        }},
    })
}

#[tokio::test]
async fn dsse_is_found_by_rekors_sha256_key_hash_and_by_public_key() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let r = server
        .post_json("/api/v1/log/entries", &dsse(&key, b"hello"))
        .await;
    assert_eq!(r.status(), 201);
    let id = r.headers()["etag"].to_str().unwrap().to_owned();
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let key_hash = hex::encode(Sha256::digest(&pem));
    for query in [
        json!({"hash": format!("sha256:{key_hash}")}),
        json!({"hash": format!("SHA256:{}", key_hash.to_uppercase())}),
        json!({"publicKey": {"format": "x509", "content": B64.encode(&pem)}}),
    ] {
        let r = server.post_json("/api/v1/index/retrieve", &query).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<Vec<String>>().await.unwrap(),
            vec![id.clone()],
            "{query}"
        );
    }
    server.stop().await;
}

/// Rekor has no default body limit and real SBOM attestations pass 1 MiB
/// (intoto base64-encodes the payload twice): such an entry is logged.
#[tokio::test]
async fn an_intoto_attestation_over_1_mib_is_logged() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [{"name": "image", "digest": {"sha256": "ab".repeat(32)}}],
        "predicate": {"packages": "p".repeat(3 << 20 >> 1)},
    })
    .to_string();
    let entry = intoto(&key, &statement);
    let body = serde_json::to_vec(&entry).unwrap();
    assert!(body.len() > 2 << 20, "{} bytes", body.len());
    let r = server.post_entry(body).await;
    assert_eq!(r.status(), 201);
    assert_eq!(server.log_info().await.tree_size, 2, "genesis + one entry");
    server.stop().await;
}

#[tokio::test]
async fn malformed_and_wrongly_typed_entries_are_400_and_write_nothing() {
    let fx = Fixture::new();
    let server = fx.start().await;
    assert_eq!(server.post_entry(hashedrekord(b"seed")).await.status(), 201);
    let before = server.log_info().await;

    let good: Value = serde_json::from_slice(&hashedrekord(b"never logged")).unwrap();
    let with = |pointer: &str, v: Value| {
        let mut e = good.clone();
        *e.pointer_mut(pointer).unwrap() = v;
        e
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "a number for the digest",
            with("/spec/data/hash/value", json!(1234)),
            "spec.data.hash.value",
        ),
        ("a number for the kind", with("/kind", json!(7)), "kind"),
        (
            "an object for the signature",
            with("/spec/signature/content", json!({})),
            "spec.signature.content",
        ),
        ("null spec", with("/spec", Value::Null), "spec"),
        (
            "an unknown kind",
            with("/kind", json!("helm")),
            "unsupported entry kind",
        ),
        (
            "an unknown version",
            with("/apiVersion", json!("0.0.9")),
            "unsupported entry kind",
        ),
        (
            "an unknown digest algorithm",
            with("/spec/data/hash/algorithm", json!("md5")),
            "spec.data.hash.algorithm",
        ),
        (
            "a short digest",
            with("/spec/data/hash/value", json!("abcd")),
            "spec.data.hash.value",
        ),
        (
            "a key that is not PEM",
            with("/spec/signature/publicKey/content", json!(B64.encode("hi"))),
            "spec.signature.publicKey.content",
        ),
        (
            "a signature that is not base64",
            with("/spec/signature/content", json!("%%%")),
            "spec.signature.content",
        ),
        (
            "a wrong signature",
            with(
                "/spec/data/hash/value",
                json!(hex::encode(Sha256::digest(b"other"))),
            ),
            "verifying signature",
        ),
        ("an array", json!([good.clone()]), "malformed JSON"),
        ("a string", json!("entry"), "malformed JSON"),
    ];
    for (label, entry, needle) in cases {
        let m = error_message(server.post_json("/api/v1/log/entries", &entry).await, 400).await;
        assert!(
            m.starts_with("error processing entry: ") && m.contains(needle),
            "{label}: {m}"
        );
    }
    for raw in [&b""[..], b"{", b"\xff\xfe", b"null"] {
        let m = error_message(server.post_entry(raw.to_vec()).await, 400).await;
        assert!(m.starts_with("error processing entry: "), "{m}");
    }
    assert_eq!(server.log_info().await, before, "nothing was written");
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413_with_a_message_on_every_write_endpoint() {
    let fx = Fixture::new();
    let server = fx.start().await;
    // Just over the documented 1 MiB limit, as valid JSON so only size
    // matters. Entries have their own 32 MiB limit (see rekor_api.rs).
    let big = format!("{{\"pad\":\"{}\"}}", "a".repeat(1 << 20));
    for path in [
        "/api/v1/log/entries/retrieve",
        "/api/v1/index/retrieve",
        "/ct/v1/add-chain",
        "/ct/v1/add-pre-chain",
    ] {
        let r = server
            .client
            .post(server.url(path))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        let m = if path.starts_with("/ct/") {
            ct_error_message(r, 413).await
        } else {
            error_message(r, 413).await
        };
        assert!(m.contains("1048576"), "{path}: {m}");
    }
    // Bodies under the limit are read normally (here: a valid but empty search).
    let r = server
        .post_json("/api/v1/index/retrieve", &json!({"pad": "a".repeat(1000)}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        server.log_info().await.tree_size,
        1,
        "only the genesis entry"
    );
    server.stop().await;
}
