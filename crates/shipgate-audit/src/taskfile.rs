//! A Taskfile (go-task, <https://taskfile.dev>), read for what `task NAME`
//! runs: the commands of the task and of the tasks it runs (its `deps:` and
//! the `- task: other` entries of its `cmds:`), with the Go templates whose
//! value is known replaced (see [`commands`]), and the words of a `task`
//! command line (see [`invocation`]).
//! Used by [`crate::repo_scripts`]. Taskfiles come from the audited
//! repository, so they are hostile input: the tasks followed, the names
//! looked up and the bytes substituted for templates are bounded, and
//! cycles end because each task is read once.

use std::collections::HashMap;
use std::slice::Iter;

use crate::source::SourceFile;
use crate::yaml::Node;

/// The names task looks for in a directory, in its order.
pub const FILE_NAMES: &[&str] = &[
    "Taskfile.yml",
    "taskfile.yml",
    "Taskfile.yaml",
    "taskfile.yaml",
    "Taskfile.dist.yml",
    "taskfile.dist.yml",
    "Taskfile.dist.yaml",
    "taskfile.dist.yaml",
];

/// Most tasks read for one `task NAME` (the task and those it runs).
const MAX_TASKS: usize = 16;

/// Most task names looked up for one `task NAME`: a name that is no task
/// costs a scan of every task's `aliases:`, so thousands of missing
/// dependencies must not each cost one.
const MAX_LOOKUPS: usize = 4 * MAX_TASKS;

/// Most bytes of variable values written in place of templates, all
/// commands together: a command of thousands of `{{.BIG}}` must not become
/// thousands of copies of a large value. Past it, templates are written as
/// unknown (`${NAME}`).
const MAX_SUBSTITUTED_BYTES: usize = 1024 * 1024;

/// What an unknown template other than `{{.NAME}}` becomes: a shell
/// variable, so that it stays one word whose value is unknown.
const UNKNOWN_TEMPLATE: &str = "${TASK_TEMPLATE}";

/// Templates that expand to several words (`task x -- a b`), not one value.
const MULTI_WORD_VARIABLES: &[&str] = &["CLI_ARGS", "CLI_ARGS_LIST"];

/// A `task` command line: the directory (`-d/--dir DIR`), the tasks named
/// and the variables set (`NAME=value` words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub dir: String,
    pub tasks: Vec<String>,
    pub vars: Vec<(String, String)>,
}

/// Long options after which task runs no task of the default Taskfile:
/// listing, help, dry run, status checks, another Taskfile (`--taskfile`,
/// `--global`), ...
const STOP_LONG: &[&str] = &[
    "list",
    "list-all",
    "init",
    "help",
    "version",
    "summary",
    "dry",
    "status",
    "global",
    "taskfile",
    "completion",
    "experiments",
    "clear-cache",
];

/// Short forms of [`STOP_LONG`] (`-t` is `--taskfile`).
const STOP_SHORT: &[char] = &['l', 'a', 'i', 'h', 'n', 'g', 't'];

/// Long options that take a value (as the next word or after `=`).
const VALUE_LONG: &[&str] = &[
    "dir",
    "output",
    "concurrency",
    "interval",
    "output-group-begin",
    "output-group-end",
    "sort",
    "timeout",
    "cacert",
    "cert",
    "cert-key",
    "remote-cache-dir",
    "cache-expiry",
];

/// Short options that take a value (`-d DIR`, `-dDIR`, `-d=DIR`).
const VALUE_SHORT: &[char] = &['d', 'o', 'C', 'I'];

/// Reads the words of a `task ...` command (`words[0]` is `task`). `None`
/// when it runs no named task of the default Taskfile: another Taskfile
/// (`-t`, not followed), listing, help, init, summary, a dry run (`-n`, it
/// runs nothing), no task name, or a word not known until the step runs
/// (`$`, a backquote, `{{`). Options with a value consume it; the words
/// after `--` are `CLI_ARGS`, not tasks.
///
/// The unknown word makes it `None` when it is a task name, the directory
/// or a variable name. A variable whose value is unknown (`VERSION=$V`) is
/// kept, with the value `${VERSION}`: the task is still known, and the
/// variable still overrides the Taskfile's own value of it. As in task (v3),
/// `NAME=value` words set variables for every task named, wherever they
/// stand; short options may be grouped (`-vd DIR`).
pub fn invocation(words: &[String]) -> Option<Invocation> {
    let mut found = Invocation {
        dir: String::new(),
        tasks: Vec::new(),
        vars: Vec::new(),
    };
    let mut rest = words.get(1..)?.iter();
    while let Some(word) = rest.next() {
        if word == "--" {
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            long_option(long, &mut rest, &mut found)?;
        } else if let Some(short) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            short_options(short, &mut rest, &mut found)?;
        } else if let Some((name, value)) = word.split_once('=') {
            variable(name, value, &mut found)?;
        } else if !word.is_empty() {
            if is_unknown(word) {
                return None;
            }
            found.tasks.push(word.clone());
        }
    }
    (!found.tasks.is_empty()).then_some(found)
}

/// A word whose value the shell decides when the step runs.
fn is_unknown(word: &str) -> bool {
    word.contains(['$', '`']) || word.contains("{{")
}

/// `--name` or `--name=value`; `None` for an option after which no task of
/// the default Taskfile runs, or a value option without its value.
fn long_option(option: &str, rest: &mut Iter<'_, String>, found: &mut Invocation) -> Option<()> {
    let (name, inline) = match option.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (option, None),
    };
    if STOP_LONG.contains(&name) {
        return None;
    }
    // Anything else is a switch (`--force`, `--color=false`).
    if !VALUE_LONG.contains(&name) {
        return Some(());
    }
    let value = match inline {
        Some(value) => value,
        None => rest.next()?.as_str(),
    };
    if name == "dir" {
        set_dir(value, found)?;
    }
    Some(())
}

/// A group of short options (`-v`, `-sv`, `-d DIR`, `-dDIR`, `-d=DIR`): a
/// value option takes the rest of the word, or the next word.
fn short_options(group: &str, rest: &mut Iter<'_, String>, found: &mut Invocation) -> Option<()> {
    for (at, option) in group.char_indices() {
        if STOP_SHORT.contains(&option) {
            return None;
        }
        if !VALUE_SHORT.contains(&option) {
            continue;
        }
        let inline = &group[at + option.len_utf8()..];
        let inline = inline.strip_prefix('=').unwrap_or(inline);
        let value = if inline.is_empty() {
            rest.next()?.as_str()
        } else {
            inline
        };
        if option == 'd' {
            set_dir(value, found)?;
        }
        return Some(());
    }
    Some(())
}

fn set_dir(dir: &str, found: &mut Invocation) -> Option<()> {
    if is_unknown(dir) {
        return None;
    }
    dir.clone_into(&mut found.dir);
    Some(())
}

/// A `NAME=value` word (see [`invocation`] for an unknown value).
fn variable(name: &str, value: &str, found: &mut Invocation) -> Option<()> {
    if is_unknown(name) {
        return None;
    }
    if name.is_empty() {
        return Some(());
    }
    let value = if is_unknown(value) {
        format!("${{{name}}}")
    } else {
        value.to_owned()
    };
    found.vars.push((name.to_owned(), value));
    Some(())
}

/// The command texts `task NAME` runs from a Taskfile's text, as the shell
/// will see them: the task's and those of every task it runs (its `deps:`,
/// the `- task: other` entries of its `cmds:`, with their `vars:`), each
/// task once, at most [`MAX_TASKS`]. Empty when the text is not YAML, has no
/// `tasks:` mapping or no such task.
///
/// A task is found by its name as written (`release:npm` too) or by one of
/// its `aliases:`; `includes:` are not followed, so a namespaced name from
/// an included file finds nothing, and an `internal: true` task cannot be
/// run by name. Commands are the `cmds:` (strings, `cmd:`, `defer:`; `for:`
/// is ignored and its `cmd` taken once) and `cmd:` of each task, never its
/// `preconditions:`, `status:` or `sources:`. Templates are replaced by
/// [`render`]: `{{.NAME}}` by the value set on the command line (`vars`),
/// else by the caller (`- task: x` with `vars:`), else in the task's
/// `vars:`, else in the top-level `vars:`; a value that is not a plain
/// string (`sh:`, or one with templates of its own) is unknown. The order
/// is the order tasks are read (the named task first), not the run order:
/// for finding a publish command it does not matter.
pub fn commands(text: &str, name: &str, vars: &[(String, String)]) -> Vec<String> {
    let Ok(doc) = crate::yaml::load(&SourceFile::new("Taskfile.yml", text)) else {
        return Vec::new();
    };
    let Some(tasks) = doc.root.get("tasks").filter(|t| t.as_map().is_some()) else {
        return Vec::new();
    };
    // task refuses to run an internal task named on the command line.
    if find_task(tasks, name).is_none_or(|(_, task)| is_internal(task)) {
        return Vec::new();
    }
    let mut globals: HashMap<&str, Option<&str>> = HashMap::new();
    for (key, value) in declared(doc.root.get("vars")) {
        globals.entry(key).or_insert(value);
    }
    let mut out = Out {
        budget: MAX_SUBSTITUTED_BYTES,
        commands: Vec::new(),
        todo: vec![Call {
            name: name.to_owned(),
            vars: Vec::new(),
        }],
    };
    let mut looked_up: Vec<String> = Vec::new();
    let mut read: Vec<&str> = Vec::new();
    while let Some(call) = out.todo.pop() {
        if read.len() >= MAX_TASKS || looked_up.len() >= MAX_LOOKUPS {
            break;
        }
        if looked_up.contains(&call.name) {
            continue;
        }
        looked_up.push(call.name.clone());
        let Some((key, task)) = find_task(tasks, &call.name) else {
            continue;
        };
        // An alias and the name are the same task.
        if read.contains(&key) {
            continue;
        }
        read.push(key);
        let scope = Scope::new(vars, &call.vars, task, &globals);
        read_task(task, &scope, &mut out);
    }
    out.commands
}

/// A task to read, with the variables its caller gives it (`None`: a value
/// that is not known).
struct Call {
    name: String,
    vars: Vec<(String, Option<String>)>,
}

/// What reading the tasks produces, and the tasks still to read.
struct Out {
    /// Bytes of variable values that may still be substituted.
    budget: usize,
    commands: Vec<String>,
    todo: Vec<Call>,
}

impl Out {
    fn run(&mut self, command: &str, scope: &Scope<'_>) {
        let command = render(command, scope, &mut self.budget);
        self.commands.push(command);
    }
}

/// The variables a task's templates see, highest precedence first: the
/// command line, the caller, the task's `vars:` (in `local`), then the
/// top-level `vars:`. As in task (v3), the command line wins over all.
struct Scope<'a> {
    local: HashMap<String, Option<String>>,
    globals: &'a HashMap<&'a str, Option<&'a str>>,
}

impl<'a> Scope<'a> {
    fn new(
        cli: &[(String, String)],
        call: &[(String, Option<String>)],
        task: &Node,
        globals: &'a HashMap<&'a str, Option<&'a str>>,
    ) -> Self {
        let mut local: HashMap<String, Option<String>> = HashMap::new();
        let cli = cli.iter().map(|(k, v)| (k.as_str(), Some(v.as_str())));
        let call = call.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        for (key, value) in cli.chain(call).chain(declared(task.get("vars"))) {
            local
                .entry(key.to_owned())
                .or_insert_with(|| value.map(str::to_owned));
        }
        Scope { local, globals }
    }

    /// `Some(None)`: set, to a value that is not known.
    fn get(&self, name: &str) -> Option<Option<&str>> {
        match self.local.get(name) {
            Some(value) => Some(value.as_deref()),
            None => self.globals.get(name).copied(),
        }
    }
}

/// The entries of a `vars:` mapping: a plain string value is known; `sh:`,
/// `ref:`, `map:`, lists, null and values with templates are not (they
/// still hide a variable of the same name set with less precedence).
fn declared(vars: Option<&Node>) -> impl Iterator<Item = (&str, Option<&str>)> {
    let entries = vars.and_then(Node::as_map).unwrap_or(&[]);
    entries.iter().filter_map(|entry| {
        let key = entry.key.as_str()?;
        let value = entry
            .value
            .as_str()
            .filter(|v| !entry.value.is_null() && !v.contains("{{"));
        Some((key, value))
    })
}

/// The task `name` selects: the one of that name, else the first with it
/// among its `aliases:`. With its name as written in `tasks:`.
fn find_task<'a>(tasks: &'a Node, name: &str) -> Option<(&'a str, &'a Node)> {
    if let Some(entry) = tasks.entry(name) {
        return Some((entry.key.as_str()?, &entry.value));
    }
    tasks
        .as_map()?
        .iter()
        .find(|entry| {
            entry
                .value
                .get("aliases")
                .is_some_and(|aliases| items(aliases).iter().any(|a| a.as_str() == Some(name)))
        })
        .and_then(|entry| Some((entry.key.as_str()?, &entry.value)))
}

fn is_internal(task: &Node) -> bool {
    task.get("internal").is_some_and(Node::is_true)
}

/// The items of a list; a single value is a list of one.
fn items(node: &Node) -> &[Node] {
    node.as_seq().unwrap_or(std::slice::from_ref(node))
}

/// One task: a string (its one command), a list (its `cmds:`) or a
/// mapping. The tasks it runs are put on `out.todo`, in order.
fn read_task(task: &Node, scope: &Scope<'_>, out: &mut Out) {
    let mut calls = Vec::new();
    if task.as_map().is_none() {
        for item in items(task) {
            calls.extend(step(item, scope, out));
        }
    } else {
        for dep in task.get("deps").map(items).unwrap_or(&[]) {
            let call = match dep.as_str() {
                Some(name) => Some(Call {
                    name: name.to_owned(),
                    vars: Vec::new(),
                }),
                None => task_call(dep, scope, out),
            };
            calls.extend(call);
        }
        let cmd = task.get("cmd").map(std::slice::from_ref).unwrap_or(&[]);
        let cmds = task.get("cmds").map(items).unwrap_or(&[]);
        for item in cmd.iter().chain(cmds) {
            calls.extend(step(item, scope, out));
        }
    }
    // `todo` is a stack: the first call is read first.
    out.todo.extend(calls.into_iter().rev());
}

/// One entry of `cmds:`: a command (a string, `cmd:`) is written to `out`;
/// a call (`task:`) is returned. `defer:` runs its string or call at the
/// end of the task, which for reading is the same.
fn step(item: &Node, scope: &Scope<'_>, out: &mut Out) -> Option<Call> {
    let item = item.get("defer").unwrap_or(item);
    let command = item
        .as_str()
        .or_else(|| item.get("cmd").and_then(Node::as_str));
    if let Some(command) = command {
        out.run(command, scope);
        return None;
    }
    task_call(item, scope, out)
}

/// `task: NAME` with its `vars:`, whose values are templates of the
/// caller's variables.
fn task_call(item: &Node, scope: &Scope<'_>, out: &mut Out) -> Option<Call> {
    let name = item.get("task")?.as_str()?.to_owned();
    let entries = item.get("vars").and_then(Node::as_map).unwrap_or(&[]);
    let vars = entries
        .iter()
        .filter_map(|entry| {
            let key = entry.key.as_str()?.to_owned();
            let value = entry
                .value
                .as_str()
                .filter(|_| !entry.value.is_null())
                .map(|v| render(v, scope, &mut out.budget));
            Some((key, value))
        })
        .collect();
    Some(Call { name, vars })
}

/// `text` with its Go templates replaced: `{{.NAME}}` (also `{{ .NAME }}`,
/// `{{- .NAME -}}`) by its known value, else `${NAME}`; any other template
/// by `${TASK_TEMPLATE}`. Both stay one word whose value is unknown, so the
/// command keeps its shape. One pass: substituted values are not read
/// again, and a `{{` that never closes ends the scan.
fn render(text: &str, scope: &Scope<'_>, budget: &mut usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let inside = &rest[open + 2..];
        let Some(close) = inside.find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        template(&inside[..close], scope, budget, &mut out);
        rest = &inside[close + 2..];
    }
    out.push_str(rest);
    out
}

/// One template's text (between `{{` and `}}`), written to `out`.
fn template(inner: &str, scope: &Scope<'_>, budget: &mut usize, out: &mut String) {
    let inner = inner.trim();
    // `{{-` and `-}}` only trim the white space around the template.
    let inner = inner.strip_prefix("- ").unwrap_or(inner);
    let inner = inner.strip_suffix(" -").unwrap_or(inner).trim();
    let Some(name) = inner
        .strip_prefix('.')
        .filter(|n| is_name(n) && !MULTI_WORD_VARIABLES.contains(n))
    else {
        out.push_str(UNKNOWN_TEMPLATE);
        return;
    };
    match scope.get(name).flatten() {
        Some(value) if value.len() <= *budget => {
            *budget -= value.len();
            out.push_str(value);
        }
        _ => {
            out.push_str("${");
            out.push_str(name);
            out.push('}');
        }
    }
}

/// A variable name a template can read as `.NAME`, and a shell variable
/// name once written `${NAME}`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const GORELEASER: &str = r#"version: '3'

tasks:
  build:
    desc: Build the binaries
    cmds:
      - go build ./...
  release:
    desc: Publish a release
    deps: [build]
    preconditions:
      - sh: test -n "$GITHUB_TOKEN"
        msg: GITHUB_TOKEN is not set
    status:
      - test -f dist/done
    sources:
      - ./**/*.go
    cmds:
      - goreleaser release --clean
"#;

    #[test]
    fn release_task_with_deps() {
        assert_eq!(
            commands(GORELEASER, "release", &[]),
            vec!["goreleaser release --clean", "go build ./..."]
        );
        assert_eq!(commands(GORELEASER, "build", &[]), vec!["go build ./..."]);
    }

    #[test]
    fn preconditions_status_and_sources_are_not_commands() {
        let all = commands(GORELEASER, "release", &[]);
        assert!(!all.iter().any(|c| c.contains("test ")));
        assert!(!all.iter().any(|c| c.contains("*.go")));
    }

    #[test]
    fn missing_task_or_taskfile_gives_nothing() {
        assert!(commands(GORELEASER, "deploy", &[]).is_empty());
        assert!(commands(GORELEASER, "", &[]).is_empty());
        assert!(commands("version: '3'\n", "release", &[]).is_empty());
        assert!(commands("tasks: [release]\n", "release", &[]).is_empty());
        assert!(commands("", "release", &[]).is_empty());
    }

    #[test]
    fn invalid_yaml_gives_nothing() {
        assert!(commands("tasks:\n  release: [\n", "release", &[]).is_empty());
        assert!(commands("tasks:\n\trelease: x\n", "release", &[]).is_empty());
        assert!(commands("tasks: {release: 'npm publish}\n", "release", &[]).is_empty());
    }

    #[test]
    fn task_calls_with_vars() {
        let text = r#"version: '3'
vars:
  REGISTRY: https://registry.npmjs.org
tasks:
  release:
    cmds:
      - task: test
      - task: publish
        vars:
          TAG: latest
          FROM: '{{.REGISTRY}}'
      - echo done
  test: npm test
  publish:
    vars:
      TAG: next
    cmds:
      - npm publish --tag {{.TAG}} --registry {{.FROM}}
"#;
        assert_eq!(
            commands(text, "release", &[]),
            vec![
                "echo done",
                "npm test",
                "npm publish --tag latest --registry https://registry.npmjs.org",
            ]
        );
        // Called directly, the task's own value.
        assert_eq!(
            commands(text, "publish", &[]),
            vec!["npm publish --tag next --registry ${FROM}"]
        );
    }

    #[test]
    fn aliases_select_the_task() {
        let text = "version: '3'\ntasks:\n  release:\n    aliases: [rel, r]\n    cmds: [cargo publish]\n  other:\n    aliases: single\n    cmd: echo other\n";
        assert_eq!(commands(text, "rel", &[]), vec!["cargo publish"]);
        assert_eq!(commands(text, "r", &[]), vec!["cargo publish"]);
        assert_eq!(commands(text, "single", &[]), vec!["echo other"]);
        assert!(commands(text, "re", &[]).is_empty());
    }

    #[test]
    fn alias_and_name_are_one_task() {
        let text = "tasks:\n  a:\n    deps: [b, bee]\n    cmds: [echo a]\n  b:\n    aliases: [bee]\n    cmds: [echo b]\n";
        assert_eq!(commands(text, "a", &[]), vec!["echo a", "echo b"]);
    }

    #[test]
    fn string_and_list_shorthand_tasks() {
        let text = "version: '3'\ntasks:\n  publish: npm publish --access public\n  both:\n    - npm run build\n    - task: publish\n";
        assert_eq!(
            commands(text, "publish", &[]),
            vec!["npm publish --access public"]
        );
        assert_eq!(
            commands(text, "both", &[]),
            vec!["npm run build", "npm publish --access public"]
        );
    }

    #[test]
    fn names_with_colons_are_looked_up_literally() {
        let text = "version: '3'\nincludes:\n  docs: ./docs\ntasks:\n  \"release:npm\":\n    cmds: [npm publish]\n";
        assert_eq!(commands(text, "release:npm", &[]), vec!["npm publish"]);
        // Included tasks are not followed.
        assert!(commands(text, "docs:build", &[]).is_empty());
    }

    #[test]
    fn top_level_task_and_cli_vars_are_substituted() {
        let text = r#"version: '3'
vars:
  IMAGE: ghcr.io/acme/app
  TAG: latest
  PUSH: "true"
  GIT_SHA:
    sh: git rev-parse HEAD
tasks:
  image:
    vars:
      TAG: v1
    cmds:
      - docker push {{.IMAGE}}:{{.TAG}}
      - docker buildx build --push={{ .PUSH }} -t {{.IMAGE}}:{{.GIT_SHA}} .
"#;
        assert_eq!(
            commands(text, "image", &[]),
            vec![
                "docker push ghcr.io/acme/app:v1",
                "docker buildx build --push=true -t ghcr.io/acme/app:${GIT_SHA} .",
            ]
        );
        assert_eq!(
            commands(text, "image", &vars(&[("PUSH", "false"), ("TAG", "v2")])),
            vec![
                "docker push ghcr.io/acme/app:v2",
                "docker buildx build --push=false -t ghcr.io/acme/app:${GIT_SHA} .",
            ]
        );
    }

    #[test]
    fn a_task_var_that_is_not_plain_hides_the_global_one() {
        let text = "vars:\n  PUSH: 'true'\ntasks:\n  x:\n    vars:\n      PUSH:\n        sh: echo false\n      MODE: '{{.PUSH}}'\n    cmds: ['push={{.PUSH}} mode={{.MODE}}']\n";
        assert_eq!(commands(text, "x", &[]), vec!["push=${PUSH} mode=${MODE}"]);
    }

    #[test]
    fn unknown_templates_become_shell_variables() {
        let text = r#"tasks:
  publish:
    cmds:
      - cargo publish --token {{.CARGO_TOKEN}} {{.CLI_ARGS}}
      - '{{if eq .OS "linux"}}npm publish{{end}}'
      - echo {{.VERSION | default "dev"}} {{.}} {{.a.b}} {{ printf "%s" .X }}
      - echo {{- .Y -}} {{.1x}} {{ unclosed
"#;
        assert_eq!(
            commands(text, "publish", &[]),
            vec![
                "cargo publish --token ${CARGO_TOKEN} ${TASK_TEMPLATE}",
                "${TASK_TEMPLATE}npm publish${TASK_TEMPLATE}",
                "echo ${TASK_TEMPLATE} ${TASK_TEMPLATE} ${TASK_TEMPLATE} ${TASK_TEMPLATE}",
                "echo ${Y} ${TASK_TEMPLATE} {{ unclosed",
            ]
        );
    }

    #[test]
    fn cmd_entries_defer_and_for() {
        let text = r#"version: '3'
tasks:
  release:
    cmds:
      - cmd: cargo publish -p core
        silent: true
      - for: [a, b]
        cmd: cargo publish -p {{.ITEM}}
      - defer: echo cleanup
      - defer: { task: notify }
      - task: build
        for: [linux, darwin]
  notify: curl -X POST https://example.com/hook
  build:
    cmd: go build
"#;
        assert_eq!(
            commands(text, "release", &[]),
            vec![
                "cargo publish -p core",
                "cargo publish -p ${ITEM}",
                "echo cleanup",
                "curl -X POST https://example.com/hook",
                "go build",
            ]
        );
    }

    #[test]
    fn internal_task_cannot_be_named_but_can_be_called() {
        let text = "tasks:\n  publish:\n    internal: true\n    cmds: [npm publish]\n  release:\n    deps: [{task: publish}]\n";
        assert!(commands(text, "publish", &[]).is_empty());
        assert_eq!(commands(text, "release", &[]), vec!["npm publish"]);
    }

    #[test]
    fn cycles_end() {
        let text = "tasks:\n  a:\n    deps: [b]\n    cmds: [echo a, {task: a}]\n  b:\n    deps: [a]\n    cmds: [echo b]\n";
        assert_eq!(commands(text, "a", &[]), vec!["echo a", "echo b"]);
    }

    #[test]
    fn many_tasks_are_bounded_and_fast() {
        let mut text = String::from("version: '3'\ntasks:\n");
        for i in 0..5_000 {
            let deps: Vec<String> = (1..=20).map(|d| format!("t{}", (i + d) % 5_000)).collect();
            let missing: Vec<String> = (0..20).map(|d| format!("missing{i}_{d}")).collect();
            text.push_str(&format!(
                "  t{i}:\n    aliases: [alias{i}]\n    deps: [{}, {}]\n    cmds: [echo {i}]\n",
                missing.join(", "),
                deps.join(", ")
            ));
        }
        let start = std::time::Instant::now();
        let found = commands(&text, "t0", &[]);
        assert!(!found.is_empty());
        assert!(found.len() <= MAX_TASKS);
        assert!(commands(&text, "alias4999", &[]).len() <= MAX_TASKS);
        assert!(commands(&text, "nothing", &[]).is_empty());
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn many_templates_stay_bounded() {
        let big = "x".repeat(100_000);
        let mut text = format!("vars:\n  BIG: {big}\ntasks:\n  t:\n    cmds:\n      - echo ");
        text.push_str(&"{{.BIG}}{{.NOPE}}{{if}}".repeat(5_000));
        text.push('\n');
        let found = commands(&text, "t", &[]);
        assert_eq!(found.len(), 1);
        assert!(found[0].len() < MAX_SUBSTITUTED_BYTES + 200_000);
        assert!(found[0].ends_with("${BIG}${NOPE}${TASK_TEMPLATE}"));
        // An unclosed template is left as written.
        let open = format!("tasks:\n  t: echo {}\n", "{{ ".repeat(10_000));
        assert_eq!(commands(&open, "t", &[]).len(), 1);
    }

    #[test]
    fn invocation_of_one_task() {
        assert_eq!(
            invocation(&words("task release")),
            Some(Invocation {
                dir: String::new(),
                tasks: vec!["release".into()],
                vars: Vec::new(),
            })
        );
    }

    #[test]
    fn invocation_with_dir_and_vars() {
        assert_eq!(
            invocation(&words("task -d plugins release VERSION=1")),
            Some(Invocation {
                dir: "plugins".into(),
                tasks: vec!["release".into()],
                vars: vars(&[("VERSION", "1")]),
            })
        );
        assert_eq!(
            invocation(&words("task --dir=x a b")),
            Some(Invocation {
                dir: "x".into(),
                tasks: vec!["a".into(), "b".into()],
                vars: Vec::new(),
            })
        );
        let grouped = invocation(&words("task -vdsub -C 2 --output prefixed -f release")).unwrap();
        assert_eq!(grouped.dir, "sub");
        assert_eq!(grouped.tasks, vec!["release"]);
    }

    #[test]
    fn invocation_that_runs_no_named_task() {
        for line in [
            "task",
            "task -t other.yml release",
            "task --taskfile=other.yml release",
            "task -tother.yml release",
            "task --list",
            "task -l",
            "task --list-all",
            "task --dry release",
            "task -n release",
            "task -vn release",
            "task --summary release",
            "task --help",
            "task --version",
            "task --init",
            "task -g release",
            "task -d",
            "task VERSION=1",
            "task -- release",
        ] {
            assert_eq!(invocation(&words(line)), None, "{line}");
        }
        assert_eq!(invocation(&[]), None);
    }

    #[test]
    fn invocation_with_unknown_words() {
        assert_eq!(invocation(&words("task $TASK")), None);
        assert_eq!(invocation(&words("task `which` x")), None);
        assert_eq!(invocation(&words("task {{x}}")), None);
        assert_eq!(invocation(&words("task -d $DIR release")), None);
        assert_eq!(invocation(&words("task release $V=1")), None);
        let found = invocation(&words("task release VERSION=$GITHUB_REF_NAME")).unwrap();
        assert_eq!(found.vars, vars(&[("VERSION", "${VERSION}")]));
    }

    #[test]
    fn cli_args_are_not_tasks() {
        let found = invocation(&words("task release -- --extra more")).unwrap();
        assert_eq!(found.tasks, vec!["release"]);
        assert!(found.vars.is_empty());
    }

    #[test]
    fn invocation_then_commands() {
        let text = "version: '3'\ntasks:\n  release:\n    cmds:\n      - docker buildx build --push={{.PUSH}} .\n";
        let found = invocation(&words("task release PUSH=false")).unwrap();
        assert_eq!(
            commands(text, &found.tasks[0], &found.vars),
            vec!["docker buildx build --push=false ."]
        );
    }
}
