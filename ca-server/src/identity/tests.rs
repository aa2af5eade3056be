use super::*;
use crate::config::{parse_issuer_config, OidcIssuerConfig};
use serde_json::json;
use std::sync::Arc;

fn token(issuer: OidcIssuerConfig, claims: serde_json::Value) -> VerifiedToken {
    let mut parsed: crate::oidc::Claims = serde_json::from_value(claims.clone()).unwrap();
    parsed.other = claims.as_object().unwrap().clone();
    VerifiedToken {
        issuer: Arc::new(issuer),
        claims: parsed,
    }
}

fn refuse(issuer: &OidcIssuerConfig, claims: serde_json::Value) -> IdentityError {
    Principal::from_token(&token(issuer.clone(), claims)).unwrap_err()
}

fn field(p: &Principal, f: ExtensionField) -> &str {
    p.extensions()
        .fields
        .get(&f)
        .map(String::as_str)
        .unwrap_or("")
}

#[test]
fn email_principal() {
    let iss = OidcIssuerConfig::new("https://issuer", IssuerType::Email);
    for verified in [json!(true), json!("true"), json!("True")] {
        let t = token(
            iss.clone(),
            json!({"iss":"https://issuer","sub":"123","email":"a@b.c","email_verified":verified}),
        );
        let p = Principal::from_token(&t).unwrap();
        assert_eq!(p.name(), "a@b.c");
        assert_eq!(p.san(), &SubjectName::Email("a@b.c".into()));
        assert_eq!(p.issuer(), "https://issuer");
        assert_eq!(p.extensions().subject, "123");
    }
    for (claims, want) in [
        (
            json!({"iss":"x","email":"a@b.c","email_verified":false}),
            IdentityError::EmailNotVerified,
        ),
        (
            json!({"iss":"x","email":"a@b.c","email_verified":"false"}),
            IdentityError::EmailNotVerified,
        ),
        (
            json!({"iss":"x","email":"a@b.c"}),
            IdentityError::EmailNotVerified,
        ),
        (
            json!({"iss":"x","sub":"a@b.c","email_verified":true}),
            IdentityError::MissingClaim("email"),
        ),
        (
            json!({"iss":"x","email":"é@b.c","email_verified":true}),
            IdentityError::NotAscii { claim: "email" },
        ),
        (
            json!({"iss":"x","email":"not-an-address","email_verified":true}),
            IdentityError::InvalidEmail("not-an-address".into()),
        ),
    ] {
        assert_eq!(refuse(&iss, claims), want);
    }
}

#[test]
fn email_skip_verification_and_issuer_claim() {
    let mut iss = OidcIssuerConfig::new("https://oauth2.example.com/auth", IssuerType::Email);
    iss.skip_email_verification = true;
    let p = Principal::from_token(&token(
        iss.clone(),
        json!({"iss":"https://oauth2.example.com/auth","sub":"s","email":"a@b.c"}),
    ))
    .unwrap();
    assert_eq!(p.name(), "a@b.c");

    iss.skip_email_verification = false;
    iss.issuer_claim = Some("$.federated_claims.connector_id".into());
    let dex = json!({"iss":"https://oauth2.example.com/auth","sub":"CgQxMjM0EgZnaXRodWI",
        "email":"a@b.c","email_verified":true,
        "federated_claims":{"connector_id":"https://github.com/login/oauth","user_id":"1234"}});
    let p = Principal::from_token(&token(iss.clone(), dex)).unwrap();
    assert_eq!(p.issuer(), "https://github.com/login/oauth");
    let exts = p.fulcio_extensions().unwrap();
    assert_eq!(exts[0].value, b"https://github.com/login/oauth");
    assert!(matches!(
        refuse(
            &iss,
            json!({"iss":"https://oauth2.example.com/auth","email":"a@b.c","email_verified":true})
        ),
        IdentityError::IssuerClaim(_)
    ));
}

#[test]
fn email_or_uri_principal_follows_the_token() {
    let iss = OidcIssuerConfig::new("https://issuer", IssuerType::EmailOrUri);
    let email = token(
        iss.clone(),
        json!({"iss":"https://issuer","sub":"a@b.c","email":"a@b.c","email_verified":true}),
    );
    assert_eq!(
        Principal::from_token(&email).unwrap().san(),
        &SubjectName::Email("a@b.c".into())
    );
    assert_eq!(
        refuse(
            &iss,
            json!({"iss":"https://issuer","sub":"x","email":"a@b.c","email_verified":false})
        ),
        IdentityError::EmailNotVerified
    );
    let workload = token(
        iss.clone(),
        json!({"iss":"https://issuer","sub":"https://ci.example.com/job/1"}),
    );
    let p = Principal::from_token(&workload).unwrap();
    assert_eq!(p.name(), "https://ci.example.com/job/1");
    assert_eq!(
        p.san(),
        &SubjectName::Uri("https://ci.example.com/job/1".into())
    );
    assert!(matches!(
        refuse(&iss, json!({"iss":"https://issuer","sub":"alice"})),
        IdentityError::SubNotUri(_)
    ));
}

#[test]
fn uri_principal() {
    let mut iss = OidcIssuerConfig::new("https://issuer", IssuerType::Uri);
    let t = |sub: &str| json!({"iss":"https://issuer","sub":sub});
    let p = Principal::from_token(&token(iss.clone(), t("https://ci.example.com/job/1"))).unwrap();
    assert_eq!(p.name(), "https://ci.example.com/job/1");
    assert_eq!(p.extensions().subject, "https://ci.example.com/job/1");
    assert!(matches!(
        refuse(&iss, t("not a uri")),
        IdentityError::SubNotUri(_)
    ));
    assert!(matches!(
        refuse(&iss, t("a@b.co")),
        IdentityError::InvalidSubject { .. }
    ));
    iss.subject_domain = Some("https://ci.example.com".into());
    for bad in [
        "http://ci.example.com/job/1",
        "https://evil.example.com/job",
        "https://ci.example.com.evil/x",
    ] {
        assert!(
            matches!(
                refuse(&iss, t(bad)),
                IdentityError::SubjectDomainMismatch { .. }
            ),
            "{bad}"
        );
    }
}

#[test]
fn username_principal() {
    let mut iss = OidcIssuerConfig::new("https://accounts.example.com", IssuerType::Username);
    iss.subject_domain = Some("example.com".into());
    let t = |sub: &str| json!({"iss":"https://accounts.example.com","sub":sub});
    let p = Principal::from_token(&token(iss.clone(), t("alice"))).unwrap();
    assert_eq!(p.name(), "alice");
    assert_eq!(p.san(), &SubjectName::OtherName("alice!example.com".into()));
    assert_eq!(p.extensions().subject, "alice");
    for bad in ["al!ce", "alice@example.com"] {
        assert!(
            matches!(refuse(&iss, t(bad)), IdentityError::InvalidSubject { .. }),
            "{bad}"
        );
    }
    assert_eq!(
        refuse(&iss, json!({"iss":"https://accounts.example.com"})),
        IdentityError::MissingClaim("sub")
    );
}

#[test]
fn spiffe_principal() {
    let mut iss = OidcIssuerConfig::new("https://spire.example.org", IssuerType::Spiffe);
    iss.spiffe_trust_domain = Some("example.org".into());
    let t = |sub: &str| json!({"iss":"https://spire.example.org","sub":sub});
    let p = Principal::from_token(&token(
        iss.clone(),
        t("spiffe://example.org/ns/prod/sa/web"),
    ))
    .unwrap();
    assert_eq!(
        p.san(),
        &SubjectName::Uri("spiffe://example.org/ns/prod/sa/web".into())
    );
    for bad in [
        "spiffe://evil.org/ns/prod/sa/web",
        "spiffe://example.org.evil.org/x",
        "https://example.org/x",
        "spiffe://example.org/a//b",
    ] {
        assert!(
            matches!(refuse(&iss, t(bad)), IdentityError::InvalidSubject { .. }),
            "{bad}"
        );
    }
}

#[test]
fn kubernetes_principal() {
    let iss = OidcIssuerConfig::new("https://kubernetes.default.svc", IssuerType::Kubernetes);
    let claims = json!({"iss":"https://kubernetes.default.svc",
        "sub":"system:serviceaccount:prod:builder",
        "kubernetes.io":{"namespace":"prod","pod":{"name":"p","uid":"u"},
                          "serviceaccount":{"name":"builder","uid":"u2"}}});
    let p = Principal::from_token(&token(iss.clone(), claims)).unwrap();
    assert_eq!(p.name(), "system:serviceaccount:prod:builder");
    assert_eq!(
        p.san(),
        &SubjectName::Uri("https://kubernetes.io/namespaces/prod/serviceaccounts/builder".into())
    );
    assert_eq!(
        refuse(
            &iss,
            json!({"iss":"https://kubernetes.default.svc","sub":"s","kubernetes.io":{"namespace":"prod"}})
        ),
        IdentityError::MissingClaim("kubernetes.io.serviceaccount.name")
    );
}

#[test]
fn github_legacy_requires_every_claim() {
    let iss = OidcIssuerConfig::new(
        "https://token.actions.githubusercontent.com",
        IssuerType::GithubWorkflow,
    );
    let full = github_claims();
    let p = Principal::from_token(&token(iss.clone(), full.clone())).unwrap();
    assert_eq!(p.name(), "repo:octo-org/octo-repo:ref:refs/heads/main");
    assert_eq!(
        p.san().as_str(),
        "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(field(&p, ExtensionField::GithubWorkflowTrigger), "push");
    assert_eq!(
        field(&p, ExtensionField::RunInvocationUri),
        "https://github.com/octo-org/octo-repo/actions/runs/9876543210/attempts/1"
    );
    for claim in [
        "job_workflow_ref",
        "sha",
        "event_name",
        "repository",
        "workflow",
        "ref",
        "job_workflow_sha",
        "runner_environment",
        "repository_id",
        "repository_owner",
        "repository_owner_id",
        "repository_visibility",
        "workflow_ref",
        "workflow_sha",
        "run_id",
        "run_attempt",
    ] {
        let mut claims = full.clone();
        claims.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            refuse(&iss, claims),
            IdentityError::MissingClaim(claim),
            "{claim}"
        );
    }
    let mut claims = full;
    claims["run_id"] = json!(9876543210u64);
    assert!(matches!(
        refuse(&iss, claims),
        IdentityError::ClaimType { .. }
    ));
}

/// A GitHub Actions token, claims as GitHub documents them.
pub(crate) fn github_claims() -> serde_json::Value {
    json!({
        "jti": "example-id", "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
        "aud": "sigstore", "ref": "refs/heads/main", "sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "repository": "octo-org/octo-repo", "repository_owner": "octo-org",
        "repository_owner_id": "123456", "repository_id": "654321",
        "repository_visibility": "public", "run_id": "9876543210", "run_number": "42",
        "run_attempt": "1", "runner_environment": "github-hosted", "actor": "octocat",
        "actor_id": "583231", "workflow": "Release", "head_ref": "", "base_ref": "",
        "event_name": "push", "ref_type": "branch", "ref_protected": "true",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
        "workflow_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "iss": "https://token.actions.githubusercontent.com",
        "nbf": 1632492967, "exp": 1632493867, "iat": 1632493567
    })
}

#[test]
fn gitlab_legacy_ref_type_and_runner_id() {
    let iss = OidcIssuerConfig::new("https://gitlab.com", IssuerType::GitlabPipeline);
    let claims = gitlab_claims();
    let p = Principal::from_token(&token(iss.clone(), claims.clone())).unwrap();
    assert_eq!(
        p.san().as_str(),
        "https://gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main"
    );
    assert_eq!(
        field(&p, ExtensionField::SourceRepositoryRef),
        "refs/heads/main"
    );
    assert_eq!(
        field(&p, ExtensionField::RunInvocationUri),
        "https://gitlab.com/my-group/my-project/-/jobs/302"
    );
    let mut bad = claims.clone();
    bad["ref_type"] = json!("merge_request");
    assert_eq!(
        refuse(&iss, bad),
        IdentityError::UnexpectedRefType("merge_request".into())
    );
    let mut bad = claims;
    bad.as_object_mut().unwrap().remove("runner_id");
    assert_eq!(refuse(&iss, bad), IdentityError::MissingClaim("runner_id"));
}

/// A GitLab CI id_token, claims as GitLab documents them.
pub(crate) fn gitlab_claims() -> serde_json::Value {
    json!({
        "namespace_id": "72", "namespace_path": "my-group", "project_id": "20",
        "project_path": "my-group/my-project", "user_id": "1", "user_login": "sample-user",
        "user_email": "sample-user@example.com", "user_identities": [],
        "pipeline_id": "574", "pipeline_source": "push", "job_id": "302",
        "ref": "main", "ref_type": "branch", "ref_path": "refs/heads/main", "ref_protected": "true",
        "runner_id": 27, "runner_environment": "gitlab-hosted",
        "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc", "project_visibility": "public",
        "ci_config_ref_uri": "gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main",
        "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "jti": "235b3a54-b797-45c7-ae9a-f72d7bc6ef5b", "iss": "https://gitlab.com",
        "iat": 1681395193, "nbf": 1681395188, "exp": 1681398793,
        "sub": "project_path:my-group/my-project:ref_type:branch:ref:main", "aud": "sigstore"
    })
}

#[test]
fn buildkite_and_codefresh_legacy() {
    let iss = OidcIssuerConfig::new("https://agent.buildkite.com", IssuerType::BuildkiteJob);
    let p = Principal::from_token(&token(
        iss.clone(),
        json!({"iss":"https://agent.buildkite.com","sub":"organization:acme:pipeline:deploy:ref:refs/heads/main:commit:abc:step:build",
               "organization_slug":"acme","pipeline_slug":"deploy","build_number":1,"job_id":"j"}),
    ))
    .unwrap();
    assert_eq!(p.san().as_str(), "https://buildkite.com/acme/deploy");
    assert_eq!(
        refuse(
            &iss,
            json!({"iss":"https://agent.buildkite.com","organization_slug":"acme"})
        ),
        IdentityError::MissingClaim("pipeline_slug")
    );

    let iss = OidcIssuerConfig::new("https://oidc.codefresh.io", IssuerType::CodefreshWorkflow);
    let p = Principal::from_token(&token(
        iss.clone(),
        json!({"iss":"https://oidc.codefresh.io","sub":"account:628a80b693a15c0f9c13ab75:pipeline:65e5a53e52853dc51a5b0cc1",
               "account_id":"628a80b693a15c0f9c13ab75","account_name":"codefresh-account",
               "pipeline_id":"65e5a53e52853dc51a5b0cc1","pipeline_name":"oidc-test/get-token",
               "workflow_id":"65e6d5551e5a4b0d9b2b7f0e","scm_repo_url":"https://github.com/codefresh-user/oidc-test",
               "scm_ref":"main","runner_environment":"hybrid"}),
    ))
    .unwrap();
    assert_eq!(
        p.san().as_str(),
        "https://g.codefresh.io/codefresh-account/oidc-test/get-token:628a80b693a15c0f9c13ab75/65e5a53e52853dc51a5b0cc1"
    );
    // Fulcio's codefresh principal: .9, .18 and .21 are all the build URL
    for f in [
        ExtensionField::BuildSignerUri,
        ExtensionField::BuildConfigUri,
        ExtensionField::RunInvocationUri,
    ] {
        assert_eq!(
            field(&p, f),
            "https://g.codefresh.io/build/65e6d5551e5a4b0d9b2b7f0e",
            "{f:?}"
        );
    }
    assert_eq!(
        refuse(
            &iss,
            json!({"iss":"https://oidc.codefresh.io","account_id":"a","pipeline_id":"p"})
        ),
        IdentityError::MissingClaim("workflow_id")
    );
}

#[test]
fn ci_provider_templates_match_the_legacy_github_type() {
    let issuers =
        parse_issuer_config(include_str!("../../tests/fixtures/fulcio-public-ci.yaml")).unwrap();
    let github = issuers
        .iter()
        .find(|i| i.issuer_url == "https://token.actions.githubusercontent.com")
        .unwrap();
    let templated = Principal::from_token(&token(github.clone(), github_claims())).unwrap();
    let legacy = Principal::from_token(&token(
        OidcIssuerConfig::new(&github.issuer_url, IssuerType::GithubWorkflow),
        github_claims(),
    ))
    .unwrap();
    assert_eq!(
        same(&templated),
        same(&legacy),
        "same SAN, name and extensions"
    );

    let gitlab = issuers
        .iter()
        .find(|i| i.issuer_url == "https://gitlab.com")
        .unwrap();
    let templated = Principal::from_token(&token(gitlab.clone(), gitlab_claims())).unwrap();
    let legacy = Principal::from_token(&token(
        OidcIssuerConfig::new(&gitlab.issuer_url, IssuerType::GitlabPipeline),
        gitlab_claims(),
    ))
    .unwrap();
    assert_eq!(same(&templated), same(&legacy));

    // a claim the templates need is missing: refused, naming the extension
    let mut claims = github_claims();
    claims.as_object_mut().unwrap().remove("run_attempt");
    let err = Principal::from_token(&token(github.clone(), claims)).unwrap_err();
    assert!(
        matches!(&err, IdentityError::CiTemplate { extension, .. } if extension == "RunInvocationURI"),
        "{err}"
    );
    // claims beat defaults: a self-hosted GitHub Enterprise url claim
    let mut claims = github_claims();
    claims["url"] = json!("https://ghe.example.com");
    let p = Principal::from_token(&token(github.clone(), claims)).unwrap();
    assert!(p
        .san()
        .as_str()
        .starts_with("https://ghe.example.com/octo-org/"));
    // an environment claim fills .23; without it the empty default omits it
    let mut claims = github_claims();
    claims["environment"] = json!("production");
    let p = Principal::from_token(&token(github.clone(), claims)).unwrap();
    assert_eq!(
        field(&p, ExtensionField::DeploymentEnvironment),
        "production"
    );
}

/// What a certificate shows of a principal.
fn same(p: &Principal) -> (String, SubjectName, Vec<FulcioExtension>) {
    (
        p.name().to_owned(),
        p.san().clone(),
        p.fulcio_extensions().unwrap(),
    )
}

mod parity;
