//! The names of the Sigstore certificate extensions an issuer's
//! `CIIssuerMetadata` may template (Fulcio `pkg/certificate/extensions.go`,
//! docs/fulcio-wire.md §3): each field's OID arc under
//! 1.3.6.1.4.1.57264.1 and its key in a JSON or YAML config file. How the
//! values are encoded into a certificate is `identity::extensions`.

/// A Fulcio extension whose value comes from the token (every one but the
/// issuer, .1/.8, and the token subject, .24). Declared in OID order, so the
/// derived `Ord` is the order extensions appear in a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExtensionField {
    GithubWorkflowTrigger,
    GithubWorkflowSha,
    GithubWorkflowName,
    GithubWorkflowRepository,
    GithubWorkflowRef,
    BuildSignerUri,
    BuildSignerDigest,
    RunnerEnvironment,
    SourceRepositoryUri,
    SourceRepositoryDigest,
    SourceRepositoryRef,
    SourceRepositoryIdentifier,
    SourceRepositoryOwnerUri,
    SourceRepositoryOwnerIdentifier,
    BuildConfigUri,
    BuildConfigDigest,
    BuildTrigger,
    RunInvocationUri,
    SourceRepositoryVisibilityAtSigning,
    DeploymentEnvironment,
}

impl ExtensionField {
    pub const ALL: [Self; 20] = [
        Self::GithubWorkflowTrigger,
        Self::GithubWorkflowSha,
        Self::GithubWorkflowName,
        Self::GithubWorkflowRepository,
        Self::GithubWorkflowRef,
        Self::BuildSignerUri,
        Self::BuildSignerDigest,
        Self::RunnerEnvironment,
        Self::SourceRepositoryUri,
        Self::SourceRepositoryDigest,
        Self::SourceRepositoryRef,
        Self::SourceRepositoryIdentifier,
        Self::SourceRepositoryOwnerUri,
        Self::SourceRepositoryOwnerIdentifier,
        Self::BuildConfigUri,
        Self::BuildConfigDigest,
        Self::BuildTrigger,
        Self::RunInvocationUri,
        Self::SourceRepositoryVisibilityAtSigning,
        Self::DeploymentEnvironment,
    ];

    /// The last arc under 1.3.6.1.4.1.57264.1.
    pub fn arc(self) -> u32 {
        match self {
            Self::GithubWorkflowTrigger => 2,
            Self::GithubWorkflowSha => 3,
            Self::GithubWorkflowName => 4,
            Self::GithubWorkflowRepository => 5,
            Self::GithubWorkflowRef => 6,
            Self::BuildSignerUri => 9,
            Self::BuildSignerDigest => 10,
            Self::RunnerEnvironment => 11,
            Self::SourceRepositoryUri => 12,
            Self::SourceRepositoryDigest => 13,
            Self::SourceRepositoryRef => 14,
            Self::SourceRepositoryIdentifier => 15,
            Self::SourceRepositoryOwnerUri => 16,
            Self::SourceRepositoryOwnerIdentifier => 17,
            Self::BuildConfigUri => 18,
            Self::BuildConfigDigest => 19,
            Self::BuildTrigger => 20,
            Self::RunInvocationUri => 21,
            Self::SourceRepositoryVisibilityAtSigning => 22,
            Self::DeploymentEnvironment => 23,
        }
    }

    /// The key in a JSON config's `ExtensionTemplates` (Fulcio's Go field name).
    pub fn json_name(self) -> &'static str {
        match self {
            Self::GithubWorkflowTrigger => "GithubWorkflowTrigger",
            Self::GithubWorkflowSha => "GithubWorkflowSHA",
            Self::GithubWorkflowName => "GithubWorkflowName",
            Self::GithubWorkflowRepository => "GithubWorkflowRepository",
            Self::GithubWorkflowRef => "GithubWorkflowRef",
            Self::BuildSignerUri => "BuildSignerURI",
            Self::BuildSignerDigest => "BuildSignerDigest",
            Self::RunnerEnvironment => "RunnerEnvironment",
            Self::SourceRepositoryUri => "SourceRepositoryURI",
            Self::SourceRepositoryDigest => "SourceRepositoryDigest",
            Self::SourceRepositoryRef => "SourceRepositoryRef",
            Self::SourceRepositoryIdentifier => "SourceRepositoryIdentifier",
            Self::SourceRepositoryOwnerUri => "SourceRepositoryOwnerURI",
            Self::SourceRepositoryOwnerIdentifier => "SourceRepositoryOwnerIdentifier",
            Self::BuildConfigUri => "BuildConfigURI",
            Self::BuildConfigDigest => "BuildConfigDigest",
            Self::BuildTrigger => "BuildTrigger",
            Self::RunInvocationUri => "RunInvocationURI",
            Self::SourceRepositoryVisibilityAtSigning => "SourceRepositoryVisibilityAtSigning",
            Self::DeploymentEnvironment => "DeploymentEnvironment",
        }
    }

    /// The key in a YAML config's `extension-templates`.
    pub fn yaml_name(self) -> &'static str {
        match self {
            Self::GithubWorkflowTrigger => "github-workflow-trigger",
            Self::GithubWorkflowSha => "github-workflow-sha",
            Self::GithubWorkflowName => "github-workflow-name",
            Self::GithubWorkflowRepository => "github-workflow-repository",
            Self::GithubWorkflowRef => "github-workflow-ref",
            Self::BuildSignerUri => "build-signer-uri",
            Self::BuildSignerDigest => "build-signer-digest",
            Self::RunnerEnvironment => "runner-environment",
            Self::SourceRepositoryUri => "source-repository-uri",
            Self::SourceRepositoryDigest => "source-repository-digest",
            Self::SourceRepositoryRef => "source-repository-ref",
            Self::SourceRepositoryIdentifier => "source-repository-identifier",
            Self::SourceRepositoryOwnerUri => "source-repository-owner-uri",
            Self::SourceRepositoryOwnerIdentifier => "source-repository-owner-identifier",
            Self::BuildConfigUri => "build-config-uri",
            Self::BuildConfigDigest => "build-config-digest",
            Self::BuildTrigger => "build-trigger",
            Self::RunInvocationUri => "run-invocation-uri",
            Self::SourceRepositoryVisibilityAtSigning => "source-repository-visibility-at-signing",
            Self::DeploymentEnvironment => "deployment-environment",
        }
    }

    /// Looks a template key up by its JSON or YAML spelling.
    pub fn from_config_key(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.json_name() == key || f.yaml_name() == key)
    }
}
