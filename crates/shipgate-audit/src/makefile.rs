//! A Makefile, read for what `make TARGET` runs: the recipe of the target
//! and of its prerequisites, as the shell will see them (see [`recipes`]).
//! Used by [`crate::repo_scripts`]; bounded against hostile files (targets
//! followed, variables read).

/// The names make looks for, in its order.
pub const FILE_NAMES: &[&str] = &["GNUmakefile", "makefile", "Makefile"];

/// Most targets followed (a target and its prerequisites) in one Makefile.
const MAX_MAKE_TARGETS: usize = 16;

/// The recipe lines of `target` in a Makefile's text, with those of its
/// prerequisites (make builds them first), each as the shell sees it: the
/// `@`, `-` and `+` prefixes removed, `$$` as `$`, `$(MAKE)` as `make`, and
/// the variables whose value is known replaced (`$(VAR)`, `${VAR}`: set on
/// the command line, else by a plain assignment in the Makefile), so `make
/// IMG_PUSH=false push` reads `--push=false`. Rules are read as written:
/// pattern rules, includes and functions are not expanded.
pub fn recipes(text: &str, target: &str, vars: &[(String, String)]) -> Vec<String> {
    let mut known: Vec<(String, String)> = vars.to_vec();
    for (name, value) in assignments(text) {
        if !known.iter().any(|(k, _)| *k == name) {
            known.push((name, value));
        }
    }
    let expand = |recipe: String| {
        known.iter().fold(recipe, |r, (name, value)| {
            r.replace(&format!("$({name})"), value)
                .replace(&format!("${{{name}}}"), value)
        })
    };
    raw_recipes(text, target)
        .into_iter()
        .map(|r| unknown_variables_as_shell(&expand(r)))
        .collect()
}

/// `$(NAME)` left unexpanded written `${NAME}`: make replaces it before the
/// shell runs, so it is a value, not the shell's command substitution.
fn unknown_variables_as_shell(recipe: &str) -> String {
    let mut out = String::with_capacity(recipe.len());
    let mut rest = recipe;
    while let Some(at) = rest.find("$(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end)
                if !after[..end].is_empty()
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) =>
            {
                out.push_str("${");
                out.push_str(&after[..end]);
                out.push('}');
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("$(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Most variable assignments of a Makefile used.
const MAX_MAKE_VARIABLES: usize = 256;

/// The plain assignments of a Makefile (`VAR = x`, `VAR := x`, `VAR ?= x`,
/// `VAR ::= x`, also `export VAR = x`), the first of each name, whose value
/// refers to no other variable or function.
fn assignments(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if out.len() >= MAX_MAKE_VARIABLES {
            break;
        }
        if line.starts_with('\t') {
            continue;
        }
        let line = line.trim().trim_start_matches("export ").trim();
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim_end_matches([':', '?', '+']).trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
            || value.contains('$')
            || out.iter().any(|(k, _)| k == name)
        {
            continue;
        }
        out.push((name.to_owned(), value.trim().to_owned()));
    }
    out
}

fn raw_recipes(text: &str, target: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![target.to_owned()];
    let mut done: Vec<String> = Vec::new();
    while let Some(name) = todo.pop() {
        if done.contains(&name) || done.len() >= MAX_MAKE_TARGETS {
            continue;
        }
        done.push(name.clone());
        let Some((prerequisites, recipe)) = rule(text, &name) else {
            continue;
        };
        // Prerequisites first, in order.
        todo.extend(prerequisites.into_iter().rev());
        out.push(recipe);
    }
    // Recipes were collected target first; make runs prerequisites first,
    // but for finding a publish command the order does not matter.
    out
}

/// One rule of a Makefile: its prerequisites and its recipe text.
fn rule(text: &str, target: &str) -> Option<(Vec<String>, String)> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.starts_with('\t') || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((targets, rest)) = line.split_once(':') else {
            continue;
        };
        // `VAR := x` and `VAR ::= x` are assignments, not rules.
        if rest.starts_with('=') || rest.starts_with(":=") || targets.contains('=') {
            continue;
        }
        if !targets.split_whitespace().any(|t| t == target) {
            continue;
        }
        let rest = rest.trim_start_matches(':');
        let (prerequisites, inline) = match rest.split_once(';') {
            Some((p, r)) => (p, Some(r.trim())),
            None => (rest, None),
        };
        let prerequisites = prerequisites
            .split('|')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .filter(|p| !p.contains(['$', '%']))
            .map(str::to_owned)
            .collect();
        let mut recipe = String::new();
        if let Some(r) = inline {
            recipe.push_str(&recipe_line(r));
            recipe.push('\n');
        }
        for body in lines.by_ref() {
            let Some(command) = body.strip_prefix('\t') else {
                if body.trim().is_empty() || body.trim_start().starts_with('#') {
                    continue;
                }
                break;
            };
            recipe.push_str(&recipe_line(command));
            recipe.push('\n');
        }
        return Some((prerequisites, recipe));
    }
    None
}

fn recipe_line(line: &str) -> String {
    line.trim_start_matches(['@', '-', '+'])
        .replace("$(MAKE)", "make")
        .replace("${MAKE}", "make")
        .replace("$$", "$")
}
