//! `unpinned-images`: a job's `container:` or `services:` image given by tag
//! (or without one) instead of by digest (`image@sha256:<64 hex>`). An image
//! chosen by an expression is not reported (its value is not known here).

use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::route::{Loc, Route};
use crate::rules::{Context, Rule, RuleMeta};
use crate::yaml::Node;

pub static META: RuleMeta = RuleMeta {
    id: "unpinned-images",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A job container or service image is referenced by tag, not by digest.",
    risk: "Image tags move. Whoever can push to the image's repository (or steals its \
           credentials) can replace the image behind `node:20` or `postgres:16`, and the job \
           runs it next to its token and secrets. Only a digest is immutable.",
    fix: "Pin the image by digest and keep the tag as a comment: \
          `image: node:20@sha256:<digest> # node:20`; let Dependabot or Renovate update it.",
};

pub struct UnpinnedImages;

/// Whether an image reference is pinned by a full sha256 digest.
pub fn pinned_by_digest(image: &str) -> bool {
    image
        .split_once("@sha256:")
        .is_some_and(|(_, d)| d.len() == 64 && d.chars().all(|c| c.is_ascii_hexdigit()))
}

impl Rule for UnpinnedImages {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for job in &wf.jobs {
            if let Some(container) = job.node.get("container") {
                out.extend(check(container, job.route.key("container"), "container"));
            }
            for service in job
                .node
                .get("services")
                .and_then(Node::as_map)
                .unwrap_or_default()
            {
                let Some(name) = service.key.as_str() else {
                    continue;
                };
                let route = job.route.key("services").key(name);
                out.extend(check(&service.value, route, &format!("service `{name}`")));
            }
        }
        out
    }
}

/// `container: image` or `container: {image: ...}`.
fn check(node: &Node, route: Route, what: &str) -> Option<Draft> {
    let (image, route) = match node.as_str() {
        Some(image) => (image, route),
        None => (node.get("image")?.as_str()?, route.key("image")),
    };
    let image = image.trim();
    if image.is_empty() || image.contains("${{") || pinned_by_digest(image) {
        return None;
    }
    let how = match image
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once(':'))
    {
        Some((_, tag)) => format!("by the tag `{tag}`"),
        None => "without a tag (it means `latest`)".to_owned(),
    };
    Some(Draft::new(
        &META,
        format!("{what} image `{image}` is referenced {how}, not by digest"),
        Loc::value(route),
        "image not pinned by digest",
    ))
}
