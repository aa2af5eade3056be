//! `intoto` 0.0.2: a DSSE envelope whose signatures each carry their public
//! key (rekor pkg/types/intoto/v0.0.2 at sigstore/rekor@eee7d8d).
//!
//! Request: `spec.content{envelope{payloadType, payload, signatures[{keyid?,
//! sig, publicKey}]}, hash{algorithm, value}}`. `payload` and `sig` are
//! base64 of the base64 text already in the DSSE envelope (the envelope's
//! strings travel as Rekor `format: byte` fields), `publicKey` is base64 PEM.
//! `hash` is the client's SHA-256 of the envelope JSON: required, never
//! recomputed (the server cannot know the envelope's exact serialisation).
//!
//! Checks, as Rekor's `verifyEnvelope`: every public key parses and accepts
//! the first signature it verifies over the DSSE PAE (ECDSA and RSA over
//! SHA-256 of the PAE whatever their size, Ed25519 pure), and every
//! signature is accepted by some key. At most [`MAX_SIGNATURES`] signatures
//! (hence keys) per entry: Rekor has no cap; ours bounds the work. The server computes `payloadHash`, replacing
//! anything the client sent there.
//!
//! Stored: `{content:{envelope:{payloadType, signatures}, hash, payloadHash}}`
//! with the payload dropped and the signatures as received (order kept,
//! `keyid` omitted when empty, byte fields re-encoded as standard base64).
//!
//! Index: `sha256:<payloadHash>`, the in-toto subjects' and SLSA materials'
//! digests, each key's hex SHA-256 of its canonical PEM and its certificate
//! identities. The key hash is filed twice: as `sha256:<hex>`, Rekor's key
//! for this kind (found by a `hash` search, as on Rekor), and as the bare
//! hex hashedrekord uses, which our `publicKey` search looks up.

use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::dsse::{dsse_base64, in_toto_digests, pae, verify_pae, IN_TOTO_PAYLOAD_TYPE};
use super::material::Material;
use super::{as_object, base64_field, invalid, object, sha256_hex, string, to_base64, too_many};
use super::{EntryError, IndexKeys, GO_STD, MAX_SIGNATURES};

const ENVELOPE: &str = "spec.content.envelope";
const PAYLOAD: &str = "spec.content.envelope.payload";
const PAYLOAD_TYPE: &str = "spec.content.envelope.payloadType";
const SIGNATURES: &str = "spec.content.envelope.signatures";
const SIG: &str = "spec.content.envelope.signatures[].sig";
const KEYID: &str = "spec.content.envelope.signatures[].keyid";
const PUBLIC_KEY: &str = "spec.content.envelope.signatures[].publicKey";
const HASH: &str = "spec.content.hash";

/// One envelope signature as the request carries it.
struct ProposedSignature<'a> {
    keyid: &'a str,
    /// The DSSE `sig` text (itself base64 of the signature bytes).
    sig_text: String,
    /// The signature bytes.
    sig: Vec<u8>,
    /// The PEM bytes exactly as sent (stored as sent, like Rekor).
    public_key: Vec<u8>,
    material: Material,
}

/// Verifies an intoto 0.0.2 `spec` and returns its canonical form and index keys.
pub(crate) fn canonical_spec(spec: &Value) -> Result<(Value, IndexKeys), EntryError> {
    let spec = as_object(spec, "spec")?;
    let content = object(spec, "content", "spec.content")?;
    let envelope = object(content, "envelope", ENVELOPE)?;

    let payload_type = string(envelope, "payloadType", PAYLOAD_TYPE)?;
    if payload_type.is_empty() {
        return Err(invalid(PAYLOAD_TYPE, "missing"));
    }
    // First layer: the Rekor byte field; second: the DSSE payload text.
    // Rekor decodes the latter with Go's strict standard alphabet.
    let payload_text = base64_field(string(envelope, "payload", PAYLOAD)?, PAYLOAD)?;
    let payload = std::str::from_utf8(&payload_text)
        .ok()
        .and_then(|t| base64::Engine::decode(&GO_STD, t).ok())
        .ok_or_else(|| invalid(PAYLOAD, "the DSSE payload is not standard base64"))?;

    let signatures = proposed_signatures(envelope.get("signatures"))?;
    let hash = envelope_hash(content)?;

    let pae = pae(payload_type, &payload);
    let pae_digest = Sha256::digest(&pae);
    verify_envelope(&signatures, &pae, &pae_digest)?;

    let payload_hash = hex::encode(Sha256::digest(&payload));
    let stored_signatures: Vec<Value> = signatures
        .iter()
        .map(|s| {
            let mut item = Map::new();
            // Go's `omitempty`: an empty keyid is not stored.
            if !s.keyid.is_empty() {
                item.insert("keyid".into(), s.keyid.into());
            }
            item.insert("publicKey".into(), to_base64(&s.public_key).into());
            item.insert("sig".into(), to_base64(s.sig_text.as_bytes()).into());
            Value::Object(item)
        })
        .collect();
    let canonical = json!({
        "content": {
            "envelope": { "payloadType": payload_type, "signatures": stored_signatures },
            "hash": { "algorithm": "sha256", "value": hash },
            "payloadHash": { "algorithm": "sha256", "value": payload_hash },
        },
    });

    let mut index = IndexKeys::default();
    for s in &signatures {
        let key_hash = sha256_hex(s.material.canonical_pem.as_bytes());
        // Rekor's own key for this kind, beside the bare hex our publicKey search uses.
        index.hashes.push(format!("sha256:{key_hash}"));
        index.public_keys.push(key_hash);
        index.identities.extend(s.material.identities());
    }
    index.hashes.push(format!("sha256:{payload_hash}"));
    if payload_type == IN_TOTO_PAYLOAD_TYPE {
        index.hashes.extend(in_toto_digests(&payload));
    }
    Ok((canonical, index))
}

/// Rekor's `verifyEnvelope` with go-securesystemslib's verifier: each key
/// accepts the first signature (in envelope order) it verifies and stops
/// there; a key that verifies none is an error, and so is a signature no
/// key accepted. With both lists capped this is at most 16 × 16 checks.
fn verify_envelope(
    signatures: &[ProposedSignature<'_>],
    pae: &[u8],
    pae_digest: &[u8],
) -> Result<(), EntryError> {
    let mut accepted = vec![false; signatures.len()];
    for (k, signer) in signatures.iter().enumerate() {
        let first = signatures
            .iter()
            .position(|candidate| verify_pae(&signer.material.key, pae, pae_digest, &candidate.sig))
            .ok_or_else(|| {
                EntryError::BadSignature(format!(
                    "the public key of signature {k} verifies none of the envelope's signatures"
                ))
            })?;
        // Rekor tracks signatures by their text: accepting one accepts its copies.
        let text = &signatures[first].sig_text;
        for (s, candidate) in signatures.iter().enumerate() {
            if candidate.sig_text == *text {
                accepted[s] = true;
            }
        }
    }
    match accepted.iter().position(|a| !a) {
        Some(s) => Err(EntryError::BadSignature(format!(
            "signature {s} is not verified by any of the envelope's public keys"
        ))),
        None => Ok(()),
    }
}

/// The `signatures` array: 1 to [`MAX_SIGNATURES`], each with `sig` and `publicKey`.
fn proposed_signatures(value: Option<&Value>) -> Result<Vec<ProposedSignature<'_>>, EntryError> {
    let items = match value {
        None | Some(Value::Null) => return Err(invalid(SIGNATURES, "missing")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid(SIGNATURES, "must be an array")),
    };
    if items.is_empty() {
        return Err(invalid(SIGNATURES, "at least one signature is required"));
    }
    // Before parsing any key: the cap bounds the work, not just the result.
    // Each signature carries its key, so this caps the keys too.
    if items.len() > MAX_SIGNATURES {
        return Err(too_many(
            SIGNATURES,
            "signatures",
            MAX_SIGNATURES,
            items.len(),
        ));
    }
    items
        .iter()
        .map(|item| {
            let item = as_object(item, SIGNATURES)?;
            let keyid = match item.get("keyid") {
                None | Some(Value::Null) => "",
                Some(Value::String(s)) => s.as_str(),
                Some(_) => return Err(invalid(KEYID, "must be a string")),
            };
            let sig_text = base64_field(string(item, "sig", SIG)?, SIG)?;
            let sig_text = String::from_utf8(sig_text)
                .map_err(|_| invalid(SIG, "the DSSE signature is not base64 text"))?;
            let sig = dsse_base64(&sig_text)
                .ok_or_else(|| invalid(SIG, "the DSSE signature is not base64"))?;
            let public_key = base64_field(string(item, "publicKey", PUBLIC_KEY)?, PUBLIC_KEY)?;
            let material = Material::parse(&public_key, PUBLIC_KEY)?;
            Ok(ProposedSignature {
                keyid,
                sig_text,
                sig,
                public_key,
                material,
            })
        })
        .collect()
}

/// `content.hash`: algorithm `sha256` (Rekor's enum is case-sensitive) and a string value.
fn envelope_hash(content: &Map<String, Value>) -> Result<&str, EntryError> {
    let hash = object(content, "hash", HASH)?;
    let algorithm = string(hash, "algorithm", "spec.content.hash.algorithm")?;
    if algorithm != "sha256" {
        return Err(invalid(
            "spec.content.hash.algorithm",
            format!("{algorithm:?} is not sha256"),
        ));
    }
    string(hash, "value", "spec.content.hash.value")
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    use base64::Engine as _;
    use p256::pkcs8::{EncodePublicKey as _, LineEnding};
    use signature::hazmat::PrehashSigner as _;
    use signature::Signer as _;

    use super::*;
    use crate::entry::{canonicalize_proposed, CanonicalEntry, EntryKind};

    const STATEMENT: &str = r#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"a.tgz","digest":{"sha256":"AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12"}}],"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"materials":[{"uri":"git+https://x","digest":{"sha1":"cafecafecafecafecafecafecafecafecafecafe"}}]}}"#;

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        STANDARD.encode(bytes)
    }

    fn sha(b: impl AsRef<[u8]>) -> String {
        hex::encode(Sha256::digest(b))
    }

    fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::random(&mut rand_core::OsRng)
    }

    fn pem_of(k: &p256::ecdsa::SigningKey) -> String {
        k.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()
    }

    /// The DSSE `sig` text: base64 of a DER P-256 signature over the PAE.
    fn sign(k: &p256::ecdsa::SigningKey, payload_type: &str, payload: &[u8]) -> String {
        let s: p256::ecdsa::Signature = k.sign(&pae(payload_type, payload));
        b64(s.to_der().as_bytes())
    }

    /// A ProposedEntry; `sigs` are (keyid, DSSE sig text, PEM).
    fn proposed(payload_type: &str, payload: &[u8], sigs: &[(&str, &str, &str)]) -> Value {
        let signatures: Vec<Value> = sigs
            .iter()
            .map(
                |(keyid, sig, pem)| json!({"keyid": keyid, "sig": b64(sig), "publicKey": b64(pem)}),
            )
            .collect();
        json!({
            "apiVersion": "0.0.2",
            "kind": "intoto",
            "spec": { "content": {
                "envelope": {
                    "payloadType": payload_type,
                    "payload": b64(b64(payload)),
                    "signatures": signatures,
                },
                "hash": { "algorithm": "sha256", "value": sha("the envelope as the client wrote it") },
            }},
        })
    }

    fn canon(v: &Value) -> Result<CanonicalEntry, EntryError> {
        canonicalize_proposed(&serde_json::to_vec(v).unwrap())
    }

    fn field(v: &Value) -> &'static str {
        match canon(v).unwrap_err() {
            EntryError::InvalidField { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_signature_has_exact_canonical_json() {
        let key = p256_key();
        let pem = pem_of(&key);
        let sig = sign(&key, IN_TOTO_PAYLOAD_TYPE, STATEMENT.as_bytes());
        let mut v = proposed(
            IN_TOTO_PAYLOAD_TYPE,
            STATEMENT.as_bytes(),
            &[("", &sig, &pem)],
        );
        // A payloadHash sent by the client is replaced by the computed one.
        v["spec"]["content"]["payloadHash"] = json!({"algorithm": "sha256", "value": "00"});
        let e = canon(&v).unwrap();
        assert_eq!(e.kind, EntryKind::Intoto);
        assert_eq!(e.api_version, "0.0.2");
        let want = format!(
            r#"{{"apiVersion":"0.0.2","kind":"intoto","spec":{{"content":{{"envelope":{{"payloadType":"{IN_TOTO_PAYLOAD_TYPE}","signatures":[{{"publicKey":"{}","sig":"{}"}}]}},"hash":{{"algorithm":"sha256","value":"{}"}},"payloadHash":{{"algorithm":"sha256","value":"{}"}}}}}}}}"#,
            b64(&pem),
            b64(&sig),
            sha("the envelope as the client wrote it"),
            sha(STATEMENT),
        );
        assert_eq!(String::from_utf8(e.body.clone()).unwrap(), want);
        assert_eq!(
            e.index.hashes,
            vec![
                // The key hash as Rekor files it for intoto.
                format!("sha256:{}", sha(&pem)),
                format!("sha256:{}", sha(STATEMENT)),
                format!("sha256:{}", "ab12".repeat(16)),
                format!("sha1:{}", "cafe".repeat(10)),
            ]
        );
        assert_eq!(e.index.public_keys, vec![sha(&pem)]);
        // Same input, same leaf: a resubmission is a duplicate.
        assert_eq!(canon(&v).unwrap().leaf_hash(), e.leaf_hash());
    }

    #[test]
    fn several_signatures_keep_their_order_keyids_and_keys() {
        let (k1, k2) = (p256_key(), p256_key());
        let p384 = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let ed = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let (pt, payload) = ("text/plain", b"hello".as_slice());
        // Rekor verifies ECDSA over SHA-256 of the PAE even for P-384.
        let s384: p384::ecdsa::Signature = p384
            .sign_prehash(&Sha256::digest(pae(pt, payload)))
            .unwrap();
        let s384 = b64(s384.to_der().as_bytes());
        let sed = b64(ed.sign(&pae(pt, payload)).to_bytes());
        let (s1, s2) = (sign(&k1, pt, payload), sign(&k2, pt, payload));
        let pem384 = p384
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let pem_ed = ed
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let (pem1, pem2) = (pem_of(&k1), pem_of(&k2));
        let sigs = [
            ("k2", s2.as_str(), pem2.as_str()),
            ("", s1.as_str(), pem1.as_str()),
            ("ed", sed.as_str(), pem_ed.as_str()),
            ("p384", s384.as_str(), pem384.as_str()),
        ];
        let e = canon(&proposed(pt, payload, &sigs)).unwrap();
        let body: Value = serde_json::from_slice(&e.body).unwrap();
        let stored = body["spec"]["content"]["envelope"]["signatures"]
            .as_array()
            .unwrap();
        assert_eq!(stored.len(), 4);
        for (got, (keyid, sig, pem)) in stored.iter().zip(sigs) {
            assert_eq!(got["sig"], b64(sig));
            assert_eq!(got["publicKey"], b64(pem));
            if keyid.is_empty() {
                assert!(got.get("keyid").is_none(), "{got}");
            } else {
                assert_eq!(got["keyid"], keyid);
            }
        }
        assert_eq!(e.index.public_keys.len(), 4);
        // Not an in-toto statement: the key hashes and the payload hash.
        let mut want: Vec<String> = sigs
            .iter()
            .map(|(_, _, pem)| format!("sha256:{}", sha(pem)))
            .collect();
        want.push(format!("sha256:{}", sha(payload)));
        assert_eq!(e.index.hashes, want);
    }

    #[test]
    fn each_key_accepts_only_the_first_signature_it_verifies() {
        // Two signatures by one key, listed with that key twice: Rekor's
        // verifier accepts the first for both keys, so the second signature
        // is never accepted and the entry is refused.
        let key = p256_key();
        let pem = pem_of(&key);
        let pt = "text/plain";
        let s1 = sign(&key, pt, b"p");
        // A second, different signature by the same key (hedged nonce).
        let s2: p256::ecdsa::Signature =
            signature::RandomizedSigner::sign_with_rng(&key, &mut rand_core::OsRng, &pae(pt, b"p"));
        let s2 = b64(s2.to_der().as_bytes());
        assert_ne!(s1, s2);
        let err = canon(&proposed(pt, b"p", &[("", &s1, &pem), ("", &s2, &pem)])).unwrap_err();
        assert!(
            matches!(err, EntryError::BadSignature(ref m) if m.contains("signature 1 is not verified")),
            "{err}"
        );
        // The same signature twice is accepted by the first key for both.
        canon(&proposed(pt, b"p", &[("", &s1, &pem), ("", &s1, &pem)])).unwrap();
    }

    #[test]
    fn signatures_are_capped_before_any_key_is_parsed() {
        let key = p256_key();
        let pem = pem_of(&key);
        let pt = "text/plain";
        let sig = sign(&key, pt, b"p");
        let sixteen = vec![("", sig.as_str(), pem.as_str()); MAX_SIGNATURES];
        canon(&proposed(pt, b"p", &sixteen)).unwrap();
        // 17, with keys that do not even parse: the cap answers first.
        let seventeen = vec![("", sig.as_str(), "not a key"); MAX_SIGNATURES + 1];
        match canon(&proposed(pt, b"p", &seventeen)).unwrap_err() {
            EntryError::InvalidField { field, reason } => {
                assert_eq!(field, SIGNATURES);
                assert_eq!(
                    reason,
                    "at most 16 signatures are accepted per entry, got 17"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_key_and_every_signature_must_verify() {
        let (k1, k2) = (p256_key(), p256_key());
        let pt = "text/plain";
        let (s1, s2) = (sign(&k1, pt, b"p"), sign(&k2, pt, b"p"));
        let (pem1, pem2) = (pem_of(&k1), pem_of(&k2));
        canon(&proposed(pt, b"p", &[("", &s1, &pem1), ("", &s2, &pem2)])).unwrap();
        // A key that verifies nothing.
        let stranger = pem_of(&p256_key());
        let err = canon(&proposed(
            pt,
            b"p",
            &[("", &s1, &pem1), ("", &s2, &stranger)],
        ))
        .unwrap_err();
        assert!(
            matches!(err, EntryError::BadSignature(ref m) if m.contains("signature 1 verifies none")),
            "{err}"
        );
        // A signature nobody verifies, though every key verifies something.
        let err = canon(&proposed(pt, b"p", &[("", &s1, &pem1), ("", &s2, &pem1)])).unwrap_err();
        assert!(
            matches!(err, EntryError::BadSignature(ref m) if m.contains("signature 1 is not verified")),
            "{err}"
        );
        // Payload and payload type are both signed.
        assert!(matches!(
            canon(&proposed(pt, b"q", &[("", &s1, &pem1)])),
            Err(EntryError::BadSignature(_))
        ));
        assert!(matches!(
            canon(&proposed("application/json", b"p", &[("", &s1, &pem1)])),
            Err(EntryError::BadSignature(_))
        ));
    }

    #[test]
    fn malformed_requests_name_the_field() {
        let key = p256_key();
        let pem = pem_of(&key);
        let sig = sign(&key, "t", b"p");
        let good = proposed("t", b"p", &[("", &sig, &pem)]);
        canon(&good).unwrap();

        let with = |path: &[&str], value: Value| {
            let mut v = good.clone();
            let mut at = &mut v["spec"];
            for p in &path[..path.len() - 1] {
                at = &mut at[*p];
            }
            at[path[path.len() - 1]] = value;
            v
        };
        let env = |k: &str, v: Value| with(&["content", "envelope", k], v);
        let sig0 = |k: &str, v: Value| {
            let mut s = good["spec"]["content"]["envelope"]["signatures"][0].clone();
            s[k] = v;
            env("signatures", json!([s]))
        };

        assert_eq!(field(&with(&["content"], json!(null))), "spec.content");
        assert_eq!(field(&with(&["content", "envelope"], json!("x"))), ENVELOPE);
        assert_eq!(field(&env("payloadType", json!(""))), PAYLOAD_TYPE);
        assert_eq!(field(&env("payloadType", json!(7))), PAYLOAD_TYPE);
        assert_eq!(field(&env("payload", json!(""))), PAYLOAD);
        assert_eq!(field(&env("payload", json!("%%"))), PAYLOAD);
        // One layer of base64 only: the DSSE payload text itself is not base64.
        assert_eq!(field(&env("payload", json!(b64("%%")))), PAYLOAD);
        // Rekor decodes the DSSE payload with the standard alphabet only.
        assert_eq!(
            field(&env("payload", json!(b64(URL_SAFE.encode([0xfb, 0xff]))))),
            PAYLOAD
        );
        assert_eq!(field(&env("signatures", json!([]))), SIGNATURES);
        assert_eq!(field(&env("signatures", json!({}))), SIGNATURES);
        assert_eq!(field(&env("signatures", json!([null]))), SIGNATURES);
        assert_eq!(field(&sig0("sig", json!(null))), SIG);
        assert_eq!(field(&sig0("sig", json!(b64("%%")))), SIG);
        assert_eq!(field(&sig0("keyid", json!(5))), KEYID);
        assert_eq!(field(&sig0("publicKey", json!(""))), PUBLIC_KEY);
        assert_eq!(
            field(&sig0("publicKey", json!(b64("not a key")))),
            PUBLIC_KEY
        );
        assert_eq!(field(&with(&["content", "hash"], json!(null))), HASH);
        assert_eq!(
            field(&with(&["content", "hash", "algorithm"], json!("SHA256"))),
            "spec.content.hash.algorithm"
        );
        assert_eq!(
            field(&with(&["content", "hash", "value"], json!(1))),
            "spec.content.hash.value"
        );

        // Only 0.0.2 is spoken for this kind.
        let mut old = good.clone();
        old["apiVersion"] = json!("0.0.1");
        assert!(matches!(
            canon(&old),
            Err(EntryError::UnsupportedKind { .. })
        ));
    }
}
