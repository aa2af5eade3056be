//! Fulcio parity findings: URL joining as Go's `url.JoinPath`, lenient
//! `email`/`email_verified`, IssuerClaim values and `uri` subjects.

use super::*;

fn github() -> OidcIssuerConfig {
    OidcIssuerConfig::new(
        "https://token.actions.githubusercontent.com",
        IssuerType::GithubWorkflow,
    )
}

/// GitHub claims for a workflow run on `git_ref`.
fn github_on(git_ref: &str) -> serde_json::Value {
    let mut claims = github_claims();
    let wf = format!("octo-org/octo-repo/.github/workflows/release.yml@{git_ref}");
    claims["ref"] = json!(git_ref);
    claims["workflow_ref"] = json!(wf);
    claims["job_workflow_ref"] = json!(wf);
    claims
}

#[test]
fn github_refs_are_escaped_as_go_joins_them() {
    let base = "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@";
    for (git_ref, escaped) in [
        ("refs/heads/fix#12", "refs/heads/fix%2312"),
        ("refs/heads/my branch", "refs/heads/my%20branch"),
        ("refs/heads/100%25", "refs/heads/100%25"),
        ("refs/heads/café", "refs/heads/caf%C3%A9"),
        ("refs/heads/a/../b", "refs/heads/b"),
    ] {
        let p = Principal::from_token(&token(github(), github_on(git_ref))).unwrap();
        let want = format!("{base}{escaped}");
        assert_eq!(p.san(), &SubjectName::Uri(want.clone()), "{git_ref}");
        assert_eq!(field(&p, ExtensionField::BuildSignerUri), want);
        assert_eq!(field(&p, ExtensionField::BuildConfigUri), want);
        // the raw ref is still what .6 and .14 record
        assert_eq!(field(&p, ExtensionField::SourceRepositoryRef), git_ref);
        p.fulcio_extensions().unwrap();
    }
    // a bare % would make Go drop the path (one URI for every workflow): refused
    assert!(matches!(
        refuse(&github(), github_on("refs/heads/100%")),
        IdentityError::UrlJoin { .. }
    ));
}

#[test]
fn gitlab_non_ascii_refs_are_escaped_not_refused() {
    let iss = OidcIssuerConfig::new("https://gitlab.com", IssuerType::GitlabPipeline);
    let mut claims = gitlab_claims();
    claims["ref"] = json!("café fix");
    claims["ci_config_ref_uri"] =
        json!("gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/café fix");
    let p = Principal::from_token(&token(iss, claims)).unwrap();
    let want = "https://gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/caf%C3%A9%20fix";
    assert_eq!(p.san().as_str(), want);
    assert_eq!(field(&p, ExtensionField::BuildConfigUri), want);
    assert_eq!(
        field(&p, ExtensionField::SourceRepositoryRef),
        "refs/heads/café fix"
    );
}

#[test]
fn chainguard_and_codefresh_use_go_joining() {
    let iss = OidcIssuerConfig::new("https://issuer.enforce.dev", IssuerType::ChainguardIdentity);
    let p = Principal::from_token(&token(
        iss,
        json!({"iss":"https://issuer.enforce.dev","sub":"grp/id#x y"}),
    ))
    .unwrap();
    assert_eq!(
        p.san().as_str(),
        "https://issuer.enforce.dev/grp/id%23x%20y"
    );

    let iss = OidcIssuerConfig::new("https://oidc.codefresh.io", IssuerType::CodefreshWorkflow);
    let p = Principal::from_token(&token(
        iss,
        json!({"iss":"https://oidc.codefresh.io","sub":"s","account_id":"a1","pipeline_id":"p1",
               "workflow_id":"w 1","account_name":"acme","pipeline_name":"proj/pipe",
               "platform_url":"https://cf.example.com/"}),
    ))
    .unwrap();
    assert_eq!(
        p.san().as_str(),
        "https://cf.example.com/acme/proj/pipe:a1/p1"
    );
    assert_eq!(
        field(&p, ExtensionField::BuildConfigUri),
        "https://cf.example.com/build/w%201"
    );
}

#[test]
fn email_claims_are_read_only_where_used() {
    // a GitHub or Kubernetes issuer never reads email / email_verified
    let mut claims = github_claims();
    claims["email_verified"] = json!(1);
    claims["email"] = json!({"not": "a string"});
    Principal::from_token(&token(github(), claims)).unwrap();
    let k8s = OidcIssuerConfig::new("https://k8s.example.com", IssuerType::Kubernetes);
    Principal::from_token(&token(
        k8s,
        json!({"iss":"https://k8s.example.com","sub":"system:serviceaccount:ns:sa",
               "email_verified":"maybe","email":7,
               "kubernetes.io":{"namespace":"ns","serviceaccount":{"name":"sa"}}}),
    ))
    .unwrap();

    // the email type takes what Go's strconv.ParseBool takes for true
    let iss = OidcIssuerConfig::new("https://issuer", IssuerType::Email);
    for yes in ["1", "t", "T", "TRUE", "true", "True"] {
        let p = Principal::from_token(&token(
            iss.clone(),
            json!({"iss":"https://issuer","email":"a@b.c","email_verified":yes}),
        ))
        .unwrap();
        assert_eq!(p.name(), "a@b.c", "{yes}");
    }
    assert_eq!(
        refuse(
            &iss,
            json!({"iss":"https://issuer","email":"a@b.c","email_verified":1})
        ),
        IdentityError::EmailNotVerified
    );
    assert!(matches!(
        refuse(
            &iss,
            json!({"iss":"https://issuer","email":["a@b.c"],"email_verified":true})
        ),
        IdentityError::ClaimType { .. }
    ));
    // chainguard reads email only when present, as a string
    let cg = OidcIssuerConfig::new("https://issuer.enforce.dev", IssuerType::ChainguardIdentity);
    assert!(matches!(
        refuse(
            &cg,
            json!({"iss":"https://issuer.enforce.dev","sub":"x","email":1})
        ),
        IdentityError::ClaimType { .. }
    ));
}

#[test]
fn issuer_claim_must_be_a_non_empty_string() {
    let mut iss = OidcIssuerConfig::new("https://dex.example.com", IssuerType::Email);
    iss.issuer_claim = Some("$.federated_claims.connector_id".into());
    for value in [
        json!(null),
        json!(""),
        json!({"a": 1}),
        json!(5),
        json!(["x"]),
    ] {
        let err = refuse(
            &iss,
            json!({"iss":"https://dex.example.com","email":"a@b.c","email_verified":true,
                   "federated_claims":{"connector_id": value}}),
        );
        assert!(
            matches!(err, IdentityError::IssuerClaim(_)),
            "{value}: {err}"
        );
    }
}

#[test]
fn uri_subjects_must_be_in_normal_form() {
    let mut iss = OidcIssuerConfig::new("https://issuer", IssuerType::Uri);
    iss.subject_domain = Some("https://ci.example.com".into());
    let t = |sub: &str| json!({"iss":"https://issuer","sub":sub});
    Principal::from_token(&token(iss.clone(), t("https://ci.example.com/job/1"))).unwrap();
    for bad in [
        "https://ci.example.com\\@evil.example/x",
        "https://ci.example.com/a\\b",
        "https://ci.example.com/a b",
        "https://ci.example.com/a\tb",
        "https://ci.example.com/a\u{7f}",
        " https://ci.example.com/a",
        "https://CI.example.com/a",
        "https://ci.example.com:443/a",
        "https://ci.example.com/a/../b",
        "https://ci.example.com",
    ] {
        assert!(
            matches!(refuse(&iss, t(bad)), IdentityError::InvalidSubject { .. }),
            "{bad:?}"
        );
    }
}
