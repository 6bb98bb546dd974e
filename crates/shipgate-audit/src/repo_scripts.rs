//! Scripts of the repository that a `run:` step starts, read when the
//! repository is on disk: a script by path (`./scripts/release.sh`, `bash
//! .github/publish.sh`, `pwsh -File build/push.ps1`), the package
//! scripts `npm run NAME` (also pnpm, yarn and bun) finds in package.json,
//! with its `pre`/`post` scripts, the recipe of `make TARGET` (with its
//! prerequisites') in the Makefile ([`crate::makefile`]), the recipes
//! `just RECIPE` runs from the justfile ([`crate::justfile`]) and the tasks
//! `task NAME` runs from the Taskfile ([`crate::taskfile`]), and the
//! commands of `tox -e ENV` ([`crate::tox_ini`]). Their commands
//! are read like the step's own (through the same shell reader), so a `choco
//! push` inside `update.ps1` or a `changeset publish` behind `pnpm release`
//! is publishing at the step that starts it.
//!
//! Hostile input is bounded: files are read only inside the repository (see
//! [`crate::repo_files`]) and up to [`MAX_SCRIPT_BYTES`], scripts starting
//! scripts are followed [`MAX_DEPTH`] deep, and a file that cannot be read
//! or parsed counts for nothing.

use std::path::{Path, PathBuf};

use crate::finding::Confidence;
use crate::shell::{self, Command, Registry};

/// Largest script or package.json read.
const MAX_SCRIPT_BYTES: u64 = 256 * 1024;
/// How many scripts deep (a script running a package script running a
/// script...) publishing is looked for.
const MAX_DEPTH: usize = 4;

/// What a script started from a step publishes, and how surely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptPublish {
    /// The publish command and where it is (`` `npm publish` (in
    /// `scripts/release.sh`) ``).
    pub what: String,
    pub registry: Registry,
    pub confidence: Confidence,
}

/// A script a command starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Started {
    /// A file of the repository, relative to the step's directory.
    File(String),
    /// `scripts.NAME` of the package.json in a directory (the step's, or the
    /// one `--prefix`, `-w`, `-C`, `--dir` or `--cwd` names).
    Package { dir: String, name: String },
    /// A target of the Makefile in a directory (`make -C DIR VAR=x
    /// TARGET`), with the variables set on the command line.
    Make {
        dir: String,
        target: String,
        vars: Vec<(String, String)>,
    },
    /// Recipes of the justfile found from a directory upwards (`just
    /// [VAR=x] RECIPE ARGS...`, `just DIR/RECIPE`).
    Just(crate::justfile::Invocation),
    /// Tasks of the Taskfile found from a directory upwards (`task [-d DIR]
    /// NAME... [VAR=x]`).
    Task(crate::taskfile::Invocation),
    /// Environments of the tox.ini found from the step's directory upwards
    /// (`tox -e ENV -- ARGS`).
    Tox(crate::tox_ini::Invocation),
}

/// Pnpm and yarn commands that are not package scripts (`pnpm NAME` runs
/// the script NAME only when NAME is none of these).
const PACKAGE_MANAGER_COMMANDS: &[&str] = &[
    "add",
    "audit",
    "bin",
    "cache",
    "ci",
    "config",
    "create",
    "dedupe",
    "dlx",
    "env",
    "exec",
    "fetch",
    "global",
    "i",
    "import",
    "info",
    "init",
    "install",
    "link",
    "list",
    "ls",
    "login",
    "logout",
    "outdated",
    "pack",
    "patch",
    "prune",
    "publish",
    "rebuild",
    "remove",
    "rm",
    "root",
    "run",
    "set",
    "setup",
    "store",
    "unlink",
    "up",
    "update",
    "upgrade",
    "version",
    "view",
    "why",
    "workspace",
    "workspaces",
    "npm",
    "node",
    "dist-tag",
    "whoami",
    "x",
];

/// The options of a package manager that name the directory of the package
/// whose scripts it runs (`npm --prefix web run x`, `npm run x -w
/// packages/cli`, `pnpm -C web x`, `yarn --cwd web x`).
fn package_dir_options(program: &str) -> &'static [&'static str] {
    match program {
        "npm" => &["--prefix", "-w", "--workspace"],
        "pnpm" => &["-C", "--dir"],
        "yarn" | "bun" => &["--cwd"],
        _ => &[],
    }
}

/// The directory [`package_dir_options`] name, `""` when none does; `None`
/// when it is not known before the step runs (`-w $WORKSPACE`).
fn package_dir(cmd: &Command<'_>, options: &[&str]) -> Option<String> {
    match cmd.option_value(options) {
        None => Some(String::new()),
        Some(dir) if dir.contains(['$', '`']) => None,
        Some(dir) => Some(dir.to_owned()),
    }
}

/// The script `cmd` starts, if it names one.
fn started(cmd: &Command<'_>) -> Option<Started> {
    let program = cmd.program();
    let dir_options = package_dir_options(program);
    let positional = |n| cmd.positional_after_options(n, dir_options);
    let package = |name: &str| {
        Some(Started::Package {
            dir: package_dir(cmd, dir_options)?,
            name: name.to_owned(),
        })
    };
    let sub = positional(0);
    match program {
        "npm" => {
            // `--workspaces`: the script of every workspace.
            if cmd.has_flag("--workspaces") || cmd.has_flag("-ws") {
                return None;
            }
            match sub? {
                "run" | "run-script" | "rum" | "urn" => package(positional(1)?),
                "test" | "t" | "start" | "stop" | "restart" => package(sub?),
                _ => None,
            }
        }
        "pnpm" | "yarn" | "bun" => {
            // `pnpm -r run x` / `--filter`: scripts of other packages.
            if cmd
                .words
                .iter()
                .any(|w| matches!(w.as_str(), "-r" | "--recursive" | "--filter" | "-F"))
            {
                return None;
            }
            match sub? {
                "run" => package(positional(1)?),
                name if program != "bun" && !PACKAGE_MANAGER_COMMANDS.contains(&name) => {
                    package(name)
                }
                _ => None,
            }
        }
        "make" | "gmake" => make_target(cmd),
        "just" => crate::justfile::invocation(&cmd.words).map(Started::Just),
        "task" | "go-task" => crate::taskfile::invocation(&cmd.words).map(Started::Task),
        "tox" => crate::tox_ini::invocation(&cmd.words).map(Started::Tox),
        "bash" | "sh" | "zsh" | "dash" | "source" | "." => {
            // `bash -c '...'` runs text, not a file.
            if cmd.has_flag("-c") {
                return None;
            }
            script_path(sub?).map(Started::File)
        }
        "pwsh" | "powershell" => {
            let mut words = cmd.words[1..].iter();
            while let Some(w) = words.next() {
                if w.eq_ignore_ascii_case("-File") || w.eq_ignore_ascii_case("-f") {
                    return words.next().and_then(|p| script_path(p)).map(Started::File);
                }
                if w.eq_ignore_ascii_case("-Command") || w.eq_ignore_ascii_case("-c") {
                    return None;
                }
            }
            script_path(sub?).map(Started::File)
        }
        path if path.starts_with("./") || path.contains('/') => {
            script_path(path).map(Started::File)
        }
        _ => None,
    }
}

/// Options of make that take a value.
const MAKE_VALUE_OPTIONS: &[&str] = &[
    "-C",
    "-f",
    "--file",
    "--makefile",
    "-I",
    "-j",
    "-l",
    "-o",
    "-W",
];

/// The target `make [-C DIR] [VAR=x] TARGET` builds (the first one named;
/// the default goal is not guessed). `-f FILE` (another makefile) is not
/// followed.
fn make_target(cmd: &Command<'_>) -> Option<Started> {
    let mut dir = String::new();
    let mut vars = Vec::new();
    let mut words = cmd.words[1..].iter();
    while let Some(w) = words.next() {
        if w == "-C" || w == "--directory" {
            dir = words.next()?.clone();
        } else if let Some(d) = w.strip_prefix("--directory=") {
            dir = d.to_owned();
        } else if w == "-f" || w == "--file" || w == "--makefile" || w.starts_with("--file=") {
            return None;
        } else if MAKE_VALUE_OPTIONS.contains(&w.as_str()) {
            words.next();
        } else if w.starts_with('-') {
            continue;
        } else if let Some((name, value)) = w.split_once('=') {
            vars.push((name.trim().to_owned(), value.to_owned()));
        } else {
            if dir.contains(['$', '`']) || w.contains(['$', '`', '%']) {
                return None;
            }
            return Some(Started::Make {
                dir,
                target: w.clone(),
                vars,
            });
        }
    }
    None
}

/// A word naming a script file: a relative path of a shell or PowerShell
/// script (`scripts/release.sh`, `./publish`, `build\push.ps1`), not an
/// absolute path, a URL, a variable or a build-tool wrapper (`./gradlew`,
/// `./mvnw`).
fn script_path(word: &str) -> Option<String> {
    let word = word.replace('\\', "/");
    if word.is_empty()
        || word.starts_with('/')
        || word.starts_with('-')
        || word.contains("://")
        || word.contains(['$', '*', '?', '{', '`'])
    {
        return None;
    }
    let name = word.rsplit('/').next().unwrap_or(&word);
    if matches!(name, "gradlew" | "mvnw" | "sbt" | "build.cmd" | "pants") {
        return None;
    }
    let scripted = [".sh", ".bash", ".ps1", ".zsh"]
        .iter()
        .any(|ext| name.ends_with(ext))
        || !name.contains('.');
    scripted.then_some(word)
}

/// Which environment variables the step gives the script (`env:` of the
/// step, job or workflow).
pub type IsSet<'e> = &'e dyn Fn(&str) -> bool;

/// What the script `cmd` starts publishes, read from the repository at
/// `root` (`dir`: the step's `working-directory`). A publish command whose
/// credential is an environment variable the step does not set (`choco
/// push --key $ENV:PUSH_TOKEN` in a test job without `PUSH_TOKEN`) cannot
/// publish there: such scripts guard the push on the variable.
pub fn publishes(
    root: &Path,
    dir: Option<&str>,
    cmd: &Command<'_>,
    is_set: IsSet<'_>,
) -> Option<ScriptPublish> {
    let base = dir
        .map(|d| PathBuf::from(d.trim().trim_start_matches("./")))
        .unwrap_or_default();
    find(root, &base, cmd, 0, &mut Vec::new(), is_set)
}

/// The directory a step's later commands run in after `cmd`, when `cmd` is
/// `cd DIR` or `pushd DIR` to a directory known when reading: relative to
/// `current` (the step's `working-directory`, or the directory of an
/// earlier `cd`), or under the workspace (`$GITHUB_WORKSPACE/x`, `${{
/// github.workspace }}/x`). `None` when `cmd` is no such change or goes
/// where the reader cannot follow (`cd $DIR`, `cd -`, `cd /tmp`, above the
/// repository): the caller keeps the directory it had, as before the `cd`.
/// A `cd` inside `( ... )` is read as if it lasted: the shell reader keeps
/// no subshells, and a wrong directory only finds no script.
pub fn directory_after(current: &str, cmd: &Command<'_>) -> Option<String> {
    if !matches!(cmd.program(), "cd" | "pushd") {
        return None;
    }
    let target = cmd.positional(0)?;
    if target.contains(['*', '?']) {
        return None;
    }
    if workspace_relative(target).is_some() || target.starts_with(['/', '~']) {
        return inside_repository(target);
    }
    if current.is_empty() {
        return inside_repository(target);
    }
    inside_repository(&format!("{current}/{target}"))
}

/// A step's `working-directory` as a path inside the repository (`./web`,
/// `${{ github.workspace }}/web`, `web/../site`); as written when it is not
/// one (an absolute path finds no script).
pub fn step_directory(working_directory: &str) -> String {
    let dir = working_directory.trim();
    inside_repository(dir).unwrap_or_else(|| dir.to_owned())
}

/// `path` as a path inside the repository, relative to its root and
/// without `.` and `..` (`./a/../b`, `$GITHUB_WORKSPACE/b`); `None` when it
/// is outside (`/tmp`, `~`, above the root) or not known when reading (`$X`).
fn inside_repository(path: &str) -> Option<String> {
    let path = match workspace_relative(path) {
        Some(rest) => rest.trim_start_matches('/'),
        None if path.starts_with(['/', '~']) => return None,
        None => path,
    };
    if path.contains(['$', '`']) {
        return None;
    }
    repository_relative(path)
}

/// `dir` as a path inside the repository without `.` and `..` (`a/./b/..`
/// is `a`); `None` when it leaves the repository.
fn repository_relative(dir: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The part after the workspace in `$GITHUB_WORKSPACE/x`, `${GITHUB_WORKSPACE}`,
/// `${{ github.workspace }}/x`.
fn workspace_relative(path: &str) -> Option<&str> {
    [
        "${{ github.workspace }}",
        "${{github.workspace}}",
        "${GITHUB_WORKSPACE}",
        "$GITHUB_WORKSPACE",
    ]
    .iter()
    .find_map(|prefix| {
        let rest = path.strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    })
}

/// Words that name a credential in a variable's name.
const CREDENTIAL_NAME_PARTS: &[&str] = &[
    "TOKEN",
    "KEY",
    "PASSWORD",
    "PASS",
    "SECRET",
    "PAT",
    "AUTH",
    "CREDENTIAL",
];

/// The environment variables a command reads that name a credential
/// (`$NPM_TOKEN`, `${TWINE_PASSWORD}`, PowerShell's `$env:NUGET_API_KEY`).
fn credential_variables(cmd: &Command<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for word in &cmd.words {
        let mut rest = word.as_str();
        while let Some(at) = rest.find('$') {
            let after = &rest[at + 1..];
            let after = after
                .strip_prefix("env:")
                .or_else(|| after.strip_prefix("ENV:"))
                .or_else(|| after.strip_prefix("Env:"))
                .or_else(|| after.strip_prefix('{'))
                .unwrap_or(after);
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let upper = name.to_ascii_uppercase();
            if CREDENTIAL_NAME_PARTS
                .iter()
                .any(|p| upper.split('_').any(|part| part == *p))
            {
                out.push(name);
            }
            rest = after;
        }
    }
    out
}

/// Most scripts read for one command: a script of thousands of lines each
/// starting scripts must not make the walk exponential.
const MAX_SCRIPTS_READ: usize = 32;

/// `seen`: the scripts read so far for this command (each is read once:
/// cycles and repeats stop there).
fn find(
    root: &Path,
    base: &Path,
    cmd: &Command<'_>,
    depth: usize,
    seen: &mut Vec<Started>,
    is_set: IsSet<'_>,
) -> Option<ScriptPublish> {
    if depth >= MAX_DEPTH || seen.len() >= MAX_SCRIPTS_READ {
        return None;
    }
    let chain = shell::runner_chain(cmd);
    let started = chain.iter().find_map(started)?;
    if seen.contains(&started) {
        return None;
    }
    seen.push(started.clone());
    let mut inner_base = base.to_path_buf();
    let (shown, texts) = match &started {
        Started::File(path) => {
            let rel = base.join(path);
            let text = crate::repo_files::read_inside(root, &rel, MAX_SCRIPT_BYTES)?;
            (display(&rel), vec![text])
        }
        Started::Make { dir, target, vars } => {
            let (rel, dir_of_file, text) =
                find_file(root, &base.join(dir), crate::makefile::FILE_NAMES, false)?;
            inner_base = dir_of_file;
            let recipes = crate::makefile::recipes(&text, target, vars);
            (format!("{} target `{target}`", display(&rel)), recipes)
        }
        Started::Just(invocation) => {
            let (rel, dir_of_file, text) = find_file(
                root,
                &base.join(&invocation.dir),
                crate::justfile::FILE_NAMES,
                true,
            )?;
            inner_base = dir_of_file;
            let texts = crate::justfile::commands(&text, &invocation.words, &invocation.vars);
            let recipe = invocation.words.first().map_or("", String::as_str);
            (format!("{} recipe `{recipe}`", display(&rel)), texts)
        }
        Started::Task(invocation) => {
            let (rel, dir_of_file, text) = find_file(
                root,
                &base.join(&invocation.dir),
                crate::taskfile::FILE_NAMES,
                true,
            )?;
            inner_base = dir_of_file;
            let texts: Vec<String> = invocation
                .tasks
                .iter()
                .flat_map(|task| crate::taskfile::commands(&text, task, &invocation.vars))
                .collect();
            let tasks = invocation.tasks.join(" ");
            (format!("{} task `{tasks}`", display(&rel)), texts)
        }
        Started::Tox(invocation) => {
            let (rel, dir_of_file, text) = find_file(root, base, crate::tox_ini::FILE_NAMES, true)?;
            inner_base = dir_of_file;
            let texts: Vec<String> = invocation
                .envs
                .iter()
                .flat_map(|env| crate::tox_ini::commands(&text, env, &invocation.posargs))
                .collect();
            let envs = invocation.envs.join(",");
            (format!("{} environment `{envs}`", display(&rel)), texts)
        }
        Started::Package { dir, name } => {
            // Package scripts run in the package's directory.
            inner_base = base.join(dir);
            let rel = inner_base.join("package.json");
            let json = crate::repo_files::read_inside(root, &rel, MAX_SCRIPT_BYTES)?;
            let scripts = package_scripts(&json, name);
            (format!("{} script `{name}`", display(&rel)), scripts)
        }
    };
    for text in &texts {
        for inner in shell::commands(text) {
            if let Some(registry) =
                crate::publishing::run_publishes(&inner, &crate::publishing::BARE)
                    .filter(|_| credential_variables(&inner).iter().all(|v| is_set(v)))
            {
                return Some(ScriptPublish {
                    what: format!("`{}` (in {shown})", inner.raw.trim()),
                    registry,
                    // The script may choose by its arguments or environment
                    // whether it publishes.
                    confidence: Confidence::Medium,
                });
            }
            if let Some(found) = find(root, &inner_base, &inner, depth + 1, seen, is_set) {
                return Some(found);
            }
        }
    }
    None
}

/// The first file named one of `names` in `dir` (or, when `upwards`, in a
/// directory above it inside the repository: just and task look upwards):
/// its path, its directory (where make, just and task run what it says)
/// and its text.
fn find_file(
    root: &Path,
    dir: &Path,
    names: &[&str],
    upwards: bool,
) -> Option<(PathBuf, PathBuf, String)> {
    let mut dirs = dir.ancestors().take(if upwards { usize::MAX } else { 1 });
    dirs.find_map(|d| {
        names.iter().find_map(|name| {
            let rel = d.join(name);
            let text = crate::repo_files::read_inside(root, &rel, MAX_SCRIPT_BYTES)?;
            Some((rel, d.to_path_buf(), text))
        })
    })
}

fn display(rel: &Path) -> String {
    format!("`{}`", rel.display())
}

/// `scripts.pre<name>`, `scripts.<name>` and `scripts.post<name>` of a
/// package.json, in the order npm runs them (empty when absent or the JSON
/// is not an object).
fn package_scripts(json: &str, name: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let Some(scripts) = value.get("scripts").and_then(|s| s.as_object()) else {
        return Vec::new();
    };
    [format!("pre{name}"), name.to_owned(), format!("post{name}")]
        .iter()
        .filter_map(|k| scripts.get(k)?.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn found(root: &Path, dir: Option<&str>, line: &str) -> Option<ScriptPublish> {
        let cmd = shell::commands(line).into_iter().next().unwrap();
        publishes(root, dir, &cmd, &|name| {
            name.eq_ignore_ascii_case("CHOCO_KEY")
        })
    }

    #[test]
    fn a_push_whose_credential_the_step_does_not_set_cannot_publish() {
        let dir = repo(&[
            (
                "push.ps1",
                "if ($null -ne $ENV:PUSH_TOKEN) {\n  choco push app.nupkg --key $ENV:PUSH_TOKEN\n}\n",
            ),
            ("keyed.ps1", "choco push app.nupkg --key $env:CHOCO_KEY\n"),
            ("bare.sh", "npm publish --provenance\n"),
        ]);
        let root = dir.path();
        assert_eq!(found(root, None, "pwsh ./push.ps1"), None);
        assert!(found(root, None, "pwsh ./keyed.ps1").is_some());
        assert!(found(root, None, "./bare.sh").is_some());
        let cmd = shell::commands(
            "twine upload -u __token__ -p \"${TWINE_PASSWORD}\" --repository-url $URL dist/*",
        )
        .into_iter()
        .next()
        .unwrap();
        assert_eq!(credential_variables(&cmd), ["TWINE_PASSWORD"]);
    }

    #[test]
    fn scripts_by_path_and_package_scripts_are_read() {
        let dir = repo(&[
            (
                "scripts/release.sh",
                "#!/bin/sh\nset -e\nnpm run build\nnpm publish --access public\n",
            ),
            (
                "install/choco/update.ps1",
                "choco pack\nchoco push app.nupkg --api-key $env:CHOCO_KEY\n",
            ),
            (
                "package.json",
                r#"{"scripts": {"release": "pnpm build && changeset publish", "prerelease:x": "echo", "ship": "./scripts/release.sh", "build": "tsc"}}"#,
            ),
            (
                "web/package.json",
                r#"{"scripts": {"deploy": "wrangler deploy", "pub": "vsce publish"}}"#,
            ),
        ]);
        let root = dir.path();
        for (line, registry) in [
            ("./scripts/release.sh", Registry::Npm),
            ("bash scripts/release.sh --tag v1", Registry::Npm),
            ("pwsh -File ./install/choco/update.ps1", Registry::Other),
            ("pnpm release", Registry::Npm),
            ("npm run release", Registry::Npm),
            ("yarn run ship", Registry::Npm),
            ("bun run release", Registry::Npm),
        ] {
            let hit = found(root, None, line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(hit.registry, registry, "{line}");
            assert_eq!(hit.confidence, Confidence::Medium);
        }
        assert!(found(root, Some("web"), "npm run pub").is_some());
        // The package's directory given on the command line.
        for line in [
            "npm --prefix web run pub",
            "npm run pub --prefix=web",
            "npm run pub -w web",
            "npm run pub --workspace web",
            "pnpm -C web pub",
            "pnpm --dir=web run pub",
            "yarn --cwd web pub",
            "bun --cwd web run pub",
        ] {
            assert!(found(root, None, line).is_some(), "{line}");
        }
        for line in [
            "npm run pub -w $WORKSPACE",
            "npm run pub --workspaces",
            "npm run pub -w missing",
            "pnpm -C web deploy",
        ] {
            assert_eq!(found(root, None, line), None, "{line}");
        }
        let hit = found(root, None, "pnpm release").unwrap();
        assert_eq!(
            hit.what,
            "`changeset publish` (in `package.json` script `release`)"
        );
        for line in [
            "npm run build",
            "pnpm install",
            "pnpm -r run release",
            "bash -c './scripts/release.sh'",
            "./gradlew publish",
            "/usr/bin/release.sh",
            "./missing.sh",
            "npm run missing",
            "../outside.sh",
        ] {
            assert_eq!(found(root, None, line), None, "{line}");
        }
        assert_eq!(found(root, Some("web"), "npm run deploy"), None);
    }

    #[test]
    fn makefile_targets_and_their_prerequisites_are_read() {
        let makefile = "VERSION := 1.0\nIMAGE ?= ghcr.io/acme/app\n\n.PHONY: build release push\n\nbuild:\n\tgo build ./...\n\n# push the image\npush: build\n\t@docker push $(IMAGE):$(VERSION)\n\nrelease: test push\n\t-echo done\n\ntest:\n\tgo test ./...\n\nci: ; $(MAKE) release\n\ndocs:\n\tmkdocs build\n";
        let dir = repo(&[
            ("Makefile", makefile),
            ("plugin/Makefile", "publish:\n\tnpm publish\n"),
        ]);
        let root = dir.path();
        for line in [
            "make release",
            "make push VERSION=2",
            "gmake -j4 ci",
            "make -C plugin publish",
        ] {
            let hit = found(root, None, line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(hit.confidence, Confidence::Medium, "{line}");
        }
        assert_eq!(
            found(root, None, "make push").unwrap().registry,
            Registry::Container
        );
        assert!(
            found(root, None, "make release")
                .unwrap()
                .what
                .contains("`Makefile` target `release`")
        );
        for line in [
            "make build",
            "make docs",
            "make",
            "make -f other.mk release",
            "make $(TARGET)",
            "make missing",
            "make -C nowhere release",
        ] {
            assert_eq!(found(root, None, line), None, "{line}");
        }
        // Variables set on the command line or in the Makefile are read.
        let dir2 = repo(&[(
            "Makefile",
            "IMG_PUSH ?= true\npush:\n\tko build --push=${IMG_PUSH} .\nimage:\n\t$(MAKE) IMG_PUSH=false push\n",
        )]);
        assert!(found(dir2.path(), None, "make push").is_some());
        assert_eq!(found(dir2.path(), None, "make image"), None);
        assert_eq!(found(dir2.path(), None, "make IMG_PUSH=false push"), None);
        // An unknown make variable is a value inside the command, not a
        // command substitution that would split it.
        let dir3 = repo(&[(
            "Makefile",
            "push:\n\tko build --label rev=$(GIT_REVISION) \\\n\t\t--push=$(PUSH) .\n",
        )]);
        assert!(found(dir3.path(), None, "make push").is_some());
        assert_eq!(found(dir3.path(), None, "make PUSH=false push"), None);
        // Hostile: targets needing each other in a cycle, thousands of them.
        let mut cyclic = String::new();
        for i in 0..5000 {
            cyclic.push_str(&format!(
                "t{i}: t{} t{}\n\techo {i}\n",
                (i + 1) % 5000,
                (i * 7) % 5000
            ));
        }
        let dir = repo(&[("Makefile", &cyclic)]);
        assert_eq!(found(dir.path(), None, "make t0"), None);
    }

    #[test]
    fn justfile_recipes_are_read_from_the_directory_upwards() {
        let justfile = "version := '1.0'\n\nbuild:\n    cargo build\n\nrelease: build (publish 'crates')\n    git push --tags\n\npublish what:\n    #!/usr/bin/env bash\n    set -eu\n    cargo publish -p {{what}} --token \"$CARGO_TOKEN\"\n\ndry-run:\n    cargo publish --dry-run\n";
        let dir = repo(&[
            ("justfile", justfile),
            ("crates/cli/src/main.rs", ""),
            ("site/Justfile", "deploy:\n    npm publish\n"),
        ]);
        let root = dir.path();
        let is_set = |name: &str| name == "CARGO_TOKEN";
        let found = |dir: Option<&str>, line: &str| {
            let cmd = shell::commands(line).into_iter().next().unwrap();
            publishes(root, dir, &cmd, &is_set)
        };
        for (dir, line) in [
            (None, "just release"),
            (None, "just publish cli"),
            (Some("crates/cli"), "just release"),
            (None, "just site/deploy"),
            (Some("site"), "just deploy"),
        ] {
            let hit = found(dir, line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(hit.confidence, Confidence::Medium, "{line}");
        }
        assert_eq!(
            found(None, "just release").unwrap().what,
            "`cargo publish -p crates --token \"$CARGO_TOKEN\"` (in `justfile` recipe `release`)"
        );
        for line in [
            "just build",
            "just dry-run",
            "just --list",
            "just -n release",
            "just missing",
            "just deploy",
        ] {
            assert_eq!(found(None, line), None, "{line}");
        }
        // Without the token the step sets, the recipe cannot publish.
        let cmd = shell::commands("just release").into_iter().next().unwrap();
        assert_eq!(publishes(root, None, &cmd, &|_| false), None);
    }

    #[test]
    fn taskfile_tasks_are_read_with_their_variables() {
        let taskfile = "version: '3'\nvars:\n  IMAGE: ghcr.io/acme/app\n  PUSH: 'true'\ntasks:\n  build:\n    cmds:\n      - go build ./...\n  image:\n    deps: [build]\n    cmds:\n      - ko build --push={{.PUSH}} --image {{.IMAGE}} .\n  release:\n    aliases: [rel]\n    cmds:\n      - task: image\n      - task: npm\n        vars: { TAG: latest }\n  npm:\n    dir: web\n    cmds:\n      - npm publish --tag {{.TAG}}\n    status:\n      - npm publish --dry-run\n";
        let dir = repo(&[("Taskfile.yml", taskfile), ("web/package.json", "{}")]);
        let root = dir.path();
        for (dir, line) in [
            (None, "task release"),
            (None, "task rel"),
            (None, "task image"),
            (Some("web"), "task npm"),
            (None, "task -d . build npm"),
        ] {
            let hit = found(root, dir, line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(hit.confidence, Confidence::Medium, "{line}");
        }
        assert_eq!(
            found(root, None, "task image").unwrap().what,
            "`ko build --push=true --image ghcr.io/acme/app .` (in `Taskfile.yml` task `image`)"
        );
        for line in [
            "task build",
            "task image PUSH=false",
            "task --dry release",
            "task --list",
            "task -t other.yml release",
            "task missing",
        ] {
            assert_eq!(found(root, None, line), None, "{line}");
        }
    }

    #[test]
    fn a_cd_before_the_command_moves_where_scripts_are_found() {
        let dir = repo(&[
            ("images/Makefile", "push:\n\tdocker push $(REGISTRY)/app\n"),
            ("Makefile", "push:\n\techo nothing to push\n"),
        ]);
        let root = dir.path();
        let hits = |script: &str, working_directory: Option<&str>| {
            let mut at = working_directory.unwrap_or("").to_owned();
            shell::commands(script)
                .iter()
                .filter_map(|cmd| {
                    if let Some(next) = directory_after(&at, cmd) {
                        at = next;
                        return None;
                    }
                    found(root, Some(at.as_str()), cmd.raw)
                })
                .count()
        };
        for script in [
            "cd images/ && make REGISTRY=ghcr.io/acme push",
            "cd images\nmake push",
            "cd ./docs/../images && make push",
            "cd $GITHUB_WORKSPACE/images && make push",
            "cd \"${{ github.workspace }}/images\" && make push",
            "pushd images && make push && popd",
        ] {
            assert_eq!(hits(script, None), 1, "{script}");
        }
        assert_eq!(hits("cd .. && make push", Some("images")), 0);
        for working_directory in [
            "./images",
            "${{ github.workspace }}/images",
            "site/../images/",
        ] {
            let at = step_directory(working_directory);
            assert!(
                found(root, Some(&at), "make push").is_some(),
                "{working_directory}"
            );
        }
        assert_eq!(step_directory("/opt/x"), "/opt/x");
        assert_eq!(hits("cd images && cd .. && make push", None), 0);
        // Where the reader cannot follow, the directory stays as it was.
        for script in [
            "cd $DIR && make push",
            "cd /tmp && make push",
            "cd - && make push",
            "cd ../.. && make push",
        ] {
            assert_eq!(hits(script, Some("images")), 1, "{script}");
        }
    }

    #[test]
    fn hostile_repositories_count_for_nothing() {
        let dir = repo(&[
            ("package.json", "{ not json"),
            ("loop.sh", "./loop.sh\nbash loop.sh\n"),
            ("a.sh", "./b.sh\n"),
            ("b.sh", "./c.sh\n"),
            ("c.sh", "./d.sh\n"),
            ("d.sh", "./e.sh\n"),
            ("e.sh", "npm publish\n"),
            (
                "big.sh",
                &format!("{}\nnpm publish\n", "#".repeat(300 * 1024)),
            ),
        ]);
        let root = dir.path();
        assert_eq!(found(root, None, "npm run release"), None);
        // A script starting itself stops at the depth limit.
        assert_eq!(found(root, None, "./loop.sh"), None);
        // Deeper than MAX_DEPTH: not followed.
        assert_eq!(found(root, None, "./a.sh"), None);
        assert!(found(root, None, "./d.sh").is_some());
        assert_eq!(found(root, None, "./big.sh"), None);
    }

    #[test]
    fn scripts_starting_many_scripts_are_read_a_bounded_number_of_times() {
        // Every script starts every other one many times: without the budget
        // and the seen list this is 40^4 reads.
        let names: Vec<String> = (0..40).map(|i| format!("s{i}.sh")).collect();
        let body: String = names
            .iter()
            .map(|n| format!("./{n}\n"))
            .collect::<String>()
            .repeat(20);
        let files: Vec<(String, String)> =
            names.iter().map(|n| (n.clone(), body.clone())).collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let dir = repo(&refs);
        assert_eq!(found(dir.path(), None, "./s0.sh"), None);
    }
}
