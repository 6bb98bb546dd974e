//! `shipgate serve` without a gate.toml points at `serve --dev`.

use crate::util::{assert_exit, run_in, stderr};

#[test]
fn serve_without_a_config_suggests_the_dev_gate() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["serve"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("no gate config at gate.toml"), "{err}");
    assert!(
        err.contains("hint: to try the gate out, run `shipgate serve --dev`"),
        "{err}"
    );
    // Nothing was created in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let out = run_in(dir.path(), &["serve", "--config", "missing/gate.toml"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("missing/gate.toml"),
        "{}",
        stderr(&out)
    );
}
