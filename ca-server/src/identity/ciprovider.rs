//! `ci-provider`: the SAN and extensions come from the issuer's
//! `CIIssuerMetadata` (Fulcio `pkg/identity/ciprovider`): every claim is
//! rendered as a string, merged over the default template values (claims
//! win), and each template is executed — or, without `{{`, names a claim.
//! The issuer (.1/.8) and subject (.24) always come from the token.

use std::collections::BTreeMap;

use super::claims::claims_as_strings;
use super::extensions::Extensions;
use super::{IdentityError, Principal, SubjectName};
use crate::config::ValueTemplate;
use crate::oidc::VerifiedToken;

pub(super) fn principal(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let metadata = token
        .issuer
        .ci_metadata
        .as_ref()
        .ok_or(IdentityError::Misconfigured("CIIssuerMetadata"))?;
    let mut data = metadata.default_template_values.clone();
    data.extend(claims_as_strings(&token.claims.other));
    let san_template =
        metadata
            .subject_alternative_name_template
            .as_ref()
            .ok_or(IdentityError::Misconfigured(
                "SubjectAlternativeNameTemplate",
            ))?;
    let san = apply(san_template, &data, "SubjectAlternativeName")?;
    if !san.is_ascii() || url::Url::parse(&san).is_err() {
        return Err(IdentityError::CiTemplate {
            extension: "SubjectAlternativeName".into(),
            reason: format!("{san:?} is not an absolute ASCII URI"),
        });
    }
    let sub = token.claims.sub.clone().unwrap_or_default();
    let mut extensions = Extensions::new(&token.claims.iss, &sub);
    for (field, template) in &metadata.extension_templates {
        let value = apply(template, &data, field.json_name())?;
        extensions.fields.insert(*field, value);
    }
    Ok(Principal {
        name: sub,
        san: SubjectName::Uri(san),
        extensions,
    })
}

fn apply(
    template: &ValueTemplate,
    data: &BTreeMap<String, String>,
    extension: &str,
) -> Result<String, IdentityError> {
    let fail = |reason: String| IdentityError::CiTemplate {
        extension: extension.to_owned(),
        reason,
    };
    match template {
        ValueTemplate::Template(t) => t
            .execute(data)
            .map_err(|e| fail(format!("template {:?}: {e}", t.source()))),
        ValueTemplate::Claim(claim) => data.get(claim).cloned().ok_or_else(|| {
            fail(format!(
                "value <{claim}> not present in either claims or defaults"
            ))
        }),
    }
}
