//! `github-env`: text an attacker can choose written to `GITHUB_ENV`,
//! `GITHUB_PATH` or `GITHUB_OUTPUT`.
//!
//! A line of a `run:` script that redirects into one of those files (`>>
//! "$GITHUB_ENV"`, also a here-document body sent there) and expands either
//! an attacker-controllable `${{ }}` (issue and pull request titles and
//! bodies, head branch names, commit messages, ...; the list
//! `template-injection` uses) or a shell variable set from one in `env:`
//! (workflow, job or step level).

use crate::expr::expressions;
use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Step, Workflow};
use crate::route::Loc;
use crate::rules::template_injection::dangerous_path;
use crate::rules::{Context, Rule, RuleMeta};
use crate::yaml::Node;

pub static META: RuleMeta = RuleMeta {
    id: "github-env",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "Attacker-controllable text is written to `GITHUB_ENV`, `GITHUB_PATH` or `GITHUB_OUTPUT`.",
    risk: "Each line of `GITHUB_ENV` sets an environment variable for every later step; a \
           value with a newline in it (a pull request title can have one) sets any variable \
           the attacker wants, such as `NODE_OPTIONS`, `LD_PRELOAD` or `BASH_ENV`, which runs \
           their code in the next step with the job's credentials. `GITHUB_PATH` puts their \
           directory first on `PATH`; `GITHUB_OUTPUT` forges step outputs later steps trust.",
    fix: "Do not write untrusted text to these files. If a later step needs it, pass it through \
          `env:` to that step directly; if it must go through `GITHUB_ENV`, use a random \
          here-document delimiter and strip newlines first.",
};

const FILES: &[&str] = &["GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT"];

pub struct GithubEnv;

impl Rule for GithubEnv {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for job in &wf.jobs {
            for step in &job.steps {
                let tainted = tainted_vars(&[wf.env, job.node.get("env"), step.env]);
                out.extend(check_step(step, &tainted));
            }
        }
        out
    }

    fn check_action(&self, action: &crate::model::Action<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        action
            .steps
            .iter()
            .flat_map(|s| check_step(s, &tainted_vars(&[s.env])))
            .collect()
    }
}

/// `env:` names set from attacker-controllable text, innermost scope last:
/// (name, the context it comes from).
fn tainted_vars(envs: &[Option<&Node>]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for env in envs.iter().flatten() {
        for entry in env.as_map().unwrap_or_default() {
            let Some(name) = entry.key.as_str() else {
                continue;
            };
            out.retain(|(n, _)| n != name);
            let value = entry.value.as_str().unwrap_or("");
            if let Some((source, _)) = expressions(value)
                .iter()
                .find_map(|e| dangerous_path(e.inner))
            {
                out.push((name.to_owned(), source));
            }
        }
    }
    out
}

/// Which of the files a line redirects into.
fn written_file(line: &str) -> Option<&'static str> {
    if !line.contains('>') {
        return None;
    }
    FILES
        .iter()
        .copied()
        .find(|f| line.contains(&format!("${f}")) || line.contains(&format!("${{{f}}}")))
}

fn check_step(step: &Step<'_>, tainted: &[(String, String)]) -> Vec<Draft> {
    let Some(run) = step.run else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let lines: Vec<&str> = run.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let Some(file) = written_file(line) else {
            continue;
        };
        // A here-document sent to the file: its body lines are written too.
        let mut block = vec![line];
        if let Some(at) = line.find("<<") {
            let delimiter: String = line[at + 2..]
                .trim_start_matches('-')
                .trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            while i < lines.len() && !delimiter.is_empty() && lines[i].trim() != delimiter {
                block.push(lines[i]);
                i += 1;
            }
        }
        for text in block {
            let direct = expressions(text).into_iter().find_map(|e| {
                dangerous_path(e.inner).map(|(source, _)| (e.raw.to_owned(), source))
            });
            let through_env = || {
                tainted.iter().find_map(|(name, source)| {
                    reads_variable(text, name).then(|| (format!("${name}"), source.clone()))
                })
            };
            let Some((needle, source)) = direct.or_else(through_env) else {
                continue;
            };
            let loc_needle = if needle.starts_with("${{") {
                needle.clone()
            } else {
                text.trim().to_owned()
            };
            out.push(Draft::new(
                &META,
                format!(
                    "`{source}` (attacker-controllable) is written to `{file}` by `{}`",
                    text.trim()
                ),
                Loc::value(step.route.key("run")).with_needle(loc_needle),
                format!("untrusted text written to {file}"),
            ));
        }
    }
    out
}

/// Whether shell text reads `$NAME` or `${NAME...}`.
fn reads_variable(text: &str, name: &str) -> bool {
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        let candidate = after.strip_prefix('{').unwrap_or(after);
        if let Some(tail) = candidate.strip_prefix(name)
            && !tail.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            return true;
        }
        rest = after;
    }
    false
}
