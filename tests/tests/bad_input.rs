//! End to end: bad input to a running `sigil dev` gets a 4xx whose message
//! says what was wrong, and writes nothing — neither log grows.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use test_support::jwt::now;
use test_support::SigilDev;

struct Sizes {
    rekor: u64,
    ct: u64,
}

fn sizes(client: &Client, dev: &SigilDev) -> Sizes {
    let info: Value = client
        .get(format!("{}/api/v1/log", dev.tlog_url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let sth: Value = client
        .get(format!("{}/ct/v1/get-sth", dev.tlog_url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    Sizes {
        rekor: info["treeSize"].as_u64().unwrap(),
        ct: sth["tree_size"].as_u64().unwrap(),
    }
}

/// Posts `body` and returns (status, message).
fn post(client: &Client, url: &str, body: String) -> (u16, String) {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or(text);
    (status, message)
}

fn cert_request(token: &str, key: &SigningKey, signed: &str) -> String {
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let pop: DerSignature = key.sign(signed.as_bytes());
    json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": pem},
            "proofOfPossession": STANDARD.encode(pop.as_bytes()),
        }
    })
    .to_string()
}

fn claims(dev: &SigilDev, email: &str) -> Value {
    let t = now();
    json!({"iss": dev.oidc_url(), "aud": "sigstore", "sub": email, "email": email,
           "email_verified": true, "iat": t, "nbf": t, "exp": t + 600})
}

fn hashedrekord(key: &SigningKey, artifact: &[u8], signature: &[u8]) -> String {
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let digest = Sha256::digest(artifact).into();
    test_support::tlog::hashedrekord_body(&digest, signature, &STANDARD.encode(pem))
}

#[test]
fn bad_input_gets_a_clear_4xx_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = SigilDev::start(&tmp.path().join("data")).unwrap();
    let client = Client::new();
    let signing_cert = format!("{}/api/v2/signingCert", dev.ca_url());
    let entries = format!("{}/api/v1/log/entries", dev.tlog_url());
    let key = SigningKey::random(&mut rand_core::OsRng);
    let email = "alice@example.com";

    // A good request works, so the refusals below are about the input alone.
    let good = dev.email_token(email).unwrap();
    let (status, message) = post(&client, &signing_cert, cert_request(&good, &key, email));
    assert_eq!(status, 200, "{message}\n{}", dev.log());
    let before = sizes(&client, &dev);
    assert_eq!(
        before.ct, 1,
        "the good certificate's precertificate is in the CT log"
    );

    let wrong_sig: DerSignature = key.sign(b"another artifact");
    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "malformed JSON to the CA",
            signing_cert.clone(),
            "{\"credentials\":".into(),
            "json",
        ),
        (
            "expired token",
            signing_cert.clone(),
            cert_request(
                &dev.custom_token(&{
                    let mut c = claims(&dev, email);
                    c["iat"] = json!(now() - 1200);
                    c["nbf"] = json!(now() - 1200);
                    c["exp"] = json!(now() - 600);
                    c
                })
                .unwrap(),
                &key,
                email,
            ),
            "expired",
        ),
        (
            "token for another audience",
            signing_cert.clone(),
            cert_request(
                &dev.custom_token(&{
                    let mut c = claims(&dev, email);
                    c["aud"] = json!("not-sigstore");
                    c
                })
                .unwrap(),
                &key,
                email,
            ),
            "audience",
        ),
        (
            "token from an unknown issuer",
            signing_cert.clone(),
            cert_request(
                &dev.custom_token(&{
                    let mut c = claims(&dev, email);
                    c["iss"] = json!("https://issuer.example.com");
                    c
                })
                .unwrap(),
                &key,
                email,
            ),
            "issuer",
        ),
        (
            "proof of possession over the wrong string",
            signing_cert,
            cert_request(&good, &key, "mallory@example.com"),
            "proof of possession",
        ),
        (
            "malformed JSON to Rekor",
            entries.clone(),
            "{\"kind\":".into(),
            "json",
        ),
        (
            "a bad signature in an entry",
            entries,
            hashedrekord(&key, b"artifact", wrong_sig.as_bytes()),
            "signature",
        ),
    ];
    for (what, url, body, expected) in cases {
        let (status, message) = post(&client, &url, body);
        assert_eq!(status, 400, "{what}: {message}");
        assert!(
            message.to_lowercase().contains(expected),
            "{what}: the message {message:?} should mention {expected:?}"
        );
    }

    let after = sizes(&client, &dev);
    assert_eq!(
        (after.rekor, after.ct),
        (before.rekor, before.ct),
        "refused requests wrote nothing"
    );
}

/// Slowloris (docs/design.md, "Connections"): a client that never finishes its
/// request head is disconnected by every service of the stack (the default
/// header-read timeout is 10 s), instead of holding a connection forever.
#[test]
fn connections_that_never_finish_a_request_head_are_closed() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let dev = SigilDev::start(dir.path()).unwrap();
    let slow: Vec<std::net::TcpStream> = [dev.ca_url(), dev.tlog_url(), dev.oidc_url()]
        .iter()
        .map(|url| {
            let addr = url
                .trim_start_matches("http://")
                .replace("localhost", "127.0.0.1");
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            stream
        })
        .collect();
    for mut stream in slow {
        let mut buf = [0u8; 256];
        // EOF (0) or a reset: closed. A timeout error would mean still open.
        match stream.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!("answered a request that never ended: {:?}", &buf[..n]),
            Err(e) => assert!(
                e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut,
                "still open after 30 s"
            ),
        }
    }
}
