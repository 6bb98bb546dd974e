//! `workflow-level-id-token`: `id-token: write` (or `write-all`) granted in
//! the workflow's root `permissions`, so every job can mint OIDC tokens.

use super::missing_root_permissions::root_permissions_fix;
use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Permissions, Workflow};
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "workflow-level-id-token",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "`id-token: write` is granted at workflow level, so every job can mint OIDC tokens.",
    risk: "An OIDC token is a publish credential wherever trusted publishing or cloud federation \
           trusts this repository. Granted at the root, it reaches every job, including the ones \
           that install dependencies and run tests.",
    fix: "Set `permissions: {}` at the root and grant `id-token: write` only in the one job that \
          publishes (and give that job a deployment `environment`). `shipgate audit --fix=all` \
          rewrites the permissions for review.",
};

pub struct WorkflowLevelIdToken;

impl Rule for WorkflowLevelIdToken {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let Some(route) = wf
            .permissions
            .as_ref()
            .and_then(Permissions::id_token_write)
        else {
            return Vec::new();
        };
        let how = if matches!(wf.permissions, Some(Permissions::All { .. })) {
            "`write-all` at workflow level includes `id-token: write`"
        } else {
            "`id-token: write` is granted at workflow level"
        };
        let mut draft = Draft::new(
            &META,
            format!("{how}: all {} jobs can mint OIDC tokens", wf.jobs.len()),
            Loc::entry(route),
            "granted to every job",
        );
        if let Some(fix) = root_permissions_fix(wf) {
            draft = draft.fix(fix);
        }
        vec![draft]
    }
}
