//! `install-scripts-with-credentials`: an npm/yarn/pnpm install without
//! `--ignore-scripts` in a job that holds a credential. The matching
//! configuration in `env` (step, job or workflow) also counts:
//! `npm_config_ignore_scripts: true` (any case) for npm/pnpm/yarn classic,
//! `YARN_ENABLE_SCRIPTS: false` for yarn berry. `.npmrc` files are not read
//! (they are not in the workflow), which the explanation says; but the
//! configuration an earlier command of the job writes is: `npm|pnpm config
//! set ignore-scripts true`, `ignore-scripts=true` echoed into an `.npmrc`,
//! `yarn config set enableScripts false`, and for pnpm, `yq` setting every
//! `allowBuilds` entry of `pnpm-workspace.yaml` to `false` (or
//! `onlyBuiltDependencies` to `[]`).
//!
//! Upgrading npm itself (`npm i -g npm@10`) runs npm's own scripts only, not
//! the project's dependency tree: it is reported at low confidence.

use crate::analysis::jobs_with_credential;
use crate::finding::{Confidence, Draft, FixPlan, FixSafety, Severity, SymbolicEdit};
use crate::model::{Uses, Workflow};
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};
use crate::shell::{self, js_install};
use crate::yaml::Node;

pub static META: RuleMeta = RuleMeta {
    id: "install-scripts-with-credentials",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A dependency install runs install scripts in a job that holds a credential.",
    risk: "`npm ci`/`npm install`, `yarn` and `pnpm install` run every dependency's \
           `preinstall`/`install`/`postinstall` script. One compromised package in the tree then \
           runs with the job's OIDC token or secrets: this is how recent npm worms stole \
           publish tokens.",
    fix: "Add `--ignore-scripts` to the install (or set `npm_config_ignore_scripts: true`), \
          and better, move the install out of the credential job entirely (see \
          `credential-with-toolchain`). `shipgate audit --fix` adds the flag. If a dependency \
          really needs its install script, run it explicitly in a job without credentials.",
};

pub struct InstallScriptsWithCredentials;

impl Rule for InstallScriptsWithCredentials {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for (job, cred) in jobs_with_credential(wf) {
            // Package managers whose scripts an earlier command turned off.
            let mut disabled: Vec<&str> = Vec::new();
            let repository = crate::memo::repository();
            for step in &job.steps {
                // A local action's installs, reported at the step that uses it.
                if let (Some(Uses::Local(path)), Some(root)) = (&step.uses, repository.as_deref()) {
                    let facts = crate::local_actions::facts(root, path, step.with);
                    if let Some((what, _)) = facts.installs.iter().find(|(_, manager)| {
                        !disabled.contains(manager)
                            && !scripts_disabled_by_env(manager, &[job.node.get("env"), wf.env])
                    }) {
                        out.push(
                            Draft::new(
                                &META,
                                format!(
                                    "{what} runs dependency install scripts in job `{}`, which holds {}",
                                    job.id, cred.what
                                ),
                                Loc::value(step.route.key("uses")),
                                "install scripts run here",
                            )
                            .related(cred.loc.clone(), "credential"),
                        );
                    }
                }
                let Some(run) = step.run else { continue };
                let mut seen: Vec<&str> = Vec::new();
                for cmd in shell::commands(run) {
                    let occurrence = seen.iter().filter(|r| **r == cmd.raw).count();
                    seen.push(cmd.raw);
                    disabled.extend(disables_scripts(&cmd));
                    let Some(install) = js_install(&cmd) else {
                        continue;
                    };
                    if install.ignores_scripts
                        || disabled.contains(&install.manager)
                        || scripts_disabled_by_env(
                            install.manager,
                            &[step.env, job.node.get("env"), wf.env],
                        )
                    {
                        continue;
                    }
                    let at = Loc::value(step.route.key("run"))
                        .with_needle(cmd.raw)
                        .nth(occurrence);
                    let mut draft = Draft::new(
                        &META,
                        format!(
                            "`{}` runs dependency install scripts in job `{}`, which holds {}",
                            cmd.raw, job.id, cred.what
                        ),
                        at.clone(),
                        "install scripts run here",
                    )
                    .related(cred.loc.clone(), "credential");
                    if upgrades_npm_itself(&cmd) {
                        draft = draft.confidence(Confidence::Low);
                    }
                    if let Some(offset) = cmd
                        .word_ends
                        .get(install.insert_after_word)
                        .copied()
                        .flatten()
                    {
                        draft = draft.fix(FixPlan {
                            safety: FixSafety::Safe,
                            description: format!("add `--ignore-scripts` to `{}`", cmd.raw),
                            edits: vec![SymbolicEdit::Insert {
                                at,
                                offset,
                                text: " --ignore-scripts".to_owned(),
                            }],
                        });
                    }
                    out.push(draft);
                }
            }
        }
        out
    }
}

/// `npm install -g npm@X` (or `npm i --global npm`, `pnpm add -g npm@X`,
/// `yarn global add npm`): only npm itself.
pub(crate) fn upgrades_npm_itself(cmd: &shell::Command<'_>) -> bool {
    let global =
        cmd.has_flag("-g") || cmd.has_flag("--global") || cmd.has_flag("--location=global");
    let skip = if cmd.program() == "yarn" { 3 } else { 2 };
    let packages: Vec<&String> = cmd
        .words
        .iter()
        .skip(skip)
        .filter(|w| !w.starts_with('-'))
        .collect();
    let manager_adds_globally = match cmd.program() {
        "npm" => global,
        // `pnpm add -g npm@latest`, `yarn global add npm`.
        "pnpm" => global && cmd.positional(0) == Some("add"),
        "yarn" => cmd.positional(0) == Some("global") && cmd.positional(1) == Some("add"),
        _ => false,
    };
    manager_adds_globally
        && !packages.is_empty()
        && packages
            .iter()
            .all(|p| *p == "npm" || p.starts_with("npm@"))
}

/// The package managers whose dependency scripts a command turns off for
/// the rest of the job, by writing their configuration.
pub(crate) fn disables_scripts(cmd: &shell::Command<'_>) -> Vec<&'static str> {
    /// `~/.npmrc` is read by npm, pnpm and yarn classic.
    const NPMRC: &[&str] = &["npm", "pnpm", "yarn"];
    let compact = |w: &str| -> String {
        w.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    match cmd.program() {
        "npm" | "pnpm" | "yarn"
            if cmd.positional(0) == Some("config") && cmd.positional(1) == Some("set") =>
        {
            let key = cmd.positional(2).unwrap_or("");
            let value = cmd.positional(3).unwrap_or("");
            if key == "ignore-scripts=true" || (key == "ignore-scripts" && value == "true") {
                return NPMRC.to_vec();
            }
            if cmd.program() == "yarn" && key == "enableScripts" && value == "false" {
                return vec!["yarn"];
            }
            Vec::new()
        }
        "echo" | "printf"
            if cmd.words.iter().any(|w| w.ends_with(".npmrc"))
                && cmd
                    .words
                    .iter()
                    .any(|w| compact(w) == "ignore-scripts=true") =>
        {
            NPMRC.to_vec()
        }
        "yq" if cmd.words.iter().any(|w| w.ends_with("pnpm-workspace.yaml"))
            && cmd.words.iter().any(|w| {
                let e = compact(w);
                e == ".allowbuilds[]=false" || e == ".onlybuiltdependencies=[]"
            }) =>
        {
            vec!["pnpm"]
        }
        _ => Vec::new(),
    }
}

pub(crate) fn scripts_disabled_by_env(manager: &str, envs: &[Option<&Node>]) -> bool {
    envs.iter().flatten().any(|env| {
        env.as_map().unwrap_or_default().iter().any(|e| {
            let key = e.key.as_str().unwrap_or("").to_ascii_lowercase();
            let value = e.value.as_str().unwrap_or("").to_ascii_lowercase();
            (key == "npm_config_ignore_scripts" && value == "true")
                || (manager == "yarn" && key == "yarn_enable_scripts" && value == "false")
        })
    })
}
