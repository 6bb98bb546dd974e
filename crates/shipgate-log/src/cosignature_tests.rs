use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::*;
use crate::note::{self, NoteSigner, SignedNote};
use crate::{Checkpoint, Hash};

/// Computed with Python `cryptography` (an independent Ed25519 and an
/// independent reading of the spec): seed 0x07 * 32, name
/// `witness.example/w1`, time 1679315147 (the spec example's).
const KAT_VKEY: &str = "witness.example/w1+aa4a09d1+BOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
const KAT_TEXT: &str = "example.com/log\n5\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n";
const KAT_LINE: &str = "\u{2014} witness.example/w1 qkoJ0QAAAABkGFDLlMXGuZgisO6tZ4l2hdjS7rtNFCF4FXdNnM7qnhVEEKIb6GwMi6Ahysni7QmWPCnIhLVmpvdgJa1lc9TjFwjPAA==\n";
const KAT_TIME: u64 = 1_679_315_147;

fn log_signer() -> NoteSigner {
    NoteSigner::from_ed25519_seed("example.com/log", &[1; 32]).unwrap()
}

fn kat_signer() -> CosignatureSigner {
    CosignatureSigner::from_ed25519_seed("witness.example/w1", &[7; 32]).unwrap()
}

/// A checkpoint note signed by the log, with `extra` signature lines appended.
fn cosigned_note(extra: &str) -> String {
    let mut text = note::sign(KAT_TEXT, &[&log_signer()]).unwrap();
    text.push_str(extra);
    text
}

#[test]
fn matches_the_known_answer_of_an_independent_implementation() {
    let signer = kat_signer();
    assert_eq!(signer.verifier().to_string(), KAT_VKEY);
    assert_eq!(signer.cosign(KAT_TEXT, KAT_TIME).unwrap(), KAT_LINE);
    let verifier: CosignatureVerifier = KAT_VKEY.parse().unwrap();
    let parsed = SignedNote::parse(cosigned_note(KAT_LINE).as_bytes()).unwrap();
    assert_eq!(verifier.check(&parsed).unwrap(), KAT_TIME);
    // The log's own signature still verifies with the log key alone: the
    // cosignature is an unknown key to it and ignored.
    Checkpoint::open(
        cosigned_note(KAT_LINE).as_bytes(),
        "example.com/log",
        &log_signer().verifier(),
    )
    .unwrap();
}

/// The example line of c2sp.org/tlog-cosignature (its key is not
/// published): it parses as a note signature with the spec's timestamp.
#[test]
fn reads_the_spec_example_line() {
    let note = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let parsed = SignedNote::parse(note.as_bytes()).unwrap();
    let cosig = &parsed.signatures()[1];
    assert_eq!(cosig.key_id, 0x8d66_cf3f);
    assert_eq!(cosig.signature.len(), COSIGNATURE_LEN);
    let time = u64::from_be_bytes(cosig.signature[..8].try_into().unwrap());
    assert_eq!(time, KAT_TIME);
}

#[test]
fn private_keys_round_trip_and_bad_ones_are_refused() {
    let signer = kat_signer();
    let text = signer.private_key();
    assert!(text.starts_with("PRIVATE+KEY+witness.example/w1+aa4a09d1+"));
    let back = CosignatureSigner::parse_private_key(&format!("{text}\n")).unwrap();
    assert_eq!(back.verifier(), signer.verifier());
    let wrong_id = text.replace("+aa4a09d1+", "+aa4a09d2+");
    for bad in [
        "",
        "PRIVATE+KEY+",
        "witness.example/w1+aa4a09d1+BOpK",
        wrong_id.as_str(),
        "PRIVATE+KEY+w+0000000+AA==",
        "PRIVATE+KEY+w+00000000+!!",
        "PRIVATE+KEY+w+00000000+AQ==",
    ] {
        assert!(
            CosignatureSigner::parse_private_key(bad).is_err(),
            "{bad:?}"
        );
    }
    // A note key (type 0x01) is not a cosignature key.
    let note_type = format!(
        "PRIVATE+KEY+w+{:08x}+{}",
        0,
        BASE64.encode([[1u8].as_slice(), &[7; 32]].concat())
    );
    assert!(CosignatureSigner::parse_private_key(&note_type).is_err());
}

#[test]
fn verifier_keys_of_other_types_or_ids_are_refused() {
    let note_vkey = log_signer().verifier().to_string();
    assert!(matches!(
        CosignatureVerifier::parse(&note_vkey),
        Err(KeyError::UnsupportedAlgorithm(1))
    ));
    let wrong_id = KAT_VKEY.replace("+aa4a09d1+", "+aa4a09d0+");
    assert!(matches!(
        CosignatureVerifier::parse(&wrong_id),
        Err(KeyError::KeyIdMismatch { .. })
    ));
    for bad in ["", "w", "w+1+AA==", "w+00000000+", "bad name+00000000+BA=="] {
        assert!(CosignatureVerifier::parse(bad).is_err(), "{bad:?}");
    }
}

fn check(line: &str) -> Result<u64, CosignatureError> {
    let note = cosigned_note(line);
    let parsed = SignedNote::parse(note.as_bytes()).map_err(|_| CosignatureError::Missing {
        name: "parse".into(),
        key_id: 0,
    })?;
    kat_signer().verifier().check(&parsed)
}

fn line_with(bytes: &[u8]) -> String {
    format!("\u{2014} witness.example/w1 {}\n", BASE64.encode(bytes))
}

fn kat_bytes() -> Vec<u8> {
    let encoded = KAT_LINE
        .trim_end()
        .rsplit_once(' ')
        .map(|(_, b)| b)
        .unwrap();
    BASE64.decode(encoded).unwrap()
}

#[test]
fn hostile_cosignatures_are_refused() {
    let good = kat_bytes();
    assert_eq!(check(&line_with(&good)).unwrap(), KAT_TIME);

    // Truncated: without the last signature byte, without the signature,
    // only part of the timestamp.
    for len in [4 + 8 + 63, 4 + 8, 4 + 3] {
        assert!(
            matches!(
                check(&line_with(&good[..len])),
                Err(CosignatureError::WrongLength { .. })
            ),
            "{len}"
        );
    }
    // Oversized: a byte too many.
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        check(&line_with(&long)),
        Err(CosignatureError::WrongLength { .. })
    ));
    // Another timestamp than the one signed.
    let mut later = good.clone();
    later[11] ^= 1;
    assert!(matches!(
        check(&line_with(&later)),
        Err(CosignatureError::Invalid { timestamp, .. }) if timestamp == KAT_TIME ^ 1
    ));
    // A timestamp above 2^63-1.
    let mut huge = good.clone();
    huge[4] = 0x80;
    assert!(matches!(
        check(&line_with(&huge)),
        Err(CosignatureError::TimestampOutOfRange { .. })
    ));
    // A flipped signature bit.
    let mut flipped = good.clone();
    flipped[40] ^= 0x40;
    assert!(matches!(
        check(&line_with(&flipped)),
        Err(CosignatureError::Invalid { .. })
    ));
    // Wrong key ID: not this witness's line at all, so it is missing.
    let mut other_id = good.clone();
    other_id[0] ^= 1;
    assert!(matches!(
        check(&line_with(&other_id)),
        Err(CosignatureError::Missing { .. })
    ));
    // Another name with this key ID: missing too.
    let renamed = line_with(&good).replace("w1", "w2");
    assert!(matches!(
        check(&renamed),
        Err(CosignatureError::Missing { .. })
    ));
    // A valid line never outweighs a bad one by the same key.
    let both = format!("{}{}", line_with(&good), line_with(&flipped));
    assert!(matches!(
        check(&both),
        Err(CosignatureError::Invalid { .. })
    ));
    // Two valid lines: the newest time counts.
    let signer = kat_signer();
    let newer = signer.cosign(KAT_TEXT, KAT_TIME + 60).unwrap();
    assert_eq!(check(&format!("{KAT_LINE}{newer}")).unwrap(), KAT_TIME + 60);
    // A cosignature over another checkpoint does not verify on this one.
    let other_text = Checkpoint::new("example.com/log", 6, Hash([9; 32]))
        .to_text()
        .unwrap();
    let foreign = signer.cosign(&other_text, KAT_TIME).unwrap();
    assert!(matches!(
        check(&foreign),
        Err(CosignatureError::Invalid { .. })
    ));
}

/// Non-canonical base64 (padding bits set, missing padding) is refused
/// by the note parser before any cosignature check.
#[test]
fn non_canonical_base64_is_refused() {
    let encoded = KAT_LINE.trim_end().rsplit_once(' ').unwrap().1.to_owned();
    assert!(encoded.ends_with("AA=="));
    // 76+4 = 80 bytes: the last group holds 2 bytes and 4 unused bits.
    let trailing_bits = format!("{}AB==", &encoded[..encoded.len() - 4]);
    let unpadded = encoded.trim_end_matches('=').to_owned();
    for bad in [trailing_bits, unpadded, format!("{encoded}=")] {
        let note = cosigned_note(&format!("\u{2014} witness.example/w1 {bad}\n"));
        assert!(SignedNote::parse(note.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn cannot_cosign_what_is_not_a_note_text() {
    let signer = kat_signer();
    assert!(signer.cosign("", 1).is_err());
    assert!(signer.cosign("no newline", 1).is_err());
    assert!(signer.cosign(KAT_TEXT, MAX_TIMESTAMP + 1).is_err());
    assert!(signer.cosign(KAT_TEXT, MAX_TIMESTAMP).is_ok());
    assert!(format!("{signer:?}").contains("witness.example/w1"));
    assert!(!format!("{signer:?}").contains(&signer.private_key()));
}
