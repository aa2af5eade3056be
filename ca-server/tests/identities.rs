//! Every identity type end to end over HTTP (docs/fulcio-wire.md §3, §4): a CA
//! loaded from a Fulcio-format config, tokens shaped like each provider's
//! from a local OIDC issuer, and the issued certificate checked field by
//! field — SAN type, value and criticality, then each 57264.1.x extension's
//! OID, criticality and exact bytes, in order. Refusals are 400s that issue
//! nothing.

#![allow(clippy::unwrap_used)]

mod common;
mod idp;

use der::asn1::Ia5String;
use idp::{assert_fulcio_extensions, san, uri_san, Idp, Stack};
use serde_json::{json, Value};
use x509_cert::ext::pkix::name::GeneralName;

/// The config under test: one issuer per type on the local provider, plus a
/// Kubernetes meta-issuer and the GitHub/GitLab ci-provider templates of
/// Fulcio's public config.
fn config(idp: &Idp) -> String {
    let u = |name: &str| idp.url(name);
    let public = include_str!("fixtures/fulcio-public-ci.yaml");
    let metadata = &public[public.find("ci-issuer-metadata:").unwrap()..];
    let anchors = &public[public.find("define:").unwrap()..public.find("oidc-issuers:").unwrap()];
    format!(
        r#"{anchors}
oidc-issuers:
  {email}:
    issuer-url: {email}
    client-id: sigstore
    type: email
  {dex}:
    client-id: sigstore
    type: email
    issuer-claim: $.federated_claims.connector_id
  {entra}:
    client-id: sigstore
    type: email
    skip-email-verification: true
  {username}:
    client-id: sigstore
    type: username
    subject-domain: localhost
  {uri}:
    client-id: sigstore
    type: uri
    subject-domain: http://localhost
  {spiffe}:
    client-id: sigstore
    type: spiffe
    spiffe-trust-domain: prod.example.org
  {k8s}:
    client-id: sigstore
    type: kubernetes
  {github}:
    client-id: sigstore
    type: github-workflow
  {gitlab}:
    client-id: sigstore
    type: gitlab-pipeline
  {buildkite}:
    client-id: sigstore
    type: buildkite-job
  {codefresh}:
    client-id: sigstore
    type: codefresh-workflow
  {chainguard}:
    client-id: sigstore
    type: chainguard-identity
  {gh_ci}:
    client-id: sigstore
    type: ci-provider
    ci-provider: *github-type
  {gl_ci}:
    client-id: sigstore
    type: ci-provider
    ci-provider: *gitlab-type
meta-issuers:
  {eks}:
    client-id: sigstore
    type: kubernetes
{metadata}"#,
        email = u("email"),
        dex = u("dex"),
        entra = u("entra"),
        username = u("username"),
        uri = u("uri"),
        spiffe = u("spiffe"),
        k8s = u("k8s"),
        github = u("github"),
        gitlab = u("gitlab"),
        buildkite = u("buildkite"),
        codefresh = u("codefresh"),
        chainguard = u("chainguard"),
        gh_ci = u("gh-ci"),
        gl_ci = u("gl-ci"),
        eks = u("eks-*/id/*"),
    )
}

async fn setup() -> (Idp, Stack) {
    let idp = Idp::start_http().await;
    let stack = Stack::start(&config(&idp)).await;
    (idp, stack)
}

/// A GitHub Actions token's claims (as GitHub documents them) for `iss`.
fn github_claims(idp: &Idp, iss: &str) -> Value {
    idp.claims(
        iss,
        json!({
            "jti": "8f0c1b4e", "sub": "repo:octo-org/octo-repo:environment:prod",
            "ref": "refs/heads/main", "sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            "repository": "octo-org/octo-repo", "repository_owner": "octo-org",
            "repository_owner_id": "123456", "repository_id": "654321",
            "repository_visibility": "private", "run_id": "9876543210", "run_number": "42",
            "run_attempt": "2", "runner_environment": "github-hosted", "actor": "octocat",
            "actor_id": "583231", "workflow": "Release", "head_ref": "", "base_ref": "",
            "event_name": "push", "ref_type": "branch", "ref_protected": "true",
            "environment": "prod",
            "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
            "workflow_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            "job_workflow_ref": "octo-org/shared/.github/workflows/build.yml@refs/tags/v1",
            "job_workflow_sha": "0f0e0d0c0b0a09080706050403020100f0e0d0c0"
        }),
    )
}

/// A GitLab CI id_token's claims for `iss`.
fn gitlab_claims(idp: &Idp, iss: &str) -> Value {
    idp.claims(
        iss,
        json!({
            "namespace_id": "72", "namespace_path": "my-group", "project_id": "20",
            "project_path": "my-group/my-project", "user_id": "1", "user_login": "sample-user",
            "user_email": "sample-user@example.com", "user_access_level": "owner",
            "pipeline_id": "574", "pipeline_source": "push", "job_id": "302",
            "ref": "v1.2.0", "ref_type": "tag", "ref_path": "refs/tags/v1.2.0",
            "ref_protected": "true", "runner_id": 27, "runner_environment": "gitlab-hosted",
            "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc", "project_visibility": "internal",
            "ci_config_ref_uri": "gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/tags/v1.2.0",
            "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
            "jti": "235b3a54", "sub": "project_path:my-group/my-project:ref_type:tag:ref:v1.2.0"
        }),
    )
}

#[tokio::test]
async fn email_plain_dex_and_skip_verification() {
    let (idp, stack) = setup().await;
    let iss = idp.url("email");
    let token = idp.sign(&idp.claims(
        &iss,
        json!({"sub":"00u1abcd","email":"alice@example.com","email_verified":true}),
    ));
    let cert = stack.certificate(&token, "alice@example.com").await;
    let email = GeneralName::Rfc822Name(Ia5String::new("alice@example.com").unwrap());
    assert_eq!(san(&cert), (true, email.clone()));
    assert_fulcio_extensions(&cert, &[(1, &iss), (8, &iss), (24, "00u1abcd")]);

    // Dex: the issuer extensions carry the upstream connector (IssuerClaim).
    let dex = idp.url("dex");
    let token = idp.sign(&idp.claims(
        &dex,
        json!({"sub":"CgQxMjM0EgZnaXRodWI","email":"alice@example.com","email_verified":true,
               "federated_claims":{"connector_id":"https://github.com/login/oauth","user_id":"1234"}}),
    ));
    let cert = stack.certificate(&token, "alice@example.com").await;
    let upstream = "https://github.com/login/oauth";
    assert_fulcio_extensions(
        &cert,
        &[(1, upstream), (8, upstream), (24, "CgQxMjM0EgZnaXRodWI")],
    );

    // email_verified false: refused, unless the issuer skips the check.
    let unverified = json!({"sub":"x","email":"bob@example.com","email_verified":false});
    let token = idp.sign(&idp.claims(&iss, unverified.clone()));
    stack
        .refused(&token, "bob@example.com", "email_verified must be true")
        .await;
    let entra = idp.url("entra");
    let token = idp.sign(&idp.claims(&entra, json!({"sub":"x","email":"bob@example.com"})));
    let cert = stack.certificate(&token, "bob@example.com").await;
    assert_eq!(
        san(&cert).1,
        GeneralName::Rfc822Name(Ia5String::new("bob@example.com").unwrap())
    );
}

#[tokio::test]
async fn username_uri_spiffe() {
    let (idp, stack) = setup().await;

    let iss = idp.url("username");
    let token = idp.sign(&idp.claims(&iss, json!({"sub":"alice"})));
    let cert = stack.certificate(&token, "alice").await;
    let ext = cert
        .tbs_certificate
        .extensions
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
        .unwrap();
    assert!(ext.critical);
    // SEQUENCE { [0] otherName { OID 1.3.6.1.4.1.57264.1.7, [0] EXPLICIT UTF8String } }
    let name = b"alice!localhost";
    let mut want = vec![0x30, 0x21, 0xa0, 0x1f, 0x06, 0x0a];
    want.extend([0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x07]);
    want.extend([0xa0, 0x11, 0x0c, 0x0f]);
    want.extend(name);
    assert_eq!(ext.extn_value.as_bytes(), want.as_slice());
    assert_fulcio_extensions(&cert, &[(1, &iss), (8, &iss), (24, "alice")]);
    let token = idp.sign(&idp.claims(&iss, json!({"sub":"ev!l"})));
    stack.refused(&token, "ev!l", "cannot contain '!'").await;

    let iss = idp.url("uri");
    let sub = "http://localhost/workloads/builder";
    let token = idp.sign(&idp.claims(&iss, json!({ "sub": sub })));
    let cert = stack.certificate(&token, sub).await;
    assert_eq!(san(&cert), (true, uri_san(sub)));
    assert_fulcio_extensions(&cert, &[(1, &iss), (8, &iss), (24, sub)]);
    for outside in [
        "https://localhost/workloads/builder",
        "http://evil.example/x",
    ] {
        let token = idp.sign(&idp.claims(&iss, json!({ "sub": outside })));
        stack.refused(&token, outside, "subject domain").await;
    }

    let iss = idp.url("spiffe");
    let id = "spiffe://prod.example.org/ns/payments/sa/api";
    let token = idp.sign(&idp.claims(&iss, json!({"sub": id, "aud": ["sigstore", "spire"]})));
    let cert = stack.certificate(&token, id).await;
    assert_eq!(san(&cert), (true, uri_san(id)));
    assert_fulcio_extensions(&cert, &[(1, &iss), (8, &iss), (24, id)]);
    let outside = "spiffe://dev.example.org/ns/payments/sa/api";
    let token = idp.sign(&idp.claims(&iss, json!({ "sub": outside })));
    stack
        .refused(&token, outside, "not the configured trust domain")
        .await;
}

#[tokio::test]
async fn kubernetes_and_meta_issuers() {
    let (idp, stack) = setup().await;
    let k8s = |iss: &str| {
        idp.claims(
            iss,
            json!({"sub":"system:serviceaccount:build:signer",
                "kubernetes.io":{"namespace":"build",
                    "pod":{"name":"signer-7d9f","uid":"49ad3572-b3dd-43a6-8d77-5858d3660275"},
                    "serviceaccount":{"name":"signer","uid":"f5720c1d-e152-4356-a897-11b07aff165d"}}}),
        )
    };
    let want_san = uri_san("https://kubernetes.io/namespaces/build/serviceaccounts/signer");
    let sub = "system:serviceaccount:build:signer";
    for iss in [idp.url("k8s"), idp.url("eks-us-west-2/id/B02C93B6A2D30341")] {
        let cert = stack.certificate(&idp.sign(&k8s(&iss)), sub).await;
        assert_eq!(san(&cert), (true, want_san.clone()));
        assert_fulcio_extensions(&cert, &[(1, &iss), (8, &iss), (24, sub)]);
    }
    // GHSA-59jp-pj84-45mr: an unanchored pattern would accept these
    for lookalike in [
        format!("{}/x?{}", idp.base, idp.url("eks-a/id/b")),
        idp.url("eks-a/id/b/extra"),
        idp.url("eks-a.b/id/c"),
        idp.url("eks-/id/c"),
    ] {
        let token = idp.sign(&k8s(&lookalike));
        stack
            .refused(&token, sub, "is not a configured OIDC issuer")
            .await;
    }
}

#[tokio::test]
async fn github_workflow_legacy_and_ci_provider() {
    let (idp, stack) = setup().await;
    let sub = "repo:octo-org/octo-repo:environment:prod";
    let signer = "https://github.com/octo-org/shared/.github/workflows/build.yml@refs/tags/v1";
    let sha = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    let expected = |iss: &str, deployment: bool| {
        let mut e: Vec<(u32, String)> = vec![
            (1, iss.into()),
            (2, "push".into()),
            (3, sha.into()),
            (4, "Release".into()),
            (5, "octo-org/octo-repo".into()),
            (6, "refs/heads/main".into()),
            (8, iss.into()),
            (9, signer.into()),
            (10, "0f0e0d0c0b0a09080706050403020100f0e0d0c0".into()),
            (11, "github-hosted".into()),
            (12, "https://github.com/octo-org/octo-repo".into()),
            (13, sha.into()),
            (14, "refs/heads/main".into()),
            (15, "654321".into()),
            (16, "https://github.com/octo-org".into()),
            (17, "123456".into()),
            (
                18,
                "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
                    .into(),
            ),
            (19, sha.into()),
            (20, "push".into()),
            (
                21,
                "https://github.com/octo-org/octo-repo/actions/runs/9876543210/attempts/2".into(),
            ),
            (22, "private".into()),
        ];
        if deployment {
            e.push((23, "prod".into()));
        }
        e.push((24, sub.into()));
        e
    };
    let check = |cert: &x509_cert::Certificate, want: Vec<(u32, String)>| {
        assert_eq!(san(cert), (true, uri_san(signer)));
        let want: Vec<(u32, &str)> = want.iter().map(|(a, v)| (*a, v.as_str())).collect();
        assert_fulcio_extensions(cert, &want);
    };
    // The legacy type has no .23; the public ci-provider template adds it.
    let iss = idp.url("github");
    let cert = stack
        .certificate(&idp.sign(&github_claims(&idp, &iss)), sub)
        .await;
    check(&cert, expected(&iss, false));
    let iss_ci = idp.url("gh-ci");
    let cert = stack
        .certificate(&idp.sign(&github_claims(&idp, &iss_ci)), sub)
        .await;
    check(&cert, expected(&iss_ci, true));

    // Missing required claims: the legacy type names the claim, the
    // template names the extension it could not fill.
    let mut claims = github_claims(&idp, &iss);
    claims.as_object_mut().unwrap().remove("run_attempt");
    stack
        .refused(&idp.sign(&claims), sub, "no run_attempt claim")
        .await;
    let mut claims = github_claims(&idp, &iss_ci);
    claims.as_object_mut().unwrap().remove("job_workflow_ref");
    stack
        .refused(&idp.sign(&claims), sub, "job_workflow_ref")
        .await;
    // The PoP signs `sub`, not the email-like fields.
    stack
        .refused(
            &idp.sign(&github_claims(&idp, &iss)),
            "octocat",
            "proof of possession",
        )
        .await;
}

#[tokio::test]
async fn gitlab_legacy_and_ci_provider() {
    let (idp, stack) = setup().await;
    let sub = "project_path:my-group/my-project:ref_type:tag:ref:v1.2.0";
    let config_uri = "https://gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/tags/v1.2.0";
    let sha = "714a629c0b401fdce83e847fc9589983fc6f46bc";
    let expected = |iss: &str| {
        vec![
            (1, iss.to_owned()),
            (8, iss.to_owned()),
            (9, config_uri.to_owned()),
            (10, sha.to_owned()),
            (11, "gitlab-hosted".to_owned()),
            (12, "https://gitlab.com/my-group/my-project".to_owned()),
            (13, sha.to_owned()),
            (14, "refs/tags/v1.2.0".to_owned()),
            (15, "20".to_owned()),
            (16, "https://gitlab.com/my-group".to_owned()),
            (17, "72".to_owned()),
            (18, config_uri.to_owned()),
            (19, sha.to_owned()),
            (20, "push".to_owned()),
            (
                21,
                "https://gitlab.com/my-group/my-project/-/jobs/302".to_owned(),
            ),
            (22, "internal".to_owned()),
            (24, sub.to_owned()),
        ]
    };
    for name in ["gitlab", "gl-ci"] {
        let iss = idp.url(name);
        let cert = stack
            .certificate(&idp.sign(&gitlab_claims(&idp, &iss)), sub)
            .await;
        assert_eq!(san(&cert), (true, uri_san(config_uri)));
        let want = expected(&iss);
        let want: Vec<(u32, &str)> = want.iter().map(|(a, v)| (*a, v.as_str())).collect();
        assert_fulcio_extensions(&cert, &want);
    }
    let mut claims = gitlab_claims(&idp, &idp.url("gitlab"));
    claims.as_object_mut().unwrap().remove("namespace_id");
    stack
        .refused(&idp.sign(&claims), sub, "no namespace_id claim")
        .await;
}

#[tokio::test]
async fn buildkite_codefresh_chainguard() {
    let (idp, stack) = setup().await;
    let iss = idp.url("buildkite");
    let sub = "organization:acme-inc:pipeline:super-duper-app:ref:refs/heads/main:commit:9f3182061f1e2cca4702c368cbc039b7dc9d4485:step:build";
    let token = idp.sign(&idp.claims(
        &iss,
        json!({"sub": sub, "organization_slug":"acme-inc","pipeline_slug":"super-duper-app",
               "build_number":1,"build_branch":"main","build_tag":null,
               "build_commit":"9f3182061f1e2cca4702c368cbc039b7dc9d4485","build_source":"ui",
               "step_key":"build","job_id":"0184990a-477b-4fa8-9968-496074483cee",
               "agent_id":"0184990a-4782-42b5-afc1-16715b10b8ff","runner_environment":"buildkite-hosted"}),
    ));
    let cert = stack.certificate(&token, sub).await;
    assert_eq!(
        san(&cert),
        (
            true,
            uri_san("https://buildkite.com/acme-inc/super-duper-app")
        )
    );
    assert_fulcio_extensions(&cert, &[(1, &iss), (8, &iss), (24, sub)]);
    let token = idp.sign(&idp.claims(&iss, json!({"sub": sub, "organization_slug":"acme-inc"})));
    stack.refused(&token, sub, "no pipeline_slug claim").await;

    let iss = idp.url("codefresh");
    let sub = "account:628a80b693a15c0f9c13ab75:pipeline:65e5a53e52853dc51a5b0cc1:initiator:jane";
    let token = idp.sign(&idp.claims(
        &iss,
        json!({"sub": sub, "account_id":"628a80b693a15c0f9c13ab75","account_name":"codefresh-account",
               "pipeline_id":"65e5a53e52853dc51a5b0cc1","pipeline_name":"oidc-test/get-token",
               "workflow_id":"65e6d5551e5a4b0d9b2b7f0e","initiator":"jane",
               "scm_user_name":"jane","scm_repo_url":"https://github.com/codefresh-user/oidc-test",
               "scm_ref":"main","platform_url":"https://g.codefresh.io","runner_environment":"saas"}),
    ));
    let cert = stack.certificate(&token, sub).await;
    assert_eq!(
        san(&cert),
        (true, uri_san("https://g.codefresh.io/codefresh-account/oidc-test/get-token:628a80b693a15c0f9c13ab75/65e5a53e52853dc51a5b0cc1"))
    );
    assert_fulcio_extensions(
        &cert,
        &[
            (1, &iss),
            (8, &iss),
            (9, "https://g.codefresh.io/build/65e6d5551e5a4b0d9b2b7f0e"),
            (11, "saas"),
            (12, "https://github.com/codefresh-user/oidc-test"),
            (14, "main"),
            // Fulcio's legacy codefresh principal: .18 is the build URL too
            // (its public ci-provider template uses /api/pipelines/ instead).
            (18, "https://g.codefresh.io/build/65e6d5551e5a4b0d9b2b7f0e"),
            (21, "https://g.codefresh.io/build/65e6d5551e5a4b0d9b2b7f0e"),
            (24, sub),
        ],
    );

    let iss = idp.url("chainguard");
    let token = idp.sign(&idp.claims(&iss, json!({"sub": "a1b2c3/d4e5f6"})));
    let cert = stack.certificate(&token, "a1b2c3/d4e5f6").await;
    assert_eq!(san(&cert), (true, uri_san(&format!("{iss}/a1b2c3/d4e5f6"))));
}

#[tokio::test]
async fn configuration_reports_every_issuer() {
    let (idp, stack) = setup().await;
    let config = stack.get("/api/v2/configuration").await;
    let issuers = config["issuers"].as_array().unwrap();
    assert_eq!(issuers.len(), 15);
    let find = |key: &str, url: &str| {
        issuers
            .iter()
            .find(|i| i[key] == url)
            .unwrap_or_else(|| panic!("{url} missing from {config}"))
            .clone()
    };
    assert_eq!(
        find("issuerUrl", &idp.url("spiffe")),
        json!({"issuerUrl": idp.url("spiffe"), "audience": "sigstore", "challengeClaim": "sub",
               "spiffeTrustDomain": "prod.example.org", "issuerType": "spiffe",
               "subjectDomain": "", "skipEmailVerification": false})
    );
    assert_eq!(
        find("issuerUrl", &idp.url("entra")),
        json!({"issuerUrl": idp.url("entra"), "audience": "sigstore", "challengeClaim": "email",
               "spiffeTrustDomain": "", "issuerType": "email",
               "subjectDomain": "", "skipEmailVerification": true})
    );
    assert_eq!(
        find("issuerUrl", &idp.url("uri"))["subjectDomain"],
        "http://localhost"
    );
    assert_eq!(
        find("issuerUrl", &idp.url("gh-ci"))["issuerType"],
        "ci-provider"
    );
    let meta = find("wildcardIssuerUrl", &idp.url("eks-*/id/*"));
    assert_eq!(meta["issuerType"], "kubernetes");
    assert!(meta.get("issuerUrl").is_none(), "a oneof: {meta}");
}
