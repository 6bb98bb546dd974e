//! `credential-with-toolchain`: a job holds a publish or signing credential
//! and, in the same job, installs dependencies or runs the build.
//!
//! Credential: `id-token: write` (own or inherited), a secret other than
//! `GITHUB_TOKEN`, or `secrets: inherit` (see `analysis::credentials`).
//! Toolchain: see `analysis::toolchain_steps` (setup actions next to a
//! checkout or with a cache, package-manager installs and scripts, builds,
//! scripts from the checkout). Reusable-workflow calls are skipped: their
//! steps are in another file.

use crate::analysis::{jobs_with_credential, toolchain_steps};
use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "credential-with-toolchain",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A job holds a publish or signing credential and also installs dependencies or runs the build.",
    risk: "Every step of a job can read the job's credentials: an `id-token: write` grant lets any \
           process mint an OIDC token (and publish through trusted publishing), and secrets sit in \
           the environment or on disk. A poisoned dependency install script, build script or test \
           running in the same job can steal them and publish malware under your name.",
    fix: "Split the job into a build job and a publish job: build in a job with no secrets and no \
          `id-token`, hand the result over with `actions/upload-artifact` / \
          `actions/download-artifact`, and publish in a job that holds the credential but runs no \
          checkout, no toolchain and no install: only the download and the upload command.",
};

pub struct CredentialWithToolchain;

impl Rule for CredentialWithToolchain {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for (job, cred) in jobs_with_credential(wf) {
            let Some(tool) = toolchain_steps(job).into_iter().next() else {
                continue;
            };
            let confidence = if tool.what.contains("from the checkout") {
                Confidence::Medium
            } else {
                Confidence::High
            };
            out.push(
                Draft::new(
                    &META,
                    format!(
                        "job `{}` holds {} and runs the toolchain in the same job: {}",
                        job.id, cred.what, tool.what
                    ),
                    cred.loc.clone(),
                    format!("credential reachable from every step of job `{}`", job.id),
                )
                .confidence(confidence)
                .related(tool.loc, "first toolchain step of the job"),
            );
        }
        out
    }
}
