use proptest::prelude::*;

use super::*;

fn digest(n: u8) -> Sha256Digest {
    Sha256Digest([n; 32])
}

fn sample() -> Manifest {
    Manifest::new(
        ModuleName::new("hello").unwrap(),
        ModuleVersion::new("1.2.0").unwrap(),
        vec![
            Entry::file(RelPath::new("b/c.txt").unwrap(), 3, digest(1)),
            Entry::symlink(
                RelPath::new("link").unwrap(),
                LinkTarget::new("b/c.txt").unwrap(),
            ),
            Entry::file(RelPath::new("a file.txt").unwrap(), 0, digest(2)),
            Entry::file(RelPath::new("100%.txt").unwrap(), 10, digest(3)),
        ],
    )
    .unwrap()
}

fn text(m: &Manifest) -> String {
    String::from_utf8(m.to_bytes()).unwrap()
}

fn parse_err(text: &str) -> ParseError {
    Manifest::parse(text.as_bytes(), "m")
        .map(|_| text.to_string())
        .unwrap_err()
}

#[test]
fn canonical_form_is_exactly_as_documented() {
    let d1 = digest(1).to_hex();
    let d2 = digest(2).to_hex();
    let d3 = digest(3).to_hex();
    assert_eq!(
        text(&sample()),
        format!(
            "shipgate-manifest v1\nname hello\nversion 1.2.0\nfile {d3} 10 100%25.txt\nfile {d2} 0 a%20file.txt\nfile {d1} 3 b/c.txt\nsymlink b/c.txt link\n"
        )
    );
    let parsed = Manifest::parse(&sample().to_bytes(), "m").unwrap();
    assert_eq!(parsed, sample());
}

#[test]
fn refuses_duplicates_nesting_and_escaping_symlinks_when_building() {
    let name = || ModuleName::new("m").unwrap();
    let version = || ModuleVersion::new("1").unwrap();
    let file = |p: &str| Entry::file(RelPath::new(p).unwrap(), 1, digest(0));
    assert!(matches!(
        Manifest::new(name(), version(), vec![file("a"), file("a")]),
        Err(ManifestError::Duplicate(_))
    ));
    assert!(matches!(
        Manifest::new(
            name(),
            version(),
            vec![file("a"), file("a.txt"), file("a/b")]
        ),
        Err(ManifestError::InsideAFile { .. })
    ));
    let escape = Entry::symlink(
        RelPath::new("x/l").unwrap(),
        LinkTarget::new("../../etc").unwrap(),
    );
    assert!(matches!(
        Manifest::new(name(), version(), vec![escape]),
        Err(ManifestError::SymlinkEscapes(_))
    ));
}

#[test]
fn every_bad_manifest_names_the_line_and_problem() {
    let d = digest(7).to_hex();
    let head = "shipgate-manifest v1\nname m\nversion 1\n";
    let cases: Vec<(String, usize, &str)> = vec![
        (String::new(), 0, "manifest is empty"),
        (
            "shipgate-manifest v2\nname m\nversion 1\n".into(),
            1,
            "unsupported manifest format version 'v2'",
        ),
        ("hello\n".into(), 1, "not a shipgate manifest"),
        ("shipgate-manifest v1\n".into(), 2, "expected 'name'"),
        (
            "shipgate-manifest v1\nversion 1\nname m\n".into(),
            2,
            "duplicate field 'version'",
        ),
        (
            "shipgate-manifest v1\nauthor x\n".into(),
            2,
            "unknown field 'author'",
        ),
        (format!("{head}name n\n"), 4, "duplicate field 'name'"),
        (format!("{head}owner me\n"), 4, "unknown field 'owner'"),
        (
            format!("{head}file {d} 1 ../etc/passwd\n"),
            4,
            "'..' segment",
        ),
        (
            format!("{head}file {d} 1 /etc/passwd\n"),
            4,
            "absolute path",
        ),
        (format!("{head}file {d} 1 a\\b\n"), 4, "backslash"),
        (format!("{head}file {d} 1 a//b\n"), 4, "empty segment"),
        (
            format!("{head}file {d} 1 a\u{1}b\n"),
            4,
            "control character",
        ),
        (
            format!("{head}file {d} 1 a\nfile {d} 1 a\n"),
            5,
            "duplicate entry 'a'",
        ),
        (
            format!("{head}file {d} 1 b\nfile {d} 1 a\n"),
            5,
            "out of order",
        ),
        (
            format!("{head}file {d} 1 a\nfile {d} 1 a/b\n"),
            5,
            "inside 'a'",
        ),
        (
            format!("{head}symlink ../../x a\n"),
            4,
            "outside the module",
        ),
        (format!("{head}file {d} 01 a\n"), 4, "not a size"),
        (
            format!("{head}file {d} 99999999999999999999999 a\n"),
            4,
            "not a size",
        ),
        (
            format!("{head}file {} 1 a\n", "AB".repeat(32)),
            4,
            "not a SHA-256",
        ),
        (format!("{head}file {d}  1 a\n"), 4, "single spaces"),
        (format!("{head}file {d} 1 a \n"), 4, "single spaces"),
        (format!("{head}file {d} 1 a%41\n"), 4, "bad escape"),
        (format!("{head}file {d} 1 a"), 4, "no newline"),
        (format!("{head}file {d} 1 a\r\n"), 4, "carriage return"),
        (format!("{head}\n"), 4, "empty line"),
        (format!("{head}dir x\n"), 4, "unknown field 'dir'"),
    ];
    for (input, line, needle) in cases {
        let err = parse_err(&input);
        assert_eq!(err.line, line, "{input:?}: {err}");
        assert!(err.to_string().contains(needle), "{input:?}: {err}");
        assert!(err.to_string().starts_with("m:") || err.to_string().starts_with("m: "));
    }
    let err = Manifest::parse(b"shipgate-manifest v1\nname \xff\n", "m").unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::NotUtf8);
}

#[test]
fn oversized_manifests_are_refused_before_parsing() {
    let big = vec![b'a'; crate::limits::MAX_MANIFEST_BYTES as usize + 1];
    assert_eq!(
        Manifest::parse(&big, "m").unwrap_err().kind,
        ParseErrorKind::TooLarge
    );
}

fn arb_segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._%~ü-]{1,8}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
    prop::collection::btree_map(
        prop::collection::vec(arb_segment(), 1..4).prop_map(|s| s.join("/")),
        (any::<u64>(), any::<[u8; 32]>(), any::<bool>()),
        0..20,
    )
    .prop_map(|map| {
        // Keep only paths that are not inside another listed path.
        let keys: Vec<String> = map.keys().cloned().collect();
        map.into_iter()
            .filter(|(p, _)| !keys.iter().any(|k| p.starts_with(&format!("{k}/"))))
            .map(|(p, (size, digest, is_link))| {
                let path = RelPath::new(p).unwrap();
                if is_link {
                    Entry::symlink(path, LinkTarget::new("target file").unwrap())
                } else {
                    Entry::file(path, size, Sha256Digest(digest))
                }
            })
            .collect()
    })
}

proptest! {
    /// build -> bytes -> parse -> bytes is the identity.
    #[test]
    fn canonical_round_trip(entries in arb_entries(), name in "[a-z@/._-]{1,20}", version in "[0-9a-z.+-]{1,12}") {
        let manifest = Manifest::new(ModuleName::new(name).unwrap(), ModuleVersion::new(version).unwrap(), entries).unwrap();
        let bytes = manifest.to_bytes();
        let parsed = Manifest::parse(&bytes, "m").unwrap();
        prop_assert_eq!(&parsed, &manifest);
        prop_assert_eq!(parsed.to_bytes(), bytes);
    }

    /// Any single-byte change either fails to parse or parses to a manifest
    /// with different canonical bytes (so its SHA-256 and signature change).
    #[test]
    fn any_mutation_changes_the_manifest(entries in arb_entries(), index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let manifest = Manifest::new(ModuleName::new("m").unwrap(), ModuleVersion::new("1").unwrap(), entries).unwrap();
        let mut bytes = manifest.to_bytes();
        let i = index.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        if let Ok(parsed) = Manifest::parse(&bytes, "m") {
            prop_assert_eq!(parsed.to_bytes(), bytes);
            prop_assert_ne!(parsed, manifest);
        }
    }
}
