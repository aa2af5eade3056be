//! End to end: `sigil dev --config FILE` trusts extra issuers from a Fulcio
//! config file (docs/fulcio-wire.md §4). A small OIDC provider run by this test
//! (discovery + JWKS over HTTP on 127.0.0.1, ES256) mints tokens shaped like
//! a company IdP's, a workload's, GitHub Actions' and a Kubernetes service
//! account's; sigstore-python 4.5.1 signs with each and `verify identity`
//! accepts the certificate's SAN and issuer — and refuses another identity.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use test_support::oidc::Issuers;
use test_support::{clients, SigilDev};

/// Several OIDC issuers (`<base>/<name>`) on one port with one ES256 key
/// (`test_support::oidc::Issuers`), served by a runtime of their own.
struct Provider {
    issuers: Issuers,
    _runtime: tokio::runtime::Runtime,
}

impl Provider {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (listener, addr) = runtime.block_on(test_support::net::listener());
        let issuers = Issuers::new(format!("http://localhost:{}", addr.port()));
        {
            let _inside = runtime.enter();
            test_support::net::serve_on(listener, issuers.router());
        }
        Self {
            issuers,
            _runtime: runtime,
        }
    }

    fn url(&self, name: &str) -> String {
        self.issuers.url(name)
    }

    fn token(&self, iss: &str, extra: Value) -> String {
        self.issuers.sign(&self.issuers.claims(iss, extra))
    }
}

#[test]
fn sigstore_python_signs_with_configured_identity_types() {
    let provider = Provider::start();
    let tmp = tempfile::tempdir().unwrap();
    let (corp, workloads, github, k8s) = (
        provider.url("corp"),
        provider.url("workloads"),
        provider.url("github"),
        provider.url("k8s"),
    );
    let config = tmp.path().join("fulcio-config.yaml");
    std::fs::write(
        &config,
        format!(
            "oidc-issuers:
  {corp}:
    issuer-url: {corp}
    client-id: sigstore
    type: email
    description: corporate IdP
  {workloads}:
    client-id: sigstore
    type: uri
    subject-domain: http://localhost
  {github}:
    client-id: sigstore
    type: github-workflow
  {k8s}:
    client-id: sigstore
    type: kubernetes
"
        ),
    )
    .unwrap();
    // `sigil dev --config FILE` on fresh ports, and sigstore-python against it.
    let w = clients::start_with(&["--config", config.to_str().unwrap()]);

    let github_claims = json!({
        "sub": "repo:octo-org/octo-repo:ref:refs/heads/main", "ref": "refs/heads/main",
        "sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org", "repository_owner_id": "123456",
        "repository_id": "654321", "repository_visibility": "public", "run_id": "9876543210",
        "run_number": "42", "run_attempt": "1", "runner_environment": "github-hosted",
        "actor": "octocat", "actor_id": "583231", "workflow": "Release", "event_name": "push",
        "ref_type": "branch", "ref_protected": "true", "jti": "8f0c1b4e",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
        "workflow_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
    });
    let cases = [
        (
            "email",
            provider.token(
                &corp,
                json!({"sub":"00u1abcd","email":"alice@corp.example","email_verified":true}),
            ),
            "alice@corp.example".to_owned(),
            corp.clone(),
            "mallory@corp.example",
        ),
        (
            "uri",
            provider.token(
                &workloads,
                json!({"sub":"http://localhost/workloads/builder"}),
            ),
            "http://localhost/workloads/builder".to_owned(),
            workloads.clone(),
            "http://localhost/workloads/other",
        ),
        (
            "github-workflow",
            provider.token(&github, github_claims),
            "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
                .to_owned(),
            github.clone(),
            "https://github.com/octo-org/octo-repo/.github/workflows/evil.yml@refs/heads/main",
        ),
        (
            "kubernetes",
            provider.token(
                &k8s,
                json!({"sub":"system:serviceaccount:build:signer",
                    "kubernetes.io":{"namespace":"build","pod":{"name":"signer-0","uid":"u1"},
                                     "serviceaccount":{"name":"signer","uid":"u2"}}}),
            ),
            "https://kubernetes.io/namespaces/build/serviceaccounts/signer".to_owned(),
            k8s.clone(),
            "https://kubernetes.io/namespaces/build/serviceaccounts/default",
        ),
    ];
    for (kind, token, identity, issuer, wrong_identity) in cases {
        let file = w.file(
            &format!("{kind}.txt"),
            format!("signed by a {kind} identity\n").as_bytes(),
        );
        let bundle = w.dir.join(format!("{kind}.sigstore.json"));
        w.py_sign_with(&token, &file, &bundle);
        assert!(
            w.py_verify(&file, &bundle, &identity, &issuer),
            "{kind}: {identity} from {issuer}\n{}",
            w.dev.log()
        );
        assert!(
            !w.py_verify(&file, &bundle, wrong_identity, &issuer),
            "{kind}: another identity must fail"
        );
        assert!(
            !w.py_verify(&file, &bundle, &identity, &provider.url("other")),
            "{kind}: another issuer must fail"
        );
    }
}

#[test]
fn sigil_dev_refuses_a_bad_config_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("bad.yaml");
    std::fs::write(
        &config,
        "oidc-issuers:\n  https://accounts.example.com:\n    client-id: sigstore\n    type: uri\n",
    )
    .unwrap();
    let out = SigilDev::command(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("https://accounts.example.com")
            && stderr.contains("uri issuer must have SubjectDomain set"),
        "{stderr}"
    );
}
