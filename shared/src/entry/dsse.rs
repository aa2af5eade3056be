//! `dsse` 0.0.1: a DSSE envelope (string, hashed as received) and its
//! verifiers; stored as hashes and signatures only (rekor pkg/types/dsse/v0.0.1).
//!
//! Verification follows Rekor's `verifyEnvelope`: verifiers are taken in
//! order until every signature is verified; each accepts the first envelope
//! signature (in envelope order) that it verifies over the DSSE PAE, and one
//! that verifies none is an error. ECDSA and RSA keys verify over SHA-256 of
//! the PAE whatever their size (Rekor loads them with SHA-256); Ed25519 is pure.
//! At most [`MAX_SIGNATURES`] signatures and [`MAX_VERIFIERS`] verifiers
//! (Rekor has no cap; ours bounds the verifications one request can cost).
//!
//! Index: each verifier's key hash both as bare hex (our `publicKey`
//! search) and as `sha256:<hex>` (Rekor's key for this kind).

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::material::Material;
use super::{as_object, base64_field, invalid, object, sha256_hex, string, to_base64, too_many};
use super::{EntryError, IndexKeys, GO_STD, MAX_SIGNATURES, MAX_VERIFIERS};
use crate::keys::{HashAlgorithm, PublicKey};

/// The DSSE payload type whose subjects Rekor indexes.
pub(super) const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

const ENVELOPE_FIELD: &str = "spec.proposedContent.envelope";
const VERIFIERS_FIELD: &str = "spec.proposedContent.verifiers";

/// A DSSE envelope as Go's `dsse.Envelope` reads it: absent members are empty.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    payload_type: String,
    #[serde(default)]
    payload: String,
    #[serde(default)]
    signatures: Vec<EnvelopeSignature>,
}

/// `keyid` is not read: Rekor's verifier adapter has no key ID, so it never filters.
#[derive(serde::Deserialize)]
struct EnvelopeSignature {
    #[serde(default)]
    sig: String,
}

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body` (lengths in decimal bytes).
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Verifies a dsse `spec` and returns its canonical form and index keys.
pub(crate) fn canonical_spec(spec: &Value) -> Result<(Value, IndexKeys), EntryError> {
    let spec = as_object(spec, "spec")?;
    // `signatures`, `envelopeHash` and `payloadHash` are the log's to
    // compute: like Rekor, whatever a client sends in them is replaced, and
    // sigstore-python sends them as explicit nulls.
    let proposed = object(spec, "proposedContent", "spec.proposedContent")?;
    let envelope_text = string(proposed, "envelope", ENVELOPE_FIELD)?;
    let verifiers = verifier_pems(proposed.get("verifiers"))?;

    let envelope: Envelope = serde_json::from_str(envelope_text)
        .map_err(|e| invalid(ENVELOPE_FIELD, format!("not a DSSE envelope: {e}")))?;
    if envelope.signatures.is_empty() {
        return Err(invalid(
            ENVELOPE_FIELD,
            "DSSE envelope must contain 1 or more signatures",
        ));
    }
    if envelope.signatures.len() > MAX_SIGNATURES {
        return Err(too_many(
            ENVELOPE_FIELD,
            "signatures",
            MAX_SIGNATURES,
            envelope.signatures.len(),
        ));
    }
    let payload = dsse_base64(&envelope.payload)
        .ok_or_else(|| invalid(ENVELOPE_FIELD, "payload is not base64"))?;
    let raw_sigs = envelope
        .signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            dsse_base64(&s.sig)
                .ok_or_else(|| invalid(ENVELOPE_FIELD, format!("signature {i} is not base64")))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let pae = pae(&envelope.payload_type, &payload);
    let pae_digest = Sha256::digest(&pae);

    // Signature string → the verifier that accepted it (sorted like Go's sort.Strings).
    let mut accepted: BTreeMap<&str, Material> = BTreeMap::new();
    let mut unverified: BTreeSet<&str> =
        envelope.signatures.iter().map(|s| s.sig.as_str()).collect();
    for (i, pem) in verifiers.iter().enumerate() {
        if unverified.is_empty() {
            break;
        }
        let material = Material::parse(pem, VERIFIERS_FIELD)?;
        let first = envelope
            .signatures
            .iter()
            .zip(&raw_sigs)
            .find(|(_, raw)| verify_pae(&material.key, &pae, &pae_digest, raw));
        let Some((sig, _)) = first else {
            return Err(EntryError::BadSignature(format!(
                "verifier {i} verifies none of the envelope's signatures"
            )));
        };
        unverified.remove(sig.sig.as_str());
        accepted.insert(sig.sig.as_str(), material);
    }
    if !unverified.is_empty() {
        return Err(EntryError::BadSignature(format!(
            "all signatures must have a key that verifies it; {} of {} do not",
            unverified.len(),
            envelope.signatures.len()
        )));
    }

    let payload_hash = hex::encode(Sha256::digest(&payload));
    let envelope_hash = sha256_hex(envelope_text.as_bytes());
    let signatures: Vec<Value> = accepted
        .iter()
        .map(|(sig, m)| {
            json!({ "signature": sig, "verifier": to_base64(m.canonical_pem.as_bytes()) })
        })
        .collect();
    let canonical = json!({
        "envelopeHash": { "algorithm": "sha256", "value": envelope_hash },
        "payloadHash": { "algorithm": "sha256", "value": payload_hash },
        "signatures": signatures,
    });

    let mut index = IndexKeys::default();
    for m in accepted.values() {
        let key_hash = sha256_hex(m.canonical_pem.as_bytes());
        // Rekor's own key for this kind, beside the bare hex our publicKey search uses.
        index.hashes.push(format!("sha256:{key_hash}"));
        index.public_keys.push(key_hash);
        index.identities.extend(m.identities());
    }
    index.hashes.push(format!("sha256:{payload_hash}"));
    index.hashes.push(format!("sha256:{envelope_hash}"));
    if envelope.payload_type == IN_TOTO_PAYLOAD_TYPE {
        index.hashes.extend(in_toto_digests(&payload));
    }
    Ok((canonical, index))
}

/// The decoded `verifiers` array: at least one non-empty base64 string.
fn verifier_pems(value: Option<&Value>) -> Result<Vec<Vec<u8>>, EntryError> {
    let items = match value {
        None | Some(Value::Null) => return Err(invalid(VERIFIERS_FIELD, "missing")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid(VERIFIERS_FIELD, "must be an array")),
    };
    if items.is_empty() {
        return Err(invalid(
            VERIFIERS_FIELD,
            "at least one verifier is required",
        ));
    }
    // Before decoding anything: the cap bounds the work, not just the result.
    if items.len() > MAX_VERIFIERS {
        return Err(too_many(
            VERIFIERS_FIELD,
            "verifiers",
            MAX_VERIFIERS,
            items.len(),
        ));
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => base64_field(s, VERIFIERS_FIELD),
            _ => Err(invalid(
                VERIFIERS_FIELD,
                "each verifier must be a base64 string",
            )),
        })
        .collect()
}

/// go-securesystemslib's `b64Decode`: standard alphabet, else URL-safe.
pub(super) fn dsse_base64(s: &str) -> Option<Vec<u8>> {
    GO_STD.decode(s).or_else(|_| URL_SAFE.decode(s)).ok()
}

/// What Rekor's `signature.LoadVerifier(key, crypto.SHA256)` checks.
pub(super) fn verify_pae(key: &PublicKey, pae: &[u8], pae_sha256: &[u8], sig: &[u8]) -> bool {
    match key.natural_hash() {
        None => key.verify(pae, sig).is_ok(),
        Some(_) => key
            .verify_digest(HashAlgorithm::Sha256, pae_sha256, sig)
            .is_ok(),
    }
}

/// `"<alg>:<digest>"` of an in-toto statement's subjects and of its
/// predicate's `materials`, as Rekor indexes them; nothing if it does not parse.
///
/// Parsed into just those fields, skipping everything else without building
/// it: a statement's predicate may be a whole SBOM (docs/design.md, "Hostile
/// input": no generic tree of a client's document).
pub(super) fn in_toto_digests(payload: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Statement<'a> {
        #[serde(default)]
        subject: Vec<Digested>,
        #[serde(default, borrow)]
        predicate: Option<&'a serde_json::value::RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Materials {
        #[serde(default)]
        materials: Vec<Digested>,
    }
    #[derive(serde::Deserialize)]
    struct Digested {
        #[serde(default)]
        digest: BTreeMap<String, Value>,
    }
    let Ok(statement) = serde_json::from_slice::<Statement<'_>>(payload) else {
        return Vec::new();
    };
    let materials = statement
        .predicate
        .and_then(|p| serde_json::from_str::<Materials>(p.get()).ok())
        .map(|p| p.materials)
        .unwrap_or_default();
    statement
        .subject
        .iter()
        .chain(&materials)
        .flat_map(|item| {
            item.digest
                .iter()
                .filter_map(|(alg, v)| Some(format!("{alg}:{}", v.as_str()?)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use p256::pkcs8::{EncodePublicKey as _, LineEnding};
    use serde_json::json;
    use signature::hazmat::PrehashSigner as _;
    use signature::Signer as _;

    use super::*;
    use crate::entry::{canonicalize_proposed, CanonicalEntry, EntryKind};

    const STATEMENT: &str = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a.tgz","digest":{"sha256":"AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"materials":[{"uri":"git+https://x","digest":{"sha1":"cafecafecafecafecafecafecafecafecafecafe"}}]}}"#;

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        STANDARD.encode(bytes)
    }

    fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::random(&mut rand_core::OsRng)
    }

    fn pem_of(k: &p256::ecdsa::SigningKey) -> String {
        k.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()
    }

    /// A DER P-256 signature over the PAE (ECDSA-SHA256).
    fn sign(k: &p256::ecdsa::SigningKey, payload_type: &str, payload: &[u8]) -> String {
        let s: p256::ecdsa::Signature = k.sign(&pae(payload_type, payload));
        b64(s.to_der().as_bytes())
    }

    fn envelope(payload_type: &str, payload: &[u8], sigs: &[&str]) -> String {
        let sigs: Vec<Value> = sigs
            .iter()
            .map(|s| json!({"keyid": "", "sig": s}))
            .collect();
        json!({"payloadType": payload_type, "payload": b64(payload), "signatures": sigs})
            .to_string()
    }

    fn proposed(envelope: &str, verifiers: &[&str]) -> Value {
        let verifiers: Vec<String> = verifiers.iter().map(b64).collect();
        json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": { "proposedContent": { "envelope": envelope, "verifiers": verifiers } },
        })
    }

    fn canon(v: &Value) -> Result<CanonicalEntry, EntryError> {
        canonicalize_proposed(&serde_json::to_vec(v).unwrap())
    }

    fn sha(b: impl AsRef<[u8]>) -> String {
        hex::encode(Sha256::digest(b))
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
        // Lengths count bytes, not characters.
        assert_eq!(pae("é", "ü".as_bytes()), "DSSEv1 2 é 2 ü".as_bytes());
    }

    #[test]
    fn one_signature_has_exact_canonical_json() {
        let key = p256_key();
        let pem = pem_of(&key);
        let sig = sign(&key, IN_TOTO_PAYLOAD_TYPE, STATEMENT.as_bytes());
        // Odd spacing: the envelope hash covers the string exactly as sent.
        let env = format!(
            "{{ \"payload\": \"{}\", \"payloadType\": \"{IN_TOTO_PAYLOAD_TYPE}\",\n \"signatures\": [ {{ \"sig\": \"{sig}\", \"keyid\": \"\" }} ] }}",
            b64(STATEMENT)
        );
        let e = canon(&proposed(&env, &[&pem])).unwrap();
        assert_eq!(e.kind, EntryKind::Dsse);
        let want = format!(
            r#"{{"apiVersion":"0.0.1","kind":"dsse","spec":{{"envelopeHash":{{"algorithm":"sha256","value":"{}"}},"payloadHash":{{"algorithm":"sha256","value":"{}"}},"signatures":[{{"signature":"{sig}","verifier":"{}"}}]}}}}"#,
            sha(&env),
            sha(STATEMENT),
            b64(&pem)
        );
        assert_eq!(String::from_utf8(e.body.clone()).unwrap(), want);
        assert_eq!(
            e.index.hashes,
            vec![
                // The verifier's key hash as Rekor files it for dsse.
                format!("sha256:{}", sha(&pem)),
                format!("sha256:{}", sha(STATEMENT)),
                format!("sha256:{}", sha(&env)),
                format!("sha256:{}", "ab12".repeat(16)),
                format!("sha1:{}", "cafe".repeat(10)),
            ]
        );
        assert_eq!(e.index.public_keys, vec![sha(&pem)]);
        // The same envelope re-serialized is a different entry.
        let compact: Value = serde_json::from_str(&env).unwrap();
        let e2 = canon(&proposed(&compact.to_string(), &[&pem])).unwrap();
        assert_ne!(e2.leaf_hash(), e.leaf_hash());
    }

    #[test]
    fn several_signatures_are_sorted_and_matched_to_their_verifiers() {
        let (k1, k2) = (p256_key(), p256_key());
        let p384 = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let ed = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let payload = b"plain payload";
        let pt = "text/plain";
        let digest = Sha256::digest(pae(pt, payload));
        // Rekor verifies ECDSA over SHA-256 of the PAE even for P-384.
        let s384: p384::ecdsa::Signature = p384.sign_prehash(&digest).unwrap();
        let s384 = b64(s384.to_der().as_bytes());
        let sed = b64(ed.sign(&pae(pt, payload)).to_bytes());
        let (s1, s2) = (sign(&k1, pt, payload), sign(&k2, pt, payload));
        let pems = [
            pem_of(&k2),
            p384.verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
            ed.verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
            pem_of(&k1),
        ];
        let env = envelope(pt, payload, &[&s1, &s2, &s384, &sed]);
        let refs: Vec<&str> = pems.iter().map(String::as_str).collect();
        let e = canon(&proposed(&env, &refs)).unwrap();
        let body: Value = serde_json::from_slice(&e.body).unwrap();
        let sigs = body["spec"]["signatures"].as_array().unwrap();
        let mut want = vec![
            (s1, b64(&pems[3])),
            (s2, b64(&pems[0])),
            (s384, b64(&pems[1])),
            (sed, b64(&pems[2])),
        ];
        want.sort();
        let got: Vec<(String, String)> = sigs
            .iter()
            .map(|s| {
                (
                    s["signature"].as_str().unwrap().to_owned(),
                    s["verifier"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(e.index.public_keys.len(), 4);
        // Not in-toto: the four key hashes, the payload and envelope hashes.
        assert_eq!(e.index.hashes.len(), 6);
        for pem in &pems {
            assert!(e.index.hashes.contains(&format!("sha256:{}", sha(pem))));
        }
    }

    #[test]
    fn a_p521_verifier_is_checked_over_sha256_of_the_pae_as_rekor_does() {
        use p521::ecdsa::signature::hazmat::PrehashSigner as _;
        let key = p521::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let (pt, payload) = ("text/plain", b"signed with P-521".as_slice());
        let digest = Sha256::digest(pae(pt, payload));
        // Go's ecdsa signs a 32-byte digest as the integer it encodes; a
        // left-padded digest is that same integer.
        let mut padded = vec![0u8; 34];
        padded.extend_from_slice(&digest);
        let sig: p521::ecdsa::Signature = key.sign_prehash(&padded).unwrap();
        let sig = b64(sig.to_der().as_bytes());
        let verifying = p521::ecdsa::VerifyingKey::from(&key);
        let pem = p521::PublicKey::from_affine(*verifying.as_affine())
            .unwrap()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let e = canon(&proposed(&envelope(pt, payload, &[&sig]), &[&pem])).unwrap();
        assert_eq!(e.index.public_keys.len(), 1);
        // A signature over another payload still fails.
        let other = envelope(pt, b"another payload", &[&sig]);
        assert!(canon(&proposed(&other, &[&pem])).is_err());
    }

    #[test]
    fn signatures_and_verifiers_are_capped_before_any_verification() {
        let key = p256_key();
        let pem = pem_of(&key);
        let pt = "text/plain";
        let sig = sign(&key, pt, b"p");
        let reason = |r: Result<CanonicalEntry, EntryError>| match r.unwrap_err() {
            EntryError::InvalidField { field, reason } => (field, reason),
            other => panic!("{other:?}"),
        };
        // 16 of each is fine (the same key and signature repeated).
        let sixteen: Vec<&str> = vec![sig.as_str(); MAX_SIGNATURES];
        let pems: Vec<&str> = vec![pem.as_str(); MAX_VERIFIERS];
        canon(&proposed(&envelope(pt, b"p", &sixteen), &pems)).unwrap();
        // 17 signatures: refused, whatever would verify.
        let seventeen: Vec<&str> = vec![sig.as_str(); MAX_SIGNATURES + 1];
        let (field, why) = reason(canon(&proposed(&envelope(pt, b"p", &seventeen), &[&pem])));
        assert_eq!(field, ENVELOPE_FIELD);
        assert_eq!(why, "at most 16 signatures are accepted per entry, got 17");
        // 17 verifiers: refused before any is decoded (these are not even base64).
        let garbage = vec!["%%"; MAX_VERIFIERS + 1];
        let (field, why) = reason(canon(&proposed(&envelope(pt, b"p", &[&sig]), &garbage)));
        assert_eq!(field, VERIFIERS_FIELD);
        assert_eq!(why, "at most 16 verifiers are accepted per entry, got 17");
    }

    #[test]
    fn every_signature_needs_a_verifier_and_every_verifier_a_signature() {
        let (k1, k2) = (p256_key(), p256_key());
        let pt = "text/plain";
        let (s1, s2) = (sign(&k1, pt, b"p"), sign(&k2, pt, b"p"));
        let env = envelope(pt, b"p", &[&s1, &s2]);
        let err = canon(&proposed(&env, &[&pem_of(&k1)])).unwrap_err();
        assert!(
            matches!(err, EntryError::BadSignature(ref m) if m.contains("1 of 2 do not")),
            "{err}"
        );
        // A verifier that verifies nothing is refused, as Rekor refuses it.
        let stranger = p256_key();
        let err = canon(&proposed(
            &envelope(pt, b"p", &[&s1]),
            &[&pem_of(&stranger), &pem_of(&k1)],
        ))
        .unwrap_err();
        assert!(
            matches!(err, EntryError::BadSignature(ref m) if m.contains("verifier 0")),
            "{err}"
        );
        // Verifiers after the last needed one are not even read.
        canon(&proposed(
            &envelope(pt, b"p", &[&s1]),
            &[&pem_of(&k1), "garbage"],
        ))
        .unwrap();
        // A tampered payload verifies with nobody.
        let tampered = envelope(pt, b"q", &[&s1]);
        assert!(matches!(
            canon(&proposed(&tampered, &[&pem_of(&k1)])),
            Err(EntryError::BadSignature(_))
        ));
        // The payload type is signed too.
        let retyped = envelope("application/json", b"p", &[&s1]);
        assert!(matches!(
            canon(&proposed(&retyped, &[&pem_of(&k1)])),
            Err(EntryError::BadSignature(_))
        ));
    }

    #[test]
    fn computed_fields_sent_by_the_client_are_replaced() {
        // sigstore-python sends the log-computed fields as explicit nulls;
        // Rekor ignores whatever a client puts there, and so do we.
        let key = p256_key();
        let pem = pem_of(&key);
        let env = envelope("t", b"p", &[&sign(&key, "t", b"p")]);
        let plain = canon(&proposed(&env, &[&pem])).unwrap();
        let mut with_nulls = proposed(&env, &[&pem]);
        for k in ["signatures", "envelopeHash", "payloadHash"] {
            with_nulls["spec"][k] = Value::Null;
        }
        assert_eq!(canon(&with_nulls).unwrap().body, plain.body);
        let mut forged = proposed(&env, &[&pem]);
        forged["spec"]["envelopeHash"] = json!({"algorithm": "sha256", "value": "00"});
        forged["spec"]["signatures"] = json!([{"signature": "AA==", "verifier": "AA=="}]);
        assert_eq!(canon(&forged).unwrap().body, plain.body);
    }

    #[test]
    fn malformed_requests_name_the_field() {
        let key = p256_key();
        let pem = pem_of(&key);
        let sig = sign(&key, "t", b"p");
        let good_env = envelope("t", b"p", &[&sig]);
        let field = |v: &Value| match canon(v).unwrap_err() {
            EntryError::InvalidField { field, .. } => field,
            other => panic!("{other:?}"),
        };

        assert_eq!(field(&proposed("not json", &[&pem])), ENVELOPE_FIELD);
        assert_eq!(
            field(&proposed(&envelope("t", b"p", &[]), &[&pem])),
            ENVELOPE_FIELD
        );
        let bad_payload =
            json!({"payloadType": "t", "payload": "%%", "signatures": [{"sig": sig}]});
        assert_eq!(
            field(&proposed(&bad_payload.to_string(), &[&pem])),
            ENVELOPE_FIELD
        );
        let bad_sig =
            json!({"payloadType": "t", "payload": b64("p"), "signatures": [{"sig": "%%"}]});
        assert_eq!(
            field(&proposed(&bad_sig.to_string(), &[&pem])),
            ENVELOPE_FIELD
        );
        assert_eq!(field(&proposed(&good_env, &[])), VERIFIERS_FIELD);
        assert_eq!(field(&proposed(&good_env, &["not pem"])), VERIFIERS_FIELD);
        assert_eq!(field(&proposed(&good_env, &[""])), VERIFIERS_FIELD);

        let mut v = proposed(&good_env, &[&pem]);
        v["spec"]["proposedContent"]["verifiers"] = json!("abc");
        assert_eq!(field(&v), VERIFIERS_FIELD);
        v["spec"]["proposedContent"]["verifiers"] = json!([1]);
        assert_eq!(field(&v), VERIFIERS_FIELD);
        let mut v = proposed(&good_env, &[&pem]);
        v["spec"]["proposedContent"]["envelope"] = json!({"payload": ""});
        assert_eq!(field(&v), ENVELOPE_FIELD);
        let v = json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {}});
        assert_eq!(field(&v), "spec.proposedContent");

        // URL-safe base64 is accepted for payload and signatures, like Go's DSSE library.
        let url_env = json!({
            "payloadType": "t",
            "payload": URL_SAFE.encode(b"p"),
            "signatures": [{"sig": sig.replace('+', "-").replace('/', "_")}],
        });
        canon(&proposed(&url_env.to_string(), &[&pem])).unwrap();
    }
}
