//! Hostile input: random bytes and random mutations of the fixtures never
//! panic, and every bad file gets one clear `invalid-workflow` finding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;
use shipgate_audit::model::FileKind;
use shipgate_audit::{Finding, audit_source};

fn audit(bytes: &[u8]) -> Vec<Finding> {
    audit_source("t.yml", FileKind::Workflow, bytes).1
}

fn invalid(bytes: &[u8]) -> Vec<String> {
    audit(bytes)
        .into_iter()
        .filter(|f| f.rule.id == "invalid-workflow")
        .map(|f| f.message)
        .collect()
}

/// Pieces of justfiles and Taskfiles for the random-text test.
const SCRIPT_FRAGMENTS: &[&str] = &[
    "release",
    "build",
    ":",
    ":=",
    " ",
    "\n",
    "    ",
    "\t",
    "{{",
    "}}",
    "{{{{",
    "(",
    ")",
    "'",
    "\"",
    "'''",
    "=",
    "@",
    "-",
    "+",
    "*",
    "$",
    "#!/usr/bin/env bash\n",
    "[script]\n",
    "[private]\n",
    "&&",
    "alias r := release\n",
    "version",
    "tasks:\n",
    "  release:\n",
    "    cmds:\n",
    "      - ",
    "task: ",
    "deps: [",
    "]",
    "{{.X}}",
    "vars:\n",
    "npm publish",
    "\\",
    "é",
    "\u{feff}",
    "#",
    ",",
    "- task: release\n",
    "aliases: [release]\n",
    "[testenv:release]\n",
    "[testenv]\n",
    "commands =\n",
    "{posargs}",
    "{env:X}",
    "{",
];

fn fixture_texts() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = audit(&bytes);
        let _ = audit_source("action.yml", FileKind::Action, &bytes);
    }

    #[test]
    fn random_yaml_like_text_never_panics(text in "[ -~\n\t:\\-\\[\\]{}&*!|>'\"#%@`éü]{0,400}") {
        let _ = audit(text.as_bytes());
    }

    #[test]
    fn random_justfiles_taskfiles_and_tox_ini_never_panic(
        fragments in proptest::collection::vec(0usize..SCRIPT_FRAGMENTS.len(), 0..200),
        args in proptest::collection::vec("[a-z{}()'\"=.$-]{0,6}", 0..4),
    ) {
        // Text made of the pieces the two readers look for, in any order:
        // headers, indentation, quotes, parentheses, interpolations.
        let text: String = fragments.iter().map(|&i| SCRIPT_FRAGMENTS[i]).collect();
        let mut words = vec!["release".to_owned()];
        words.extend(args);
        let recipes = shipgate_audit::justfile::commands(&text, &words, &[]);
        prop_assert!(recipes.len() <= 16);
        let _ = shipgate_audit::taskfile::commands(&text, "release", &[]);
        let _ = shipgate_audit::tox_ini::commands(&text, "release", &words);
        let mut command = vec!["just".to_owned()];
        command.extend(words.iter().cloned());
        let _ = shipgate_audit::justfile::invocation(&command);
        command[0] = "task".to_owned();
        let _ = shipgate_audit::taskfile::invocation(&command);
        command[0] = "tox".to_owned();
        let _ = shipgate_audit::tox_ini::invocation(&command);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12),
    ) {
        let texts = fixture_texts();
        let mut bytes = texts[which % texts.len()].clone();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => bytes.truncate(i),
            }
        }
        for f in audit(&bytes) {
            // Every finding points inside the file.
            prop_assert!(f.location.range.end <= bytes.len() + 3);
            prop_assert!(f.location.start.line >= 1 && f.location.start.column >= 1);
        }
    }
}

#[test]
fn each_kind_of_bad_input_has_a_clear_message() {
    let cases: &[(&[u8], &str)] = &[
        (b"on: push\njobs: [\n", "invalid YAML"),
        (b"a: b: c\n", "invalid YAML"),
        (b"name: x\n", "not a GitHub Actions workflow"),
        (b"- just\n- a list\n", "not a mapping"),
        (b"on: push\njobs:\n\tbuild: {}\n", "invalid YAML"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file"),
        (
            b"on: push\njobs:\n  a: {runs-on: \xff\xfe}\n",
            "not valid UTF-8",
        ),
        (b"", "no YAML document"),
        (
            b"on: push\njobs: {}\n---\non: push\njobs: {}\n",
            "2 YAML documents",
        ),
    ];
    for (bytes, want) in cases {
        let messages = invalid(bytes);
        assert_eq!(
            messages.len(),
            1,
            "{:?}: {messages:?}",
            String::from_utf8_lossy(bytes)
        );
        assert!(
            messages[0].contains(want),
            "{:?}: {messages:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn tabs_inside_scalars_and_a_bom_are_fine() {
    let text = "\u{feff}on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: \"printf 'a\\tb'\"\n";
    assert!(invalid(text.as_bytes()).is_empty());
}

#[test]
fn on_written_as_a_yaml_1_1_boolean_key_still_reads_triggers() {
    // A YAML 1.1 tool rewrote `on:` as `true:`; the triggers are still found.
    let text = "true:\n  push:\n    tags: ['v*']\npermissions: {}\njobs:\n  p:\n    runs-on: x\n    permissions:\n      id-token: write\n    steps:\n      - uses: pypa/gh-action-pypi-publish@76f52bc884231f62b9a034ebfe128415bbaabdfc # v1.12.4\n";
    let rules: Vec<&str> = audit(text.as_bytes()).iter().map(|f| f.rule.id).collect();
    assert!(rules.contains(&"tag-publish-without-approval"), "{rules:?}");
}

#[test]
fn anchors_and_aliases_are_followed_and_bounded() {
    let text = "on: push\npermissions: {}\nx-steps: &s\n  - run: echo ${{ github.event.issue.title }}\njobs:\n  a:\n    runs-on: x\n    steps: *s\n";
    let f = audit(text.as_bytes());
    assert!(
        f.iter()
            .any(|f| f.rule.id == "template-injection" && f.location.start.line == 4),
        "{f:?}"
    );
    // Billion laughs: refused quickly with a clear message.
    let mut lol = String::from("on: push\njobs: {}\nl0: &l0 [a, a, a, a, a, a, a, a, a, a]\n");
    for i in 1..12 {
        let p = i - 1;
        lol.push_str(&format!(
            "l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
        ));
    }
    let start = std::time::Instant::now();
    let messages = invalid(lol.as_bytes());
    assert!(
        messages.iter().any(|m| m.contains("aliases")),
        "{messages:?}"
    );
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn a_five_megabyte_workflow_is_audited() {
    let mut text = String::from("on: push\npermissions: {}\njobs:\n");
    let mut i = 0;
    while text.len() < 5 * 1024 * 1024 {
        text.push_str(&format!(
            "  job{i}:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          echo \"${{{{ github.event.issue.title }}}}\"\n          npm test\n"
        ));
        i += 1;
    }
    let findings = audit(text.as_bytes());
    assert!(!findings.iter().any(|f| f.rule.id == "invalid-workflow"));
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.rule.id == "template-injection")
            .count(),
        i
    );
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.rule.id == "unpinned-action")
            .count(),
        i
    );
}

#[test]
fn hundreds_of_publishing_jobs_each_needing_all_earlier_ones_are_audited() {
    // 600 jobs and ~180,000 `needs` edges: a per-job forward search of the
    // needs graph took 21 s here; the backward walk is linear.
    let jobs = 600;
    let mut text = String::from("on:\n  push:\n    tags: ['v*']\npermissions: {}\njobs:\n");
    for i in 0..jobs {
        text.push_str(&format!("  j{i}:\n    runs-on: ubuntu-latest\n"));
        if i == 300 {
            text.push_str("    environment: release\n");
        }
        if i > 0 {
            let needs: Vec<String> = (0..i).map(|k| format!("j{k}")).collect();
            text.push_str(&format!("    needs: [{}]\n", needs.join(", ")));
        }
        text.push_str("    steps:\n      - run: npm publish\n");
    }
    let findings = audit(text.as_bytes());
    // Jobs 0..300 need no environment job; 300 has one; every later job
    // needs job 300, so it waits for that approval too.
    let ungated = findings
        .iter()
        .filter(|f| f.rule.id == "tag-publish-without-approval")
        .count();
    assert_eq!(ungated, 300);
}

#[test]
fn adversarial_scripts_conditions_and_groups_are_read_without_panic() {
    // Unterminated and deeply nested shell constructs, a condition with
    // thousands of terms and parentheses, a huge concurrency group, an
    // unterminated here-document sent to GITHUB_ENV, and many flow lines
    // left of their block's indentation.
    let nested_case = "case $a in x) ".repeat(2000);
    let heredocs = "cat <<EOF >> $GITHUB_ENV\n".repeat(2000);
    let condition = format!(
        "{}github.event_name == 'push'{}",
        "(".repeat(3000),
        " || github.actor == 'dependabot[bot]')".repeat(3000)
    );
    let group = "${{ github.event.push.ref }}-".repeat(5000);
    let flow = "        x,\n".repeat(20);
    let text = format!(
        "on:\n  push:\n    tags: ['v*']\n  pull_request_target:\nconcurrency:\n  group: \"{group}\"\n  cancel-in-progress: true\npermissions: {{}}\njobs:\n  a:\n    runs-on: [self-hosted]\n    if: \"{condition}\"\n    strategy:\n      matrix:\n        v: [\n{flow}    ]\n    steps:\n      - run: |\n          {}\n          {}\n          npm publish\n        if: \"{condition}\"\n      - uses: pypa/gh-action-pypi-publish@release/v1\n",
        nested_case.trim_end(),
        heredocs.replace('\n', "\n          ").trim_end()
    );
    let findings = audit(text.as_bytes());
    // The file is either audited or refused with one clear message; never a panic.
    let invalid: Vec<_> = findings
        .iter()
        .filter(|f| f.rule.id == "invalid-workflow")
        .collect();
    assert!(invalid.len() <= 1, "{invalid:?}");
}

#[test]
fn expression_choices_matrices_and_registry_settings_stay_bounded() {
    // A goreleaser `args` with many literal choices, a script reading a
    // matrix value with a thousand values, and thousands of steps each
    // setting the npm registry then publishing: every lookup is bounded or
    // read once per job.
    let choices = "${{ inputs.a && '--clean' || '-p 2' }} ".repeat(100);
    let values: Vec<String> = (0..1000).map(|i| format!("tool{i}")).collect();
    let script = "npx ${{ matrix.tool }} publish\n".repeat(2000);
    let mut text = format!(
        "on:\n  push:\n    tags: ['v*']\npermissions: {{}}\njobs:\n  gorel:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: goreleaser/goreleaser-action@v6\n        with:\n          args: \"release {choices}\"\n        env:\n          GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}\n  matrix:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        tool: [{}]\n    steps:\n      - run: |\n{}\n  npm:\n    runs-on: ubuntu-latest\n    steps:\n",
        values.join(", "),
        script
            .lines()
            .map(|l| format!("          {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for _ in 0..3000 {
        text.push_str(
            "      - run: npm config set registry http://localhost:4873/\n      - run: npm publish\n",
        );
    }
    let start = std::time::Instant::now();
    let findings = audit(text.as_bytes());
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    assert!(!findings.iter().any(|f| f.rule.id == "invalid-workflow"));
    // Only goreleaser publishes: the npm publishes go to a test registry,
    // and no matrix value is a publisher.
    let tagged: Vec<_> = findings
        .iter()
        .filter(|f| f.rule.id == "tag-publish-without-approval")
        .collect();
    assert_eq!(tagged.len(), 1, "{tagged:?}");
}
