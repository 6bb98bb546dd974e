//! Trusted-publisher bindings, table-driven, on claim sets shaped like the
//! ones GitHub Actions and GitLab CI document, verified through the real
//! verifier first (bindings only ever see verified claims).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{keys, now, token};
use serde_json::{Value, json};
use shipgate_oidc::binding::{
    Binding, BindingError, GITHUB_ISSUER, GITLAB_ISSUER, GitHubBinding, GitLabBinding, Provenance,
    WorkflowSource,
};
use shipgate_oidc::{Claims, Validation, Verifier};

const AUD: &str = "shipgate";

async fn verified(issuer: &str, claims: &Value) -> Claims {
    let verifier = Verifier::with_keys(issuer, keys().key_set());
    verifier
        .verify(&token(&keys().rsa, claims), &Validation::new(AUD))
        .await
        .unwrap()
        .claims
}

fn patch(mut base: Value, changes: &Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

/// A GitHub Actions token for a release job in octo-org/octo-repo.
fn github_claims() -> Value {
    let t = now();
    json!({
        "iss": GITHUB_ISSUER, "aud": AUD, "iat": t, "nbf": t, "exp": t + 300,
        "jti": "6f4e1f0c-7d0e-4b7e-9b1b-3f1d3c1c2a10",
        "sub": "repo:octo-org/octo-repo:environment:release",
        "environment": "release",
        "ref": "refs/tags/v1.2.3", "ref_type": "tag", "ref_protected": "true",
        "sha": "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a",
        "repository": "octo-org/octo-repo", "repository_id": "74",
        "repository_owner": "octo-org", "repository_owner_id": "65",
        "repository_visibility": "public",
        "run_id": "8123456789", "run_number": "42", "run_attempt": "1",
        "runner_environment": "github-hosted",
        "actor": "octocat", "actor_id": "12",
        "workflow": "Release", "event_name": "push",
        "head_ref": "", "base_ref": "",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.3",
        "workflow_sha": "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.3",
        "job_workflow_sha": "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a",
    })
}

fn github_binding() -> GitHubBinding {
    let mut b = GitHubBinding::new("octo-org/octo-repo", "65", "release.yml");
    b.environment = Some("release".into());
    b.ref_pattern = Some("refs/tags/v*".into());
    b
}

#[tokio::test]
async fn github_table() {
    let reusable = {
        let mut b = github_binding();
        b.workflow = "publish.yml".into();
        b.workflow_source = WorkflowSource::Reusable {
            repository: "octo-org/shared-workflows".into(),
        };
        b
    };
    let reusable_claims = json!({
        "job_workflow_ref": "octo-org/shared-workflows/.github/workflows/publish.yml@refs/heads/main"
    });
    type Expect = Result<(), fn(&BindingError) -> bool>;
    let ok: Expect = Ok(());
    let cases: Vec<(&str, GitHubBinding, Value, Expect)> = vec![
        ("exact match", github_binding(), json!({}), ok),
        (
            "repository differs only in case",
            github_binding(),
            json!({"repository": "Octo-Org/OCTO-repo",
                   "workflow_ref": "Octo-Org/OCTO-repo/.github/workflows/release.yml@refs/tags/v1.2.3"}),
            ok,
        ),
        (
            "environment differs only in case",
            github_binding(),
            json!({"environment": "Release"}),
            ok,
        ),
        (
            "another repository",
            github_binding(),
            json!({"repository": "octo-org/octo-repo-fork"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "repository",
                        ..
                    }
                )
            }),
        ),
        (
            "owner id differs (owner name re-registered)",
            github_binding(),
            json!({"repository_owner_id": "66"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "repository_owner_id",
                        ..
                    }
                )
            }),
        ),
        (
            "owner id missing",
            github_binding(),
            json!({"repository_owner_id": null}),
            Err(|e| *e == BindingError::MissingClaim("repository_owner_id")),
        ),
        (
            "another workflow file",
            github_binding(),
            json!({"workflow_ref": "octo-org/octo-repo/.github/workflows/ci.yml@refs/tags/v1.2.3"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "workflow_ref",
                        ..
                    }
                )
            }),
        ),
        (
            "workflow file with a matching prefix",
            github_binding(),
            json!({"workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml.bak@refs/tags/v1"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "workflow_ref",
                        ..
                    }
                )
            }),
        ),
        (
            "workflow from another repository",
            github_binding(),
            json!({"workflow_ref": "evil/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.3"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "workflow_ref",
                        ..
                    }
                )
            }),
        ),
        (
            "workflow file name differs in case",
            github_binding(),
            json!({"workflow_ref": "octo-org/octo-repo/.github/workflows/Release.yml@refs/tags/v1.2.3"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "workflow_ref",
                        ..
                    }
                )
            }),
        ),
        (
            "reusable workflow via job_workflow_ref",
            reusable.clone(),
            reusable_claims.clone(),
            ok,
        ),
        (
            "reusable binding ignores the caller's workflow_ref",
            reusable.clone(),
            patch(
                reusable_claims.clone(),
                &json!({"workflow_ref": "octo-org/octo-repo/.github/workflows/anything.yml@refs/heads/x"}),
            ),
            ok,
        ),
        (
            "reusable workflow from another repository",
            reusable.clone(),
            json!({"job_workflow_ref": "evil/shared-workflows/.github/workflows/publish.yml@refs/heads/main"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "job_workflow_ref",
                        ..
                    }
                )
            }),
        ),
        (
            "caller binding does not accept a reusable workflow's file",
            {
                let mut b = github_binding();
                b.workflow = "publish.yml".into();
                b
            },
            reusable_claims.clone(),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "workflow_ref",
                        ..
                    }
                )
            }),
        ),
        (
            "pull_request_target refused",
            github_binding(),
            json!({"event_name": "pull_request_target"}),
            Err(|e| matches!(e, BindingError::RefusedEvent(_))),
        ),
        (
            "workflow_run refused",
            github_binding(),
            json!({"event_name": "workflow_run"}),
            Err(|e| matches!(e, BindingError::RefusedEvent(_))),
        ),
        (
            "event_name missing",
            github_binding(),
            json!({"event_name": null}),
            Err(|e| *e == BindingError::MissingClaim("event_name")),
        ),
        (
            "wrong environment",
            github_binding(),
            json!({"environment": "staging"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "environment",
                        ..
                    }
                )
            }),
        ),
        (
            "no environment",
            github_binding(),
            json!({"environment": null}),
            Err(|e| *e == BindingError::MissingClaim("environment")),
        ),
        (
            "ref outside the pattern",
            github_binding(),
            json!({"ref": "refs/heads/main"}),
            Err(|e| matches!(e, BindingError::Mismatch { claim: "ref", .. })),
        ),
        (
            "ref pattern does not cross slashes",
            github_binding(),
            json!({"ref": "refs/tags/v1/evil"}),
            Err(|e| matches!(e, BindingError::Mismatch { claim: "ref", .. })),
        ),
        (
            "no environment or ref constraint",
            GitHubBinding::new("octo-org/octo-repo", "65", "release.yml"),
            json!({"environment": null, "ref": "refs/heads/feature"}),
            ok,
        ),
        (
            "a pull request's merge ref, even with any ref allowed",
            GitHubBinding::new("octo-org/octo-repo", "65", "release.yml"),
            json!({"ref": "refs/pull/1/merge", "environment": null}),
            Err(|e| *e == BindingError::PullRequestRef("refs/pull/1/merge".into())),
        ),
        (
            "a pull request's head ref matching a careless pattern",
            {
                let mut b = github_binding();
                b.ref_pattern = Some("refs/**".into());
                b
            },
            json!({"ref": "refs/pull/7/head"}),
            Err(|e| matches!(e, BindingError::PullRequestRef(_))),
        ),
        (
            "event pull_request is not a release event",
            github_binding(),
            json!({"event_name": "pull_request"}),
            Err(
                |e| matches!(e, BindingError::EventNotAllowed { event, .. } if event == "pull_request"),
            ),
        ),
        (
            "event issue_comment is not a release event",
            github_binding(),
            json!({"event_name": "issue_comment"}),
            Err(
                |e| matches!(e, BindingError::EventNotAllowed { event, .. } if event == "issue_comment"),
            ),
        ),
        (
            "pull_request_target refused even when listed",
            {
                let mut b = github_binding();
                b.events = vec!["pull_request_target".into()];
                b
            },
            json!({"event_name": "pull_request_target"}),
            Err(|e| matches!(e, BindingError::RefusedEvent(_))),
        ),
        (
            "an event the binding lists",
            {
                let mut b = github_binding();
                b.events = vec!["issue_comment".into()];
                b
            },
            json!({"event_name": "issue_comment"}),
            ok,
        ),
        (
            "a listed event replaces the defaults",
            {
                let mut b = github_binding();
                b.events = vec!["release".into()];
                b
            },
            json!({"event_name": "push"}),
            Err(|e| matches!(e, BindingError::EventNotAllowed { .. })),
        ),
        (
            "every default release event",
            github_binding(),
            json!({"event_name": "workflow_dispatch"}),
            ok,
        ),
        (
            "schedule is a release event",
            github_binding(),
            json!({"event_name": "schedule"}),
            ok,
        ),
        (
            "release is a release event",
            github_binding(),
            json!({"event_name": "release"}),
            ok,
        ),
        (
            "repository id pinned and equal",
            {
                let mut b = github_binding();
                b.repository_id = Some("74".into());
                b
            },
            json!({}),
            ok,
        ),
        (
            "repository re-created under the same name (new id)",
            {
                let mut b = github_binding();
                b.repository_id = Some("74".into());
                b
            },
            json!({"repository_id": "75"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "repository_id",
                        ..
                    }
                )
            }),
        ),
        (
            "repository id pinned but absent",
            {
                let mut b = github_binding();
                b.repository_id = Some("74".into());
                b
            },
            json!({"repository_id": null}),
            Err(|e| *e == BindingError::MissingClaim("repository_id")),
        ),
        (
            "sub is not what is compared",
            github_binding(),
            json!({"sub": "repo:evil/evil:ref:refs/heads/main"}),
            ok,
        ),
        (
            "repository as a number",
            github_binding(),
            json!({"repository": 74}),
            Err(|e| *e == BindingError::MissingClaim("repository")),
        ),
    ];
    for (name, binding, changes, expect) in cases {
        let claims = verified(GITHUB_ISSUER, &patch(github_claims(), &changes)).await;
        let result = Binding::GitHub(binding).check(&claims);
        match (expect, result) {
            (Ok(()), Ok(_)) => {}
            (Err(pred), Err(err)) => assert!(pred(&err), "{name}: unexpected error {err}"),
            (Ok(()), Err(err)) => panic!("{name}: refused: {err}"),
            (Err(_), Ok(p)) => panic!("{name}: accepted: {p:?}"),
        }
    }
}

#[tokio::test]
async fn github_provenance_is_what_the_gate_records() {
    let claims = verified(GITHUB_ISSUER, &github_claims()).await;
    assert_eq!(
        github_binding().check(&claims).unwrap(),
        Provenance {
            provider: "github",
            issuer: GITHUB_ISSUER.into(),
            repository: "octo-org/octo-repo".into(),
            workflow: "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.3".into(),
            git_ref: "refs/tags/v1.2.3".into(),
            commit_sha: "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a".into(),
            run_id: "8123456789".into(),
            environment: Some("release".into()),
        }
    );
}

#[tokio::test]
async fn a_binding_for_another_issuer_refuses() {
    let mut claims = github_claims();
    claims["iss"] = json!("https://token.actions.example.com");
    let claims = verified("https://token.actions.example.com", &claims).await;
    assert!(matches!(
        github_binding().check(&claims),
        Err(BindingError::Issuer(_))
    ));
}

/// A GitLab CI token for a release pipeline of group/sub/project.
fn gitlab_claims() -> Value {
    let t = now();
    json!({
        "iss": GITLAB_ISSUER, "aud": AUD, "iat": t, "nbf": t, "exp": t + 300,
        "jti": "0b6e9c5e-1f3a-4f0f-8d37-9a6b8c2d5e71",
        "sub": "project_path:group/sub/project:ref_type:tag:ref:v1.2.3",
        "namespace_id": "1234", "namespace_path": "group/sub",
        "project_id": "5678", "project_path": "group/sub/project",
        "user_id": "42", "user_login": "maintainer",
        "pipeline_id": "987654", "pipeline_source": "push", "job_id": "1122334455",
        "ref": "v1.2.3", "ref_type": "tag", "ref_path": "refs/tags/v1.2.3", "ref_protected": "true",
        "environment": "production", "environment_protected": "true", "deployment_tier": "production",
        "runner_id": 12, "runner_environment": "gitlab-hosted",
        "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "project_visibility": "public",
        "ci_config_ref_uri": "gitlab.com/group/sub/project//.gitlab-ci.yml@refs/tags/v1.2.3",
        "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
    })
}

fn gitlab_binding() -> GitLabBinding {
    let mut b = GitLabBinding::new("group/sub/project", "5678");
    b.environment = Some("production".into());
    b.ref_pattern = Some("refs/tags/v*".into());
    b
}

#[tokio::test]
async fn gitlab_table() {
    type Expect = Result<(), fn(&BindingError) -> bool>;
    let ok: Expect = Ok(());
    let cases: Vec<(&str, GitLabBinding, Value, Expect)> = vec![
        ("exact match", gitlab_binding(), json!({}), ok),
        (
            "project path differs only in case",
            gitlab_binding(),
            json!({"project_path": "Group/Sub/Project",
                   "ci_config_ref_uri": "gitlab.com/Group/Sub/Project//.gitlab-ci.yml@refs/tags/v1.2.3"}),
            ok,
        ),
        (
            "another project",
            gitlab_binding(),
            json!({"project_path": "group/sub/project2"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "project_path",
                        ..
                    }
                )
            }),
        ),
        (
            "project id differs",
            gitlab_binding(),
            json!({"project_id": "9999"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "project_id",
                        ..
                    }
                )
            }),
        ),
        (
            "project id missing (a binding always pins it)",
            gitlab_binding(),
            json!({"project_id": null}),
            Err(|e| *e == BindingError::MissingClaim("project_id")),
        ),
        (
            "project re-created under the same path (new id)",
            GitLabBinding::new("group/sub/project", "5678"),
            json!({"project_id": "5679", "environment": null}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "project_id",
                        ..
                    }
                )
            }),
        ),
        (
            "pipeline definition from another file",
            gitlab_binding(),
            json!({"ci_config_ref_uri": "gitlab.com/group/sub/project//ci/other.yml@refs/tags/v1.2.3"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "ci_config_ref_uri",
                        ..
                    }
                )
            }),
        ),
        (
            "pipeline definition from another project",
            gitlab_binding(),
            json!({"ci_config_ref_uri": "gitlab.com/evil/project//.gitlab-ci.yml@refs/tags/v1.2.3"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "ci_config_ref_uri",
                        ..
                    }
                )
            }),
        ),
        (
            "pipeline definition on another instance",
            gitlab_binding(),
            json!({"ci_config_ref_uri": "gitlab.example.com/group/sub/project//.gitlab-ci.yml@refs/tags/v1"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "ci_config_ref_uri",
                        ..
                    }
                )
            }),
        ),
        (
            "environment in another case",
            gitlab_binding(),
            json!({"environment": "PRODUCTION"}),
            ok,
        ),
        (
            "wrong environment",
            gitlab_binding(),
            json!({"environment": "staging"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "environment",
                        ..
                    }
                )
            }),
        ),
        (
            "branch instead of tag",
            gitlab_binding(),
            json!({"ref": "main", "ref_type": "branch", "ref_path": "refs/heads/main"}),
            Err(|e| matches!(e, BindingError::Mismatch { claim: "ref", .. })),
        ),
        (
            "ref built from ref_type and ref when ref_path is absent",
            gitlab_binding(),
            json!({"ref_path": null}),
            ok,
        ),
        (
            "unknown ref_type",
            gitlab_binding(),
            json!({"ref_path": null, "ref_type": "merge_request"}),
            Err(|e| {
                matches!(
                    e,
                    BindingError::Mismatch {
                        claim: "ref_type",
                        ..
                    }
                )
            }),
        ),
        (
            "sub is not what is compared",
            gitlab_binding(),
            json!({"sub": "project_path:evil/evil:ref_type:branch:ref:main"}),
            ok,
        ),
    ];
    for (name, binding, changes, expect) in cases {
        let claims = verified(GITLAB_ISSUER, &patch(gitlab_claims(), &changes)).await;
        match (expect, Binding::GitLab(binding).check(&claims)) {
            (Ok(()), Ok(p)) => assert_eq!(p.provider, "gitlab"),
            (Err(pred), Err(err)) => assert!(pred(&err), "{name}: unexpected error {err}"),
            (Ok(()), Err(err)) => panic!("{name}: refused: {err}"),
            (Err(_), Ok(p)) => panic!("{name}: accepted: {p:?}"),
        }
    }
}

#[tokio::test]
async fn gitlab_provenance() {
    let claims = verified(GITLAB_ISSUER, &gitlab_claims()).await;
    let p = gitlab_binding().check(&claims).unwrap();
    assert_eq!(p.repository, "group/sub/project");
    assert_eq!(p.git_ref, "refs/tags/v1.2.3");
    assert_eq!(p.run_id, "987654");
    assert_eq!(p.commit_sha, "714a629c0b401fdce83e847fc9589983fc6f46bc");
    assert_eq!(p.environment.as_deref(), Some("production"));
}
