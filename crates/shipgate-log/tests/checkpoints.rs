//! Signed checkpoints: round trip, the exact format, and every way a note can
//! be forged, edited, truncated or malformed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shipgate_log::note::{self, MAX_NOTE_BYTES, NoteError};
use shipgate_log::{
    Checkpoint, CheckpointError, Hash, HashParseError, NoteSigner, NoteVerifier, leaf_hash,
};

const ORIGIN: &str = "gate.example.com/log";

fn signer() -> NoteSigner {
    NoteSigner::from_ed25519_seed(ORIGIN, &[7; 32]).unwrap()
}

fn other_signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_ed25519_seed(name, &[seed; 32]).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN, 1234, leaf_hash(b"root"))
}

fn signed() -> String {
    checkpoint().sign(&signer()).unwrap()
}

fn open(note: &str) -> Result<Checkpoint, CheckpointError> {
    Checkpoint::open(note.as_bytes(), ORIGIN, &signer().verifier())
}

#[test]
fn round_trip_and_exact_format() {
    let note = signed();
    let lines: Vec<&str> = note.split('\n').collect();
    assert_eq!(lines[0], ORIGIN);
    assert_eq!(lines[1], "1234");
    assert_eq!(lines[2], leaf_hash(b"root").to_base64());
    assert_eq!(lines[3], "");
    // Em dash, space, key name, space, base64 of 4 + 64 bytes (92 characters).
    let signature = lines[4]
        .strip_prefix("\u{2014} gate.example.com/log ")
        .unwrap();
    assert_eq!(signature.len(), 92);
    assert_eq!(lines[5], "");
    assert_eq!(lines.len(), 6, "the note ends with exactly one newline");
    assert_eq!(open(&note).unwrap(), checkpoint());

    let mut with_extensions = checkpoint();
    with_extensions.extensions = vec!["timestamp 1700000000".into(), "— not a signature".into()];
    let note = with_extensions.sign(&signer()).unwrap();
    assert_eq!(open(&note).unwrap(), with_extensions);

    let empty = Checkpoint::new(ORIGIN, 0, Hash::EMPTY_ROOT);
    assert_eq!(open(&empty.sign(&signer()).unwrap()).unwrap(), empty);
}

#[test]
fn verifier_key_string_round_trips() {
    let verifier = signer().verifier();
    let text = verifier.to_string();
    assert!(text.starts_with("gate.example.com/log+"));
    assert_eq!(text.parse::<NoteVerifier>().unwrap(), verifier);
}

#[test]
fn edited_size_root_or_origin_breaks_the_signature() {
    let note = signed();
    let invalid = Err(CheckpointError::Note(NoteError::InvalidSignature {
        name: ORIGIN.into(),
        key_id: signer().key_id(),
    }));
    assert_eq!(open(&note.replacen("1234", "1235", 1)), invalid);
    assert_eq!(open(&note.replacen("1234", "123", 1)), invalid);
    let root = leaf_hash(b"root").to_base64();
    assert_eq!(
        open(&note.replacen(&root, &leaf_hash(b"other").to_base64(), 1)),
        invalid
    );
    assert_eq!(
        open(&note.replacen(ORIGIN, "gate.example.com/lug", 1)),
        invalid
    );
    // An extension line slipped into the signed text.
    assert_eq!(
        open(&note.replacen(&format!("{root}\n"), &format!("{root}\nextra\n"), 1)),
        invalid
    );
}

#[test]
fn a_checkpoint_for_another_log_is_refused_even_if_well_signed() {
    let other = Checkpoint::new("gate.example.com/other", 5, Hash::EMPTY_ROOT);
    let note = other.sign(&signer()).unwrap();
    assert_eq!(
        open(&note),
        Err(CheckpointError::OriginMismatch {
            expected: ORIGIN.into(),
            found: "gate.example.com/other".into()
        })
    );
}

#[test]
fn missing_or_foreign_signatures_are_refused() {
    let note = signed();
    let text_only = &note[..note.find("\n\n").unwrap() + 1];
    assert_eq!(
        open(text_only),
        Err(CheckpointError::Note(NoteError::NoSignatureBlock))
    );
    assert_eq!(
        open(&format!("{text_only}\n")),
        Err(CheckpointError::Note(NoteError::NoSignatureBlock))
    );

    // Signed by another key under the same name: not a known key.
    let impostor = other_signer(ORIGIN, 9);
    let forged = checkpoint().sign(&impostor).unwrap();
    assert_eq!(
        open(&forged),
        Err(CheckpointError::Note(NoteError::NoKnownSignature))
    );

    // The impostor copies the real key ID into its line: now it claims to be
    // the known key, so its signature is checked and fails.
    let real_id = format!("{:08x}", signer().key_id());
    let impostor_id = format!("{:08x}", impostor.key_id());
    let parsed = note::SignedNote::parse(forged.as_bytes()).unwrap();
    let mut raw = real_id.clone();
    raw.push_str(&hex::encode(&parsed.signatures()[0].signature));
    let claimed = forged.replace(
        &forged[forged.find("\u{2014}").unwrap()..],
        &format!("\u{2014} {ORIGIN} {}\n", base64_of_hex(&raw)),
    );
    assert_ne!(real_id, impostor_id);
    assert!(matches!(
        open(&claimed),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));

    // A known signature next to unknown ones (a witness's cosignature) is fine,
    // and 16 signatures, the minimum the spec requires, are accepted.
    let witnesses: Vec<NoteSigner> = (0..15)
        .map(|i| other_signer(&format!("witness{i}.example"), 100 + i))
        .collect();
    let mut signers: Vec<&NoteSigner> = witnesses.iter().collect();
    let real = signer();
    signers.insert(7, &real);
    let cosigned = note::sign(&checkpoint().to_text().unwrap(), &signers).unwrap();
    assert_eq!(cosigned.matches('\u{2014}').count(), 16);
    assert_eq!(open(&cosigned).unwrap(), checkpoint());
}

fn base64_of_hex(hex_text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_text).unwrap())
}

#[test]
fn malformed_notes_get_typed_errors() {
    let note = signed();
    let note_error = |e| Err(CheckpointError::Note(e));
    assert_eq!(
        open(&note.replace('\n', "\r\n")),
        note_error(NoteError::CarriageReturn {
            offset: ORIGIN.len()
        })
    );
    assert_eq!(
        open(note.trim_end_matches('\n')),
        note_error(NoteError::MissingFinalNewline)
    );
    assert_eq!(open(""), note_error(NoteError::MissingFinalNewline));
    assert_eq!(open("\n\n"), note_error(NoteError::NoSignatureBlock));
    assert_eq!(
        open(&format!("{note}\n")),
        note_error(NoteError::NoSignatureBlock)
    );
    assert_eq!(
        open(&note.replacen("\n", "\t\n", 1)),
        note_error(NoteError::ControlCharacter {
            offset: ORIGIN.len(),
            byte: b'\t'
        })
    );
    assert_eq!(
        open(&note.replacen("\u{2014}", "--", 1)),
        note_error(NoteError::MalformedSignatureLine {
            line: 5,
            reason: "it does not start with an em dash (U+2014) and a space"
        })
    );
    assert!(matches!(
        open(&format!("{note}trailing garbage\n")),
        Err(CheckpointError::Note(NoteError::MalformedSignatureLine {
            line: 6,
            ..
        }))
    ));
    assert!(matches!(
        open(&note.replacen(&format!("{ORIGIN} "), &format!("{ORIGIN}  "), 1)),
        Err(CheckpointError::Note(
            NoteError::MalformedSignatureLine { .. }
        ))
    ));
    let oversized = format!("{}{note}", "x".repeat(MAX_NOTE_BYTES));
    assert_eq!(
        open(&oversized),
        note_error(NoteError::TooLarge {
            size: oversized.len(),
            max: MAX_NOTE_BYTES
        })
    );
    let many = format!(
        "{note}{}",
        note[note.find('\u{2014}').unwrap()..].repeat(100)
    );
    assert_eq!(
        open(&many),
        note_error(NoteError::TooManySignatures { max: 100 })
    );
    let mut not_utf8 = note.clone().into_bytes();
    not_utf8[3] = 0xff;
    assert_eq!(
        Checkpoint::open(&not_utf8, ORIGIN, &signer().verifier()),
        note_error(NoteError::NotUtf8 { offset: 3 })
    );
}

/// Signs arbitrary text as a note, bypassing the checkpoint writer, to test
/// the checkpoint reader on well-signed nonsense.
fn signed_text(text: &str) -> String {
    note::sign(text, &[&signer()]).unwrap()
}

#[test]
fn well_signed_text_that_is_not_a_checkpoint_is_refused() {
    let root = Hash::EMPTY_ROOT.to_base64();
    let cases: Vec<(String, CheckpointError)> = vec![
        (format!("{ORIGIN}\n5\n"), CheckpointError::TooFewLines(2)),
        (format!("\n5\n{root}\n"), CheckpointError::EmptyOrigin),
        (
            format!("{ORIGIN}\n05\n{root}\n"),
            CheckpointError::InvalidSize("05".into()),
        ),
        (
            format!("{ORIGIN}\n+5\n{root}\n"),
            CheckpointError::InvalidSize("+5".into()),
        ),
        (
            format!("{ORIGIN}\n-1\n{root}\n"),
            CheckpointError::InvalidSize("-1".into()),
        ),
        (
            format!("{ORIGIN}\n 5\n{root}\n"),
            CheckpointError::InvalidSize(" 5".into()),
        ),
        (
            format!("{ORIGIN}\n\n{root}\n"),
            CheckpointError::InvalidSize("".into()),
        ),
        (
            format!("{ORIGIN}\n5e3\n{root}\n"),
            CheckpointError::InvalidSize("5e3".into()),
        ),
        (
            format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
            CheckpointError::InvalidSize("18446744073709551616".into()),
        ),
        (
            // Hex where base64 belongs: 64 characters decode to 48 bytes.
            format!("{ORIGIN}\n5\n{}\n", Hash::EMPTY_ROOT.to_hex()),
            CheckpointError::InvalidRootHash(HashParseError::WrongLength(48)),
        ),
        (
            format!("{ORIGIN}\n5\n{}\n", root.trim_end_matches('=')),
            CheckpointError::InvalidRootHash(HashParseError::NotBase64),
        ),
        (
            format!("{ORIGIN}\n5\nAAAA\n"),
            CheckpointError::InvalidRootHash(HashParseError::WrongLength(3)),
        ),
        (
            format!("{ORIGIN}\n5\n{root}\n\nextension\n"),
            CheckpointError::EmptyExtensionLine { line: 4 },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(open(&signed_text(&text)), Err(expected), "{text:?}");
    }
    // The largest size is fine.
    let max = format!("{ORIGIN}\n18446744073709551615\n{root}\n");
    assert_eq!(open(&signed_text(&max)).unwrap().size, u64::MAX);
}

#[test]
fn the_writer_refuses_checkpoints_it_could_not_write_faithfully() {
    let mut bad = checkpoint();
    bad.origin = String::new();
    assert_eq!(bad.sign(&signer()), Err(CheckpointError::EmptyOrigin));
    bad.origin = "two\nlines".into();
    assert_eq!(
        bad.sign(&signer()),
        Err(CheckpointError::InvalidField { field: "origin" })
    );
    let mut bad = checkpoint();
    bad.extensions = vec![String::new()];
    assert_eq!(
        bad.sign(&signer()),
        Err(CheckpointError::EmptyExtensionLine { line: 4 })
    );
    bad.extensions = vec!["a\rb".into()];
    assert_eq!(
        bad.sign(&signer()),
        Err(CheckpointError::InvalidField {
            field: "extension line"
        })
    );
    assert_eq!(
        note::sign("no newline", &[&signer()]),
        Err(NoteError::TextNotTerminated)
    );
    assert_eq!(
        note::sign("", &[&signer()]),
        Err(NoteError::TextNotTerminated)
    );
    assert_eq!(note::sign("text\n", &[]), Err(NoteError::NoSigners));
    assert!(NoteSigner::from_ed25519_seed("has space", &[1; 32]).is_err());
    assert!(NoteSigner::from_ed25519_seed("has+plus", &[1; 32]).is_err());
    assert!(NoteSigner::from_ed25519_seed("", &[1; 32]).is_err());
    assert!(NoteSigner::from_ed25519_seed("nbsp\u{a0}", &[1; 32]).is_err());
    // The debug form never shows key material.
    let debug = format!("{:?}", signer());
    assert!(debug.contains("gate.example.com/log") && !debug.contains("07070707"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Arbitrary bytes never verify and never panic.
    #[test]
    fn garbage_is_refused(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(Checkpoint::open(&bytes, ORIGIN, &signer().verifier()).is_err());
    }

    /// Any single-byte change to a signed checkpoint is refused.
    #[test]
    fn any_changed_byte_is_refused(at in any::<usize>(), byte in any::<u8>()) {
        let mut note = signed().into_bytes();
        let at = at % note.len();
        prop_assume!(note[at] != byte);
        note[at] = byte;
        prop_assert!(Checkpoint::open(&note, ORIGIN, &signer().verifier()).is_err());
    }

    /// Any truncation is refused.
    #[test]
    fn any_truncation_is_refused(len in any::<usize>()) {
        let note = signed().into_bytes();
        let len = len % note.len();
        prop_assert!(Checkpoint::open(&note[..len], ORIGIN, &signer().verifier()).is_err());
    }
}
