//! Who signed a logged Rekor entry, as its verification material says
//! (docs/rekor-wire.md §2): hashedrekord `spec.signature.publicKey.content`,
//! dsse `spec.signatures[].verifier`, intoto
//! `spec.content.envelope.signatures[].publicKey`, each base64 of a PEM key
//! or certificate chain (leaf first); and in v2 bodies (docs/rekor-v2.md §1)
//! `hashedRekordV002.signature.verifier` and `dsseV002.signatures[].verifier`,
//! each the base64 DER of a key or certificate. From a Fulcio certificate come its
//! SANs, validity and the Sigstore extensions under 1.3.6.1.4.1.57264.1
//! (docs/fulcio-wire.md §3): arcs .1 to .6 hold raw UTF-8, later arcs a DER
//! UTF8String. Pure: no I/O; material that does not parse names no signer.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use der::{Decode as _, Encode as _};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// Who signed an entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Signer {
    /// Lower-case hex SHA-256 of the signing key's DER SPKI.
    pub key_fingerprint: String,
    /// The leaf certificate's SANs (email, URI, DNS); empty for a bare key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
    /// The source repository: arc .12 (URI), else .5 (GitHub `owner/repo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The git ref: arc .14, else .6.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Every Sigstore extension present, as (name, value), in arc order.
    #[serde(skip)]
    pub extensions: Vec<(&'static str, String)>,
    /// The certificate's validity, RFC 3339 (`None` for a bare key).
    #[serde(skip)]
    pub validity: Option<(String, String)>,
    /// The certificate's issuer DN.
    #[serde(skip)]
    pub issuer_dn: Option<String>,
}

/// The Sigstore certificate extensions by arc (Fulcio's OID registry).
const FULCIO_ARCS: [(u32, &str); 22] = [
    (1, "OIDC issuer (v1)"),
    (2, "GitHub workflow trigger"),
    (3, "GitHub workflow SHA"),
    (4, "GitHub workflow name"),
    (5, "GitHub workflow repository"),
    (6, "GitHub workflow ref"),
    (8, "OIDC issuer"),
    (9, "Build signer URI"),
    (10, "Build signer digest"),
    (11, "Runner environment"),
    (12, "Source repository URI"),
    (13, "Source repository digest"),
    (14, "Source repository ref"),
    (15, "Source repository identifier"),
    (16, "Source repository owner URI"),
    (17, "Source repository owner identifier"),
    (18, "Build config URI"),
    (19, "Build config digest"),
    (20, "Build trigger"),
    (21, "Run invocation URI"),
    (22, "Source repository visibility"),
    (23, "Deployment environment"),
];

/// The signers a canonical entry body (the JSON Rekor stores) names: a v1
/// body's PEM material, or a v2 (0.0.2) body's verifiers, each the DER of a
/// key or certificate (docs/rekor-v2.md §1).
pub fn signers(body: &Value) -> Vec<Signer> {
    let spec = &body["spec"];
    let each = |list: &Value, field: &str| -> Vec<Value> {
        list.as_array()
            .map(|a| a.iter().map(|s| s[field].clone()).collect())
            .unwrap_or_default()
    };
    let (pem_materials, v2_verifiers) = match body["kind"].as_str() {
        Some("hashedrekord") if spec.get("hashedRekordV002").is_some() => (
            Vec::new(),
            vec![spec["hashedRekordV002"]["signature"]["verifier"].clone()],
        ),
        Some("dsse") if spec.get("dsseV002").is_some() => (
            Vec::new(),
            each(&spec["dsseV002"]["signatures"], "verifier"),
        ),
        Some("hashedrekord") => (
            vec![spec["signature"]["publicKey"]["content"].clone()],
            Vec::new(),
        ),
        Some("dsse") => (each(&spec["signatures"], "verifier"), Vec::new()),
        Some("intoto") => (
            each(&spec["content"]["envelope"]["signatures"], "publicKey"),
            Vec::new(),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let from_pem = pem_materials
        .iter()
        .filter_map(|m| B64.decode(m.as_str()?).ok())
        .filter_map(|pem| signer_of(&pem));
    let from_der = v2_verifiers.iter().filter_map(v2_signer_of);
    from_pem.chain(from_der).collect()
}

/// The signer a v2 verifier (`{"publicKey"|"x509Certificate": {"rawBytes":
/// base64 DER}}`) describes.
fn v2_signer_of(verifier: &Value) -> Option<Signer> {
    let raw = |field: &str| B64.decode(verifier[field]["rawBytes"].as_str()?).ok();
    if let Some(der) = raw("x509Certificate") {
        return Some(certificate_signer(&Certificate::from_der(&der).ok()?));
    }
    let spki = raw("publicKey")?;
    Some(Signer {
        key_fingerprint: hex::encode(Sha256::digest(&spki)),
        ..Signer::default()
    })
}

/// The signer a PEM key or certificate chain (leaf first) describes.
fn signer_of(pem: &[u8]) -> Option<Signer> {
    let blocks = crate::keys::pem_blocks(pem).ok()?;
    let (label, der) = blocks.first()?;
    match label.as_str() {
        "PUBLIC KEY" => Some(Signer {
            key_fingerprint: hex::encode(Sha256::digest(der)),
            ..Signer::default()
        }),
        "CERTIFICATE" => Some(certificate_signer(&Certificate::from_der(der).ok()?)),
        _ => None,
    }
}

fn certificate_signer(cert: &Certificate) -> Signer {
    let tbs = &cert.tbs_certificate;
    // Re-encoding a parsed SPKI cannot fail; an empty fingerprint input would only mis-name it.
    let spki = tbs.subject_public_key_info.to_der().unwrap_or_default();
    let mut signer = Signer {
        key_fingerprint: hex::encode(Sha256::digest(&spki)),
        validity: Some((
            tbs.validity.not_before.to_string(),
            tbs.validity.not_after.to_string(),
        )),
        issuer_dn: Some(tbs.issuer.to_string()),
        ..Signer::default()
    };
    if let Ok(Some((_, san))) = tbs.get::<SubjectAltName>() {
        for name in san.0 {
            match name {
                GeneralName::Rfc822Name(s) => signer.sans.push(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => signer.sans.push(s.to_string()),
                GeneralName::DnsName(s) => signer.sans.push(s.to_string()),
                _ => {}
            }
        }
    }
    let extension = |arc: u32| -> Option<String> {
        let oid = der::oid::ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{arc}")).ok()?;
        let ext = tbs.extensions.as_ref()?.iter().find(|e| e.extn_id == oid)?;
        let bytes = ext.extn_value.as_bytes();
        if arc <= 6 {
            std::str::from_utf8(bytes).ok().map(str::to_owned)
        } else {
            der::asn1::Utf8StringRef::from_der(bytes)
                .ok()
                .map(|s| s.as_str().to_owned())
        }
    };
    for (arc, name) in FULCIO_ARCS {
        if let Some(value) = extension(arc) {
            signer.extensions.push((name, value));
        }
    }
    signer.oidc_issuer = extension(8).or_else(|| extension(1));
    signer.repository = extension(12).or_else(|| extension(5));
    signer.git_ref = extension(14).or_else(|| extension(6));
    signer
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_hashedrekord_with_a_bare_key_names_its_fingerprint() {
        let key = crate::keys::EcdsaP256Signer::generate();
        let body = json!({"kind": "hashedrekord", "spec": {"signature": {
            "publicKey": {"content": B64.encode(key.public_pem())}}}});
        let found = signers(&body);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].key_fingerprint,
            hex::encode(Sha256::digest(key.public_spki_der()))
        );
        assert!(found[0].sans.is_empty() && found[0].validity.is_none());
        assert!(signers(&json!({"kind": "unknown"})).is_empty());
        let garbage = json!({"kind": "hashedrekord", "spec": {"signature": {
            "publicKey": {"content": B64.encode("not a pem")}}}});
        assert!(signers(&garbage).is_empty());
    }

    #[test]
    fn v2_verifiers_name_their_key_or_certificate() {
        let key = crate::keys::EcdsaP256Signer::generate();
        let spki = key.public_spki_der();
        let body = json!({"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {
            "hashedRekordV002": {"signature": {"verifier": {
                "publicKey": {"rawBytes": B64.encode(&spki)},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}});
        let found = signers(&body);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key_fingerprint, hex::encode(Sha256::digest(&spki)));

        let dsse = json!({"apiVersion": "0.0.2", "kind": "dsse", "spec": {"dsseV002": {
        "signatures": [
            {"verifier": {"publicKey": {"rawBytes": B64.encode(&spki)}}},
            {"verifier": {"x509Certificate": {"rawBytes": B64.encode(b"not DER")}}},
        ]}}});
        let found = signers(&dsse);
        assert_eq!(found.len(), 1, "the unreadable certificate names no one");
        assert_eq!(found[0].key_fingerprint, hex::encode(Sha256::digest(&spki)));
    }
}
