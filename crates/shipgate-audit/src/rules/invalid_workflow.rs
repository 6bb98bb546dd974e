//! `invalid-workflow`: the file could not be read, is not YAML, or is not a
//! workflow/action. Raised by the engine (there is no model to check), so this
//! file only holds the rule's metadata.

use crate::finding::{Confidence, Severity};
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "invalid-workflow",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "The file could not be audited: unreadable, not YAML, or not a workflow.",
    risk: "A file that shipgate cannot read is a file nobody has audited. GitHub may still run \
           it (or refuse it and silently skip a release check), so it fails closed here.",
    fix: "Fix the YAML error at the reported position, or stop passing this file to \
          `shipgate audit` if it is not a workflow. Suppress with `[audit.ignore]` for \
          YAML files that live in `.github/workflows` on purpose.",
};

pub struct InvalidWorkflow;

impl Rule for InvalidWorkflow {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
