//! `dsse` 0.0.2 (docs/rekor-v2.md §1): a DSSE envelope and the verifiers of its
//! signatures, stored as the payload's SHA-256 and each signature with its
//! verifier. sigstore/rekor-tiles removed it (`pkg/types/dsse/dsse.go`, last
//! at 511cd6c, dropped by "Drop DSSE support" #744) but sigstore-js still
//! sends it for attestations, so it is kept here as that file had it.
//!
//! Checks: 1 to 10 verifiers with distinct raw bytes and 1 to 10 non-empty
//! signatures (upstream's `maxVerifiers`/`maxSignatures`); each verifier's
//! (key, hash of its `keyDetails`) must be a permitted pair, and
//! `PKIX_ED25519` is accepted here for an Ed25519 key (pure Ed25519 is how
//! DSSE envelopes are signed). Every signature must verify over the DSSE PAE
//! with some verifier, and every verifier must verify some signature.
//! ECDSA and RSA verify over the PAE's digest with the `keyDetails` hash;
//! Ed25519 keys verify pure Ed25519, as sigstore's `LoadVerifier` does.
//!
//! Stored: `{"dsseV002": {"payloadHash": {SHA2_256, digest}, "signatures":
//! [{content, verifier}]}}`, one per distinct signature, sorted by the raw
//! signature bytes, each with the first verifier (request order) that
//! verifies it. `keyid` is not read (upstream's verifier adapter has no key
//! ID, so it never filters).

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::{proto_bytes, required_bytes, Verifier, VerifierFields, VerifierJson};
use crate::entry::dsse::pae;
use crate::entry::{invalid, too_many, EntryError};
use crate::keys::{HashAlgorithm, PublicKey};

/// Upstream's `maxVerifiers` and `maxSignatures`.
const MAX_VERIFIERS: usize = 10;
const MAX_SIGNATURES: usize = 10;

const ENVELOPE: &str = "dsseRequestV002.envelope";
const PAYLOAD: &str = "dsseRequestV002.envelope.payload";
const SIGNATURES: &str = "dsseRequestV002.envelope.signatures";
const VERIFIERS: &str = "dsseRequestV002.verifiers";
const VERIFIER_FIELDS: VerifierFields = VerifierFields {
    verifier: "dsseRequestV002.verifiers",
    public_key: "dsseRequestV002.verifiers.publicKey.rawBytes",
    certificate: "dsseRequestV002.verifiers.x509Certificate.rawBytes",
    key_details: "dsseRequestV002.verifiers.keyDetails",
};

/// `dev.sigstore.rekor.v2.DSSERequestV002`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DsseRequest {
    #[serde(default)]
    envelope: Option<Envelope>,
    #[serde(default)]
    verifiers: Option<Vec<VerifierJson>>,
}

/// `io.intoto.Envelope` (its proto field names are already camelCase).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope {
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    payload_type: Option<String>,
    #[serde(default)]
    signatures: Option<Vec<EnvelopeSignature>>,
}

/// `io.intoto.Signature`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeSignature {
    #[serde(default)]
    sig: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // read so that it is a known field; never used to filter
    keyid: Option<String>,
}

/// Verifies a `dsseRequestV002` and returns its stored `spec`.
pub(super) fn canonical_spec(request: DsseRequest) -> Result<Value, EntryError> {
    let envelope = request
        .envelope
        .ok_or_else(|| invalid(ENVELOPE, "missing"))?;
    let verifiers = request.verifiers.unwrap_or_default();
    if verifiers.is_empty() {
        return Err(invalid(VERIFIERS, "missing"));
    }
    if verifiers.len() > MAX_VERIFIERS {
        return Err(too_many(
            VERIFIERS,
            "verifiers",
            MAX_VERIFIERS,
            verifiers.len(),
        ));
    }
    let signatures = envelope.signatures.unwrap_or_default();
    if signatures.is_empty() {
        return Err(invalid(SIGNATURES, "missing"));
    }
    if signatures.len() > MAX_SIGNATURES {
        return Err(too_many(
            SIGNATURES,
            "signatures",
            MAX_SIGNATURES,
            signatures.len(),
        ));
    }
    let raw_sigs = signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            required_bytes(s.sig.as_deref(), SIGNATURES).map_err(|e| at(e, "signature", i))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let payload = proto_bytes(envelope.payload.as_deref(), PAYLOAD)?;
    let payload_type = envelope.payload_type.unwrap_or_default();

    let verifiers = verifiers
        .iter()
        .enumerate()
        .map(|(i, v)| Verifier::parse(v, &VERIFIER_FIELDS).map_err(|e| at(e, "verifier", i)))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, v) in verifiers.iter().enumerate() {
        if let Some(j) = verifiers[..i].iter().position(|w| w.raw == v.raw) {
            return Err(invalid(
                VERIFIERS,
                format!("verifier {i} repeats verifier {j}"),
            ));
        }
    }
    // The algorithm policy first, for every verifier, before any signature.
    for (i, v) in verifiers.iter().enumerate() {
        check_policy(v).map_err(|e| at(e, "verifier", i))?;
    }

    let pae = pae(&payload_type, &payload);
    let mut digests: HashMap<HashAlgorithm, Vec<u8>> = HashMap::new();
    let mut verifies = |v: &Verifier, sig: &[u8]| match (&v.key, v.details.hash) {
        (PublicKey::Ed25519(_), _) => v.key.verify(&pae, sig).is_ok(),
        (_, Some(hash)) => {
            let digest = digests.entry(hash).or_insert_with(|| hash.digest(&pae));
            v.key.verify_digest(hash, digest, sig).is_ok()
        }
        // check_policy refused every other key without a hash.
        (_, None) => false,
    };

    // Each distinct signature, in raw-byte order, with the first verifier
    // that verifies it.
    let mut accepted: BTreeMap<&[u8], usize> = BTreeMap::new();
    for (j, sig) in raw_sigs.iter().enumerate() {
        if accepted.contains_key(sig.as_slice()) {
            continue;
        }
        let Some(i) = verifiers.iter().position(|v| verifies(v, sig)) else {
            return Err(EntryError::BadSignature(format!(
                "envelope signature {j} is verified by none of the verifiers"
            )));
        };
        accepted.insert(sig, i);
    }
    // A verifier that verifies nothing would vanish from the entry; upstream
    // refused it too (when it reached it).
    for (i, v) in verifiers.iter().enumerate() {
        if !accepted.values().any(|&k| k == i) && !raw_sigs.iter().any(|s| verifies(v, s)) {
            return Err(EntryError::BadSignature(format!(
                "verifier {i} verifies none of the envelope's signatures"
            )));
        }
    }

    let signatures: Vec<Value> = accepted
        .iter()
        .map(|(sig, &i)| json!({ "content": STANDARD.encode(sig), "verifier": verifiers[i].to_json() }))
        .collect();
    Ok(json!({
        "dsseV002": {
            "payloadHash": {
                "algorithm": "SHA2_256",
                "digest": STANDARD.encode(Sha256::digest(&payload)),
            },
            "signatures": signatures,
        },
    }))
}

/// The permitted pairs of hashedrekord, and pure Ed25519 for an Ed25519 key.
fn check_policy(v: &Verifier) -> Result<(), EntryError> {
    match (v.details.hash, &v.key) {
        (Some(hash), _) => v.check_pair(hash),
        (None, PublicKey::Ed25519(_)) => Ok(()),
        (None, _) => Err(EntryError::AlgorithmNotAllowed(format!(
            "{} is for Ed25519 keys, and this key is not one",
            v.details.name
        ))),
    }
}

/// `e` with "<what> <i>: " before its reason, for an item of a list.
fn at(e: EntryError, what: &str, i: usize) -> EntryError {
    match e {
        EntryError::InvalidField { field, reason } => EntryError::InvalidField {
            field,
            reason: format!("{what} {i}: {reason}"),
        },
        EntryError::AlgorithmNotAllowed(m) => {
            EntryError::AlgorithmNotAllowed(format!("{what} {i}: {m}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::super::tests::{b64, body_str, canon, key_verifier, reason, Signer};
    use super::*;
    use crate::ct::tests::TestCa;
    use crate::entry::EntryKind;
    use crate::keys::EcdsaP256Signer;

    const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
    const PAYLOAD: &[u8] = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[]}"#;

    /// A signature over the PAE, hashed as `details` says (pure for Ed25519).
    fn sign(signer: &Signer, hash: Option<HashAlgorithm>, payload: &[u8]) -> Vec<u8> {
        let pae = pae(PAYLOAD_TYPE, payload);
        match (signer, hash) {
            (Signer::Ed25519(k), _) => {
                use signature::Signer as _;
                k.sign(&pae).to_bytes().to_vec()
            }
            (_, Some(hash)) => signer.sign_digest(hash, &hash.digest(&pae)),
            (_, None) => unreachable!(),
        }
    }

    fn request(payload: &[u8], sigs: &[&[u8]], verifiers: &[&Value]) -> Value {
        let sigs: Vec<Value> = sigs
            .iter()
            .map(|s| json!({ "sig": b64(s), "keyid": "" }))
            .collect();
        json!({
            "dsseRequestV002": {
                "envelope": { "payload": b64(payload), "payloadType": PAYLOAD_TYPE, "signatures": sigs },
                "verifiers": verifiers,
            },
        })
    }

    #[test]
    fn verified_and_stored_with_signatures_sorted() {
        let p256 = Signer::p256();
        let p384 = Signer::p384();
        let ed = Signer::ed25519(9);
        let s256 = sign(&p256, Some(HashAlgorithm::Sha256), PAYLOAD);
        let s384 = sign(&p384, Some(HashAlgorithm::Sha384), PAYLOAD);
        let sed = sign(&ed, None, PAYLOAD);
        // A certificate verifier too (issued by nobody trusted, long expired).
        let leaf = EcdsaP256Signer::generate();
        let cert = TestCa::new("CN=sigil test root").issue(&leaf, &[]);
        let scert = leaf.sign(&pae(PAYLOAD_TYPE, PAYLOAD));
        let verifiers = [
            key_verifier(&ed.spki(), "PKIX_ED25519"),
            json!({ "x509Certificate": { "rawBytes": b64(&cert) }, "keyDetails": "PKIX_ECDSA_P256_SHA_256" }),
            key_verifier(&p256.spki(), "PKIX_ECDSA_P256_SHA_256"),
            key_verifier(&p384.spki(), "PKIX_ECDSA_P384_SHA_384"),
        ];
        let sigs: [&[u8]; 4] = [&s384, &scert, &sed, &s256];
        let refs: Vec<&Value> = verifiers.iter().collect();
        let e = canon(&request(PAYLOAD, &sigs, &refs)).unwrap();
        assert_eq!(e.kind, EntryKind::Dsse);
        assert_eq!(e.api_version, "0.0.2");

        let verifier_json = |v: &Value| crate::jcs::canonicalize(v).unwrap();
        let mut stored = [
            (&s256, &verifiers[2]),
            (&s384, &verifiers[3]),
            (&sed, &verifiers[0]),
            (&scert, &verifiers[1]),
        ];
        stored.sort_by(|a, b| a.0.cmp(b.0));
        let signatures = stored
            .iter()
            .map(|(sig, v)| {
                format!(
                    r#"{{"content":"{}","verifier":{}}}"#,
                    b64(sig),
                    String::from_utf8(verifier_json(v)).unwrap()
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        let want = format!(
            r#"{{"apiVersion":"0.0.2","kind":"dsse","spec":{{"dsseV002":{{"payloadHash":{{"algorithm":"SHA2_256","digest":"{}"}},"signatures":[{signatures}]}}}}}}"#,
            b64(Sha256::digest(PAYLOAD))
        );
        assert_eq!(body_str(&e), want);

        // The envelope's signature order, keyids, proto names and URL-safe
        // base64 change nothing.
        let reordered = json!({
            "dsse_request_v002": {
                "envelope": {
                    "payload": URL_SAFE_NO_PAD.encode(PAYLOAD),
                    "payloadType": PAYLOAD_TYPE,
                    "signatures": [
                        { "sig": URL_SAFE_NO_PAD.encode(&s256), "keyid": "some key" },
                        { "sig": b64(&sed) },
                        { "sig": b64(&scert) },
                        { "sig": b64(&s384) },
                        { "sig": b64(&s256) },
                    ],
                },
                "verifiers": verifiers,
            },
        });
        assert_eq!(canon(&reordered).unwrap(), e);
    }

    #[test]
    fn every_signature_needs_a_verifier_and_every_verifier_a_signature() {
        let (a, b) = (Signer::p256(), Signer::p256());
        let sa = sign(&a, Some(HashAlgorithm::Sha256), PAYLOAD);
        let sb = sign(&b, Some(HashAlgorithm::Sha256), PAYLOAD);
        let va = key_verifier(&a.spki(), "PKIX_ECDSA_P256_SHA_256");
        let vb = key_verifier(&b.spki(), "PKIX_ECDSA_P256_SHA_256");
        assert_eq!(
            reason(&request(PAYLOAD, &[&sa, &sb], &[&va])),
            "verifying signature: envelope signature 1 is verified by none of the verifiers"
        );
        assert_eq!(
            reason(&request(PAYLOAD, &[&sa], &[&va, &vb])),
            "verifying signature: verifier 1 verifies none of the envelope's signatures"
        );
        // A tampered payload verifies with nobody.
        assert!(matches!(
            canon(&request(b"other", &[&sa], &[&va])),
            Err(EntryError::BadSignature(_))
        ));
        // One key may sign twice (ring's ECDSA nonces are random), and be named once.
        let k = EcdsaP256Signer::generate();
        let (s1, s2) = (
            k.sign(&pae(PAYLOAD_TYPE, PAYLOAD)),
            k.sign(&pae(PAYLOAD_TYPE, PAYLOAD)),
        );
        assert_ne!(s1, s2);
        let vk = key_verifier(&k.public_spki_der(), "PKIX_ECDSA_P256_SHA_256");
        let e = canon(&request(PAYLOAD, &[&s1, &s2], &[&vk])).unwrap();
        let body: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(
            body["spec"]["dsseV002"]["signatures"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // ECDSA hashes the PAE with keyDetails' hash: a P-384 signature over
        // SHA-256 of the PAE is not a PKIX_ECDSA_P384_SHA_384 one.
        let p384 = Signer::p384();
        let wrong = sign(&p384, Some(HashAlgorithm::Sha256), PAYLOAD);
        assert!(matches!(
            canon(&request(
                PAYLOAD,
                &[&wrong],
                &[&key_verifier(&p384.spki(), "PKIX_ECDSA_P384_SHA_384")]
            )),
            Err(EntryError::BadSignature(_))
        ));
    }

    #[test]
    fn malformed_and_oversized_requests_are_refused() {
        let a = Signer::p256();
        let sa = sign(&a, Some(HashAlgorithm::Sha256), PAYLOAD);
        let va = key_verifier(&a.spki(), "PKIX_ECDSA_P256_SHA_256");
        // Counts: up to 10 of each.
        let eleven: Vec<&[u8]> = vec![&sa; 11];
        assert_eq!(
            reason(&request(PAYLOAD, &eleven, &[&va])),
            "invalid dsseRequestV002.envelope.signatures: at most 10 signatures are accepted per entry, got 11"
        );
        canon(&request(PAYLOAD, &eleven[..10], &[&va])).unwrap();
        let many: Vec<&Value> = (0..11).map(|_| &va).collect();
        assert_eq!(
            reason(&request(PAYLOAD, &[&sa], &many)),
            "invalid dsseRequestV002.verifiers: at most 10 verifiers are accepted per entry, got 11"
        );
        assert_eq!(
            reason(&request(PAYLOAD, &[&sa], &[&va, &va])),
            "invalid dsseRequestV002.verifiers: verifier 1 repeats verifier 0"
        );
        assert_eq!(
            reason(&request(PAYLOAD, &[&sa], &[])),
            "invalid dsseRequestV002.verifiers: missing"
        );
        assert_eq!(
            reason(&request(PAYLOAD, &[], &[&va])),
            "invalid dsseRequestV002.envelope.signatures: missing"
        );
        assert_eq!(
            reason(&request(PAYLOAD, &[&sa, b""], &[&va])),
            "invalid dsseRequestV002.envelope.signatures: signature 1: missing"
        );
        assert_eq!(
            reason(&json!({ "dsseRequestV002": { "verifiers": [va.clone()] } })),
            "invalid dsseRequestV002.envelope: missing"
        );
        // Per-verifier errors say which verifier.
        let mut broken = va.clone();
        broken["publicKey"]["rawBytes"] = json!("AAAA");
        let m = reason(&request(PAYLOAD, &[&sa], &[&va, &broken]));
        assert!(
            m.starts_with(
                "invalid dsseRequestV002.verifiers.publicKey.rawBytes: verifier 1: malformed key"
            ),
            "{m}"
        );
        // PKIX_ED25519 is for Ed25519 keys; pairs outside the policy are refused.
        assert_eq!(
            reason(&request(PAYLOAD, &[&sa], &[&key_verifier(&a.spki(), "PKIX_ED25519")])),
            "entry algorithms are not allowed: verifier 0: PKIX_ED25519 is for Ed25519 keys, and this key is not one"
        );
        assert_eq!(
            reason(&request(PAYLOAD, &[&sa], &[&key_verifier(&a.spki(), "PKIX_ECDSA_P521_SHA_512")])),
            "entry algorithms are not allowed: verifier 0: ECDSA P-256 key with a sha512 digest (keyDetails PKIX_ECDSA_P521_SHA_512)"
        );
        // Unknown fields, in the envelope too.
        let mut v = request(PAYLOAD, &[&sa], &[&va]);
        v["dsseRequestV002"]["envelope"]["payload_type"] = json!(PAYLOAD_TYPE);
        assert!(reason(&v).starts_with("malformed JSON: unknown field `payload_type`"));
        // A large payload is stored only as its hash.
        let large_payload = vec![b'x'; 1 << 20];
        let sl = sign(&a, Some(HashAlgorithm::Sha256), &large_payload);
        canon(&request(&large_payload, &[&sl], &[&va])).unwrap();
        // But each signature is stored with its verifier: ten signatures by
        // a 6 KB certificate make a body over 65,535 bytes.
        let leaf = EcdsaP256Signer::generate();
        let padding = crate::ct::tests::ext(
            const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
            false,
            &[0u8; 6_000],
        );
        let cert = TestCa::new("CN=sigil test root").issue(&leaf, &[padding]);
        let vc = json!({ "x509Certificate": { "rawBytes": b64(&cert) }, "keyDetails": "PKIX_ECDSA_P256_SHA_256" });
        let sigs: Vec<Vec<u8>> = (0..10)
            .map(|_| leaf.sign(&pae(PAYLOAD_TYPE, PAYLOAD)))
            .collect();
        let refs: Vec<&[u8]> = sigs.iter().map(Vec::as_slice).collect();
        let e = canon(&request(PAYLOAD, &refs[..6], &[&vc])).unwrap();
        assert!(e.body.len() > 48_000, "{}", e.body.len());
        let m = reason(&request(PAYLOAD, &refs, &[&vc]));
        assert!(
            m.starts_with("invalid request: the logged entry would be 8"),
            "{m}"
        );
    }
}
