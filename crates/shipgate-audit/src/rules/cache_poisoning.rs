//! `cache-poisoning`: a job that publishes (see `publishing::publishes`)
//! restores a dependency or build cache.
//!
//! Restores: `actions/cache` and `actions/cache/restore`; `*/setup-*`
//! actions with caching on (`cache:` set and not `false`, `enable-cache:
//! true`, any `*-cache: true` such as `ruby/setup-ruby`'s `bundler-cache`;
//! `actions/setup-go` v4 and later caches unless `cache: false`,
//! medium confidence); `Swatinem/rust-cache`; `gradle/actions/setup-gradle`;
//! `docker/build-push-action` with `cache-from: type=gha`;
//! `mozilla-actions/sccache-action` with `SCCACHE_GHA_ENABLED` on. A local composite
//! action (`uses: ./path`) that restores one of these is reported at the
//! workflow step that uses it.
//!
//! A cache restored after every publish step of the job can no longer reach
//! what it publishes and is not reported (when the job's publishing is only
//! a registry token or login, where it publishes is unknown, and every
//! restore is reported).

use crate::analysis::{publish_steps, publishes};
use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Job, Step, Uses, Workflow};
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "cache-poisoning",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A publishing job restores a cache that other workflow runs can write.",
    risk: "GitHub Actions caches are shared by every workflow run on the default branch and \
           read by runs on tags and other branches. Any job that can save a cache there (a \
           `pull_request_target` or `issue_comment` workflow, a compromised test dependency in \
           CI, a template injection) can plant a poisoned `node_modules`, `~/.cargo` or \
           toolchain that the release job restores and then builds or publishes.",
    fix: "Do not restore caches in jobs that publish or hold publishing credentials: build in \
          a cached job without credentials, hand the result over as an artifact, and turn \
          caching off in the publish job (`cache: false`, no `actions/cache`).",
};

pub struct CachePoisoning;

impl Rule for CachePoisoning {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            let Some(p) = publishes(wf, job) else {
                continue;
            };
            let last_publish = publish_steps(wf, job).iter().map(|s| s.step).max();
            let repository = crate::memo::repository();
            for step in &job.steps {
                if last_publish.is_some_and(|last| step.index > last) {
                    break;
                }
                if !crate::conditions::step_can_run(wf, job, step) {
                    continue;
                }
                let found = match (&step.uses, repository.as_deref()) {
                    (Some(Uses::Local(path)), Some(root)) => {
                        let facts = crate::local_actions::facts(root, path, step.with);
                        facts
                            .caches
                            .iter()
                            .rev()
                            .max_by_key(|(_, c)| *c)
                            .map(|(what, c)| (what.clone(), *c, Loc::value(step.route.key("uses"))))
                    }
                    _ => restores_cache(step).or_else(|| sccache_on_actions_cache(wf, job, step)),
                };
                let Some((what, confidence, loc)) = found else {
                    continue;
                };
                out.push(
                    Draft::new(
                        &META,
                        format!("job `{}` {} and {what}", job.id, p.why),
                        loc,
                        "cache restored here",
                    )
                    .confidence(confidence.min(p.confidence))
                    .related(p.loc.clone(), "publishes here"),
                );
            }
        }
        out
    }
}

/// `mozilla-actions/sccache-action` when sccache's GitHub Actions cache
/// backend is on (`SCCACHE_GHA_ENABLED: true` in the step's, job's or
/// workflow's `env:`, or exported by a step through `GITHUB_ENV`): the
/// compiler reads objects other runs wrote.
fn sccache_on_actions_cache(
    wf: &Workflow<'_>,
    job: &Job<'_>,
    step: &Step<'_>,
) -> Option<(String, Confidence, Loc)> {
    if !step.uses_action("mozilla-actions/sccache-action") {
        return None;
    }
    let on = |v: &str| {
        matches!(
            v.trim()
                .trim_matches(['"', '\''])
                .to_ascii_lowercase()
                .as_str(),
            "true" | "on" | "1"
        )
    };
    let in_env = crate::registries::env_value(wf, job, step, "SCCACHE_GHA_ENABLED").is_some_and(on);
    // Also when a step of the job exports it (`echo "SCCACHE_GHA_ENABLED=true"
    // >> $GITHUB_ENV`).
    let exported = job.steps.iter().filter_map(|s| s.run).any(|run| {
        run.lines().any(|line| {
            line.contains("GITHUB_ENV")
                && line
                    .split("SCCACHE_GHA_ENABLED=")
                    .nth(1)
                    .is_some_and(|rest| on(rest.split_whitespace().next().unwrap_or("")))
        })
    });
    (in_env || exported).then(|| {
        (
            "compiles through sccache with the GitHub Actions cache (`SCCACHE_GHA_ENABLED`)"
                .to_owned(),
            Confidence::High,
            Loc::value(step.route.key("uses")),
        )
    })
}

fn enabled(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        !v.is_empty() && v != "false"
    })
}

/// Whether a step restores a cache: what it does, how sure, and where.
pub(crate) fn restores_cache(step: &Step<'_>) -> Option<(String, Confidence, Loc)> {
    let uses = step.uses.as_ref()?;
    let slug = uses.slug()?;
    let at = Loc::value(step.route.key("uses"));
    let input_at = |name: &str| Loc::value(step.route.key("with").key(name));
    // A key with the run id, and no `restore-keys` without it, only finds
    // what this run saved (a re-run): no other run can have written it.
    let by_run = |k: &str| k.contains("github.run_id");
    let own_run_only = step.input("key").is_some_and(by_run)
        && step.input("restore-keys").is_none_or(|r| {
            r.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .all(by_run)
        });
    if uses.is("actions/cache") && !slug.ends_with("/save") && !own_run_only {
        return Some((
            format!("restores a cache with `{slug}`"),
            Confidence::High,
            at,
        ));
    }
    if uses.is("swatinem/rust-cache") {
        return Some((
            "restores the Rust build cache".to_owned(),
            Confidence::High,
            at,
        ));
    }
    if slug == "gradle/actions/setup-gradle" && step.input("cache-disabled") != Some("true") {
        return Some(("restores the Gradle cache".to_owned(), Confidence::High, at));
    }
    if uses.is("docker/build-push-action")
        && step
            .input("cache-from")
            .is_some_and(|c| c.contains("type=gha"))
    {
        return Some((
            "builds from the GitHub Actions cache (`cache-from: type=gha`)".to_owned(),
            Confidence::High,
            input_at("cache-from"),
        ));
    }
    let Uses::Repository { repo, .. } = uses else {
        return None;
    };
    let repo = repo.to_ascii_lowercase();
    if repo != "setup" && !repo.starts_with("setup-") {
        return None;
    }
    if enabled(step.input("cache")) {
        return Some((
            format!("restores a dependency cache with `{slug}` (`cache:`)"),
            Confidence::High,
            input_at("cache"),
        ));
    }
    // `enable-cache: true`, `bundler-cache: true`, `package-manager-cache: true`...
    let switched_on = step
        .with
        .and_then(|w| w.as_map())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e.key.as_str()?, e.value.as_str()?)))
        .find(|(k, v)| {
            // `no-cache: true` (setup-bun) turns caching off.
            k.ends_with("-cache")
                && !["no-", "disable-", "skip-"]
                    .iter()
                    .any(|p| k.starts_with(p))
                && v.trim() == "true"
        })
        .map(|(k, _)| k);
    if let Some(input) = switched_on {
        return Some((
            format!("restores a dependency cache with `{slug}` (`{input}:`)"),
            Confidence::High,
            input_at(input),
        ));
    }
    // Setup actions that cache unless told not to.
    for (action, off_input, off_value, since, what) in DEFAULT_CACHES {
        if uses.is(action)
            && step.input(off_input).is_none_or(|v| v.trim() != *off_value)
            && (*off_input != "cache" || step.input("cache").is_none())
            && uses.major_version().is_none_or(|v| v >= *since)
        {
            return Some((
                format!("restores {what} (`{action}` caches unless `{off_input}: {off_value}`)"),
                Confidence::Medium,
                at,
            ));
        }
    }
    None
}

/// Setup actions that restore a cache by default: (action, the input that
/// turns it off, its value, first major version that caches, what).
const DEFAULT_CACHES: &[(&str, &str, &str, u32, &str)] = &[
    // setup-go caches by default from v4 on.
    (
        "actions/setup-go",
        "cache",
        "false",
        4,
        "the Go module cache",
    ),
    // `cache: true` is the default (Rust build cache via rust-cache).
    (
        "actions-rust-lang/setup-rust-toolchain",
        "cache",
        "false",
        1,
        "the Rust build cache",
    ),
    // setup-bun caches the downloaded Bun executable unless `no-cache: true`.
    (
        "oven-sh/setup-bun",
        "no-cache",
        "true",
        1,
        "the cached Bun executable",
    ),
];
