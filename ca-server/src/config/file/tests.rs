use super::*;
use crate::config::validate::meta_issuer_matches;

const PUBLIC: &str = include_str!("../../../tests/fixtures/fulcio-public-ci.yaml");

#[test]
fn loads_fulcios_public_config_unchanged() {
    let issuers = parse_issuer_config(PUBLIC).unwrap();
    let exact: Vec<&OidcIssuerConfig> = issuers.iter().filter(|i| !i.wildcard).collect();
    let metas: Vec<&OidcIssuerConfig> = issuers.iter().filter(|i| i.wildcard).collect();
    assert!(exact.len() >= 20, "{}", exact.len());
    assert!(metas.len() >= 9, "{}", metas.len());

    let dex = exact
        .iter()
        .find(|i| i.issuer_url == "https://oauth2.sigstore.dev/auth")
        .unwrap();
    assert_eq!(dex.issuer_type, IssuerType::Email);
    assert_eq!(dex.client_id, "sigstore");
    assert_eq!(
        dex.issuer_claim.as_deref(),
        Some("$.federated_claims.connector_id")
    );
    assert_eq!(dex.environment.as_deref(), Some("production"));
    assert_eq!(dex.contact.as_deref(), Some("tac@sigstore.dev"));

    let gh = exact
        .iter()
        .find(|i| i.issuer_url == "https://token.actions.githubusercontent.com")
        .unwrap();
    assert_eq!(gh.issuer_type, IssuerType::CiProvider);
    assert_eq!(gh.ci_provider.as_deref(), Some("github-workflow"));
    let md = gh.ci_metadata.as_ref().unwrap();
    assert_eq!(md.default_template_values["url"], "https://github.com");
    assert_eq!(md.extension_templates.len(), 20);
    assert_eq!(
        md.extension_templates[&ExtensionField::GithubWorkflowSha],
        ValueTemplate::Claim("sha".into())
    );
    assert!(matches!(
        &md.extension_templates[&ExtensionField::BuildSignerUri],
        ValueTemplate::Template(t) if t.source() == "{{ .url }}/{{ .job_workflow_ref }}"
    ));

    let eks = metas
        .iter()
        .find(|i| i.issuer_url == "https://oidc.eks.*.amazonaws.com/id/*")
        .unwrap();
    assert_eq!(eks.issuer_type, IssuerType::Kubernetes);
    assert!(meta_issuer_matches(
        &eks.issuer_url,
        "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123"
    ));
    let circle = metas
        .iter()
        .find(|i| i.issuer_url == "https://oidc.circleci.com/org/*")
        .unwrap();
    assert!(circle.ci_metadata.is_some());
}

const JSON: &str = r#"{
  "OIDCIssuers": {
    "https://accounts.example.com": {
      "IssuerURL": "https://accounts.example.com", "ClientID": "sigstore", "Type": "username",
      "SubjectDomain": "example.com", "Description": "people", "Contact": "sec@example.com"
    },
    "https://dex.example.com": {
      "IssuerURL": "https://dex.example.com", "ClientID": "sigstore", "Type": "email",
      "IssuerClaim": "$.federated_claims.connector_id", "SkipEmailVerification": true,
      "ChallengeClaim": "email"
    },
    "https://spire.example.com": {
      "IssuerURL": "https://spire.example.com", "ClientID": "sigstore", "Type": "spiffe",
      "SPIFFETrustDomain": "example.com"
    },
    "https://ci.example.com": {
      "IssuerURL": "https://ci.example.com", "ClientID": "sigstore", "Type": "ci-provider",
      "CIProvider": "my-ci"
    }
  },
  "MetaIssuers": {
    "https://oidc.eks.*.amazonaws.com/id/*": {"ClientID": "sigstore", "Type": "kubernetes"}
  },
  "CIIssuerMetadata": {
    "my-ci": {
      "DefaultTemplateValues": {"url": "https://ci.example.com"},
      "ExtensionTemplates": {"BuildSignerURI": "{{ .url }}/{{ .pipeline }}", "RunnerEnvironment": "runner"},
      "SubjectAlternativeNameTemplate": "{{ .url }}/{{ .pipeline }}"
    }
  }
}"#;

#[test]
fn json_keys() {
    let issuers = parse_issuer_config(JSON).unwrap();
    assert_eq!(issuers.len(), 5);
    let user = &issuers[0];
    assert_eq!(user.issuer_type, IssuerType::Username);
    assert_eq!(user.subject_domain.as_deref(), Some("example.com"));
    assert_eq!(user.description.as_deref(), Some("people"));
    let dex = &issuers[2];
    assert_eq!(dex.issuer_url, "https://dex.example.com");
    assert!(dex.skip_email_verification);
    assert_eq!(dex.reported_challenge_claim(), "email");
    assert_eq!(
        issuers[3].spiffe_trust_domain.as_deref(),
        Some("example.com")
    );
    let ci = &issuers[1];
    assert_eq!(ci.issuer_type, IssuerType::CiProvider);
    let md = ci.ci_metadata.as_ref().unwrap();
    assert_eq!(
        md.extension_templates[&ExtensionField::RunnerEnvironment],
        ValueTemplate::Claim("runner".into())
    );
    assert!(issuers[4].wildcard);
    assert_eq!(issuers[4].reported_challenge_claim(), "sub");
}

#[test]
fn yaml_keys_match_json() {
    let yaml = r#"
oidc-issuers:
  https://accounts.example.com:
    issuer-url: https://accounts.example.com
    client-id: sigstore
    type: username
    subject-domain: example.com
    description: people
    contact: sec@example.com
  https://dex.example.com:
    issuer-url: https://dex.example.com
    client-id: sigstore
    type: email
    issuer-claim: $.federated_claims.connector_id
    skip-email-verification: true
    challenge-claim: email
  https://spire.example.com:
    issuer-url: https://spire.example.com
    client-id: sigstore
    type: spiffe
    spiffe-trust-domain: example.com
  https://ci.example.com:
    issuer-url: https://ci.example.com
    client-id: sigstore
    type: ci-provider
    ci-provider: my-ci
meta-issuers:
  https://oidc.eks.*.amazonaws.com/id/*:
    client-id: sigstore
    type: kubernetes
ci-issuer-metadata:
  my-ci:
    default-template-values:
      url: https://ci.example.com
    extension-templates:
      build-signer-uri: "{{ .url }}/{{ .pipeline }}"
      runner-environment: runner
    subject-alternative-name-template: "{{ .url }}/{{ .pipeline }}"
"#;
    assert_eq!(
        parse_issuer_config(yaml).unwrap(),
        parse_issuer_config(JSON).unwrap()
    );
}

#[test]
fn ca_cert_is_read() {
    let key = shared::keys::EcdsaP256Signer::generate();
    let root = crate::ca::self_signed_root(&key, "test", "issuer CA").unwrap();
    let pem = shared::keys::pem_encode("CERTIFICATE", &root);
    let yaml = format!(
        "oidc-issuers:\n  https://idp.corp.example:\n    client-id: sigstore\n    type: email\n    ca-cert: |\n{}",
        pem.lines().map(|l| format!("      {l}\n")).collect::<String>()
    );
    let issuers = parse_issuer_config(&yaml).unwrap();
    assert_eq!(issuers[0].issuer_url, "https://idp.corp.example");
    assert!(issuers[0]
        .ca_cert_pem
        .as_deref()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
}

fn refusal(text: &str) -> String {
    parse_issuer_config(text).unwrap_err().to_string()
}

#[test]
fn clear_refusals() {
    let one = |body: &str| format!("oidc-issuers:\n  https://a.example.com:\n{body}");
    for (text, want) in [
        (one("    client-id: sigstore\n    type: magic\n"), "unknown Type \"magic\""),
        (one("    client-id: sigstore\n"), "Type is required"),
        (one("    type: email\n"), "ClientID"),
        (
            one("    issuer-url: https://b.example.com\n    client-id: sigstore\n    type: email\n"),
            "differ",
        ),
        (one("    client-id: sigstore\n    type: uri\n"), "SubjectDomain set"),
        (
            one("    client-id: sigstore\n    type: uri\n    subject-domain: https://evil.com\n"),
            "second-level",
        ),
        (
            one("    client-id: sigstore\n    type: username\n    subject-domain: other.org\n"),
            "second-level",
        ),
        (one("    client-id: sigstore\n    type: spiffe\n"), "SPIFFETrustDomain"),
        (
            one("    client-id: sigstore\n    type: ci-provider\n    ci-provider: nope\n"),
            "no entry in CIIssuerMetadata",
        ),
        (one("    client-id: sigstore\n    type: ci-provider\n"), "CIProvider"),
        (
            one("    client-id: sigstore\n    type: kubernetes\n    issuer-claim: $.x\n"),
            "only email",
        ),
        (
            one("    client-id: sigstore\n    type: email\n    ca-cert: not a pem\n"),
            "CACert",
        ),
        (
            "meta-issuers:\n  https://*.example.com:\n    client-id: sigstore\n    type: spiffe\n    spiffe-trust-domain: example.com\n".into(),
            "SPIFFE meta",
        ),
        (
            "meta-issuers:\n  '*':\n    client-id: sigstore\n    type: email\n".into(),
            "pattern",
        ),
        (
            "ci-issuer-metadata:\n  x:\n    extension-templates:\n      build-signer-uri: '{{ .a | html }}'\n".into(),
            "unsupported",
        ),
        (
            "ci-issuer-metadata:\n  x:\n    extension-templates:\n      nonsense: a\n".into(),
            "unknown extension template key",
        ),
        ("{\"OIDCIssuers\": [}".into(), "invalid JSON"),
        ("oidc-issuers: [a, b".into(), "invalid YAML"),
    ] {
        let got = refusal(&text);
        assert!(got.contains(want), "{text}\n=> {got}\n(wanted {want:?})");
    }
}

#[test]
fn empty_config_is_no_issuers() {
    assert!(parse_issuer_config("").unwrap().is_empty());
    assert!(parse_issuer_config("{}").unwrap().is_empty());
}
