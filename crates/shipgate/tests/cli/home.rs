//! The tests keep to their own directories: a representative set of
//! commands, run the way the tests run them, leaves an empty home directory
//! empty (no `~/.config/shipgate`, no `~/.cache/shipgate`).

use std::path::Path;
use std::process::Output;

use crate::gate_util::{Gate, default_config};
use crate::util::{assert_exit, shipgate};

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect()
}

#[test]
fn commands_run_as_the_tests_run_them_leave_home_empty() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // The way the gate tests run client commands: their own user config and
    // cache under the test's directory.
    let run = |args: &[&str]| -> Output {
        shipgate()
            .current_dir(w)
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env("SHIPGATE_CONFIG_DIR", w.join("user-config"))
            .env("SHIPGATE_CACHE_DIR", w.join("jwks-cache"))
            .args(args)
            .output()
            .unwrap()
    };
    std::fs::create_dir_all(w.join("modules/hello")).unwrap();
    std::fs::write(w.join("modules/hello/hello.py"), "print('hello')\n").unwrap();
    std::fs::create_dir_all(w.join(".github/workflows")).unwrap();
    std::fs::write(
        w.join(".github/workflows/ci.yml"),
        "on: push\npermissions: {}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    )
    .unwrap();

    assert_exit(&run(&["keygen", "-s", "k.key", "-p", "k.pub"]), 0);
    assert_exit(&run(&["sign", "--checksum-only", "modules/hello"]), 0);
    assert_exit(&run(&["sign", "modules/hello", "-s", "k.key"]), 0);
    assert_exit(&run(&["verify", "modules/hello", "-p", "k.pub"]), 0);
    assert_exit(&run(&["policy", "explain", "--context", "local"]), 0);
    assert_exit(&run(&["audit", "."]), 0);
    assert_exit(&run(&["oidc", "keygen", "--dir", "keys"]), 0);
    let issued = run(&[
        "oidc",
        "issue",
        "--keys",
        "keys",
        "--issuer",
        "https://ci.example.com",
        "--audience",
        "deploy",
        "--subject",
        "job",
    ]);
    assert_exit(&issued, 0);
    assert_exit(
        &run(&[
            "oidc",
            "publish",
            "--keys",
            "keys",
            "--issuer",
            "https://ci.example.com",
            "--out",
            "site",
        ]),
        0,
    );

    let gate = Gate::start(&default_config(""));
    assert_exit(&run(&["releases", "--gate", &gate.url]), 0);
    assert_exit(&run(&["log", "verify", "--gate", &gate.url]), 0);
    assert_exit(&run(&["log", "show", "--gate", &gate.url]), 0);

    assert_eq!(entries(home.path()), Vec::<String>::new());
}
