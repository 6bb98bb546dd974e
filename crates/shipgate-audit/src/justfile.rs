//! A justfile (https://just.systems), read for what `just RECIPE ARGS...`
//! runs: the recipe's body with its parameters, the justfile's variables and
//! the variables set on the command line interpolated, and the bodies of the
//! recipes it depends on (`release: build (publish "crates") && tag`), as
//! the shell will see them. Used by [`crate::repo_scripts`].
//!
//! The justfile grammar is small and line-based, and no maintained crate
//! exposes just's own parser as a library, so this is a reader of the part
//! that matters here: recipe headers, bodies, plain string variables,
//! aliases. What it does not understand (expressions, imports, modules)
//! reads as an unknown value or as no recipe. The file comes from the
//! audited repository, so it is hostile input: every loop is linear in the
//! text, recipes followed are capped at [`MAX_RECIPES`], and nothing here
//! can fail; an unreadable justfile only means the audit knows less.

/// The names just looks for in a directory (it matches `justfile` in any
/// case; these are the spellings used).
pub const FILE_NAMES: &[&str] = &["justfile", "Justfile", "JUSTFILE", ".justfile"];

/// Most recipes followed (a recipe and its dependencies) for one command.
const MAX_RECIPES: usize = 16;

/// A `just` command line: the directory of `just DIR/RECIPE`, the recipe
/// and argument words after the options, and the variables it overrides
/// (`just version=1.2 release`, `--set version 1.2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub dir: String,
    pub words: Vec<String>,
    pub vars: Vec<(String, String)>,
}

/// Options that make just run no recipe (they list, show, format, choose
/// interactively or only print what would run).
const NOT_RUNNING: &[&str] = &[
    "-l",
    "--list",
    "--summary",
    "-s",
    "--show",
    "--dump",
    "--evaluate",
    "--variables",
    "--choose",
    "-e",
    "--edit",
    "--init",
    "--fmt",
    "-n",
    "--dry-run",
    "-h",
    "--help",
    "-V",
    "--version",
    "--completions",
    "--groups",
    "--man",
    "--usage",
    "-c",
    "--command",
];

/// Options that take a value.
const VALUE_OPTIONS: &[&str] = &[
    "--shell",
    "--shell-arg",
    "--dotenv-filename",
    "-E",
    "--dotenv-path",
    "--color",
    "--dump-format",
    "--list-heading",
    "--list-prefix",
    "--chooser",
    "--command-color",
    "--timestamp-format",
    "--tempdir",
];

/// Reads the words of a `just ...` command (`words[0]` is `just`). `None`
/// when it runs no recipe of a justfile found from the step's directory:
/// an option from [`NOT_RUNNING`], another justfile (`-f`, `-d`: not
/// followed), a module path (`mod::recipe`), no recipe named (the default
/// recipe is not guessed) or a recipe name that is not known until the
/// step runs (`$X`).
pub fn invocation(words: &[String]) -> Option<Invocation> {
    let mut vars = Vec::new();
    let mut rest = words.get(1..)?.iter();
    while let Some(word) = rest.next() {
        let option = word.split('=').next().unwrap_or(word);
        if NOT_RUNNING.contains(&option)
            || matches!(option, "-f" | "--justfile" | "-d" | "--working-directory")
        {
            return None;
        }
        if word == "--set" {
            let name = rest.next()?;
            let value = rest.next()?;
            vars.push((name.clone(), value.clone()));
        } else if VALUE_OPTIONS.contains(&word.as_str()) {
            rest.next();
        } else if word == "--" || word.starts_with('-') {
            continue;
        } else if let Some((name, value)) =
            word.split_once('=').filter(|(name, _)| is_identifier(name))
        {
            vars.push((name.to_owned(), value.to_owned()));
        } else {
            let (dir, recipe) = match word.rsplit_once('/') {
                Some((dir, recipe)) => (dir.to_owned(), recipe),
                None => (String::new(), word.as_str()),
            };
            if recipe.contains("::") || !is_identifier(recipe) || dir.contains(['$', '`']) {
                return None;
            }
            let mut words = vec![recipe.to_owned()];
            words.extend(rest.cloned());
            return Some(Invocation { dir, words, vars });
        }
    }
    None
}

/// The shell texts `just WORDS...` runs from a justfile's `text` (see the
/// module docs): each recipe named, with the arguments that follow it bound
/// to its parameters, and the recipes they depend on. Empty when no recipe
/// of that name (or alias) is in the file.
pub fn commands(text: &str, words: &[String], vars: &[(String, String)]) -> Vec<String> {
    let file = Justfile::read(text);
    let mut known: Vec<(String, String)> = vars.to_vec();
    for (name, value) in &file.variables {
        if !known.iter().any(|(k, _)| k == name) {
            known.push((name.clone(), value.clone()));
        }
    }
    let mut todo: Vec<(String, Vec<Value>)> = Vec::new();
    let mut words = words.iter();
    while let Some(name) = words.next() {
        let Some(recipe) = file.recipe(name) else {
            break;
        };
        // The words after a recipe are its arguments, as many as it takes.
        let takes_rest = recipe.parameters.iter().any(|p| p.variadic);
        let wanted = if takes_rest {
            usize::MAX
        } else {
            recipe.parameters.len()
        };
        let args: Vec<Value> = words
            .by_ref()
            .take(wanted)
            .map(|w| Value::Known(w.clone()))
            .collect();
        todo.push((recipe.name.clone(), args));
        if takes_rest {
            break;
        }
    }
    todo.reverse();
    let mut out = Vec::new();
    let mut done: Vec<(String, Vec<Value>)> = Vec::new();
    while let Some((name, args)) = todo.pop() {
        if done.len() >= MAX_RECIPES || done.contains(&(name.clone(), args.clone())) {
            continue;
        }
        done.push((name.clone(), args.clone()));
        let Some(recipe) = file.recipe(&name) else {
            continue;
        };
        let bindings = recipe.bindings(&args);
        let lookup = |name: &str| lookup(&bindings, &known, name);
        for dependency in recipe.dependencies.iter().rev() {
            let args = dependency
                .args
                .iter()
                .map(|arg| match arg {
                    Argument::Literal(value) => Value::Known(value.clone()),
                    Argument::Name(name) => lookup(name).map_or(Value::Unknown, Value::Known),
                    Argument::Expression => Value::Unknown,
                })
                .collect();
            todo.push((dependency.name.clone(), args));
        }
        if let Some(body) = recipe.shell_text(&lookup) {
            out.push(body);
        }
    }
    out
}

/// A value known when the file is read (a string literal, a command-line
/// word), or one only known when just runs (an expression, a backtick).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Known(String),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Parameter {
    name: String,
    default: Option<Value>,
    /// `*name` or `+name`: takes every remaining argument.
    variadic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dependency {
    name: String,
    args: Vec<Argument>,
}

/// An argument in a dependency: `"crates"`, or the name of a parameter or
/// variable (`version`, valued by the recipe that depends), or an
/// expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Argument {
    Literal(String),
    Name(String),
    Expression,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Recipe {
    name: String,
    parameters: Vec<Parameter>,
    dependencies: Vec<Dependency>,
    /// The body's lines, without the indentation they share.
    body: Vec<String>,
    /// Run as one script (a `#!` first line or a `[script]` attribute)
    /// rather than line by line.
    script: bool,
}

#[derive(Debug, Default)]
struct Justfile {
    recipes: Vec<Recipe>,
    /// `alias NAME := RECIPE`.
    aliases: Vec<(String, String)>,
    /// `NAME := 'literal'` (also exported ones); the first of each name.
    variables: Vec<(String, String)>,
}

impl Justfile {
    fn read(text: &str) -> Justfile {
        let mut file = Justfile::default();
        let lines: Vec<&str> = text.lines().collect();
        let mut script_attribute = false;
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            i += 1;
            let trimmed = line.trim_end();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with([' ', '\t']) {
                continue;
            }
            if trimmed.starts_with('[') {
                script_attribute |= attribute_names(trimmed).any(|name| name == "script");
                continue;
            }
            let script = std::mem::take(&mut script_attribute);
            if let Some(alias) = trimmed.strip_prefix("alias ") {
                if let Some((name, target)) = alias.split_once(":=") {
                    file.aliases
                        .push((name.trim().to_owned(), target.trim().to_owned()));
                }
                continue;
            }
            if let Some((name, value)) = assignment(trimmed) {
                if let Value::Known(value) = value
                    && !file.variables.iter().any(|(k, _)| *k == name)
                {
                    file.variables.push((name, value));
                }
                continue;
            }
            let Some(mut recipe) = header(trimmed) else {
                continue;
            };
            let start = i;
            while i < lines.len()
                && (lines[i].trim().is_empty() || lines[i].starts_with([' ', '\t']))
            {
                i += 1;
            }
            recipe.body = dedent(&lines[start..i]);
            recipe.script = script
                || recipe
                    .body
                    .first()
                    .is_some_and(|first| first.starts_with("#!"));
            file.recipes.push(recipe);
        }
        file
    }

    fn recipe(&self, name: &str) -> Option<&Recipe> {
        let name = self
            .aliases
            .iter()
            .find(|(alias, _)| alias == name)
            .map_or(name, |(_, target)| target.as_str());
        self.recipes.iter().find(|r| r.name == name)
    }
}

impl Recipe {
    /// The values of the parameters when the recipe is given `args`: the
    /// argument, else the default, else unknown; a variadic parameter takes
    /// every remaining argument.
    fn bindings(&self, args: &[Value]) -> Vec<(String, Value)> {
        let mut values = Vec::new();
        for (index, parameter) in self.parameters.iter().enumerate() {
            let value = if parameter.variadic {
                let rest = args.get(index..).unwrap_or_default();
                let known: Option<Vec<&str>> = rest
                    .iter()
                    .map(|v| match v {
                        Value::Known(s) => Some(s.as_str()),
                        Value::Unknown => None,
                    })
                    .collect();
                match known {
                    Some(words) if !words.is_empty() => Value::Known(words.join(" ")),
                    _ => parameter.default.clone().unwrap_or(Value::Unknown),
                }
            } else {
                args.get(index)
                    .cloned()
                    .or_else(|| parameter.default.clone())
                    .unwrap_or(Value::Unknown)
            };
            values.push((parameter.name.clone(), value));
        }
        values
    }

    /// The body as the shell sees it, interpolated through `lookup`; `None`
    /// for a script in a language other than a shell's.
    fn shell_text(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        let mut text = String::new();
        if self.script {
            let mut lines = self.body.iter();
            if self.body.first().is_some_and(|l| l.starts_with("#!")) {
                let shebang = lines.next().map_or("", String::as_str);
                if !shell_interpreter(shebang) {
                    return None;
                }
            }
            for line in lines {
                text.push_str(&interpolate(line, lookup));
                text.push('\n');
            }
        } else {
            let mut continued = false;
            for line in &self.body {
                // `@` (quiet) and `-` (ignore errors) prefix a recipe line,
                // not a continuation of the line before (`-p $TOKEN`).
                let command = if continued {
                    line.as_str()
                } else {
                    line.trim_start_matches(['@', '-'])
                };
                continued = line.ends_with('\\');
                text.push_str(&interpolate(command, lookup));
                text.push('\n');
            }
        }
        Some(text)
    }
}

/// The value of `name` in a recipe: its parameter's, else the variable's
/// (set on the command line, else in the file); `None` when unknown.
fn lookup(bindings: &[(String, Value)], known: &[(String, String)], name: &str) -> Option<String> {
    if let Some((_, value)) = bindings.iter().find(|(n, _)| n == name) {
        return match value {
            Value::Known(v) => Some(v.clone()),
            Value::Unknown => None,
        };
    }
    known
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// The names in an attribute line (`[private, script('bash')]` gives
/// `private`, `script`).
fn attribute_names(line: &str) -> impl Iterator<Item = &str> {
    line.trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|a| a.trim().split(['(', ':']).next().unwrap_or("").trim())
}

/// Whether a `#!` line names a shell (`#!/usr/bin/env bash`, `#!/bin/sh
/// -eu`, `#!/usr/bin/env -S bash -x`, pwsh): other languages' scripts are
/// not read as shell commands.
fn shell_interpreter(shebang: &str) -> bool {
    let mut words = shebang.trim_start_matches("#!").split_whitespace();
    let mut program = words.next().unwrap_or("");
    if program.rsplit('/').next() == Some("env") {
        program = words.find(|w| !w.starts_with('-')).unwrap_or("");
    }
    matches!(
        program.rsplit('/').next().unwrap_or(""),
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "pwsh" | "powershell"
    )
}

/// `{{ expr }}` replaced: a name with a known value by it, another name by
/// the shell variable `${name}` (one word whose value is unknown), any
/// other expression by `${JUST_EXPRESSION}`. `{{{{` is a literal `{{`.
fn interpolate(line: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        if let Some(literal) = after.strip_prefix("{{") {
            out.push_str("{{");
            rest = literal;
            continue;
        }
        let Some(end) = after.find("}}") else {
            out.push_str("{{");
            rest = after;
            continue;
        };
        let expression = after[..end].trim();
        if is_identifier(expression) {
            match lookup(expression) {
                Some(value) => out.push_str(&value),
                None => {
                    out.push_str("${");
                    out.push_str(expression);
                    out.push('}');
                }
            }
        } else {
            out.push_str("${JUST_EXPRESSION}");
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn is_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `NAME := value` or `export NAME := value`: the name and the value if it
/// is a string literal.
fn assignment(line: &str) -> Option<(String, Value)> {
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let (name, value) = line.split_once(":=")?;
    let name = name.trim();
    if !is_identifier(name) {
        return None;
    }
    let value = value.trim();
    let value = match string_literal(value) {
        Some((literal, rest)) if rest.trim().is_empty() || rest.trim().starts_with('#') => {
            Value::Known(literal)
        }
        _ => Value::Unknown,
    };
    Some((name.to_owned(), value))
}

/// A string literal at the start of `text` (`'raw'`, `"escaped"`, their
/// triple-quoted forms) and the text after it.
fn string_literal(text: &str) -> Option<(String, &str)> {
    for quote in ["'''", "\"\"\"", "'", "\""] {
        if let Some(inner) = text.strip_prefix(quote) {
            let end = if quote.starts_with('"') {
                closing_double_quote(inner, quote)?
            } else {
                inner.find(quote)?
            };
            let literal = &inner[..end];
            let literal = if quote.starts_with('"') {
                literal.replace("\\\"", "\"").replace("\\\\", "\\")
            } else {
                literal.to_owned()
            };
            return Some((literal, &inner[end + quote.len()..]));
        }
    }
    None
}

/// Where the closing `quote` of a double-quoted string is (escaped quotes
/// skipped).
fn closing_double_quote(inner: &str, quote: &str) -> Option<usize> {
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if inner[i..].starts_with(quote) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A recipe's header line: `@?NAME PARAMETERS: DEPENDENCIES`; `None` for
/// any other line (settings, imports, modules, assignments).
fn header(line: &str) -> Option<Recipe> {
    let line = line.strip_prefix('@').unwrap_or(line);
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_identifier(name) || matches!(name, "set" | "import" | "mod" | "export" | "alias") {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut parameters = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(':') {
            if after.starts_with('=') {
                return None;
            }
            rest = after;
            break;
        }
        let (parameter, after) = parameter(rest)?;
        parameters.push(parameter);
        rest = after;
    }
    Some(Recipe {
        name: name.to_owned(),
        parameters,
        dependencies: dependencies(rest),
        ..Recipe::default()
    })
}

/// One parameter (`name`, `$name`, `name='default'`, `+name`, `*name`) at
/// the start of `text`, and the text after it.
fn parameter(text: &str) -> Option<(Parameter, &str)> {
    let variadic = text.starts_with(['*', '+']);
    let text = text.trim_start_matches(['*', '+']).trim_start_matches('$');
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(text.len());
    let name = &text[..end];
    if !is_identifier(name) {
        return None;
    }
    let mut rest = &text[end..];
    let mut default = None;
    if let Some(after) = rest.strip_prefix('=') {
        let (value, after) = default_value(after)?;
        default = Some(value);
        rest = after;
    }
    Some((
        Parameter {
            name: name.to_owned(),
            default,
            variadic,
        },
        rest,
    ))
}

/// A parameter's default: a string literal, a variable name or a
/// parenthesized expression (both unknown here).
fn default_value(text: &str) -> Option<(Value, &str)> {
    if let Some((literal, rest)) = string_literal(text) {
        return Some((Value::Known(literal), rest));
    }
    if text.starts_with('(') {
        let end = balanced_end(text)?;
        return Some((Value::Unknown, &text[end..]));
    }
    let end = text
        .find(|c: char| c.is_whitespace() || c == ':')
        .unwrap_or(text.len());
    (end > 0).then(|| (Value::Unknown, &text[end..]))
}

/// One past the `)` that closes the `(` at the start of `text`.
fn balanced_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The recipes after a header's `:`, before and after `&&`: `build`,
/// `(publish "crates" version)`.
fn dependencies(text: &str) -> Vec<Dependency> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start().trim_start_matches("&&").trim_start();
        if rest.is_empty() || rest.starts_with('#') {
            break;
        }
        if rest.starts_with('(') {
            let Some(end) = balanced_end(rest) else {
                break;
            };
            let inner = &rest[1..end - 1];
            let mut words = inner.trim_start();
            let name_end = words
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(words.len());
            let name = words[..name_end].to_owned();
            words = &words[name_end..];
            let mut args = Vec::new();
            loop {
                words = words.trim_start();
                if words.is_empty() {
                    break;
                }
                if let Some((literal, after)) = string_literal(words) {
                    args.push(Argument::Literal(literal));
                    words = after;
                } else {
                    let skip = if words.starts_with('(') {
                        balanced_end(words).unwrap_or(words.len())
                    } else {
                        words.find(char::is_whitespace).unwrap_or(words.len())
                    };
                    let word = &words[..skip];
                    args.push(if is_identifier(word) {
                        Argument::Name(word.to_owned())
                    } else {
                        Argument::Expression
                    });
                    words = &words[skip..];
                }
            }
            if is_identifier(&name) {
                out.push(Dependency { name, args });
            }
            rest = &rest[end..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let name = &rest[..end];
            if is_identifier(name) {
                out.push(Dependency {
                    name: name.to_owned(),
                    args: Vec::new(),
                });
            }
            rest = &rest[end..];
        }
    }
    out
}

/// Body lines without the indentation of the first one (blank lines kept,
/// trailing blank lines dropped).
fn dedent(lines: &[&str]) -> Vec<String> {
    let mut end = lines.len();
    while end > 0 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let lines = &lines[..end];
    let indent = lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| l.len() - l.trim_start().len());
    lines
        .iter()
        .map(|l| {
            let strip = (l.len() - l.trim_start().len()).min(indent);
            l[strip..].trim_end().to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn run(text: &str, line: &str) -> Vec<String> {
        let inv = invocation(&words(line)).unwrap_or_else(|| panic!("{line}"));
        commands(text, &inv.words, &inv.vars)
    }

    const RELEASE: &str = r#"
set shell := ["bash", "-uc"]
image := "ghcr.io/acme/app"
export REGISTRY := 'ghcr.io'
version := `git describe --tags`

alias r := release

# Build everything.
build:
    cargo build --release

[private]
_tag version:
    git tag v{{version}}

[confirm]
release version bump="patch": build (publish "crates" version) && (_tag version)
    @echo releasing {{ version }} {{bump}}
    -cargo set-version {{version}}

publish target version:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "{{target}}" = "crates" ]; then
      cargo publish --token "$CARGO_REGISTRY_TOKEN"
    fi

push tag=version:
    docker push {{image}}:{{tag}} \
      --quiet

docs:
    mdbook build

notes:
    #!/usr/bin/env python3
    import subprocess
    subprocess.run(["cargo", "publish"])
"#;

    #[test]
    fn a_recipe_runs_its_dependencies_with_their_arguments() {
        let texts = run(RELEASE, "just release 1.2.3");
        let all = texts.join("");
        assert!(all.contains("cargo build --release"), "{all}");
        assert!(all.contains("echo releasing 1.2.3 patch"), "{all}");
        assert!(all.contains("\ncargo set-version 1.2.3"), "{all}");
        assert!(all.contains("cargo publish --token"), "{all}");
        assert!(all.contains("[ \"crates\" = \"crates\" ]"), "{all}");
        assert!(all.contains("git tag v1.2.3"), "{all}");
        // The shebang line is not a command.
        assert!(!all.contains("#!"), "{all}");
        // An alias selects its recipe.
        assert_eq!(run(RELEASE, "just r 1.2.3"), texts);
    }

    #[test]
    fn variables_come_from_the_command_line_then_the_file() {
        let all = run(RELEASE, "just push v2").join("");
        assert_eq!(all, "docker push ghcr.io/acme/app:v2 \\\n  --quiet\n");
        let all = run(RELEASE, "just image=docker.io/x push").join("");
        assert!(all.starts_with("docker push docker.io/x:${tag}"), "{all}");
        let all = run(RELEASE, "just --set image quay.io/y push 3").join("");
        assert!(all.starts_with("docker push quay.io/y:3"), "{all}");
        // A parameter without a value stays one unknown word.
        let all = run(RELEASE, "just release").join("");
        assert!(all.contains("cargo set-version ${version}"), "{all}");
    }

    #[test]
    fn other_recipes_and_other_languages_run_nothing_that_publishes() {
        assert_eq!(run(RELEASE, "just docs"), ["mdbook build\n"]);
        assert!(run(RELEASE, "just notes").is_empty());
        assert!(run(RELEASE, "just missing").is_empty());
        // Two recipes on one line, the first taking no argument.
        assert_eq!(
            run(RELEASE, "just docs build"),
            ["mdbook build\n", "cargo build --release\n"]
        );
    }

    #[test]
    fn command_lines_that_run_no_recipe_of_this_justfile() {
        for line in [
            "just",
            "just --list",
            "just -n release",
            "just --dry-run release",
            "just --justfile other/justfile release",
            "just -f x release",
            "just --show release",
            "just ci::release",
            "just $RECIPE",
            "just --evaluate version",
            "just --choose",
        ] {
            assert_eq!(invocation(&words(line)), None, "{line}");
        }
        let inv = invocation(&words("just --color always crates/cli/publish 1.0")).unwrap();
        assert_eq!(inv.dir, "crates/cli");
        assert_eq!(inv.words, ["publish", "1.0"]);
    }

    #[test]
    fn script_attribute_recipes_and_escapes() {
        let text = "[script('bash')]\nship:\n  for d in a b; do\n    npm publish $d\n  done\n\nlit:\n  echo '{{{{x}}'\n  echo {{ if x == 'y' { 'a' } else { 'b' } }}\n";
        let ship = run(text, "just ship").join("");
        assert!(ship.contains("\n  npm publish $d\n"), "{ship}");
        assert_eq!(
            run(text, "just lit"),
            ["echo '{{x}}'\necho ${JUST_EXPRESSION}\n"]
        );
    }

    #[test]
    fn hostile_justfiles_are_read_in_bounded_time() {
        // Recipes depending on each other in a cycle, thousands of them.
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!(
                "r{i}: r{} (r{} 'x')\n  echo {i}\n",
                (i + 1) % 5000,
                (i * 7) % 5000
            ));
        }
        let texts = run(&text, "just r0");
        assert!(texts.len() <= MAX_RECIPES);
        // Unclosed quotes, parentheses and interpolations, odd bytes.
        for text in [
            "a x=\"unclosed:\n  echo\n",
            "a: (b 'c\n  echo {{\n",
            "a: ((((\n  echo }} {{ x\n",
            "@:\n  x\n",
            "a b=(:\n",
            "a: b\n\u{feff}\n  é {{ é }}\n",
            &"{{".repeat(100_000),
            &format!("a:\n  echo {}\n", "{{x}}".repeat(100_000)),
        ] {
            let _ = commands(text, &words("a"), &[]);
        }
        let long = format!("a:\n  echo {}\n", "{{x}}".repeat(100_000));
        assert_eq!(commands(&long, &words("a"), &[]).len(), 1);
    }
}
