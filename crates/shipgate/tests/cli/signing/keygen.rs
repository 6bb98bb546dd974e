use std::os::unix::fs::PermissionsExt as _;

use super::{Fixture, expect};

#[test]
fn keygen_writes_a_0600_secret_key_and_refuses_to_overwrite_without_force() {
    let f = Fixture::new();
    let mode = std::fs::metadata(f.path("k.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        f.read("k.pub")
            .starts_with("untrusted comment: minisign public key ")
    );
    let before = (f.read("k.key"), f.read("k.pub"));

    let out = f.sg(&["keygen", "-s", "k.key", "-p", "new.pub"]);
    expect(
        &out,
        2,
        &[
            "k.key: already exists; refusing to overwrite it",
            "hint: pass --force",
        ],
    );
    let out = f.sg(&["keygen", "-s", "new.key", "-p", "k.pub"]);
    expect(&out, 2, &["k.pub: already exists"]);
    assert!(
        !f.path("new.key").exists(),
        "nothing is written when refusing"
    );
    assert_eq!((f.read("k.key"), f.read("k.pub")), before);

    expect(
        &f.sg(&["keygen", "-s", "k.key", "-p", "k.pub", "--force"]),
        0,
        &["key ID"],
    );
    assert_ne!(f.read("k.key"), before.0);
}

#[test]
fn password_protected_keys_sign_only_with_the_right_password() {
    let f = Fixture::new();
    let out = f.sg_env(
        &["keygen", "-s", "p.key", "-p", "p.pub", "--password"],
        &[("SHIPGATE_KEY_PASSWORD", "correct horse")],
    );
    expect(&out, 0, &["encrypted"]);
    assert!(f.read("p.key").contains("encrypted secret key"));

    let sign = ["sign", "modules/hello", "-s", "p.key"];
    expect(
        &f.sg_env(&sign, &[("SHIPGATE_KEY_PASSWORD", "wrong")]),
        2,
        &["p.key: wrong password for this secret key"],
    );
    // No terminal, no variable: a clear error, never a hang.
    expect(
        &f.sg(&sign),
        2,
        &[
            "p.key: secret key is encrypted and no password is available",
            "SHIPGATE_KEY_PASSWORD",
        ],
    );
    expect(
        &f.sg_env(&sign, &[("SHIPGATE_KEY_PASSWORD", "correct horse")]),
        0,
        &["signed with key"],
    );
    expect(
        &f.sg(&[
            "verify",
            "modules/hello",
            "-p",
            "p.pub",
            "--context",
            "install",
        ]),
        0,
        &["✓ modules/hello"],
    );

    // --password with no terminal and no variable.
    expect(
        &f.sg(&["keygen", "-s", "q.key", "-p", "q.pub", "--password"]),
        2,
        &["needs a terminal", "SHIPGATE_KEY_PASSWORD"],
    );
}

#[test]
fn the_secret_key_can_come_from_the_environment() {
    let f = Fixture::new();
    let key = f.read("k.key");
    // CI secrets often lose the final newline.
    let out = f.sg_env(
        &["sign", "modules/hello"],
        &[("SHIPGATE_SECRET_KEY", key.trim_end())],
    );
    expect(&out, 0, &["signed with key"]);
    expect(&f.verify_hello(), 0, &[]);
    let out = f.sg(&["sign", "modules/hello"]);
    expect(
        &out,
        2,
        &[
            "no secret key: pass -s SECRET_KEY_FILE or set SHIPGATE_SECRET_KEY",
            "--checksum-only",
        ],
    );
    let out = f.sg_env(
        &["sign", "modules/hello"],
        &[("SHIPGATE_SECRET_KEY", "garbage")],
    );
    expect(&out, 2, &["$SHIPGATE_SECRET_KEY: not a minisign key file"]);
}
