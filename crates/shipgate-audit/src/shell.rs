//! A deliberately small reading of `run:` scripts: split them into simple
//! commands and recognise the ones that matter for the release path
//! (installs, builds, publishes, running code from the checkout).
//!
//! This is not a shell parser. It understands quotes, comments, line
//! continuations and the usual separators (`;`, `&&`, `||`, `|`, `&`, `$(`,
//! newlines), and strips prefixes like `sudo`, `env`, `time` and `VAR=value`.
//! It also knows where command-like text is not a command: here-document
//! bodies, `case` pattern labels (`npm|yarn)`) and function names in
//! definitions. Anything cleverer (`eval`, variables holding commands) is
//! out of reach of a static audit, and the rules say so in their confidence.

/// One simple command of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<'a> {
    /// The first line of the command as written in the script (for locating it).
    pub raw: &'a str,
    /// Its words, unquoted, with prefixes (`sudo`, `VAR=x`, ...) removed.
    pub words: Vec<String>,
    /// Byte offset (within `raw`) of the end of each word, aligned with `words`
    /// where the word appears on the first line; `None` otherwise.
    pub word_ends: Vec<Option<usize>>,
}

impl Command<'_> {
    pub fn word(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(String::as_str)
    }

    /// The program name without its directory (`/usr/bin/npm` → `npm`).
    pub fn program(&self) -> &str {
        let w = self.word(0).unwrap_or("");
        if w.starts_with("./") || w.starts_with("../") {
            return w;
        }
        w.rsplit('/').next().unwrap_or(w)
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.words.iter().any(|w| {
            w == flag
                || w.strip_prefix(flag)
                    .is_some_and(|rest| rest.starts_with('=') && !rest.ends_with("=false"))
        })
    }

    /// The value of the first of the options `names` on the line: the word
    /// after it (`--registry URL`), or, for a long option, what follows `=`
    /// in the same word (`--registry=URL`).
    pub fn option_value(&self, names: &[&str]) -> Option<&str> {
        let mut words = self.words.iter().skip(1);
        while let Some(word) = words.next() {
            if names.contains(&word.as_str()) {
                return words.next().map(String::as_str);
            }
            let inline = names
                .iter()
                .filter(|name| name.starts_with("--"))
                .find_map(|name| word.strip_prefix(name)?.strip_prefix('='));
            if inline.is_some() {
                return inline;
            }
        }
        None
    }

    /// The first word after the program that is not an option.
    pub fn subcommand(&self) -> Option<&str> {
        self.positional(0)
    }

    /// Like [`Command::positional`], but the word after any of
    /// `value_options` is that option's value, not a positional word.
    pub fn positional_after_options(&self, n: usize, value_options: &[&str]) -> Option<&str> {
        let mut found = 0;
        let mut words = self.words.iter().skip(1);
        while let Some(word) = words.next() {
            if word.starts_with('-') {
                if value_options.contains(&word.as_str()) {
                    words.next();
                }
                continue;
            }
            if found == n {
                return Some(word);
            }
            found += 1;
        }
        None
    }

    /// The n-th word after the program that does not start with `-`.
    pub fn positional(&self, n: usize) -> Option<&str> {
        self.words
            .iter()
            .skip(1)
            .filter(|w| !w.starts_with('-'))
            .nth(n)
            .map(String::as_str)
    }
}

/// Splits a script into simple commands.
pub fn commands(script: &str) -> Vec<Command<'_>> {
    let mut out = Vec::new();
    for (start, end) in segments(script) {
        let text = &script[start..end];
        let Some(command) = command(text) else {
            continue;
        };
        out.push(command);
    }
    out
}

/// Where the reader is inside a `case ... esac` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaseState {
    /// After `case WORD`, before `in`.
    Header,
    /// Before a pattern label (`npm|yarn)`), or `esac`.
    Pattern,
    /// Inside the commands of one branch, until `;;`, `;&` or `;;&`.
    Body,
}

/// Whether `keyword` starts at `i` as a whole word.
fn keyword_at(bytes: &[u8], i: usize, keyword: &[u8]) -> bool {
    bytes.get(i..i + keyword.len()) == Some(keyword)
        && bytes
            .get(i + keyword.len())
            .is_none_or(|b| b.is_ascii_whitespace() || *b == b';')
}

/// The delimiter of a here-document whose `<<` is at `i`, and where the
/// operator and delimiter word end. `<<<` (a here-string) is not one.
fn heredoc_delimiter(bytes: &[u8], i: usize) -> Option<(Vec<u8>, usize)> {
    let mut j = i + 2;
    match bytes.get(j) {
        Some(b'<') => return None,
        Some(b'-') => j += 1,
        _ => {}
    }
    while bytes.get(j).is_some_and(|b| *b == b' ' || *b == b'\t') {
        j += 1;
    }
    let mut word = Vec::new();
    let mut quote: Option<u8> = None;
    while let Some(&b) = bytes.get(j) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), b) => word.push(b),
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'\\') => {}
            (None, b) if b.is_ascii_whitespace() || b";|&<>()".contains(&b) => break,
            (None, b) => word.push(b),
        }
        j += 1;
    }
    (!word.is_empty()).then_some((word, j))
}

/// Skips the bodies of here-documents that start after the line ending at
/// `newline`: returns the offset after the last delimiter line.
fn skip_heredocs(bytes: &[u8], newline: usize, pending: &mut Vec<Vec<u8>>) -> usize {
    let mut at = newline + 1;
    for delimiter in pending.drain(..) {
        loop {
            if at >= bytes.len() {
                return bytes.len();
            }
            let end = bytes[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |p| at + p);
            let line = &bytes[at..end];
            let trimmed = line.trim_ascii();
            at = end + 1;
            if trimmed == delimiter.as_slice() {
                break;
            }
        }
    }
    at.min(bytes.len())
}

/// Byte ranges of the command segments of a script.
///
/// Besides quotes, comments and separators it knows the places where text
/// that looks like a command is not one: here-document bodies, the pattern
/// labels of `case ... esac` (`npm|yarn)`), the `case WORD in` header and
/// the name in a function definition (`publish() {`).
/// Where a GitHub expression starting at `i` (`${{`) ends: just after its
/// `}}`, skipping the expression's own string literals. `None` when no
/// expression starts there or it is not closed.
fn expression_end(bytes: &[u8], i: usize) -> Option<usize> {
    if !bytes.get(i..)?.starts_with(b"${{") {
        return None;
    }
    let mut j = i + 3;
    let mut in_string = false;
    while j < bytes.len() {
        match bytes[j] {
            b'\'' => in_string = !in_string,
            b'}' if !in_string && bytes.get(j + 1) == Some(&b'}') => return Some(j + 2),
            _ => {}
        }
        j += 1;
    }
    None
}

fn segments(script: &str) -> Vec<(usize, usize)> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut quote: Option<u8> = None;
    let mut word_start = true;
    let mut cases: Vec<CaseState> = Vec::new();
    let mut heredocs: Vec<Vec<u8>> = Vec::new();
    while i < bytes.len() {
        let b = bytes[i];
        // GitHub replaces `${{ ... }}` before the shell runs: its `||`,
        // quotes and spaces are not the script's.
        if let Some(end) = expression_end(bytes, i) {
            i = end;
            word_start = false;
            continue;
        }
        if let Some(q) = quote {
            if b == b'\\' && q == b'"' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        let command_start = word_start && script.get(start..i).is_some_and(|t| t.trim().is_empty());
        if command_start {
            match cases.last().copied() {
                Some(CaseState::Header) => {}
                Some(CaseState::Pattern) if !b.is_ascii_whitespace() && b != b';' => {
                    if keyword_at(bytes, i, b"esac") {
                        cases.pop();
                        i += 4;
                        start = i;
                        continue;
                    }
                    // A pattern label: skip it up to its unquoted `)`.
                    let mut j = i + usize::from(b == b'(');
                    let mut q: Option<u8> = None;
                    while let Some(&c) = bytes.get(j) {
                        match (q, c) {
                            (Some(qq), c) if c == qq => q = None,
                            (Some(_), _) => {}
                            (None, b'\'' | b'"') => q = Some(c),
                            (None, b'\\') => j += 1,
                            (None, b')') => break,
                            _ => {}
                        }
                        j += 1;
                    }
                    if let Some(last) = cases.last_mut() {
                        *last = CaseState::Body;
                    }
                    i = (j + 1).min(bytes.len());
                    start = i;
                    continue;
                }
                _ if keyword_at(bytes, i, b"case") => {
                    cases.push(CaseState::Header);
                    i += 4;
                    start = i;
                    word_start = false;
                    continue;
                }
                Some(CaseState::Body) if keyword_at(bytes, i, b"esac") => {
                    cases.pop();
                    i += 4;
                    start = i;
                    continue;
                }
                _ => {}
            }
        }
        if cases.last() == Some(&CaseState::Header) {
            // Everything up to the word `in` is the header.
            if word_start && keyword_at(bytes, i, b"in") {
                if let Some(last) = cases.last_mut() {
                    *last = CaseState::Pattern;
                }
                i += 2;
                start = i;
                word_start = true;
                continue;
            }
            word_start = b.is_ascii_whitespace();
            i += 1;
            continue;
        }
        match b {
            b'\'' | b'"' => {
                quote = Some(b);
                word_start = false;
            }
            b'\\' => {
                i += 2;
                continue;
            }
            b'#' if word_start => {
                out.push((start, i));
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                start = i;
                continue;
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                if let Some((delimiter, after)) = heredoc_delimiter(bytes, i) {
                    heredocs.push(delimiter);
                    i = after;
                    word_start = false;
                    continue;
                }
                i += 3;
                continue;
            }
            b'\n' if !heredocs.is_empty() => {
                out.push((start, i));
                i = skip_heredocs(bytes, i, &mut heredocs);
                start = i;
                word_start = true;
                continue;
            }
            b';' if cases.last() == Some(&CaseState::Body)
                && matches!(bytes.get(i + 1), Some(b';' | b'&')) =>
            {
                // `;;`, `;&` or `;;&` ends a branch: a pattern comes next.
                out.push((start, i));
                i += 2;
                if bytes.get(i) == Some(&b'&') {
                    i += 1;
                }
                if let Some(last) = cases.last_mut() {
                    *last = CaseState::Pattern;
                }
                start = i;
                word_start = true;
                continue;
            }
            b'(' if script
                .get(i + 1..)
                .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with(')'))
                && script
                    .get(start..i)
                    .is_some_and(|name| name.split_whitespace().count() == 1) =>
            {
                // `name() {`: a function definition, its name is not a command.
                let close = script[i + 1..].find(')').map_or(i + 1, |p| i + 1 + p);
                i = close + 1;
                start = i;
                word_start = true;
                continue;
            }
            b'\n' | b';' | b'|' | b'&' | b'(' | b')' | b'`' => {
                out.push((start, i));
                start = i + 1;
                word_start = true;
                i += 1;
                continue;
            }
            b'$' if bytes.get(i + 1) == Some(&b'(') && bytes.get(i + 2) == Some(&b'(') => {
                // Arithmetic `$(( ... ))`: `<<` there is a shift, not a here-document.
                let close = script
                    .get(i + 3..)
                    .and_then(|rest| rest.find("))"))
                    .map_or(bytes.len(), |p| i + 3 + p + 2);
                i = close;
                word_start = false;
                continue;
            }
            b'$' if bytes.get(i + 1) == Some(&b'(') && bytes.get(i + 2) != Some(&b'(') => {
                out.push((start, i));
                start = i + 2;
                i += 2;
                word_start = true;
                continue;
            }
            b' ' | b'\t' => word_start = true,
            _ => word_start = false,
        }
        i += 1;
    }
    out.push((start, bytes.len().max(start)));
    out.into_iter().filter(|(s, e)| e > s).collect()
}

/// Words of one segment (quotes removed) with the end offset of each word.
fn words(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // `${{ ... }}` is one piece of the word, whatever it holds.
        if let Some(end) = expression_end(text.as_bytes(), i) {
            word.push_str(&text[i..end]);
            in_word = true;
            while chars.peek().is_some_and(|(j, _)| *j < end) {
                chars.next();
            }
            continue;
        }
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == '\\' && q == '"' {
                if let Some((_, n)) = chars.next() {
                    word.push(n);
                }
            } else {
                word.push(c);
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                in_word = true;
            }
            '\\' => {
                // Line continuation or escaped character.
                match chars.next() {
                    Some((_, '\n')) | None => {}
                    Some((_, n)) => {
                        word.push(n);
                        in_word = true;
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push((std::mem::take(&mut word), i));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push((word, text.len()));
    }
    out
}

/// Words that may come before the real program.
fn is_prefix_word(w: &str) -> bool {
    matches!(
        w,
        "sudo"
            | "env"
            | "time"
            | "command"
            | "exec"
            | "nohup"
            | "then"
            | "do"
            | "else"
            | "if"
            | "elif"
            | "while"
            | "until"
            | "!"
            | "{"
            | "}"
            | "-E"
            | "xargs"
            | "eval"
            | "fi"
            | "done"
            | "esac"
    )
}

/// A bare variable in command position followed by more words
/// (`$guard gh release create`, `${SUDO} make install`): usually an optional
/// wrapper (empty, `echo`, `sudo`), so the real command is what follows.
fn is_wrapper_variable(w: &str) -> bool {
    let name = w
        .strip_prefix("${")
        .and_then(|n| n.strip_suffix('}'))
        .or_else(|| w.strip_prefix('$'));
    name.is_some_and(|n| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    })
}

fn is_assignment(w: &str) -> bool {
    let Some((name, _)) = w.split_once('=') else {
        return false;
    };
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

fn command(text: &str) -> Option<Command<'_>> {
    let trimmed_start = text.len() - text.trim_start().len();
    let body = text.trim();
    if body.is_empty() {
        return None;
    }
    let first_line_len = body.find('\n').unwrap_or(body.len());
    let raw = body[..first_line_len].trim_end_matches('\\').trim_end();
    let mut all = words(text);
    // `function name {`: a definition; the body's commands follow the `{`.
    if all.first().is_some_and(|(w, _)| w == "function") {
        let name_and_parens = if all.get(2).is_some_and(|(w, _)| w == "()") {
            3
        } else {
            2
        };
        all.drain(..name_and_parens.min(all.len()));
    }
    let mut skip = 0;
    while let Some((w, _)) = all.get(skip) {
        if !(is_prefix_word(w) || is_assignment(w) || is_wrapper_variable(w)) {
            break;
        }
        skip += 1;
        // `xargs -n 1 -P 4 cmd`: its options come before the command.
        if w == "xargs" {
            while let Some((option, _)) = all.get(skip).filter(|(o, _)| o.starts_with('-')) {
                skip += if XARGS_VALUE_OPTIONS.contains(&option.as_str()) {
                    2
                } else {
                    1
                };
            }
        }
    }
    all.drain(..skip.min(all.len()));
    if all.is_empty() {
        return None;
    }
    let word_ends = all
        .iter()
        .map(|(_, end)| {
            let end = end.checked_sub(trimmed_start)?;
            (end <= raw.len()).then_some(end)
        })
        .collect();
    Some(Command {
        raw,
        words: all.into_iter().map(|(w, _)| w).collect(),
        word_ends,
    })
}

/// An npm/yarn/pnpm dependency install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsInstall {
    pub manager: &'static str,
    /// Index of the word after which `--ignore-scripts` goes.
    pub insert_after_word: usize,
    pub ignores_scripts: bool,
}

const NPM_INSTALL: &[&str] = &[
    "install",
    "i",
    "in",
    "ins",
    "inst",
    "insta",
    "instal",
    "isnt",
    "isnta",
    "isntal",
    "isntall",
    "ci",
    "clean-install",
    "ic",
    "install-clean",
    "isntall-clean",
    "add",
    "install-test",
    "it",
    "install-ci-test",
    "cit",
    "clean-install-test",
    "sit",
    "update",
    "up",
    "upgrade",
    "udpate",
    "rebuild",
    "rb",
];

/// Recognises `npm ci`, `npm install`, `yarn`, `yarn install`, `pnpm install`, ...
pub fn js_install(cmd: &Command<'_>) -> Option<JsInstall> {
    let ignores_scripts = cmd.has_flag("--ignore-scripts");
    let (manager, sub_ok) = match cmd.program() {
        "npm" => (
            "npm",
            cmd.subcommand().is_some_and(|s| NPM_INSTALL.contains(&s)),
        ),
        "pnpm" => (
            "pnpm",
            cmd.subcommand().is_some_and(|s| {
                matches!(
                    s,
                    "install" | "i" | "add" | "update" | "up" | "install-test" | "it"
                )
            }),
        ),
        // A bare `yarn` installs.
        "yarn" => (
            "yarn",
            matches!(cmd.subcommand(), None | Some("install" | "add")),
        ),
        _ => return None,
    };
    if !sub_ok {
        return None;
    }
    let insert_after_word = match cmd.subcommand() {
        None => 0,
        Some(sub) => cmd.words.iter().position(|w| w == sub).unwrap_or(0),
    };
    Some(JsInstall {
        manager,
        insert_after_word,
        ignores_scripts,
    })
}

fn has_tarball_arg(cmd: &Command<'_>) -> bool {
    cmd.words
        .iter()
        .skip(1)
        .any(|w| w.ends_with(".tgz") || w.ends_with(".tar.gz"))
}

/// Whether this command installs dependencies, builds, or runs code that a
/// dependency or the repository controls. Returns a short description.
/// `checked_out`: the job has checked out the repository, so scripts and
/// `./` paths are code from the checkout.
pub fn toolchain_activity(cmd: &Command<'_>, checked_out: bool) -> Option<String> {
    let program = cmd.program();
    let sub = cmd.subcommand().unwrap_or("");
    let raw = cmd.raw;
    let says = |what: &str| Some(format!("`{raw}` {what}"));
    match program {
        "npm" => {
            if js_install(cmd).is_some() {
                return says("installs dependencies");
            }
            let runs = match sub {
                "test" | "t" | "tst" | "run" | "run-script" | "rum" | "urn" | "start" | "stop"
                | "restart" | "exec" | "x" | "pack" | "explore" => true,
                "publish" => !has_tarball_arg(cmd),
                "stage" => cmd.positional(1) == Some("publish") && !has_tarball_arg(cmd),
                _ => false,
            };
            if runs {
                return says("runs package scripts");
            }
            None
        }
        "yarn" | "pnpm" | "bun" => {
            let harmless = matches!(
                sub,
                "config" | "info" | "view" | "whoami" | "why" | "dist-tag" | "login" | "logout"
            ) || cmd.words.len() > 1
                && cmd.words[1..].iter().all(|w| w == "--version" || w == "-v")
                || (sub == "publish" || sub == "npm") && has_tarball_arg(cmd);
            if harmless {
                return None;
            }
            if js_install(cmd).is_some() || matches!(sub, "install" | "i" | "add") {
                return says("installs dependencies");
            }
            says("runs package scripts")
        }
        "npx" | "bunx" | "pnpx" | "uvx" => says("downloads and runs a package"),
        "pip" | "pip3" => matches!(sub, "install" | "download" | "wheel")
            .then(|| format!("`{raw}` installs dependencies")),
        "pipx" => {
            matches!(sub, "install" | "run").then(|| format!("`{raw}` installs and runs a package"))
        }
        "python" | "python3" | "py" => python_activity(cmd, checked_out),
        "uv" => match sub {
            "sync" | "pip" | "build" | "run" | "add" | "lock" | "tool" | "export" => {
                says("installs or builds the project")
            }
            _ => None,
        },
        "poetry" => match sub {
            "install" | "build" | "run" | "add" | "update" | "lock" | "sync" | "shell" => {
                says("installs or builds the project")
            }
            "publish" if cmd.has_flag("--build") => says("builds the project"),
            _ => None,
        },
        "pdm" => match sub {
            "install" | "sync" | "build" | "run" | "add" | "update" | "lock" => {
                says("installs or builds the project")
            }
            "publish" if !cmd.has_flag("--no-build") => says("builds the project"),
            _ => None,
        },
        "hatch" => match sub {
            "build" | "run" | "test" | "env" | "shell" | "fmt" => {
                says("builds or runs the project")
            }
            _ => None,
        },
        "flit" => matches!(sub, "build" | "install" | "publish")
            .then(|| format!("`{raw}` builds the project")),
        "pipenv" => matches!(sub, "install" | "sync" | "run" | "lock")
            .then(|| format!("`{raw}` installs dependencies")),
        "tox" | "nox" | "pytest" | "py.test" => says("runs the project's tests"),
        "cargo" => cargo_activity(cmd),
        "make" | "gmake" | "cmake" | "ninja" | "meson" | "bazel" | "bazelisk" | "scons"
        | "just" | "mage" | "gradle" | "gradlew" | "./gradlew" | "mvn" | "mvnw" | "./mvnw"
        | "sbt" | "ant" | "lein" | "mill" | "rake" | "rspec" | "xcodebuild" | "goreleaser" => {
            says("runs the build")
        }
        "go" => matches!(sub, "build" | "test" | "run" | "generate" | "install")
            .then(|| format!("`{raw}` builds or runs Go code")),
        "dotnet" => matches!(
            sub,
            "build" | "test" | "run" | "restore" | "publish" | "pack" | "msbuild"
        )
        .then(|| format!("`{raw}` builds the project")),
        "bundle" | "bundler" => matches!(sub, "install" | "exec" | "update")
            .then(|| format!("`{raw}` installs dependencies")),
        "gem" => matches!(sub, "install" | "build")
            .then(|| format!("`{raw}` runs Ruby code from a gemspec or gem")),
        "composer" => matches!(sub, "install" | "update" | "require" | "run" | "run-script")
            .then(|| format!("`{raw}` installs dependencies")),
        "swift" => {
            matches!(sub, "build" | "test" | "run").then(|| format!("`{raw}` builds the project"))
        }
        "deno" => matches!(sub, "task" | "run" | "test" | "install" | "compile")
            .then(|| format!("`{raw}` runs code")),
        "mix" | "rebar3" | "flutter" | "dart" => says("builds the project"),
        "docker" => {
            let build = sub == "build" || (sub == "buildx" && cmd.positional(1) == Some("build"));
            build.then(|| format!("`{raw}` runs a container build"))
        }
        _ => checkout_code(cmd, checked_out),
    }
}

fn python_activity(cmd: &Command<'_>, checked_out: bool) -> Option<String> {
    let raw = cmd.raw;
    let module = cmd
        .words
        .iter()
        .position(|w| w == "-m")
        .and_then(|i| cmd.words.get(i + 1))
        .map(String::as_str);
    match module {
        Some("pip") => {
            let sub = cmd
                .words
                .iter()
                .skip_while(|w| *w != "pip")
                .nth(1)
                .map(String::as_str);
            matches!(sub, Some("install" | "download" | "wheel"))
                .then(|| format!("`{raw}` installs dependencies"))
        }
        Some(
            "build" | "pytest" | "tox" | "nox" | "hatch" | "poetry" | "pdm" | "flit" | "setuptools",
        ) => Some(format!("`{raw}` builds or runs the project")),
        Some(_) => None,
        None => {
            if cmd.has_flag("-c") {
                return None;
            }
            let script = cmd.words.iter().skip(1).find(|w| !w.starts_with('-'))?;
            if script == "setup.py" || script.ends_with("/setup.py") {
                return Some(format!("`{raw}` runs the project's setup.py"));
            }
            checked_out.then(|| format!("`{raw}` runs a script from the checkout"))
        }
    }
}

fn cargo_activity(cmd: &Command<'_>) -> Option<String> {
    let raw = cmd.raw;
    let sub = cmd.subcommand().unwrap_or("");
    // `+nightly` toolchain selectors come first.
    let sub = if sub.starts_with('+') {
        cmd.positional(1).unwrap_or("")
    } else {
        sub
    };
    match sub {
        "fmt" | "login" | "logout" | "owner" | "yank" | "search" | "metadata" | "version"
        | "help" | "fetch" | "tree" | "locate-project" | "verify-project" | "new" | "init"
        | "update" | "generate-lockfile" | "" => None,
        "publish" | "package" if cmd.has_flag("--no-verify") => None,
        "publish" | "package" => Some(format!(
            "`{raw}` builds the crate (build scripts and proc macros run) before uploading"
        )),
        _ => Some(format!(
            "`{raw}` builds the crate (build scripts and proc macros run)"
        )),
    }
}

/// Running a script file that came with the checkout.
fn checkout_code(cmd: &Command<'_>, checked_out: bool) -> Option<String> {
    if !checked_out {
        return None;
    }
    let raw = cmd.raw;
    let program = cmd.program();
    let looks_like_path = |w: &str| {
        !w.starts_with('-') && !w.starts_with('$') && (w.contains('/') || has_script_extension(w))
    };
    if program.starts_with("./") || program.starts_with("../") {
        return Some(format!("`{raw}` runs a script from the checkout"));
    }
    let first = cmd.word(0).unwrap_or("");
    if first.contains('/')
        && !first.starts_with('/')
        && !first.starts_with('$')
        && !first.starts_with('~')
    {
        return Some(format!("`{raw}` runs a script from the checkout"));
    }
    let interpreter = matches!(
        program,
        "bash"
            | "sh"
            | "zsh"
            | "dash"
            | "source"
            | "."
            | "pwsh"
            | "powershell"
            | "node"
            | "ruby"
            | "perl"
            | "php"
            | "ts-node"
            | "tsx"
    );
    if interpreter
        && !cmd.has_flag("-c")
        && let Some(arg) = cmd.words.iter().skip(1).find(|w| !w.starts_with('-'))
        && looks_like_path(arg)
    {
        return Some(format!("`{raw}` runs a script from the checkout"));
    }
    None
}

fn has_script_extension(w: &str) -> bool {
    [
        ".sh", ".bash", ".py", ".js", ".mjs", ".cjs", ".ts", ".rb", ".pl", ".php", ".ps1",
    ]
    .iter()
    .any(|ext| w.ends_with(ext))
}

/// The registry a publish command uploads to, when it is one with trusted publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    Npm,
    PyPI,
    CratesIo,
    RubyGems,
    NuGet,
    /// Container registries (`docker push`, `crane copy`, ...).
    Container,
    /// GitHub releases, object storage, Maven: no trusted publishing.
    Other,
}

impl Registry {
    pub fn has_trusted_publishing(self) -> bool {
        !matches!(self, Registry::Other | Registry::Container)
    }

    pub fn name(self) -> &'static str {
        match self {
            Registry::Npm => "npm",
            Registry::PyPI => "PyPI",
            Registry::CratesIo => "crates.io",
            Registry::RubyGems => "RubyGems",
            Registry::NuGet => "NuGet",
            Registry::Container => "the container registry",
            Registry::Other => "the registry",
        }
    }
}

/// A command that publishes something: directly, or through a runner that
/// starts another program (`uvx twine upload`, `poetry run poetry publish`,
/// `pipx run twine upload`, ...). A `--dry-run` uploads nothing.
pub fn publish_command(cmd: &Command<'_>) -> Option<Registry> {
    // `-n` is the short `--dry-run` of cargo and of `dart|flutter pub publish`.
    if cmd.has_flag("--dry-run")
        || (matches!(cmd.program(), "cargo" | "dart" | "flutter") && cmd.has_flag("-n"))
    {
        return None;
    }
    // A rehearsal on PyPI's test index (`--repository testpypi`,
    // `--publish-url https://test.pypi.org/legacy/`) releases nothing.
    if cmd
        .words
        .iter()
        .any(|w| w.contains("test.pypi.org") || w == "testpypi" || w.ends_with("=testpypi"))
    {
        return None;
    }
    publish_command_at(cmd, 0)
}

/// How many runners deep (`npx pnpm exec uvx ...`) a command is followed.
const MAX_RUNNER_DEPTH: usize = 8;

/// A command and the commands runners start from it (`bundle exec rake
/// release` gives itself and `rake release`), up to [`MAX_RUNNER_DEPTH`].
pub fn runner_chain<'a>(cmd: &Command<'a>) -> Vec<Command<'a>> {
    let mut chain = vec![cmd.clone()];
    while chain.len() <= MAX_RUNNER_DEPTH {
        match chain.last().and_then(run_by) {
            Some(next) => chain.push(next),
            None => break,
        }
    }
    chain
}

fn publish_command_at(cmd: &Command<'_>, depth: usize) -> Option<Registry> {
    if depth > MAX_RUNNER_DEPTH {
        return None;
    }
    direct_publish(cmd).or_else(|| publish_command_at(&run_by(cmd)?, depth + 1))
}

/// Options of the npm family that take a value (`npm --workspace pkg publish`).
const JS_VALUE_OPTIONS: &[&str] = &[
    "--workspace",
    "-w",
    "--prefix",
    "--tag",
    "--access",
    "--registry",
    "--otp",
    "--userconfig",
    "--filter",
    "-F",
    "--dir",
    "-C",
    "--cwd",
];

/// Options of runners that take a value (`uvx --from twine twine upload`).
const RUNNER_VALUE_OPTIONS: &[&str] = &[
    "--from",
    "--with",
    "--spec",
    "--python",
    "-p",
    "--package",
    "--directory",
    "--project",
    "-e",
    "--env",
];

/// The command a runner starts: the words after `uvx`, `npx`, `pipx run`,
/// `poetry run`, `uv run`, `pdm run`, `hatch run`, `pipenv run`,
/// `pnpm exec`, `npm exec`, `bundle exec` and their options; and the
/// package binary `pnpm|yarn|bun <bin>` runs (`pnpm vsce publish`: a word
/// that is not one of their own commands names a binary of `node_modules`).
fn run_by<'a>(cmd: &Command<'a>) -> Option<Command<'a>> {
    if let Some(started) = run_by_fan_out(cmd) {
        return Some(started);
    }
    let skip = match (cmd.program(), cmd.word(1)) {
        ("uvx" | "npx" | "pnpx" | "bunx", _) => 1,
        ("pipx" | "poetry" | "uv" | "pdm" | "hatch" | "pipenv", Some("run"))
        | ("pnpm" | "bundle", Some("exec"))
        | ("npm", Some("exec" | "x"))
        | ("pnpm" | "yarn", Some("dlx")) => 2,
        ("pnpm" | "yarn" | "bun", Some(bin)) if !bin.starts_with('-') => 1,
        _ => return None,
    };
    let mut i = skip;
    while let Some(word) = cmd.word(i) {
        if !word.starts_with('-') {
            break;
        }
        i += if RUNNER_VALUE_OPTIONS.contains(&word) {
            2
        } else {
            1
        };
    }
    cmd.word(i)?;
    Some(Command {
        raw: cmd.raw,
        words: cmd.words[i..].to_vec(),
        word_ends: cmd.word_ends.get(i..).unwrap_or_default().to_vec(),
    })
}

/// Options of `xargs` that take a value (skipped with it before the command).
const XARGS_VALUE_OPTIONS: &[&str] = &["-n", "-I", "-P", "-L", "-d", "-s", "-a", "-E"];

/// The command `parallel 'CMD {}' ::: ARGS` runs for each input (its first
/// argument, itself a command line). `xargs CMD` is read as a prefix.
fn run_by_fan_out<'a>(cmd: &Command<'a>) -> Option<Command<'a>> {
    match cmd.program() {
        "parallel" => {
            let line = cmd.words[1..].iter().find(|w| !w.starts_with('-'))?;
            let words: Vec<String> = words(line).into_iter().map(|(w, _)| w).collect();
            words.first()?;
            Some(Command {
                raw: cmd.raw,
                word_ends: vec![None; words.len()],
                words,
            })
        }
        _ => None,
    }
}

fn direct_publish(cmd: &Command<'_>) -> Option<Registry> {
    // A package a runner starts may carry a version (`pkg-pr-new@0.0`).
    let program = match cmd.program().rsplit_once('@') {
        Some((name, _)) if !name.is_empty() => name,
        _ => cmd.program(),
    };
    // A tool built or downloaded into the workspace (`./ko build`,
    // `bin/snapcraft upload`) publishes as the installed one does.
    let program = match program.rsplit_once('/') {
        Some((_, base)) if !base.is_empty() => base,
        _ => program,
    };
    let js = matches!(program, "npm" | "yarn" | "pnpm" | "bun");
    let value_options: &[&str] = match program {
        _ if js => JS_VALUE_OPTIONS,
        "aws" => AWS_VALUE_OPTIONS,
        "gcloud" => GCLOUD_VALUE_OPTIONS,
        "gsutil" => GSUTIL_VALUE_OPTIONS,
        _ => &[],
    };
    let sub = cmd.positional_after_options(0, value_options).unwrap_or("");
    let second = cmd.positional_after_options(1, value_options).unwrap_or("");
    let registry = match program {
        "npm" if sub == "publish" || (sub == "stage" && second == "publish") => Registry::Npm,
        // Moving a dist-tag changes what `npm install pkg` (or `@latest`) gets.
        "npm" if sub == "dist-tag" && matches!(second, "add" | "rm") => Registry::Npm,
        "yarn" if sub == "publish" || (sub == "npm" && second == "publish") => Registry::Npm,
        "pnpm" | "bun" | "lerna" if sub == "publish" => Registry::Npm,
        "changeset" if sub == "publish" => Registry::Npm,
        "npx" | "pnpx" | "bunx" if matches!(sub, "semantic-release" | "lerna" | "changeset") => {
            Registry::Npm
        }
        "semantic-release" => Registry::Npm,
        // VS Code extensions: the Marketplace (`vsce`, also `@vscode/vsce`)
        // and Open VSX (`ovsx`).
        "vsce" | "ovsx" if sub == "publish" => Registry::Other,
        // Staging through a shipgate release gate: the gate publishes once
        // maintainers approve, so the job is on the release path.
        "shipgate" if sub == "stage" => Registry::Other,
        "twine" if sub == "upload" => Registry::PyPI,
        "python" | "python3"
            if cmd
                .words
                .windows(3)
                .any(|w| w[0] == "-m" && w[1] == "twine" && w[2] == "upload") =>
        {
            Registry::PyPI
        }
        "uv" | "poetry" | "flit" | "hatch" | "pdm" if sub == "publish" => Registry::PyPI,
        "cargo" if sub == "publish" => Registry::CratesIo,
        "gem" if sub == "push" => Registry::RubyGems,
        // pub.dev (`lish` is pub's old spelling of `publish`).
        "dart" | "flutter" if sub == "pub" && matches!(second, "publish" | "lish") => {
            Registry::Other
        }
        // sbt: `publish`/`publishSigned` (also `+publish`, `project/publish`),
        // the Sonatype release steps, and the release commands of
        // sbt-ci-release and sbt-typelevel.
        "sbt" if cmd.words[1..].iter().any(|w| is_sbt_publish_task(w)) => Registry::Other,
        // Leiningen: `lein deploy` (Clojars or a repository it names).
        "lein" if sub == "deploy" => Registry::Other,
        // Bundler's gem tasks: `rake release` builds, tags and pushes the gem
        // (`release:rubygem_push` is its last part); projects with several
        // gems name their own `release:NAME` tasks the same way.
        "rake" if cmd.words[1..].iter().any(|w| is_rake_release_task(w)) => Registry::RubyGems,
        // A fastlane lane named for releasing or deploying (`fastlane
        // release`, `fastlane ios deploy`): lanes of that name upload to the
        // stores, RubyGems or GitHub releases.
        "fastlane" if fastlane_lane(cmd).is_some_and(names_a_release_lane) => Registry::Other,
        // A push to another feed (MyGet, GitHub Packages, a private feed)
        // is not one to nuget.org, which has trusted publishing.
        "dotnet" | "nuget"
            if (program == "dotnet" && sub == "nuget" && second == "push")
                || (program == "nuget" && sub == "push") =>
        {
            match nuget_source(cmd) {
                Some(source) if is_url(&source) && !is_nuget_org(&source) => Registry::Other,
                _ => Registry::NuGet,
            }
        }
        "maturin" if sub == "upload" || sub == "publish" => Registry::PyPI,
        // Preview packages for pull requests (pkg.pr.new).
        "pkg-pr-new" if sub == "publish" => Registry::Other,
        "ko" if matches!(sub, "build" | "publish" | "resolve" | "apply")
            && !cmd.has_flag("--local")
            && !cmd.has_flag("-L")
            && !cmd.words.iter().any(|w| w == "--push=false") =>
        {
            Registry::Container
        }
        "docker" | "podman" if sub == "push" || (sub == "image" && second == "push") => {
            Registry::Container
        }
        "docker" if sub == "buildx" && cmd.has_flag("--push") => Registry::Container,
        "docker"
            if sub == "buildx" && second == "imagetools" && cmd.positional(2) == Some("create") =>
        {
            Registry::Container
        }
        "docker" | "podman" if sub == "manifest" && second == "push" => Registry::Container,
        // Helm charts pushed to an OCI registry (`helm push chart.tgz oci://...`).
        "helm" if sub == "push" => Registry::Container,
        "cloudsmith" if matches!(sub, "push" | "upload") => Registry::Other,
        // Hex (Elixir): `mix hex.publish` (not `--dry-run`; `hex.build` only builds).
        "mix" if sub == "hex.publish" && !cmd.has_flag("--dry-run") => Registry::Other,
        // Flux OCI artifacts (`flux push artifact oci://...`).
        "flux" if sub == "push" && second == "artifact" => Registry::Container,
        // Snap Store: `snapcraft upload` (`push` is its old name) and
        // `release`; a bare `snapcraft` only builds.
        // `promote` releases a revision from one channel to another.
        "snapcraft" if matches!(sub, "upload" | "push" | "release" | "promote") => Registry::Other,
        // Cachix binary caches.
        "cachix" if sub == "push" => Registry::Other,
        // Chocolatey community feed.
        "choco" if sub == "push" => Registry::Other,
        "crane" | "gcrane" if matches!(sub, "copy" | "cp" | "push" | "append" | "tag") => {
            Registry::Container
        }
        "skopeo" if matches!(sub, "copy" | "sync") && !to_local_transport(cmd) => {
            Registry::Container
        }
        "aws"
            if sub == "s3"
                && matches!(second, "cp" | "sync" | "mv")
                && uploads_to(cmd, "s3://") =>
        {
            Registry::Other
        }
        "gsutil" if matches!(sub, "cp" | "rsync" | "mv") && uploads_to(cmd, "gs://") => {
            Registry::Other
        }
        "gcloud"
            if sub == "storage"
                && matches!(second, "cp" | "rsync" | "mv")
                && uploads_to(cmd, "gs://") =>
        {
            Registry::Other
        }
        "az" if sub == "storage"
            && second == "blob"
            && matches!(cmd.positional(2), Some("upload" | "upload-batch" | "sync")) =>
        {
            Registry::Other
        }
        // A draft release is visible only to the repository's writers until
        // someone publishes it (often a later, environment-gated job).
        "gh" if sub == "release" && (second == "upload" || second == "create" && !drafts(cmd)) => {
            Registry::Other
        }
        // Publishing a drafted release makes it (and its assets) public.
        "gh" if sub == "release" && second == "edit" && undrafts(cmd) => Registry::Other,
        // `deploy` (the lifecycle phase or the plugin goal) uploads to the
        // repository; `release:perform` deploys the tagged release.
        "mvn" | "mvnw" | "./mvnw"
            if cmd.words.iter().any(|w| {
                matches!(
                    w.as_str(),
                    "deploy" | "deploy:deploy" | "deploy:deploy-file" | "release:perform"
                )
            }) =>
        {
            Registry::Other
        }
        // `publishToMavenLocal` only fills `~/.m2` on the runner.
        "gradle" | "gradlew" | "./gradlew"
            if cmd
                .words
                .iter()
                .any(|w| w.starts_with("publish") && !w.ends_with("ToMavenLocal")) =>
        {
            Registry::Other
        }
        _ => return None,
    };
    Some(registry)
}

/// An sbt command that publishes: the task part of each `;`-separated
/// command in the word (`+publishSigned`, `core/publish`, `"; test;
/// ci-release"`), not `publishLocal`/`publishM2` (the runner's own caches).
fn is_sbt_publish_task(word: &str) -> bool {
    word.split(';').any(|command| {
        let command = command.trim().trim_start_matches('+');
        let task = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("");
        matches!(
            task,
            "publish"
                | "publishSigned"
                | "ci-release"
                | "tlRelease"
                | "tlCiRelease"
                | "sonatypeBundleRelease"
                | "sonatypeRelease"
                | "sonatypeCentralRelease"
                | "sonatypeCentralUpload"
                | "releaseEarly"
        )
    })
}

/// A rake task that pushes a gem: `release`, `release:rubygem_push`,
/// `release:NAME` (a per-gem release task), but not Bundler's parts that
/// only build or tag (`release:guard_clean`, `release:source_control_push`).
pub fn is_rake_release_task(word: &str) -> bool {
    let task = word.split('[').next().unwrap_or(word);
    match task.strip_prefix("release") {
        Some("") => true,
        Some(rest) => rest.strip_prefix(':').is_some_and(|part| {
            !part.is_empty() && !matches!(part, "guard_clean" | "source_control_push")
        }),
        None => false,
    }
}

/// The lane `fastlane [PLATFORM] LANE [key:value...]` runs (`fastlane
/// action NAME` and `fastlane run NAME` run single actions, not lanes).
fn fastlane_lane<'a>(cmd: &'a Command<'_>) -> Option<&'a str> {
    let mut words = cmd.words[1..]
        .iter()
        .map(String::as_str)
        .filter(|w| !w.starts_with('-') && !w.contains(':'));
    let first = words.next()?;
    match first {
        "ios" | "android" | "mac" => words.next(),
        "action"
        | "run"
        | "init"
        | "env"
        | "lanes"
        | "list"
        | "docs"
        | "new_action"
        | "enable_auto_complete"
        | "update_fastlane" => None,
        lane => Some(lane),
    }
}

/// Whether a lane's name says it ships something (`release`,
/// `create_github_release`, `deploy_appstore`, `publish`), not a beta or a
/// test build.
fn names_a_release_lane(lane: &str) -> bool {
    let lane = lane.to_ascii_lowercase();
    lane.split(['_', '-']).any(|part| {
        matches!(
            part,
            "release" | "deploy" | "publish" | "appstore" | "playstore"
        )
    })
}

/// The registry a publish command names with `--registry URL` or
/// `--registry=URL` (npm, pnpm, yarn classic).
pub fn npm_registry_option(cmd: &Command<'_>) -> Option<String> {
    cmd.option_value(&["--registry"]).map(str::to_owned)
}

/// The npm registry a command configures for later commands: `npm|pnpm|yarn
/// config set registry URL` (also `registry=URL`, and yarn berry's
/// `npmRegistryServer`), or `registry=URL` written to an `.npmrc` (`echo
/// "registry=URL" >> .npmrc`).
pub fn configured_npm_registry(cmd: &Command<'_>) -> Option<String> {
    match cmd.program() {
        "npm" | "pnpm" | "yarn"
            if cmd.positional(0) == Some("config") && cmd.positional(1) == Some("set") =>
        {
            let key = cmd.positional(2)?;
            if let Some(v) = key.strip_prefix("registry=") {
                return Some(v.to_owned());
            }
            matches!(key, "registry" | "npmRegistryServer" | "npmPublishRegistry")
                .then(|| cmd.positional(3).map(str::to_owned))
                .flatten()
        }
        "echo" | "printf" if cmd.words.iter().any(|w| w.ends_with(".npmrc")) => cmd
            .words
            .iter()
            .find_map(|w| w.strip_prefix("registry=").map(str::to_owned)),
        _ => None,
    }
}

/// The feed a `dotnet nuget push` / `nuget push` sends to (`--source`,
/// `-s`, `-Source`).
fn nuget_source(cmd: &Command<'_>) -> Option<String> {
    cmd.option_value(&["--source", "-s", "-Source", "-source"])
        .map(str::to_owned)
}

/// Whether a text is an `http(s)://` URL.
pub fn is_url(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    t.starts_with("https://") || t.starts_with("http://")
}

/// Whether a URL's host is nuget.org (`api.nuget.org`, `www.nuget.org`).
pub fn is_nuget_org(url: &str) -> bool {
    let t = url.trim().to_ascii_lowercase();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .unwrap_or(&t);
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "nuget.org" || host.ends_with(".nuget.org")
}

/// `gh release create --draft` (or its short form `-d`, also among grouped
/// short flags such as `-dp`): the release is a draft.
pub fn drafts(cmd: &Command<'_>) -> bool {
    cmd.has_flag("--draft")
        || cmd.words.iter().skip(1).any(|w| {
            w.strip_prefix('-').is_some_and(|group| {
                !group.starts_with('-')
                    && !group.is_empty()
                    && group.chars().all(|c| c.is_ascii_alphabetic())
                    && group.contains('d')
            })
        })
}

/// `gh release edit --draft=false`: the draft becomes a published release.
pub fn undrafts(cmd: &Command<'_>) -> bool {
    cmd.words.iter().any(|w| w == "--draft=false")
}

/// Options of `aws` (global, and of `s3 cp|sync|mv`) that take a value:
/// `aws s3 cp a s3://b/a --content-type application/json` copies to
/// `s3://b/a`, not to `application/json`.
const AWS_VALUE_OPTIONS: &[&str] = &[
    "--acl",
    "--cache-control",
    "--content-disposition",
    "--content-encoding",
    "--content-language",
    "--content-type",
    "--expires",
    "--grants",
    "--include",
    "--exclude",
    "--metadata",
    "--metadata-directive",
    "--copy-props",
    "--storage-class",
    "--sse",
    "--sse-c",
    "--sse-c-key",
    "--sse-kms-key-id",
    "--sse-c-copy-source",
    "--sse-c-copy-source-key",
    "--website-redirect",
    "--expected-size",
    "--source-region",
    "--request-payer",
    "--checksum-algorithm",
    "--checksum-mode",
    "--case-conflict",
    "--page-size",
    "--profile",
    "--region",
    "--endpoint-url",
    "--output",
    "--query",
    "--color",
    "--ca-bundle",
    "--cli-read-timeout",
    "--cli-connect-timeout",
    "--cli-binary-format",
];

/// Options of `gcloud` (global, and of `storage cp|rsync|mv`) that take a
/// value when it is not given with `=`.
const GCLOUD_VALUE_OPTIONS: &[&str] = &[
    "--cache-control",
    "--content-disposition",
    "--content-encoding",
    "--content-language",
    "--content-type",
    "--custom-metadata",
    "--custom-time",
    "--storage-class",
    "--predefined-acl",
    "--encryption-key",
    "--decryption-keys",
    "--exclude",
    "-x",
    "--manifest-path",
    "--additional-headers",
    "--project",
    "--account",
    "--billing-project",
    "--configuration",
    "--impersonate-service-account",
    "--verbosity",
    "--format",
];

/// Options of `gsutil` (global and of `cp|rsync|mv`) that take a value.
const GSUTIL_VALUE_OPTIONS: &[&str] = &["-h", "-o", "-a", "-j", "-z", "-L", "-s", "-x", "-y"];

/// The positional words of a command (after the program), skipping its
/// options and the values of those in `value_options`.
fn positionals<'c>(cmd: &'c Command<'_>, value_options: &[&str]) -> Vec<&'c str> {
    let mut out = Vec::new();
    let mut words = cmd.words.iter().skip(1);
    while let Some(word) = words.next() {
        if word.starts_with('-') {
            if value_options.contains(&word.as_str()) {
                words.next();
            }
            continue;
        }
        out.push(word.as_str());
    }
    out
}

/// The last positional word, read as a copy's destination (options and
/// their values skipped for the storage CLIs).
fn destination<'c>(cmd: &'c Command<'_>) -> Option<&'c str> {
    let value_options = match cmd.program() {
        "aws" => AWS_VALUE_OPTIONS,
        "gcloud" => GCLOUD_VALUE_OPTIONS,
        "gsutil" => GSUTIL_VALUE_OPTIONS,
        _ => &[],
    };
    positionals(cmd, value_options).last().copied()
}

/// Whether a copy goes to remote storage: its destination has the scheme, or
/// is a variable (unknown) while its source is local.
fn uploads_to(cmd: &Command<'_>, scheme: &str) -> bool {
    let Some(dest) = destination(cmd) else {
        return false;
    };
    if dest.starts_with(scheme) {
        return true;
    }
    let source_remote = cmd
        .words
        .iter()
        .skip(1)
        .any(|w| w.starts_with(scheme) && w != dest);
    dest.contains('$') && !source_remote
}

/// `skopeo copy SRC dir:/tmp/x`: a copy to the local disk publishes nothing.
fn to_local_transport(cmd: &Command<'_>) -> bool {
    destination(cmd).is_some_and(|d| {
        [
            "dir:",
            "oci:",
            "oci-archive:",
            "docker-archive:",
            "containers-storage:",
            "docker-daemon:",
        ]
        .iter()
        .any(|t| d.starts_with(t))
    })
}

/// Whether a publish command's destination can be read from the command: a
/// storage copy to `"$DEST"` may or may not be a release location.
pub fn publish_destination_known(cmd: &Command<'_>) -> bool {
    // Judge the command a runner starts (`bundle exec rake release:x`).
    let chain = runner_chain(cmd);
    let cmd = chain
        .iter()
        .find(|c| direct_publish(c).is_some())
        .unwrap_or(cmd);
    match cmd.program() {
        // Bundler's own task pushes to rubygems.org (or the gemspec's
        // `allowed_push_host`); a project's `release:NAME` may do anything.
        "rake" => cmd.words[1..]
            .iter()
            .any(|w| matches!(w.as_str(), "release" | "release:rubygem_push")),
        // What a lane uploads is in the Fastfile, which the audit does not read.
        "fastlane" => false,
        "aws" | "gsutil" | "gcloud" | "skopeo" => {
            destination(cmd).is_some_and(|d| !d.contains('$'))
        }
        "az" => cmd
            .words
            .windows(2)
            .find(|w| {
                w[0] == "--container-name"
                    || w[0] == "-c"
                    || w[0] == "--destination"
                    || w[0] == "-d"
            })
            .is_some_and(|w| !w[1].contains('$')),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(script: &str) -> Command<'_> {
        commands(script).into_iter().next().unwrap()
    }

    #[test]
    fn splits_scripts_into_commands() {
        let cmds = commands(
            "set -e\nnpm ci && npm test # comment\nFOO=1 sudo -E make build | tee log\necho 'a;b'\n",
        );
        let words: Vec<Vec<String>> = cmds.iter().map(|c| c.words.clone()).collect();
        assert_eq!(
            words,
            vec![
                vec!["set", "-e"],
                vec!["npm", "ci"],
                vec!["npm", "test"],
                vec!["make", "build"],
                vec!["tee", "log"],
                vec!["echo", "a;b"],
            ]
        );
        assert_eq!(cmds[1].raw, "npm ci");
        assert_eq!(cmds[3].raw, "FOO=1 sudo -E make build");
    }

    fn programs(script: &str) -> Vec<String> {
        commands(script).iter().map(|c| c.words.join(" ")).collect()
    }

    #[test]
    fn case_pattern_labels_are_not_commands() {
        let script = "case \"$PM\" in\n  pnpm) pnpm install --frozen-lockfile ;;\n  npm|yarn)\n    echo \"using $PM\"\n    ;;\n  (bun) bun install;;\n  *) exit 1 ;;\nesac\nnpm test\n";
        assert_eq!(
            programs(script),
            vec![
                "pnpm install --frozen-lockfile",
                "echo using $PM",
                "bun install",
                "exit 1",
                "npm test"
            ]
        );
        // One line, nested, and a last branch without `;;`.
        assert_eq!(
            programs("case $a in x) case $b in yarn) make;; esac;; y) ls\nesac; yarn --version"),
            vec!["make", "ls", "yarn --version"]
        );
    }

    #[test]
    fn heredoc_bodies_are_not_commands() {
        let script = "cat > ~/.npmrc <<EOF\n//registry.npmjs.org/:_authToken=$T\nnpm publish\nEOF\ncat <<-'END' | tee x\n\tyarn\n\tEND\necho done\n";
        assert_eq!(
            programs(script),
            vec!["cat > ~/.npmrc <<EOF", "cat <<-'END'", "tee x", "echo done"]
                .into_iter()
                .map(|s| words(s)
                    .into_iter()
                    .map(|(w, _)| w)
                    .collect::<Vec<_>>()
                    .join(" "))
                .collect::<Vec<_>>()
        );
        // A shift in arithmetic is not a here-document either.
        let after_shift = programs("n=$(( 1 << 4 ))\nnpm ci\n2\nyarn");
        assert_eq!(after_shift[1..], ["npm ci", "2", "yarn"]);
        // A here-string is not a here-document.
        assert_eq!(
            programs("grep x <<< \"$v\"\nnpm ci"),
            vec!["grep x <<< $v", "npm ci"]
        );
    }

    #[test]
    fn function_names_are_not_commands_but_bodies_are() {
        assert_eq!(
            programs("publish() {\n  npm publish\n}\nfunction yarn {\n  echo hi\n}\npublish"),
            vec!["npm publish", "echo hi", "publish"]
        );
        assert_eq!(programs("function build() { make; }"), vec!["make"]);
    }

    #[test]
    fn continuation_lines_join_words() {
        let c = first("npm \\\n  ci --foo");
        assert_eq!(c.words, vec!["npm", "ci", "--foo"]);
        assert_eq!(c.raw, "npm");
    }

    #[test]
    fn word_ends_locate_words_on_the_first_line() {
        let c = first("  npm ci --prefer-offline");
        assert_eq!(c.raw, "npm ci --prefer-offline");
        assert_eq!(c.word_ends[1], Some(6));
    }

    #[test]
    fn recognises_js_installs() {
        assert!(js_install(&first("npm ci")).is_some());
        assert!(
            js_install(&first("npm install --ignore-scripts"))
                .unwrap()
                .ignores_scripts
        );
        assert!(js_install(&first("yarn")).is_some());
        assert!(js_install(&first("yarn --frozen-lockfile")).is_some());
        assert!(js_install(&first("pnpm i")).is_some());
        assert!(js_install(&first("npm test")).is_none());
        assert!(js_install(&first("yarn build")).is_none());
    }

    #[test]
    fn recognises_toolchain_activity() {
        for s in [
            "npm ci",
            "npm run build",
            "npm stage publish",
            "npm publish",
            "yarn build",
            "pip install -r requirements.txt",
            "python -m pip install .",
            "python -m build",
            "poetry install",
            "uv sync",
            "cargo build --release",
            "cargo publish",
            "make",
            "./gradlew build",
            "mvn -B package",
            "go test ./...",
            "npx some-tool",
            "docker build .",
            "bundle install",
            "python setup.py sdist",
        ] {
            assert!(toolchain_activity(&first(s), false).is_some(), "{s}");
        }
        for s in [
            "npm publish ./tarball/pkg.tgz",
            "npm stage publish ./tarball/*.tgz",
            "twine upload dist/*",
            "uv publish",
            "poetry publish",
            "cargo publish --no-verify",
            "echo hi",
            "ls -la",
            "python -c 'print(1)'",
            "./script.sh",
            "gh release upload v1 dist/*",
            "npm --version",
            "sha256sum dist/*",
        ] {
            assert!(toolchain_activity(&first(s), false).is_none(), "{s}");
        }
        for s in [
            "./script.sh",
            "bash scripts/release.sh",
            "python scripts/x.py",
            "node build.js",
            "scripts/x",
        ] {
            assert!(toolchain_activity(&first(s), true).is_some(), "{s}");
        }
        assert!(toolchain_activity(&first("bash -c 'echo hi'"), true).is_none());
    }

    #[test]
    fn recognises_publishes() {
        assert_eq!(
            publish_command(&first("npm publish --provenance")),
            Some(Registry::Npm)
        );
        assert_eq!(
            publish_command(&first("npm stage publish")),
            Some(Registry::Npm)
        );
        assert_eq!(
            publish_command(&first("yarn npm publish")),
            Some(Registry::Npm)
        );
        assert_eq!(
            publish_command(&first("twine upload dist/*")),
            Some(Registry::PyPI)
        );
        assert_eq!(
            publish_command(&first("python -m twine upload dist/*")),
            Some(Registry::PyPI)
        );
        assert_eq!(
            publish_command(&first("cargo publish")),
            Some(Registry::CratesIo)
        );
        assert_eq!(
            publish_command(&first("gem push x.gem")),
            Some(Registry::RubyGems)
        );
        assert_eq!(
            publish_command(&first("docker push ghcr.io/x")),
            Some(Registry::Container)
        );
        assert_eq!(
            publish_command(&first("gh release upload v1 x")),
            Some(Registry::Other)
        );
        // An optional wrapper in a variable does not hide the command.
        assert_eq!(
            publish_command(&first("xargs $guard gh release create v1 --")),
            Some(Registry::Other)
        );
        assert_eq!(publish_command(&first("npm test")), None);
    }

    #[test]
    fn recognises_publishes_through_runners_and_options() {
        for (script, registry) in [
            ("uvx twine upload dist/*", Registry::PyPI),
            (
                "uvx --from twine==6.1.0 twine upload dist/*",
                Registry::PyPI,
            ),
            ("pipx run twine upload dist/*", Registry::PyPI),
            ("pipx run --spec twine twine upload dist/*", Registry::PyPI),
            ("poetry run twine upload dist/*", Registry::PyPI),
            ("poetry run poetry publish", Registry::PyPI),
            (
                "uv run --with twine python -m twine upload dist/*",
                Registry::PyPI,
            ),
            ("hatch run publish:twine upload dist/*", Registry::Other),
            ("npx semantic-release", Registry::Npm),
            ("pnpm exec changeset publish", Registry::Npm),
            ("npm --workspace packages/a publish", Registry::Npm),
            ("npm publish -w packages/a", Registry::Npm),
            ("pnpm --filter ./pkg publish --no-git-checks", Registry::Npm),
        ] {
            let found = publish_command(&first(script));
            if registry == Registry::Other {
                // `publish:twine` is a hatch script name, not twine itself.
                assert_eq!(found, None, "{script}");
            } else {
                assert_eq!(found, Some(registry), "{script}");
            }
        }
    }

    #[test]
    fn github_expressions_are_single_pieces_of_words() {
        let cmds = commands(
            "docker login -u ${{ secrets.U }} -p ${{ secrets.P || 'x y' }} ghcr.io\necho ${{ inputs.a && 'b;c' }}; npm ci",
        );
        assert_eq!(cmds.len(), 3, "{cmds:?}");
        assert_eq!(
            cmds[0].words,
            [
                "docker",
                "login",
                "-u",
                "${{ secrets.U }}",
                "-p",
                "${{ secrets.P || 'x y' }}",
                "ghcr.io"
            ]
        );
        assert_eq!(cmds[1].words, ["echo", "${{ inputs.a && 'b;c' }}"]);
        assert_eq!(cmds[2].program(), "npm");
        // Inside quotes, and unclosed (read as plain text).
        assert_eq!(
            first("echo \"v=${{ github.ref == 'a\"b' }}\" > out").words[1],
            "v=${{ github.ref == 'a\"b' }}"
        );
        assert_eq!(first("echo ${{ oops").words, ["echo", "${{", "oops"]);
    }

    #[test]
    fn commands_fanned_out_by_parallel_and_xargs_are_read() {
        for script in [
            "parallel 'snapcraft upload -v --release latest/candidate {}' ::: yazi-*.snap || true",
            "ls *.snap | xargs -n 1 -P 4 snapcraft upload",
            "find . -name '*.nupkg' | xargs -I {} dotnet nuget push {} -k \"$KEY\"",
            "snapcraft promote yazi --from-channel latest/candidate --to-channel latest/stable",
        ] {
            let found = commands(script).iter().find_map(publish_command);
            assert!(found.is_some(), "{script}");
        }
        for script in [
            "parallel 'gzip {}' ::: *.txt",
            "xargs -n 1 echo",
            "parallel",
            "xargs -n",
        ] {
            let found = commands(script).iter().find_map(publish_command);
            assert_eq!(found, None, "{script}");
        }
    }

    #[test]
    fn recognises_pub_sbt_and_leiningen_publishing() {
        for script in [
            "dart pub publish --force",
            "flutter pub publish -f",
            "dart pub lish",
            "sbt tlCiRelease",
            "sbt ci-release",
            "sbt +publishSigned sonatypeBundleRelease",
            "sbt core/publish",
            "sbt \"; test; +publish\"",
            "lein deploy clojars",
        ] {
            assert_eq!(
                publish_command(&first(script)),
                Some(Registry::Other),
                "{script}"
            );
        }
        for script in [
            "dart pub get",
            "dart pub publish --dry-run",
            "flutter pub publish -n",
            "sbt publishLocal",
            "sbt +publishM2 test",
            "sbt ci-release-notes",
            "lein test",
        ] {
            assert_eq!(publish_command(&first(script)), None, "{script}");
        }
    }

    #[test]
    fn recognises_gem_release_tasks_and_release_lanes() {
        for (script, registry) in [
            ("bundle exec rake release", Registry::RubyGems),
            (
                "bundle exec rake release:sinatra-contrib",
                Registry::RubyGems,
            ),
            ("rake build release:rubygem_push", Registry::RubyGems),
            ("rake 'release[remote]'", Registry::RubyGems),
            (
                "bundle exec fastlane create_github_release skip_rubygems:false",
                Registry::Other,
            ),
            ("fastlane ios release --env prod", Registry::Other),
            (
                "bundle exec fastlane android deploy_playstore",
                Registry::Other,
            ),
        ] {
            assert_eq!(publish_command(&first(script)), Some(registry), "{script}");
        }
        for script in [
            "bundle exec rake install:sinatra",
            "rake release:guard_clean",
            "rake release:source_control_push",
            "rake releasenotes",
            "rake build",
            "bundle exec fastlane test",
            "fastlane ios beta",
            "fastlane run upload_to_app_store",
            "fastlane action release",
            "fastlane prerelease_checks",
        ] {
            assert_eq!(publish_command(&first(script)), None, "{script}");
        }
    }

    #[test]
    fn recognises_charts_dist_tags_and_dlx_runners() {
        for (script, registry) in [
            (
                "helm push chart.tgz oci://ghcr.io/acme/charts",
                Registry::Container,
            ),
            ("npm dist-tag add axios@1.2.3 latest", Registry::Npm),
            (
                "pnpm dlx pkg-pr-new@0.0 publish './packages/vite'",
                Registry::Other,
            ),
            ("yarn dlx pkg-pr-new publish", Registry::Other),
            (
                "cloudsmith push deb acme/stable/any-distro/any-version x.deb",
                Registry::Other,
            ),
            ("./gradlew publish publishToMavenLocal", Registry::Other),
        ] {
            assert_eq!(publish_command(&first(script)), Some(registry), "{script}");
        }
        for script in [
            "./gradlew publishToMavenLocal",
            "gradle publishAllPublicationsToMavenLocal",
            "npm dist-tag ls axios",
            "helm package chart",
            "pnpm dlx prettier --check .",
        ] {
            assert_eq!(publish_command(&first(script)), None, "{script}");
        }
    }

    #[test]
    fn container_and_storage_uploads_publish() {
        for (script, registry, known) in [
            (
                "docker buildx imagetools create -t ghcr.io/a/b:1 ghcr.io/a/b@sha256:x",
                Registry::Container,
                true,
            ),
            (
                "docker manifest push ghcr.io/a/b:1",
                Registry::Container,
                true,
            ),
            (
                "crane copy ghcr.io/a/b:1 docker.io/a/b:1",
                Registry::Container,
                true,
            ),
            (
                "skopeo copy docker-archive:img.tar docker://ghcr.io/a/b:1",
                Registry::Container,
                true,
            ),
            (
                "aws s3 cp dist/app.tar.gz s3://releases/app/1.0/",
                Registry::Other,
                true,
            ),
            (
                "aws s3 sync dist \"$RELEASE_BUCKET\"",
                Registry::Other,
                false,
            ),
            (
                "gsutil cp dist/* gs://bucket/releases/",
                Registry::Other,
                true,
            ),
            (
                "gcloud storage cp dist/* gs://bucket/releases/",
                Registry::Other,
                true,
            ),
            (
                "az storage blob upload --container-name releases --file a.zip --name a.zip",
                Registry::Other,
                true,
            ),
            (
                "az storage blob upload-batch -d \"$CONTAINER\" -s dist",
                Registry::Other,
                false,
            ),
            (
                "maturin upload --skip-existing dist/*",
                Registry::PyPI,
                true,
            ),
        ] {
            let cmd = first(script);
            assert_eq!(publish_command(&cmd), Some(registry), "{script}");
            assert_eq!(publish_destination_known(&cmd), known, "{script}");
        }
        for script in [
            "aws s3 cp s3://bucket/cache.tar .",
            "aws s3 cp s3://bucket/x \"$LOCAL\"",
            "gsutil cp gs://bucket/x .",
            "skopeo copy docker://ghcr.io/a/b:1 dir:/tmp/img",
            "skopeo inspect docker://ghcr.io/a/b:1",
            "crane digest ghcr.io/a/b:1",
            "docker buildx imagetools inspect ghcr.io/a/b:1",
            "az storage blob download --container-name c --name n --file f",
            "ko build --local ./cmd/app",
        ] {
            assert_eq!(publish_command(&first(script)), None, "{script}");
        }
    }

    #[test]
    fn recognises_extensions_release_edits_and_maven_releases() {
        for (script, registry) in [
            ("vsce publish -p $PAT", Registry::Other),
            ("pnpm vsce publish --no-dependencies", Registry::Other),
            ("yarn ovsx publish ./x.vsix", Registry::Other),
            ("npx @vscode/vsce publish --pre-release", Registry::Other),
            ("npm exec -- ovsx publish x.vsix", Registry::Other),
            ("gh release edit v1 --draft=false", Registry::Other),
            ("./mvnw -B release:prepare release:perform", Registry::Other),
            ("mvn deploy:deploy-file -Dfile=x.jar", Registry::Other),
            ("pnpm changeset publish", Registry::Npm),
            (
                "dotnet nuget push x.nupkg --source https://api.nuget.org/v3/index.json",
                Registry::NuGet,
            ),
            ("dotnet nuget push x.nupkg -s nuget.org", Registry::NuGet),
            (
                "dotnet nuget push x.nupkg --source https://www.myget.org/F/acme/api/v2/package",
                Registry::Other,
            ),
            (
                "nuget push x.nupkg -Source https://nuget.pkg.github.com/acme/index.json",
                Registry::Other,
            ),
        ] {
            assert_eq!(publish_command(&first(script)), Some(registry), "{script}");
        }
        for script in [
            "vsce package",
            "pnpm vsce ls",
            "ovsx verify-pat acme",
            "gh release edit v1 --notes x",
            "gh release edit v1 --draft",
            "mvn release:prepare",
            "pnpm install",
            "yarn build",
            "bun run publish",
        ] {
            assert_eq!(publish_command(&first(script)), None, "{script}");
        }
    }

    #[test]
    fn runner_chains_are_followed_a_bounded_depth() {
        assert_eq!(
            publish_command(&first("npx pnpm exec uvx twine upload dist/*")),
            Some(Registry::PyPI)
        );
        let deep = format!("{}twine upload dist/*", "pnpm ".repeat(10_000));
        assert_eq!(publish_command(&first(&deep)), None);
    }

    #[test]
    fn storage_destinations_skip_option_values() {
        for (script, known) in [
            (
                "aws s3 cp versions.json s3://dl/versions.json --content-type application/json",
                true,
            ),
            (
                "aws --region us-east-1 s3 sync ./site s3://www --exclude '*.map' --delete",
                true,
            ),
            (
                "gcloud storage cp a.tgz gs://rel/a.tgz --cache-control no-store",
                true,
            ),
            (
                "gsutil -h 'Cache-Control:no-store' cp a.tgz gs://rel/",
                true,
            ),
            (
                "aws s3 cp dist \"$DEST\" --recursive --acl public-read",
                false,
            ),
        ] {
            let cmd = first(script);
            assert_eq!(publish_command(&cmd), Some(Registry::Other), "{script}");
            assert_eq!(publish_destination_known(&cmd), known, "{script}");
        }
        for script in [
            "aws s3 cp s3://cache/x.tgz ./x.tgz --region us-east-1",
            "aws s3 sync s3://cache/deps ./deps --exclude \"*.tmp\" --profile ci",
            "gcloud storage cp gs://cache/x . --project acme",
        ] {
            assert_eq!(publish_command(&first(script)), None, "{script}");
        }
    }

    #[test]
    fn reads_npm_registries_from_commands() {
        for (script, registry) in [
            (
                "npm publish --registry http://localhost:4873/",
                "http://localhost:4873/",
            ),
            (
                "pnpm publish --registry=http://127.0.0.1:4873",
                "http://127.0.0.1:4873",
            ),
        ] {
            assert_eq!(
                npm_registry_option(&first(script)).as_deref(),
                Some(registry),
                "{script}"
            );
        }
        assert_eq!(npm_registry_option(&first("npm publish")), None);
        for (script, registry) in [
            (
                "npm config set registry http://localhost:4873/",
                "http://localhost:4873/",
            ),
            (
                "pnpm config set registry=http://x.local/",
                "http://x.local/",
            ),
            (
                "yarn config set npmRegistryServer http://localhost:4873",
                "http://localhost:4873",
            ),
            (
                "echo \"registry=http://localhost:4873\" >> .npmrc",
                "http://localhost:4873",
            ),
        ] {
            assert_eq!(
                configured_npm_registry(&first(script)).as_deref(),
                Some(registry),
                "{script}"
            );
        }
        for script in [
            "npm config set //localhost:4873/:_authToken x",
            "echo registry=http://localhost:4873",
            "npm config get registry",
        ] {
            assert_eq!(configured_npm_registry(&first(script)), None, "{script}");
        }
    }

    #[test]
    fn dry_runs_and_lookalikes_do_not_publish() {
        for script in [
            "npm publish --dry-run",
            "npm publish --dry-run pkg/",
            "pnpm publish --dry-run",
            "cargo publish --dry-run",
            "cargo publish -n",
            "twine upload --repository testpypi dist/*",
            "twine upload -r testpypi dist/*",
            "uv publish --publish-url https://test.pypi.org/legacy/",
            "uv publish --index=testpypi",
            "uv publish --dry-run",
            "poetry publish --dry-run",
            "uvx twine check dist/*",
            "poetry run pytest",
            "npm --workspace publish test",
            "npx prettier --check .",
            "gh release create v1.0.0 --draft dist/*",
            "gh release create v1.0.0 -d -F notes.md dist/*",
            "gh release create v1.0.0 -pd dist/*",
        ] {
            assert_eq!(publish_command(&first(script)), None, "{script}");
        }
        for script in [
            "gh release create v1.0.0 -t -dev-build dist/*",
            "gh release create v1.0.0 -p -n 'd' dist/*",
            "gh release create v1.0.0 --draft=false dist/*",
        ] {
            assert_eq!(
                publish_command(&first(script)),
                Some(Registry::Other),
                "{script}"
            );
        }
        // An explicit `--dry-run=false` is a real publish.
        assert_eq!(
            publish_command(&first("npm publish --dry-run=false")),
            Some(Registry::Npm)
        );
    }
}
