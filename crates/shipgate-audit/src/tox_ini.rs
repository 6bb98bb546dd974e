//! A tox.ini (https://tox.wiki), read for what `tox -e ENV` runs: the
//! `commands_pre`, `commands` and `commands_post` of `[testenv:ENV]` (or
//! of `[testenv]` when the environment's own section does not set them), one
//! shell text per command line, with tox's substitutions made into values
//! or unknown words (`{posargs}` becomes the words after `--`, `{env:NAME}`
//! the shell variable `${NAME}`). Used by [`crate::repo_scripts`], so that
//! `tox -e release` running `python -m twine upload dist/*` is publishing.
//!
//! tox.ini is an INI file with indented continuation lines; the
//! `configparser`-style crates do not keep tox's multi-line values and
//! substitution syntax the way tox reads them, and only three keys of two
//! sections matter here, so this is a small reader of that part. The file
//! comes from the audited repository: every loop is linear in its text, and
//! anything it does not understand reads as nothing.

/// The file tox reads its configuration from (tox.toml, setup.cfg and
/// pyproject.toml's `[tool.tox]` are not read).
pub const FILE_NAMES: &[&str] = &["tox.ini"];

/// The keys whose lines are commands, in the order tox runs them.
const COMMAND_KEYS: &[&str] = &["commands_pre", "commands", "commands_post"];

/// A `tox` command line: the environments `-e` names and the words after
/// `--` (`{posargs}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub envs: Vec<String>,
    pub posargs: Vec<String>,
}

/// Options of tox that take a value (other than `-e`).
const VALUE_OPTIONS: &[&str] = &[
    "-x",
    "--override",
    "--result-json",
    "--installpkg",
    "--workdir",
    "--root",
    "--colored",
    "--exit-and-dump-after",
    "--hash-seed",
    "--discover",
    "-i",
    "--index-url",
    "--runner",
];

/// Reads the words of a `tox ...` command (`words[0]` is `tox`). `None`
/// when it runs no environment named on the line: no `-e` (tox's default
/// list is not guessed), labels or factors (`-m`, `-f`), another
/// configuration (`-c`), an environment not known until the step runs
/// (`-e $ENV`), or a subcommand that runs no commands (`list`, `config`,
/// `devenv`, `exec`, which runs the words after `--` instead).
pub fn invocation(words: &[String]) -> Option<Invocation> {
    let mut envs = Vec::new();
    let mut rest = words.get(1..)?.iter();
    while let Some(word) = rest.next() {
        let (option, inline) = match word.split_once('=') {
            Some((option, value)) if option.starts_with('-') => (option, Some(value)),
            _ => (word.as_str(), None),
        };
        match option {
            "--" => {
                let posargs = rest.cloned().collect();
                return (!envs.is_empty()).then_some(Invocation { envs, posargs });
            }
            "-e" | "--env" => {
                let value = match inline {
                    Some(value) => value,
                    None => rest.next()?.as_str(),
                };
                if value.contains(['$', '`', '{']) {
                    return None;
                }
                envs.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|e| !e.is_empty())
                        .map(str::to_owned),
                );
            }
            "-c" | "--conf" | "-m" | "-f" | "--factors" | "--labels" | "-l" | "--list-envs"
            | "-a" | "--list-envs-all" | "--showconfig" | "--version" | "-h" | "--help" => {
                return None;
            }
            option if VALUE_OPTIONS.contains(&option) => {
                if inline.is_none() {
                    rest.next();
                }
            }
            option if option.starts_with('-') => {}
            "run" | "r" | "run-parallel" | "p" | "legacy" | "le" => {}
            // The optional value of `-p`/`--parallel`.
            "auto" | "all" => {}
            count if count.chars().all(|c| c.is_ascii_digit()) => {}
            _ => return None,
        }
    }
    (!envs.is_empty()).then_some(Invocation {
        envs,
        posargs: Vec::new(),
    })
}

/// The shell texts `tox -e ENV -- POSARGS` runs from a tox.ini's `text`
/// (see the module docs). Empty when the file sets no commands for it.
pub fn commands(text: &str, env: &str, posargs: &[String]) -> Vec<String> {
    let own = section_values(text, &format!("testenv:{env}"));
    let base = section_values(text, "testenv");
    let mut out = Vec::new();
    for key in COMMAND_KEYS {
        let value = own
            .iter()
            .find(|(k, _)| k == key)
            .or_else(|| base.iter().find(|(k, _)| k == key));
        let Some((_, value)) = value else { continue };
        for line in command_lines(value) {
            out.push(substitute(&line, posargs).trim().to_owned());
        }
    }
    out
}

/// The `key = value` pairs of the section `[name]`, a value's indented
/// continuation lines joined with newlines.
fn section_values(text: &str, name: &str) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            inside = header.trim_end_matches(']').trim() == name;
            continue;
        }
        if !inside || trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // A continuation of the value before.
            if let Some((_, value)) = values.last_mut() {
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some((key, value)) = trimmed.split_once('=') {
            values.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    values
}

/// The command lines of a value: one per line, a line ending in `\`
/// joined to the next, tox's `-` prefix (ignore the exit code) removed.
fn command_lines(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in value.lines() {
        let line = line.trim();
        if let Some(joined) = line.strip_suffix('\\') {
            current.push_str(joined);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let command = current.trim().trim_start_matches('-').trim();
        if !command.is_empty() && !command.starts_with('#') {
            out.push(command.to_owned());
        }
        current.clear();
    }
    let command = current.trim().trim_start_matches('-').trim();
    if !command.is_empty() {
        out.push(command.to_owned());
    }
    out
}

/// tox's `{...}` substitutions: `{posargs}` (or `{posargs:default}`) by
/// the words after `--` (else the default), `{env:NAME}` and
/// `{env:NAME:default}` by `${NAME}`, `{/}` and `{:}` by `/` and `:`, any
/// other (`{toxinidir}`, `{[section]key}`) by the unknown word `${TOX}`.
/// `\{` is a literal brace.
fn substitute(line: &str, posargs: &[String]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find(['{', '\\']) {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if rest[open..].starts_with('\\') {
            // `\{`, `\}`: literal; any other backslash stays.
            match after.chars().next() {
                Some(c @ ('{' | '}')) => {
                    out.push(c);
                    rest = &after[1..];
                }
                _ => {
                    out.push('\\');
                    rest = after;
                }
            }
            continue;
        }
        let Some(close) = after.find('}') else {
            out.push('{');
            rest = after;
            continue;
        };
        let inner = &after[..close];
        rest = &after[close + 1..];
        if let Some(default) = inner
            .strip_prefix("posargs")
            .filter(|d| d.is_empty() || d.starts_with(':'))
        {
            if posargs.is_empty() {
                out.push_str(default.trim_start_matches(':'));
            } else {
                out.push_str(&posargs.join(" "));
            }
        } else if let Some(name) = inner.strip_prefix("env:") {
            let name = name.split(':').next().unwrap_or("");
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
            } else {
                out.push_str("${TOX}");
            }
        } else if inner == "/" || inner == ":" {
            out.push_str(inner);
        } else {
            out.push_str("${TOX}");
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    /// The shape of the release environment many Python projects share.
    const TOX_INI: &str = r#"[tox]
env_list = py, docs

[testenv]
description = perform primary checks (tests, style, types, coverage)
deps =
setenv =
	PYTHONWARNDEFAULTENCODING = 1
commands =
	pytest {posargs}
usedevelop = True
extras =
	test

[testenv:docs]
extras =
	doc
commands =
	python -m sphinx -W --keep-going . {toxinidir}/build/html

[testenv:release]
description = publish the package to PyPI and GitHub
skip_install = True
deps =
	build
	twine>=3
pass_env =
	TWINE_PASSWORD
	GITHUB_TOKEN
setenv =
	TWINE_USERNAME = {env:TWINE_USERNAME:__token__}
commands_pre =
	- python -c "import shutil; shutil.rmtree('dist', ignore_errors=True)"
commands =
	python -m build
	python -m twine upload \
	  --skip-existing dist/*
	python -m jaraco.develop.create-github-release
"#;

    #[test]
    fn an_environment_runs_its_own_commands() {
        assert_eq!(
            commands(TOX_INI, "release", &[]),
            [
                "python -c \"import shutil; shutil.rmtree('dist', ignore_errors=True)\"",
                "python -m build",
                "python -m twine upload  --skip-existing dist/*",
                "python -m jaraco.develop.create-github-release",
            ]
        );
        assert_eq!(
            commands(TOX_INI, "docs", &[]),
            ["python -m sphinx -W --keep-going . ${TOX}/build/html"]
        );
    }

    #[test]
    fn other_environments_run_the_base_commands_with_posargs() {
        assert_eq!(commands(TOX_INI, "py312", &[]), ["pytest"]);
        assert_eq!(
            commands(TOX_INI, "py", &words("-k slow")),
            ["pytest -k slow"]
        );
        assert_eq!(
            substitute("pytest {posargs:tests} {env:CI:x} \\{a\\} {/}", &[]),
            "pytest tests ${CI} {a} /"
        );
        assert!(commands("[tox]\nenv_list = py\n", "release", &[]).is_empty());
    }

    #[test]
    fn command_lines_that_run_no_named_environment() {
        for line in [
            "tox",
            "tox -e $TOXENV",
            "tox -c other.ini -e release",
            "tox -m release",
            "tox list",
            "tox exec -e release -- twine upload dist/*",
            "tox -e",
        ] {
            assert_eq!(invocation(&words(line)), None, "{line}");
        }
        let inv = invocation(&words("tox run -p auto -e lint,release -x a=b -- --tag v1")).unwrap();
        assert_eq!(inv.envs, ["lint", "release"]);
        assert_eq!(inv.posargs, ["--tag", "v1"]);
        assert_eq!(
            invocation(&words("tox --env=release")).unwrap().envs,
            ["release"]
        );
    }

    #[test]
    fn hostile_files_are_read_in_bounded_time() {
        for text in [
            "[testenv:release\ncommands = {{{{{\n",
            "[testenv:release]\n  orphan continuation\ncommands\n",
            "[testenv:release]\ncommands = \\\n",
            "[testenv:release]\ncommands = {posargs\n\t{env:\n\t\\",
            &format!(
                "[testenv:release]\ncommands =\n{}",
                "\tx {env:A} \\\n".repeat(50_000)
            ),
        ] {
            let _ = commands(text, "release", &words("a b"));
        }
        let many = format!("[testenv:release]\ncommands = {}\n", "{a}".repeat(100_000));
        assert_eq!(commands(&many, "release", &[]).len(), 1);
    }
}
