//! `sigil token`: prints a fresh JWT from the development OIDC issuer of a
//! `sigil dev` data directory.

use anyhow::bail;
use dev_oidc::{DevIssuer, Identity};

use crate::cli::TokenArgs;
use crate::data_dir::DataDir;

pub(crate) fn run(args: &TokenArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data_dir)?;
    let (instance, key) = dir.load_issuer()?;
    let identity = match (&args.identity.email, &args.identity.subject) {
        (Some(email), None) => {
            if !email.contains('@') {
                bail!("--email {email:?} is not an email address");
            }
            Identity::Email(email)
        }
        (None, Some(subject)) => {
            // The CA maps a subject-only token to a URI SAN, so it must be a URI.
            if url_scheme(subject).is_none() {
                bail!(
                    "--subject {subject:?} is not a URI (e.g. https://ci.example.com/pipelines/7)"
                );
            }
            Identity::Subject(subject)
        }
        // clap's argument group makes exactly one of them present.
        _ => bail!("give exactly one of --email or --subject"),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    println!(
        "{}",
        DevIssuer::new(&instance.oidc_issuer, key).mint(&identity, now)
    );
    Ok(())
}

/// The scheme of an absolute URI, if `s` is one.
fn url_scheme(s: &str) -> Option<&str> {
    let (scheme, rest) = s.split_once(':')?;
    let valid = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (valid && !rest.is_empty()).then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_must_be_absolute_uris() {
        assert_eq!(url_scheme("https://ci.example.com/job/1"), Some("https"));
        assert_eq!(url_scheme("spiffe://example.org/ns/a"), Some("spiffe"));
        assert_eq!(url_scheme("alice"), None);
        assert_eq!(url_scheme("1abc:x"), None);
        assert_eq!(url_scheme("https:"), None);
    }
}
