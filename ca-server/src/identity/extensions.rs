//! The Sigstore certificate extensions under 1.3.6.1.4.1.57264.1 (Fulcio
//! `pkg/certificate/extensions.go`, docs/fulcio-wire.md §3): which OID carries
//! what, and how each value is encoded — .1 to .6 as the raw string bytes
//! (a historical mistake clients now depend on), .8 to .24 as a DER
//! UTF8String. Empty values are omitted, except the issuer, which is always
//! present.

use std::collections::BTreeMap;

use const_oid::ObjectIdentifier;
use der::asn1::Utf8StringRef;
use der::Encode;

use crate::config::ExtensionField;

/// .2–.6 are raw bytes; everything later is a DER UTF8String.
fn is_raw(field: ExtensionField) -> bool {
    field.arc() <= 6
}

/// The full OID of arc `n` under 1.3.6.1.4.1.57264.1.
pub fn fulcio_oid(arc: u32) -> ObjectIdentifier {
    // Building from arcs of a fixed valid prefix cannot fail; fall back to
    // the issuer OID only to avoid a panic path.
    ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{arc}"))
        .unwrap_or(shared::oids::FULCIO_ISSUER_V1)
}

/// One rendered extension: OID and the extnValue contents. Never critical.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulcioExtension {
    pub oid: ObjectIdentifier,
    pub value: Vec<u8>,
}

/// What a principal puts into the Sigstore extensions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// .1 (raw) and .8 (UTF8String): the token's `iss`, or the IssuerClaim value.
    pub issuer: String,
    /// .24: the token's `sub`.
    pub subject: String,
    /// .2–.6 and .9–.23.
    pub fields: BTreeMap<ExtensionField, String>,
}

impl Extensions {
    pub fn new(issuer: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            subject: subject.into(),
            fields: BTreeMap::new(),
        }
    }

    /// Sets `field` (an empty value is kept out of the certificate at render).
    pub fn with(mut self, field: ExtensionField, value: impl Into<String>) -> Self {
        self.fields.insert(field, value.into());
        self
    }

    /// The extensions in OID order: .1, .2–.6, .8, .9–.23, .24.
    pub fn render(&self) -> Result<Vec<FulcioExtension>, der::Error> {
        let utf8 = |s: &str| Utf8StringRef::new(s)?.to_der();
        let mut out = vec![FulcioExtension {
            oid: shared::oids::FULCIO_ISSUER_V1,
            value: self.issuer.as_bytes().to_vec(),
        }];
        let mut issuer_v2_done = false;
        for (field, value) in &self.fields {
            if value.is_empty() {
                continue;
            }
            if !is_raw(*field) && !issuer_v2_done {
                out.push(FulcioExtension {
                    oid: shared::oids::FULCIO_ISSUER_V2,
                    value: utf8(&self.issuer)?,
                });
                issuer_v2_done = true;
            }
            let value = if is_raw(*field) {
                value.as_bytes().to_vec()
            } else {
                utf8(value)?
            };
            out.push(FulcioExtension {
                oid: fulcio_oid(field.arc()),
                value,
            });
        }
        if !issuer_v2_done {
            out.push(FulcioExtension {
                oid: shared::oids::FULCIO_ISSUER_V2,
                value: utf8(&self.issuer)?,
            });
        }
        if !self.subject.is_empty() {
            out.push(FulcioExtension {
                oid: fulcio_oid(24),
                value: utf8(&self.subject)?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_names_and_order() {
        assert_eq!(
            fulcio_oid(9).to_string(),
            "1.3.6.1.4.1.57264.1.9",
            "build signer URI"
        );
        let mut arcs: Vec<u32> = ExtensionField::ALL.iter().map(|f| f.arc()).collect();
        let sorted = arcs.clone();
        arcs.sort();
        assert_eq!(arcs, sorted, "ALL is in OID order");
        assert_eq!(
            ExtensionField::from_config_key("BuildSignerURI"),
            Some(ExtensionField::BuildSignerUri)
        );
        assert_eq!(
            ExtensionField::from_config_key("source-repository-visibility-at-signing"),
            Some(ExtensionField::SourceRepositoryVisibilityAtSigning)
        );
        assert_eq!(ExtensionField::from_config_key("issuer"), None);
    }

    #[test]
    fn render_encodings_and_order() {
        let ext = Extensions::new("https://iss", "repo:o/r")
            .with(ExtensionField::BuildTrigger, "push")
            .with(ExtensionField::GithubWorkflowSha, "abc")
            .with(ExtensionField::DeploymentEnvironment, "");
        let out = ext.render().unwrap();
        let got: Vec<(String, Vec<u8>)> = out
            .iter()
            .map(|e| (e.oid.to_string(), e.value.clone()))
            .collect();
        let p = "1.3.6.1.4.1.57264.1.";
        assert_eq!(
            got,
            vec![
                (format!("{p}1"), b"https://iss".to_vec()),
                (format!("{p}3"), b"abc".to_vec()),
                (format!("{p}8"), [&[0x0c, 11][..], b"https://iss"].concat()),
                (format!("{p}20"), [&[0x0c, 4][..], b"push"].concat()),
                (format!("{p}24"), [&[0x0c, 8][..], b"repo:o/r"].concat()),
            ]
        );
        // no subject: no .24
        let out = Extensions::new("i", "").render().unwrap();
        assert_eq!(out.len(), 2);
    }
}
