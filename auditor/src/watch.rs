//! What an auditor watches for in a Rekor v1 entry: rules over the signers
//! `shared::entry::signers` reads from an entry's verification material.

pub(crate) use shared::entry::signers::{signers, Signer};

/// One rule: an entry matches when a signer satisfies every part given.
#[derive(Clone, Debug, Default)]
pub struct Rule {
    /// A human name for the rule, printed with each match.
    pub name: String,
    pub san: Option<SanMatch>,
    pub issuer: Option<String>,
    /// `owner/repo` or the repository URL.
    pub repository: Option<String>,
    pub git_ref: Option<String>,
    pub key_fingerprint: Option<String>,
}

/// How a SAN is matched.
#[derive(Clone, Debug)]
pub enum SanMatch {
    Exact(String),
    /// Anchored at both ends (the `regex` crate runs in linear time).
    Pattern(regex::Regex),
}

impl Rule {
    pub fn matches(&self, signer: &Signer) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(sans: &[&str], issuer: &str, repo: &str, git_ref: &str) -> Signer {
        Signer {
            key_fingerprint: "ab".repeat(32),
            sans: sans.iter().map(|s| (*s).to_owned()).collect(),
            oidc_issuer: Some(issuer.to_owned()),
            repository: Some(repo.to_owned()),
            git_ref: Some(git_ref.to_owned()),
            ..Signer::default()
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
            repository: Some("cme/app".into()),
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
}
