//! What an auditor watches for in a Rekor v1 entry, and what the entry says
//! about who signed it. The verification material sits where each kind puts
//! it (docs/rekor-wire.md §2): hashedrekord `spec.signature.publicKey.content`,
//! dsse `spec.signatures[].verifier`, intoto
//! `spec.content.envelope.signatures[].publicKey`, each base64 of a PEM key
//! or certificate (chain). From a Fulcio certificate come its SANs and the
//! Sigstore extensions under 1.3.6.1.4.1.57264.1 (docs/fulcio-wire.md §4):
//! the OIDC issuer (.1 raw, .8 DER UTF8String), the GitHub workflow
//! repository and ref (.5 and .6 raw), the source repository URI and ref
//! (.12 and .14 DER UTF8String).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use der::Decode as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// Who signed an entry, as its verification material says.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Signer {
    /// Lower-case hex SHA-256 of the signing key's DER SPKI.
    pub(crate) key_fingerprint: String,
    /// The leaf certificate's SANs (email, URI, DNS); empty for a bare key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) sans: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) oidc_issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) repository: Option<String>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub(crate) git_ref: Option<String>,
}

/// One rule: an entry matches when a signer satisfies every part given.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rule {
    /// A human name for the rule, printed with each match.
    pub(crate) name: String,
    pub(crate) san: Option<SanMatch>,
    pub(crate) issuer: Option<String>,
    /// `owner/repo` or the repository URL.
    pub(crate) repository: Option<String>,
    pub(crate) git_ref: Option<String>,
    pub(crate) key_fingerprint: Option<String>,
}

/// How a SAN is matched.
#[derive(Clone, Debug)]
pub(crate) enum SanMatch {
    Exact(String),
    /// Anchored at both ends (the `regex` crate runs in linear time).
    Pattern(regex::Regex),
}

impl Rule {
    pub(crate) fn matches(&self, signer: &Signer) -> bool {
        let san_ok = match &self.san {
            None => true,
            Some(SanMatch::Exact(want)) => signer.sans.iter().any(|s| s == want),
            Some(SanMatch::Pattern(re)) => signer.sans.iter().any(|s| re.is_match(s)),
        };
        let issuer_ok = self
            .issuer
            .as_ref()
            .is_none_or(|want| signer.oidc_issuer.as_ref() == Some(want));
        let repo_ok = self.repository.as_ref().is_none_or(|want| {
            signer
                .repository
                .as_ref()
                .is_some_and(|have| have == want || have.ends_with(&format!("/{want}")))
        });
        let ref_ok = self
            .git_ref
            .as_ref()
            .is_none_or(|want| signer.git_ref.as_ref() == Some(want));
        let key_ok = self
            .key_fingerprint
            .as_ref()
            .is_none_or(|want| signer.key_fingerprint.eq_ignore_ascii_case(want));
        san_ok && issuer_ok && repo_ok && ref_ok && key_ok
    }
}

/// The signers a canonical entry body (the JSON Rekor stores) names; an
/// entry of another shape, or material that does not parse, names none.
pub(crate) fn signers(body: &Value) -> Vec<Signer> {
    let spec = &body["spec"];
    let materials: Vec<&Value> = match body["kind"].as_str() {
        Some("hashedrekord") => vec![&spec["signature"]["publicKey"]["content"]],
        Some("dsse") => spec["signatures"]
            .as_array()
            .map(|a| a.iter().map(|s| &s["verifier"]).collect())
            .unwrap_or_default(),
        Some("intoto") => spec["content"]["envelope"]["signatures"]
            .as_array()
            .map(|a| a.iter().map(|s| &s["publicKey"]).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    materials
        .into_iter()
        .filter_map(|m| B64.decode(m.as_str()?).ok())
        .filter_map(|pem| signer_of(&pem))
        .collect()
}

/// The signer a PEM key or certificate chain (leaf first) describes.
fn signer_of(pem: &[u8]) -> Option<Signer> {
    let blocks = shared::keys::pem_blocks(pem).ok()?;
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
    let spki = der::Encode::to_der(&tbs.subject_public_key_info).unwrap_or_default();
    let mut signer = Signer {
        key_fingerprint: hex::encode(Sha256::digest(&spki)),
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
    let fulcio = |arc: u32, der_encoded: bool| -> Option<String> {
        let oid = der::oid::ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{arc}")).ok()?;
        let ext = tbs.extensions.as_ref()?.iter().find(|e| e.extn_id == oid)?;
        let bytes = ext.extn_value.as_bytes();
        if der_encoded {
            der::asn1::Utf8StringRef::from_der(bytes)
                .ok()
                .map(|s| s.as_str().to_owned())
        } else {
            std::str::from_utf8(bytes).ok().map(str::to_owned)
        }
    };
    signer.oidc_issuer = fulcio(8, true).or_else(|| fulcio(1, false));
    signer.repository = fulcio(12, true).or_else(|| fulcio(5, false));
    signer.git_ref = fulcio(14, true).or_else(|| fulcio(6, false));
    signer
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn signer(sans: &[&str], issuer: &str, repo: &str, git_ref: &str) -> Signer {
        Signer {
            key_fingerprint: "ab".repeat(32),
            sans: sans.iter().map(|s| (*s).to_owned()).collect(),
            oidc_issuer: Some(issuer.to_owned()),
            repository: Some(repo.to_owned()),
            git_ref: Some(git_ref.to_owned()),
        }
    }

    #[test]
    fn every_part_of_a_rule_must_hold() {
        let ci = signer(
            &["https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"],
            "https://token.actions.githubusercontent.com",
            "https://github.com/acme/app",
            "refs/heads/main",
        );
        let rule = Rule {
            repository: Some("acme/app".into()),
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            ..Rule::default()
        };
        assert!(rule.matches(&ci));
        let other_ref = Rule {
            git_ref: Some("refs/heads/dev".into()),
            ..rule
        };
        assert!(!other_ref.matches(&ci));
        let pattern = Rule {
            san: Some(SanMatch::Pattern(
                regex::Regex::new(r"^https://github\.com/acme/.*$").unwrap(),
            )),
            ..Rule::default()
        };
        assert!(pattern.matches(&ci));
        let not_acme = Rule {
            repository: Some("acme/application".into()),
            ..Rule::default()
        };
        assert!(
            !not_acme.matches(&ci),
            "a suffix match is on a whole path segment"
        );
        let key = Rule {
            key_fingerprint: Some("AB".repeat(32)),
            ..Rule::default()
        };
        assert!(key.matches(&ci));
    }

    #[test]
    fn a_hashedrekord_with_a_bare_key_names_its_fingerprint() {
        let key = shared::keys::EcdsaP256Signer::generate();
        let body = json!({"kind": "hashedrekord", "spec": {"signature": {
            "publicKey": {"content": B64.encode(key.public_pem())}}}});
        let found = signers(&body);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].key_fingerprint,
            hex::encode(Sha256::digest(key.public_spki_der()))
        );
        assert!(found[0].sans.is_empty());
        assert!(signers(&json!({"kind": "unknown"})).is_empty());
    }
}
