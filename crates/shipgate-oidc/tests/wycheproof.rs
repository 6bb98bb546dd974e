//! Wycheproof vectors through the verifier's own signature check
//! (`VerifyingKey::verify`, the function every token goes through), with
//! keys built from JWK members like a JWKS would give them.
//!
//! Every "valid" vector must verify and every "invalid" one must be refused;
//! the counts are pinned so that a vector silently skipped is noticed.
//! "acceptable" vectors (legal but discouraged encodings) are pinned to what
//! shipgate does: see each test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use shipgate_oidc::{Algorithm, PublicJwk, VerifyingKey};
use wycheproof::TestResult;

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Big-endian integer to exactly `len` bytes (Wycheproof prefixes a zero
/// byte to values with the top bit set).
fn fixed(bytes: &[u8], len: usize) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    assert!(trimmed.len() <= len);
    let mut out = vec![0; len - trimmed.len()];
    out.extend(trimmed);
    out
}

fn key(jwk: serde_json::Value) -> Option<VerifyingKey> {
    let jwk = PublicJwk::from_json(jwk.as_object().unwrap()).ok()?;
    VerifyingKey::new("wycheproof", jwk).ok()
}

#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
}

impl Tally {
    fn record(&mut self, tc: usize, comment: &str, expected: &TestResult, accepted: bool) {
        match expected {
            TestResult::Valid => {
                assert!(accepted, "tcId {tc} ({comment}) is valid but was refused");
                self.valid += 1;
            }
            TestResult::Invalid => {
                assert!(
                    !accepted,
                    "tcId {tc} ({comment}) is invalid but was accepted"
                );
                self.invalid += 1;
            }
            TestResult::Acceptable if accepted => self.acceptable_accepted += 1,
            TestResult::Acceptable => self.acceptable_refused += 1,
        }
    }
}

#[test]
fn rsa_pkcs1_v1_5_sha256() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut tally = Tally::default();
    for name in [
        TestName::Rsa2048Sha256,
        TestName::Rsa3072Sha256,
        TestName::Rsa4096Sha256,
    ] {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            let vk = key(json!({"kty": "RSA", "n": b64(&group.key.n), "e": b64(&group.key.e)}))
                .expect("every RSA key of these files is 2048+ bits and well formed");
            for test in group.tests {
                let accepted = vk.verify(Algorithm::RS256, &test.msg, &test.sig).is_ok();
                tally.record(test.tc_id, &test.comment, &test.result, accepted);
            }
        }
    }
    eprintln!("{tally:?}");
    assert_eq!((tally.valid, tally.invalid), (24, 749));
    // The three "acceptable" vectors omit the NULL parameters in the
    // DigestInfo (tcId 8, MissingNull). aws-lc accepts only the encoding
    // with NULL, as RFC 8017 §9.2 generates it; shipgate keeps that: refused.
    assert_eq!(
        (tally.acceptable_accepted, tally.acceptable_refused),
        (0, 3)
    );
}

#[test]
fn ecdsa_p256_sha256_in_jws_form() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).unwrap();
    let mut tally = Tally::default();
    for group in set.test_groups {
        let x = fixed(&group.key.affine_x, 32);
        let y = fixed(&group.key.affine_y, 32);
        let vk = key(json!({"kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&y)}));
        for test in group.tests {
            let accepted = vk
                .as_ref()
                .is_some_and(|vk| vk.verify(Algorithm::ES256, &test.msg, &test.sig).is_ok());
            tally.record(test.tc_id, &test.comment, &test.result, accepted);
        }
    }
    eprintln!("{tally:?}");
    // High-S signatures are valid ECDSA (the vectors say so) and accepted:
    // aws-lc does not enforce low-S, and JWS does not ask for it.
    assert_eq!((tally.valid, tally.invalid), (173, 89));
    assert_eq!(tally.acceptable_accepted + tally.acceptable_refused, 0);
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut tally = Tally::default();
    for group in set.test_groups {
        let vk = key(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&group.key.pk)}));
        for test in group.tests {
            let accepted = vk
                .as_ref()
                .is_some_and(|vk| vk.verify(Algorithm::EdDSA, &test.msg, &test.sig).is_ok());
            tally.record(test.tc_id, &test.comment, &test.result, accepted);
        }
    }
    eprintln!("{tally:?}");
    assert_eq!((tally.valid, tally.invalid), (88, 63));
    assert_eq!(tally.acceptable_accepted + tally.acceptable_refused, 0);
}

#[test]
fn ecdsa_zero_r_or_s_is_refused_by_the_explicit_check() {
    // Take a valid vector and zero r, then s, then both: the verifier must
    // name the zero-scalar rule (CVE-2022-21449), not just fail the math.
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).unwrap();
    let group = &set.test_groups[0];
    let test = group
        .tests
        .iter()
        .find(|t| matches!(t.result, TestResult::Valid))
        .unwrap();
    let x = fixed(&group.key.affine_x, 32);
    let y = fixed(&group.key.affine_y, 32);
    let vk = key(json!({"kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&y)})).unwrap();
    vk.verify(Algorithm::ES256, &test.msg, &test.sig).unwrap();
    for (zero_r, zero_s) in [(true, false), (false, true), (true, true)] {
        let mut sig = test.sig.to_vec();
        if zero_r {
            sig[..32].fill(0);
        }
        if zero_s {
            sig[32..].fill(0);
        }
        assert_eq!(
            vk.verify(Algorithm::ES256, &test.msg, &sig),
            Err(shipgate_oidc::SignatureError::EcdsaZeroScalar)
        );
    }
}

#[test]
fn ecdsa_high_s_is_accepted_like_aws_lc_does() {
    // ECDSA signatures are malleable: (r, n - s) verifies whenever (r, s)
    // does. aws-lc does not require low-S and neither does JWS (RFC 7518),
    // so shipgate accepts both forms; nothing in shipgate relies on a
    // signature being unique (replay protection uses `jti`).
    use wycheproof::ecdsa::{TestName, TestSet};
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).unwrap();
    let group = &set.test_groups[0];
    let test = group
        .tests
        .iter()
        .find(|t| matches!(t.result, TestResult::Valid))
        .unwrap();
    let x = fixed(&group.key.affine_x, 32);
    let y = fixed(&group.key.affine_y, 32);
    let vk = key(json!({"kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&y)})).unwrap();
    let mut sig = test.sig.to_vec();
    // s' = n - s (big-endian subtraction with borrow).
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(sig[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        sig[32 + i] = (d + 256 * borrow) as u8;
    }
    assert_ne!(&sig[..], &test.sig[..]);
    vk.verify(Algorithm::ES256, &test.msg, &sig).unwrap();
}
