//! The legacy per-provider CI identity types, claim for claim as Fulcio's
//! `pkg/identity/{github,gitlabcom,buildkite,codefresh}` read them; Fulcio's
//! public config now maps these providers with `ci-provider` templates.

use serde_json::Value;

use super::claims::{required_claim, string_claim};
use super::extensions::Extensions;
use super::gourl::{https_from_schemeless, join_path};
use super::{IdentityError, Principal, SubjectName};
use crate::config::ExtensionField as F;
use crate::oidc::VerifiedToken;

const GITHUB: &str = "https://github.com/";
const GITLAB: &str = "https://gitlab.com/";
const CODEFRESH: &str = "https://g.codefresh.io";

/// `github-workflow`: SAN `https://github.com/<job_workflow_ref>`, .2–.6 raw, .9–.22.
pub(super) fn github(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let c = &token.claims.other;
    let r = |name| required_claim(c, name);
    let job_workflow_ref = r("job_workflow_ref")?;
    let sha = r("sha")?;
    let event_name = r("event_name")?;
    let repository = r("repository")?;
    let workflow = r("workflow")?;
    let git_ref = r("ref")?;
    let job_workflow_sha = r("job_workflow_sha")?;
    let runner_environment = r("runner_environment")?;
    let repository_id = r("repository_id")?;
    let repository_owner = r("repository_owner")?;
    let repository_owner_id = r("repository_owner_id")?;
    let repository_visibility = r("repository_visibility")?;
    let workflow_ref = r("workflow_ref")?;
    let workflow_sha = r("workflow_sha")?;
    let run_id = r("run_id")?;
    let run_attempt = r("run_attempt")?;
    let sub = token.claims.sub.clone().unwrap_or_default();
    let signer = join_path(GITHUB, &[job_workflow_ref])?;
    let extensions = Extensions::new(&token.claims.iss, &sub)
        .with(F::GithubWorkflowTrigger, event_name)
        .with(F::GithubWorkflowSha, sha)
        .with(F::GithubWorkflowName, workflow)
        .with(F::GithubWorkflowRepository, repository)
        .with(F::GithubWorkflowRef, git_ref)
        .with(F::BuildSignerUri, &signer)
        .with(F::BuildSignerDigest, job_workflow_sha)
        .with(F::RunnerEnvironment, runner_environment)
        .with(F::SourceRepositoryUri, join_path(GITHUB, &[repository])?)
        .with(F::SourceRepositoryDigest, sha)
        .with(F::SourceRepositoryRef, git_ref)
        .with(F::SourceRepositoryIdentifier, repository_id)
        .with(
            F::SourceRepositoryOwnerUri,
            join_path(GITHUB, &[repository_owner])?,
        )
        .with(F::SourceRepositoryOwnerIdentifier, repository_owner_id)
        .with(F::BuildConfigUri, join_path(GITHUB, &[workflow_ref])?)
        .with(F::BuildConfigDigest, workflow_sha)
        .with(F::BuildTrigger, event_name)
        .with(
            F::RunInvocationUri,
            join_path(
                GITHUB,
                &[repository, "actions/runs", run_id, "attempts", run_attempt],
            )?,
        )
        .with(
            F::SourceRepositoryVisibilityAtSigning,
            repository_visibility,
        );
    Ok(Principal {
        name: sub,
        san: SubjectName::Uri(signer),
        extensions,
    })
}

/// `gitlab-pipeline` (gitlab.com): SAN `https://<ci_config_ref_uri>` as Go
/// prints the parsed claim.
pub(super) fn gitlab(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let c = &token.claims.other;
    let r = |name| required_claim(c, name);
    let project_path = r("project_path")?;
    let pipeline_source = r("pipeline_source")?;
    r("pipeline_id")?;
    let ci_config_ref_uri = r("ci_config_ref_uri")?;
    let job_id = r("job_id")?;
    let git_ref = r("ref")?;
    let ref_type = r("ref_type")?;
    let namespace_path = r("namespace_path")?;
    let namespace_id = r("namespace_id")?;
    let project_id = r("project_id")?;
    let sha = r("sha")?;
    let runner_environment = r("runner_environment")?;
    match c.get("runner_id") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|id| id != 0) => {}
        Some(Value::Number(_)) | None | Some(Value::Null) => {
            return Err(IdentityError::MissingClaim("runner_id"))
        }
        Some(_) => {
            return Err(IdentityError::ClaimType {
                claim: "runner_id".into(),
                expected: "an integer",
            })
        }
    }
    let ci_config_sha = string_claim(c, "ci_config_sha")?;
    let project_visibility = string_claim(c, "project_visibility")?;
    let full_ref = match ref_type {
        "branch" => format!("refs/heads/{git_ref}"),
        "tag" => format!("refs/tags/{git_ref}"),
        other => return Err(IdentityError::UnexpectedRefType(other.to_owned())),
    };
    let config_uri = https_from_schemeless(ci_config_ref_uri)?;
    let sub = token.claims.sub.clone().unwrap_or_default();
    let extensions = Extensions::new(&token.claims.iss, &sub)
        .with(F::BuildConfigUri, &config_uri)
        .with(F::BuildConfigDigest, ci_config_sha)
        .with(F::BuildSignerUri, &config_uri)
        .with(F::BuildSignerDigest, ci_config_sha)
        .with(F::RunnerEnvironment, runner_environment)
        .with(F::SourceRepositoryUri, join_path(GITLAB, &[project_path])?)
        .with(F::SourceRepositoryDigest, sha)
        .with(F::SourceRepositoryRef, full_ref)
        .with(F::SourceRepositoryIdentifier, project_id)
        .with(
            F::SourceRepositoryOwnerUri,
            join_path(GITLAB, &[namespace_path])?,
        )
        .with(F::SourceRepositoryOwnerIdentifier, namespace_id)
        .with(F::BuildTrigger, pipeline_source)
        .with(
            F::RunInvocationUri,
            join_path(GITLAB, &[project_path, "/-/jobs/", job_id])?,
        )
        .with(F::SourceRepositoryVisibilityAtSigning, project_visibility);
    Ok(Principal {
        name: sub,
        san: SubjectName::Uri(config_uri),
        extensions,
    })
}

/// `buildkite-job`: SAN `https://buildkite.com/<org>/<pipeline>`; only .1/.8/.24.
pub(super) fn buildkite(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let c = &token.claims.other;
    let org = required_claim(c, "organization_slug")?;
    let pipeline = required_claim(c, "pipeline_slug")?;
    let sub = token.claims.sub.clone().unwrap_or_default();
    Ok(Principal {
        name: sub.clone(),
        san: SubjectName::Uri(format!("https://buildkite.com/{org}/{pipeline}")),
        extensions: Extensions::new(&token.claims.iss, sub),
    })
}

/// `codefresh-workflow`: SAN
/// `<platform>/<account_name>/<pipeline_name>:<account_id>/<pipeline_id>`;
/// .9, .18 and .21 are all the build URL `<platform>/build/<workflow_id>`.
pub(super) fn codefresh(token: &VerifiedToken) -> Result<Principal, IdentityError> {
    let c = &token.claims.other;
    let account_id = required_claim(c, "account_id")?;
    let pipeline_id = required_claim(c, "pipeline_id")?;
    let workflow_id = required_claim(c, "workflow_id")?;
    let account_name = string_claim(c, "account_name")?;
    let pipeline_name = string_claim(c, "pipeline_name")?;
    let platform = match string_claim(c, "platform_url")? {
        "" => CODEFRESH,
        url => url,
    };
    let build = join_path(platform, &["build", workflow_id])?;
    let sub = token.claims.sub.clone().unwrap_or_default();
    let extensions = Extensions::new(&token.claims.iss, &sub)
        .with(F::BuildSignerUri, &build)
        .with(F::RunnerEnvironment, string_claim(c, "runner_environment")?)
        .with(F::SourceRepositoryUri, string_claim(c, "scm_repo_url")?)
        .with(F::SourceRepositoryRef, string_claim(c, "scm_ref")?)
        .with(F::BuildConfigUri, &build)
        .with(F::RunInvocationUri, &build);
    Ok(Principal {
        name: sub,
        san: SubjectName::Uri(join_path(
            platform,
            &[
                account_name,
                &format!("{pipeline_name}:{account_id}/{pipeline_id}"),
            ],
        )?),
        extensions,
    })
}
