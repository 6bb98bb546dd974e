//! The rules. One file per rule, each a unit struct implementing [`Rule`],
//! listed once in [`REGISTRY`]. A rule reads the typed workflow model and
//! returns [`Draft`]s that point at symbolic locations.

use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Action, Workflow};
use crate::source::SourceFile;
use crate::yaml::Node;

mod artipacked;
mod bot_conditions;
pub(crate) mod cache_poisoning;
mod cancel_in_progress_on_release;
mod credential_with_toolchain;
mod dangerous_triggers;
pub(crate) mod fork_code_reaches_secrets;
mod github_env;
pub(crate) mod install_scripts_with_credentials;
pub(crate) mod invalid_workflow;
mod long_lived_publish_token;
mod missing_root_permissions;
pub(crate) mod pin_without_version_comment;
mod publish_without_environment;
mod ref_version_mismatch;
mod secrets_inherit;
mod self_hosted_release;
mod tag_publish_without_approval;
pub(crate) mod template_injection;
mod unpinned_action;
mod unpinned_images;
mod unverified_artifact_handoff;
mod workflow_level_id_token;

/// Where the documentation of every rule lives (one anchor per rule id).
pub const DOCS_URL: &str = "https://github.com/shipgate/shipgate/blob/main/docs/audit.md";

/// A rule's fixed description: identity, defaults and documentation.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id, used in suppressions, configuration and output.
    pub id: &'static str,
    /// Default severity (a finding may use another one, e.g. `unpinned-action`).
    pub severity: Severity,
    pub confidence: Confidence,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Why it matters: the risk, in a few sentences.
    pub risk: &'static str,
    /// How to fix it.
    pub fix: &'static str,
}

impl RuleMeta {
    pub fn help_uri(&self) -> String {
        format!("{DOCS_URL}#{}", self.id)
    }
}

/// What a rule may look at besides the model: the source text (for comments)
/// and the raw document.
pub struct Context<'a> {
    pub source: &'a SourceFile,
    pub root: &'a Node,
    /// Local clones of actions (`--actions-dir`), when given.
    pub actions_dir: Option<&'a std::path::Path>,
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;

    fn check_workflow(&self, _workflow: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        Vec::new()
    }

    fn check_action(&self, _action: &Action<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        Vec::new()
    }
}

/// Every rule, in the order findings are listed for one location.
pub static REGISTRY: &[&dyn Rule] = &[
    &invalid_workflow::InvalidWorkflow,
    &credential_with_toolchain::CredentialWithToolchain,
    &workflow_level_id_token::WorkflowLevelIdToken,
    &missing_root_permissions::MissingRootPermissions,
    &unpinned_action::UnpinnedAction,
    &pin_without_version_comment::PinWithoutVersionComment,
    &publish_without_environment::PublishWithoutEnvironment,
    &cancel_in_progress_on_release::CancelInProgressOnRelease,
    &install_scripts_with_credentials::InstallScriptsWithCredentials,
    &long_lived_publish_token::LongLivedPublishToken,
    &unverified_artifact_handoff::UnverifiedArtifactHandoff,
    &fork_code_reaches_secrets::ForkCodeReachesSecrets,
    &template_injection::TemplateInjection,
    &tag_publish_without_approval::TagPublishWithoutApproval,
    &cache_poisoning::CachePoisoning,
    &artipacked::Artipacked,
    &dangerous_triggers::DangerousTriggers,
    &github_env::GithubEnv,
    &unpinned_images::UnpinnedImages,
    &secrets_inherit::SecretsInherit,
    &self_hosted_release::SelfHostedRelease,
    &bot_conditions::BotConditions,
    &ref_version_mismatch::RefVersionMismatch,
];

/// Every rule's metadata, in registry order.
pub fn all() -> impl Iterator<Item = &'static RuleMeta> {
    REGISTRY.iter().map(|r| r.meta())
}

/// The metadata of a rule id.
pub fn find(id: &str) -> Option<&'static RuleMeta> {
    all().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for m in all() {
            assert!(seen.insert(m.id), "duplicate rule id {}", m.id);
            assert!(
                m.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                m.id
            );
            assert!(
                !m.summary.is_empty() && !m.risk.is_empty() && !m.fix.is_empty(),
                "{}",
                m.id
            );
        }
        assert_eq!(seen.len(), 23);
    }
}
