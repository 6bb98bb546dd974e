//! Published test vectors from other implementations:
//! - RFC 6962 roots and proofs from transparency-dev/merkle (Go) test data;
//! - signed notes and verifier keys from golang.org/x/mod/sumdb/note tests;
//! - a real checkpoint signed by the Go checksum database (sum.golang.org).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use shipgate_log::note::{self, NoteError, SignedNote};
use shipgate_log::{
    Checkpoint, Hash, KeyError, NoteSigner, NoteVerifier, consistency_proof, inclusion_proof,
    leaf_hash, root, verify_consistency, verify_inclusion,
};

fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).unwrap()
}

/// transparency-dev/merkle `testonly.LeafInputs()`.
fn leaves() -> Vec<Hash> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|hex| leaf_hash(&hex::decode(hex).unwrap()))
    .collect()
}

/// transparency-dev/merkle `testonly.RootHashes()`, by tree size 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn tree_heads_match_transparency_dev_vectors() {
    let leaves = leaves();
    for (size, expected) in ROOTS.iter().enumerate() {
        assert_eq!(root(&leaves[..size]), h(expected), "size {size}");
    }
}

#[test]
fn inclusion_proofs_match_transparency_dev_vectors() {
    // (leaf index, tree size, proof) from proof/verify_test.go (which numbers leaves from 1).
    let vectors: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let leaves = leaves();
    for (index, size, proof) in vectors {
        let proof: Vec<Hash> = proof.iter().map(|hex| h(hex)).collect();
        assert_eq!(
            inclusion_proof(&leaves, index, size).unwrap(),
            proof,
            "leaf {index} of {size}"
        );
        verify_inclusion(
            &leaves[index as usize],
            index,
            size,
            &proof,
            &h(ROOTS[size as usize]),
        )
        .unwrap();
    }
}

#[test]
fn consistency_proofs_match_transparency_dev_vectors() {
    let vectors: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    let leaves = leaves();
    for (old, new, proof) in vectors {
        let proof: Vec<Hash> = proof.iter().map(|hex| h(hex)).collect();
        assert_eq!(
            consistency_proof(&leaves, old, new).unwrap(),
            proof,
            "{old} -> {new}"
        );
        verify_consistency(
            old,
            new,
            &h(ROOTS[old as usize]),
            &h(ROOTS[new as usize]),
            &proof,
        )
        .unwrap();
    }
}

// golang.org/x/mod/sumdb/note tests: a signer key, its verifier key, and the
// notes Go produced with them.
const PETER_SKEY_DATA: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter_signer() -> NoteSigner {
    let data = BASE64.decode(PETER_SKEY_DATA).unwrap();
    assert_eq!(data[0], 0x01);
    NoteSigner::from_ed25519_seed("PeterNeumann", data[1..].try_into().unwrap()).unwrap()
}

#[test]
fn signing_reproduces_the_go_note_byte_for_byte() {
    let signer = peter_signer();
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier().to_string(), PETER_VKEY);
    let note = note::sign(TEXT, &[&signer]).unwrap();
    assert_eq!(note, format!("{TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_notes_verify_and_unknown_signatures_are_ignored() {
    let peter: NoteVerifier = PETER_VKEY.parse().unwrap();
    let enoch: NoteVerifier = ENOCH_VKEY.parse().unwrap();
    assert_eq!(enoch.to_string(), ENOCH_VKEY);
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let parsed = SignedNote::parse(both.as_bytes()).unwrap();
    assert_eq!(parsed.text(), TEXT);
    assert_eq!(parsed.signatures().len(), 2);
    assert_eq!(
        parsed.verify(std::slice::from_ref(&peter)).unwrap(),
        ["PeterNeumann"]
    );
    assert_eq!(
        parsed.verify(std::slice::from_ref(&enoch)).unwrap(),
        ["EnochRoot"]
    );
    assert_eq!(
        parsed.verify(&[peter.clone(), enoch.clone()]).unwrap(),
        ["PeterNeumann", "EnochRoot"]
    );
    assert_eq!(parsed.verify(&[]), Err(NoteError::NoKnownSignature));
    assert!(matches!(
        parsed.verify(&[enoch.clone(), peter.clone(), enoch]),
        Err(NoteError::AmbiguousVerifiers { .. })
    ));
    // A known key's bad signature rejects the note, as in Go's TestOpen.
    let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(
        note::open(bad.as_bytes(), &[peter]),
        Err(NoteError::InvalidSignature {
            name: "PeterNeumann".into(),
            key_id: 0xc74f20a3
        })
    );
}

#[test]
fn go_malformed_notes_are_refused() {
    let peter: NoteVerifier = PETER_VKEY.parse().unwrap();
    let bad = [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.repeat(101)),
    ];
    for note in &bad {
        assert!(
            note::open(note.as_bytes(), std::slice::from_ref(&peter)).is_err(),
            "accepted {note:?}"
        );
    }
    let mut invalid_utf8 = b"\xff".to_vec();
    invalid_utf8.extend_from_slice(format!("{TEXT}\n{PETER_SIG}").as_bytes());
    assert_eq!(
        note::open(&invalid_utf8, &[peter]),
        Err(NoteError::NotUtf8 { offset: 0 })
    );
}

#[test]
fn every_mangling_of_a_go_verifier_key_is_refused() {
    // As Go's TestNewVerifier: every proper substring and every one-byte change.
    let key = PETER_VKEY.as_bytes();
    for i in 0..=key.len() {
        for j in i + 1..=key.len() {
            if (i, j) != (0, key.len()) {
                let part = std::str::from_utf8(&key[i..j]).unwrap();
                assert!(NoteVerifier::parse(part).is_err(), "accepted {part:?}");
            }
        }
    }
    for i in 0..key.len() {
        let mut changed = key.to_vec();
        changed[i] += 1;
        let changed = String::from_utf8(changed).unwrap();
        assert!(
            NoteVerifier::parse(&changed).is_err(),
            "accepted {changed:?}"
        );
    }
    // Wrong key length and unknown algorithm, each with a matching key ID.
    // (Go's wrong-length key also has non-zero trailing base64 bits, which
    // the strict decoder refuses first.)
    assert!(matches!(
        NoteVerifier::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        ),
        Err(KeyError::Malformed(_))
    ));
    let long_key = [&[0x01u8][..], &[0x41; 33]].concat();
    let id = shipgate_log::note::key_id("PeterNeumann", 0x01, &long_key[1..]);
    assert_eq!(
        NoteVerifier::parse(&format!(
            "PeterNeumann+{id:08x}+{}",
            BASE64.encode(&long_key)
        )),
        Err(KeyError::WrongKeyLength(33))
    );
    assert_eq!(
        NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::UnsupportedAlgorithm(0x65))
    );
}

#[test]
fn a_real_go_checksum_database_checkpoint_verifies() {
    // The public key every Go toolchain trusts, and a checkpoint it signed.
    let key: NoteVerifier = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
        .parse()
        .unwrap();
    let note = "go.sum database tree\n15368405\n/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n\n\
                — sum.golang.org Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n";
    let checkpoint = Checkpoint::open(note.as_bytes(), "go.sum database tree", &key).unwrap();
    assert_eq!(checkpoint.size, 15368405);
    assert_eq!(
        checkpoint.root,
        Hash::from_base64("/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=").unwrap()
    );
    // One changed digit in the size breaks the signature.
    let edited = note.replace("15368405", "15368406");
    assert!(Checkpoint::open(edited.as_bytes(), "go.sum database tree", &key).is_err());
}
