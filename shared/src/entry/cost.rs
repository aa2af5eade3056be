//! How many signature checks verifying an entry may take, read from the
//! request before any key is decoded (issue P6 §2, "bounded cost per
//! request"). A server uses it to queue expensive entries apart from cheap
//! ones, so a flood of the former cannot delay the latter.
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
}
