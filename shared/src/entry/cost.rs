//! How many signature checks verifying an entry may take, read from the
//! request before any key is decoded (docs/design.md, "Expensive work queues
//! behind itself"). A server uses it to queue expensive entries apart from
//! cheap ones, so a flood of the former cannot delay the latter.
//!
//! The figure is an upper bound from the shapes the verifiers walk
//! (docs/rekor-wire.md §2): a hashedrekord is one check; a DSSE envelope is
//! checked verifier by verifier against its signatures (Rekor's
//! `verifyEnvelope`), so up to signatures × verifiers; an intoto 0.0.2
//! envelope tries each signature's key against every signature, so up to
//! signatures². Only counts are read: nothing is decoded or verified, and
//! unknown members are skipped without being kept.
//!
//! A body this reader cannot make out (a duplicated member, a wrong type)
//! is counted as [`UNREADABLE`], the expensive side: the verifier's own
//! parser may still accept what this one refuses, and a mistake here must
//! never let an expensive entry pass as a cheap one.

use serde::de::IgnoredAny;
use serde::Deserialize;

/// The count given to a body this module cannot read.
pub const UNREADABLE: usize = usize::MAX;

/// Signature checks that verifying a proposed Rekor v1 entry (the body of
/// `POST /api/v1/log/entries`, or one of `entries/retrieve`) may take.
pub fn proposed_entry_checks(json: &[u8]) -> usize {
    let Ok(doc) = serde_json::from_slice::<Proposed>(json) else {
        return UNREADABLE;
    };
    let Some(spec) = doc.spec else {
        return 1;
    };
    match doc.kind.as_deref() {
        Some("dsse") => {
            let Some(proposed) = spec.proposed_content else {
                return 1;
            };
            let signatures = match proposed.envelope.as_deref() {
                Some(text) => match serde_json::from_str::<Envelope>(text) {
                    Ok(envelope) => count(&envelope.signatures),
                    Err(_) => return UNREADABLE,
                },
                None => 1,
            };
            signatures.saturating_mul(count(&proposed.verifiers))
        }
        Some("intoto") => {
            let n = spec
                .content
                .and_then(|c| c.envelope)
                .map_or(1, |e| count(&e.signatures));
            n.saturating_mul(n)
        }
        _ => 1,
    }
}

/// Signature checks that verifying a Rekor v2 `CreateEntryRequest` (the body
/// of `POST /api/v2/log/entries`) may take.
pub fn v2_request_checks(json: &[u8]) -> usize {
    match serde_json::from_slice::<V2Request>(json) {
        Ok(V2Request {
            dsse_request_v002: Some(dsse),
            dsse_request_v002_proto: None,
        })
        | Ok(V2Request {
            dsse_request_v002: None,
            dsse_request_v002_proto: Some(dsse),
        }) => {
            let signatures = dsse.envelope.map_or(1, |e| count(&e.signatures));
            signatures.saturating_mul(count(&dsse.verifiers))
        }
        Ok(V2Request {
            dsse_request_v002: None,
            dsse_request_v002_proto: None,
        }) => 1,
        // Both spellings at once: the verifier refuses it; no estimate.
        Ok(_) | Err(_) => UNREADABLE,
    }
}

/// Whether every key and certificate in a request is one whose signature
/// checks are fast (Ed25519, ECDSA P-256, RSA: tens of µs each), read by
/// looking for the named-curve OIDs of P-384 and P-521 (RFC 5480 §2.1.1.1;
/// their checks take milliseconds) in every base64 value of the body and,
/// when that value is a PEM document, in its blocks. Conservative: a value
/// that looks encoded but does not decode, or any JSON escape (which could
/// hide one), answers false; a false answer only means "not known fast".
pub fn only_fast_keys(json: &[u8]) -> bool {
    if json.contains(&b'\\') {
        return false;
    }
    json.split(|&b| b == b'"')
        .all(|segment| match decoded_if_base64(segment) {
            Decoded::NotBase64 => true,
            Decoded::Undecodable => false,
            Decoded::Bytes(bytes) => !holds_slow_curve(&bytes) && pem_blocks_fast(&bytes),
        })
}

/// The DER of the named curves secp384r1 and secp521r1 (OID 1.3.132.0.34
/// and .35), as they appear in a SubjectPublicKeyInfo.
const SLOW_CURVE_OIDS: [[u8; 7]; 2] = [
    [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22],
    [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23],
];

/// Base64 values shorter than this hold no key (a P-256 SPKI is 91 bytes).
const MIN_ENCODED_KEY_CHARS: usize = 64;

enum Decoded {
    NotBase64,
    Undecodable,
    Bytes(Vec<u8>),
}

fn decoded_if_base64(segment: &[u8]) -> Decoded {
    use base64::Engine as _;
    let base64_char =
        |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=');
    if segment.len() < MIN_ENCODED_KEY_CHARS || !segment.iter().all(base64_char) {
        return Decoded::NotBase64;
    }
    let trimmed = segment
        .strip_suffix(b"==")
        .or_else(|| segment.strip_suffix(b"="))
        .unwrap_or(segment);
    let lenient = |alphabet: &base64::alphabet::Alphabet| {
        base64::engine::GeneralPurpose::new(
            alphabet,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
                .with_decode_allow_trailing_bits(true),
        )
        .decode(trimmed)
    };
    match lenient(&base64::alphabet::STANDARD).or_else(|_| lenient(&base64::alphabet::URL_SAFE)) {
        Ok(bytes) => Decoded::Bytes(bytes),
        Err(_) => Decoded::Undecodable,
    }
}

fn holds_slow_curve(bytes: &[u8]) -> bool {
    SLOW_CURVE_OIDS
        .iter()
        .any(|oid| bytes.windows(oid.len()).any(|w| w == oid))
}

/// A decoded value that is PEM text: every block's body is looked at too.
fn pem_blocks_fast(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"-----BEGIN") {
        return true;
    }
    crate::keys::pem_blocks(bytes)
        .is_ok_and(|blocks| blocks.iter().all(|(_, der)| !holds_slow_curve(der)))
}

/// An absent, null or empty list still costs the one check that fails it.
fn count(items: &Option<Vec<IgnoredAny>>) -> usize {
    items.as_ref().map_or(1, |v| v.len().max(1))
}

// ── Only the members that set the count ─────────────────────────────────────

#[derive(Deserialize)]
struct Proposed {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    spec: Option<Spec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    /// dsse 0.0.1.
    #[serde(default)]
    proposed_content: Option<DsseProposed>,
    /// intoto 0.0.2.
    #[serde(default)]
    content: Option<IntotoContent>,
}

#[derive(Deserialize)]
struct DsseProposed {
    /// The envelope, as JSON text.
    #[serde(default)]
    envelope: Option<String>,
    #[serde(default)]
    verifiers: Option<Vec<IgnoredAny>>,
}

#[derive(Deserialize)]
struct IntotoContent {
    #[serde(default)]
    envelope: Option<Envelope>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    signatures: Option<Vec<IgnoredAny>>,
}

#[derive(Deserialize)]
struct V2Request {
    #[serde(default, rename = "dsseRequestV002")]
    dsse_request_v002: Option<V2Dsse>,
    #[serde(default, rename = "dsse_request_v002")]
    dsse_request_v002_proto: Option<V2Dsse>,
}

#[derive(Deserialize)]
struct V2Dsse {
    #[serde(default)]
    envelope: Option<Envelope>,
    #[serde(default)]
    verifiers: Option<Vec<IgnoredAny>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dsse(signatures: usize, verifiers: usize) -> Vec<u8> {
        let envelope = json!({
            "payloadType": "text/plain",
            "payload": "aGk=",
            "signatures": vec![json!({"sig": "AAAA"}); signatures],
        });
        json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": {
            "envelope": envelope.to_string(),
            "verifiers": vec!["AAAA"; verifiers],
        }}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_hashedrekord_is_one_check() {
        let body = json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "signature": {"content": "AAAA", "publicKey": {"content": "AAAA"}},
            "data": {"hash": {"algorithm": "sha256", "value": "00"}},
        }});
        assert_eq!(proposed_entry_checks(body.to_string().as_bytes()), 1);
    }

    #[test]
    fn dsse_costs_signatures_times_verifiers() {
        assert_eq!(proposed_entry_checks(&dsse(1, 1)), 1);
        assert_eq!(proposed_entry_checks(&dsse(16, 16)), 256);
        assert_eq!(proposed_entry_checks(&dsse(3, 2)), 6);
    }

    #[test]
    fn intoto_costs_signatures_squared() {
        let body = json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
            "envelope": {"payloadType": "x", "payload": "eA==",
                "signatures": vec![json!({"sig": "AAAA", "publicKey": "AAAA"}); 5]},
        }}});
        assert_eq!(proposed_entry_checks(body.to_string().as_bytes()), 25);
    }

    /// What the verifier might read differently counts as expensive.
    #[test]
    fn unreadable_bodies_count_as_the_most_expensive() {
        let duplicated = br#"{"kind":"hashedrekord","kind":"dsse","spec":{}}"#;
        assert_eq!(proposed_entry_checks(duplicated), UNREADABLE);
        assert_eq!(proposed_entry_checks(b"[1,2]"), UNREADABLE);
        let bad_envelope = json!({"kind": "dsse", "spec": {"proposedContent": {
            "envelope": "{not json", "verifiers": ["AAAA"]}}});
        assert_eq!(
            proposed_entry_checks(bad_envelope.to_string().as_bytes()),
            UNREADABLE
        );
    }

    #[test]
    fn v2_dsse_costs_signatures_times_verifiers_under_either_name() {
        let dsse = json!({
            "envelope": {"payload": "aGk=", "payloadType": "x",
                "signatures": vec![json!({"sig": "AAAA"}); 4]},
            "verifiers": vec![json!({"publicKey": {"rawBytes": "AAAA"}}); 3],
        });
        for name in ["dsseRequestV002", "dsse_request_v002"] {
            let body = json!({ name: dsse.clone() }).to_string();
            assert_eq!(v2_request_checks(body.as_bytes()), 12, "{name}");
        }
        let hashed = json!({"hashedRekordRequestV002": {"digest": "AAAA"}}).to_string();
        assert_eq!(v2_request_checks(hashed.as_bytes()), 1);
        let both = json!({"dsseRequestV002": dsse, "dsse_request_v002": dsse}).to_string();
        assert_eq!(v2_request_checks(both.as_bytes()), UNREADABLE);
    }

    fn hashedrekord_with(pem: &str) -> Vec<u8> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
        json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "signature": {"content": "MEUCIQ", "publicKey": {"content": b64}},
            "data": {"hash": {"algorithm": "sha256", "value": "ab".repeat(32)}}}})
        .to_string()
        .into_bytes()
    }

    fn p384_pem() -> String {
        use p384::pkcs8::EncodePublicKey as _;
        let key = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        key.verifying_key()
            .to_public_key_pem(pkcs8::LineEnding::LF)
            .unwrap()
    }

    #[test]
    fn p256_keys_are_fast_and_p384_keys_in_any_spelling_are_not() {
        use base64::Engine as _;
        let p256 = crate::keys::EcdsaP256Signer::generate().public_pem();
        assert!(only_fast_keys(&hashedrekord_with(&p256)));
        let p384 = p384_pem();
        assert!(!only_fast_keys(&hashedrekord_with(&p384)));

        // v2: the DER itself, standard or URL-safe, padded or not.
        let der = crate::keys::pem_blocks(p384.as_bytes()).unwrap()[0]
            .1
            .clone();
        for engine in [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let body = json!({"hashedRekordRequestV002": {"signature": {"verifier": {
                "publicKey": {"rawBytes": engine.encode(&der)}}}}})
            .to_string();
            assert!(!only_fast_keys(body.as_bytes()), "{body}");
        }
        // An escape could hide the curve from this reader: not known fast.
        let escaped = String::from_utf8(hashedrekord_with(&p256))
            .unwrap()
            .replacen("sha256", "sha\\u003256", 1);
        assert!(!only_fast_keys(escaped.as_bytes()));
        // A long value that looks encoded but is not: not known fast.
        let broken = json!({"key": format!("{}A", "A".repeat(64))}).to_string();
        assert!(!only_fast_keys(broken.as_bytes()));
    }
}
