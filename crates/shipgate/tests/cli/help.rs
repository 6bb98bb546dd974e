use crate::util::{assert_exit, run_in, stdout};

#[test]
fn version_prints_the_package_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["--version"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_command_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["no-such-command"]);
    assert_exit(&out, 2);
}
