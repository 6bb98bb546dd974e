//! Our YAML reader against a reference loader (PyYAML): over every workflow
//! file in the fixtures, each file one accepts, the other accepts. GitHub
//! reads workflows with a permissive loader; refusing a file it accepts
//! would leave that file unaudited.
//!
//! Needs Python 3 with PyYAML (`pip install pyyaml`, listed in
//! `.ci/requirements.txt`); `SHIPGATE_PYTHON` names the interpreter
//! (default `python3`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use shipgate_audit::source::SourceFile;
use shipgate_audit::yaml;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

/// PyYAML's verdict on each file: `true` when `safe_load_all` reads it.
fn pyyaml_accepts(files: &[PathBuf]) -> Vec<bool> {
    let python = std::env::var("SHIPGATE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = "import sys\n\
        try:\n    import yaml\n\
        except ImportError:\n    print('NO-PYYAML'); sys.exit(3)\n\
        for path in sys.stdin.read().splitlines():\n    \
            try:\n        \
                with open(path, encoding='utf-8') as f:\n            \
                    list(yaml.safe_load_all(f))\n        \
                print('ok')\n    \
            except Exception:\n        \
                print('err')\n";
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{python}` (set SHIPGATE_PYTHON): {e}"));
    let list: String = files.iter().map(|p| format!("{}\n", p.display())).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(list.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.starts_with("NO-PYYAML"),
        "PyYAML is missing: `{python} -m pip install pyyaml` (see .ci/requirements.txt)"
    );
    assert!(out.status.success(), "{python} failed: {text}");
    let verdicts: Vec<bool> = text.lines().map(|l| l == "ok").collect();
    assert_eq!(verdicts.len(), files.len(), "{text}");
    verdicts
}

#[test]
fn our_reader_and_pyyaml_agree_on_every_fixture_workflow() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    assert!(files.len() >= 60, "only {} files", files.len());
    let reference = pyyaml_accepts(&files);
    let mut disagreements = Vec::new();
    let mut refused = 0;
    for (path, reference_accepts) in files.iter().zip(reference) {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // not UTF-8: neither GitHub nor we read it as YAML
        };
        let ours = yaml::load(&SourceFile::new(path.display().to_string(), text));
        refused += usize::from(ours.is_err());
        if ours.is_ok() != reference_accepts {
            disagreements.push(format!(
                "{}: ours {}, PyYAML {}",
                path.strip_prefix(&root).unwrap().display(),
                match &ours {
                    Ok(_) => "accepts".to_owned(),
                    Err(e) => format!("refuses ({})", e.message),
                },
                if reference_accepts {
                    "accepts"
                } else {
                    "refuses"
                }
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "the readers disagree:\n{}",
        disagreements.join("\n")
    );
    // The set must exercise refusals too.
    assert!(refused >= 4, "only {refused} refused files");
}
