//! The verifier against assertions from a software authenticator, honest
//! and altered one field at a time.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::software_authenticator::{SoftwareAuthenticator, nonce};
use super::*;
use crate::passkey::Decision;

const ORIGIN: &str = "https://gate.example.org";
const RP_ID: &str = "gate.example.org";

fn manifest() -> String {
    "ab".repeat(32)
}

fn commitment<'a>(manifest: &'a str, nonce: &'a str) -> DecisionCommitment<'a> {
    DecisionCommitment {
        origin: ORIGIN,
        release_id: 7,
        package: "hello",
        version: "1.2.3",
        manifest_sha256: manifest,
        decision: Decision::Approve,
        nonce,
    }
}

fn context() -> DecisionContext<'static> {
    DecisionContext {
        release_id: 7,
        package: "hello",
        version: "1.2.3",
        decision: Decision::Approve,
    }
}

fn enrolled(authenticator: &SoftwareAuthenticator) -> EnrolledPasskey {
    EnrolledPasskey::from_detail(Some(&authenticator.enrolment())).unwrap()
}

/// An honest ES256 decision: (authenticator, passkey object).
fn es256() -> (SoftwareAuthenticator, Value) {
    let mut authenticator = SoftwareAuthenticator::new(Algorithm::Es256, "alice", RP_ID);
    authenticator.counting = true;
    let (manifest, nonce) = (manifest(), nonce("n1"));
    let detail = authenticator.decide(&commitment(&manifest, &nonce));
    (authenticator, detail)
}

fn check(
    authenticator: &SoftwareAuthenticator,
    detail: &Value,
    context: &DecisionContext<'_>,
) -> Result<VerifiedAssertion, PasskeyError> {
    let assertion = PasskeyAssertion::from_detail(Some(detail))?;
    verify_decision(&assertion, &enrolled(authenticator), context)
}

/// The passkey object with `field` set to `value`.
fn with(detail: &Value, field: &str, value: Value) -> Value {
    let mut detail = detail.clone();
    detail[field] = value;
    detail
}

/// A decision whose authenticator data and client data are built by hand
/// and signed properly, so only what the test changed is wrong.
fn signed(
    authenticator: &SoftwareAuthenticator,
    data: &[u8],
    client: &[u8],
    manifest: &str,
    nonce: &str,
) -> Value {
    let signature = authenticator.sign(data, client);
    authenticator.decision_detail(&commitment(manifest, nonce), data, client, &signature)
}

fn challenge(manifest: &str, nonce: &str) -> [u8; 32] {
    decision_challenge(&commitment(manifest, nonce)).unwrap()
}

#[test]
fn honest_es256_and_eddsa_decisions_verify() {
    let (authenticator, detail) = es256();
    let verified = check(&authenticator, &detail, &context()).unwrap();
    assert_eq!(verified.sign_count, 1);
    assert!(verified.user_verified);

    let mut ed = SoftwareAuthenticator::new(Algorithm::EdDsa, "bob", RP_ID);
    let (manifest, nonce) = (manifest(), nonce("n2"));
    let mut reject = commitment(&manifest, &nonce);
    reject.decision = Decision::Reject;
    let detail = ed.decide(&reject);
    let mut context = context();
    context.decision = Decision::Reject;
    assert_eq!(
        check(&ed, &detail, &context).unwrap(),
        VerifiedAssertion {
            sign_count: 0,
            user_verified: true
        }
    );
}

#[test]
fn a_challenge_for_anything_else_is_refused() {
    let (authenticator, detail) = es256();
    let other = |change: &dyn Fn(&mut DecisionContext<'static>)| {
        let mut context = context();
        change(&mut context);
        check(&authenticator, &detail, &context)
    };
    for result in [
        other(&|c| c.release_id = 8),
        other(&|c| c.package = "other"),
        other(&|c| c.version = "1.2.4"),
        other(&|c| c.decision = Decision::Reject),
    ] {
        assert_eq!(result, Err(PasskeyError::ChallengeMismatch));
    }
    // Another digest or nonce in the leaf than the one signed.
    let moved = with(&detail, "manifest_sha256", json!("cd".repeat(32)));
    assert_eq!(
        check(&authenticator, &moved, &context()),
        Err(PasskeyError::ChallengeMismatch)
    );
    let moved = with(&detail, "nonce", json!(nonce("n9")));
    assert_eq!(
        check(&authenticator, &moved, &context()),
        Err(PasskeyError::ChallengeMismatch)
    );
    // Another origin in the leaf: the challenge no longer matches.
    let moved = with(&detail, "origin", json!("https://mirror.gate.example.org"));
    assert_eq!(
        check(&authenticator, &moved, &context()),
        Err(PasskeyError::ChallengeMismatch)
    );
}

#[test]
fn the_browser_must_report_the_committed_origin_and_no_frame() {
    let authenticator = SoftwareAuthenticator::new(Algorithm::Es256, "alice", RP_ID);
    let (manifest, nonce) = (manifest(), nonce("n1"));
    let data = authenticator.authenticator_data(0x01, 0);
    let challenge = challenge(&manifest, &nonce);
    let client = SoftwareAuthenticator::client_data_json(
        "webauthn.get",
        &challenge,
        "https://evil.example.org",
    );
    let detail = signed(&authenticator, &data, &client, &manifest, &nonce);
    assert!(matches!(
        check(&authenticator, &detail, &context()),
        Err(PasskeyError::OriginMismatch { .. })
    ));
    let client = format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}","crossOrigin":true,"topOrigin":"https://evil.example"}}"#,
        URL_SAFE_NO_PAD.encode(challenge)
    );
    let detail = signed(&authenticator, &data, client.as_bytes(), &manifest, &nonce);
    assert_eq!(
        check(&authenticator, &detail, &context()),
        Err(PasskeyError::CrossOrigin)
    );
    // A registration's client data is not an assertion's.
    let client = SoftwareAuthenticator::client_data_json("webauthn.create", &challenge, ORIGIN);
    let detail = signed(&authenticator, &data, &client, &manifest, &nonce);
    assert_eq!(
        check(&authenticator, &detail, &context()),
        Err(PasskeyError::ClientDataType("webauthn.create".into()))
    );
    // Extra fields a browser adds are fine; missing crossOrigin is false.
    let client = format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}","other_keys_can_be_added_here":"x"}}"#,
        URL_SAFE_NO_PAD.encode(challenge)
    );
    let detail = signed(&authenticator, &data, client.as_bytes(), &manifest, &nonce);
    assert!(check(&authenticator, &detail, &context()).is_ok());
}

#[test]
fn client_data_with_duplicate_keys_or_not_json_is_refused() {
    let authenticator = SoftwareAuthenticator::new(Algorithm::Es256, "alice", RP_ID);
    let (manifest, nonce) = (manifest(), nonce("n1"));
    let data = authenticator.authenticator_data(0x01, 0);
    let good = URL_SAFE_NO_PAD.encode(challenge(&manifest, &nonce));
    for client in [
        // The first type is what a reader keeping the first key sees.
        format!(
            r#"{{"type":"webauthn.create","type":"webauthn.get","challenge":"{good}","origin":"{ORIGIN}"}}"#
        ),
        format!(
            r#"{{"type":"webauthn.get","challenge":"{good}","origin":"{ORIGIN}","x":{{"a":1,"a":2}}}}"#
        ),
        "not json".to_owned(),
        format!(r#"["webauthn.get","{good}"]"#),
        format!(r#"{{"type":"webauthn.get","challenge":"{good}","origin":"{ORIGIN}"}} trailing"#),
    ] {
        let detail = signed(&authenticator, &data, client.as_bytes(), &manifest, &nonce);
        let result = check(&authenticator, &detail, &context());
        assert!(
            matches!(result, Err(PasskeyError::ClientDataNotJson(_))),
            "{client}: {result:?}"
        );
    }
    let client = format!(r#"{{"type":"webauthn.get","challenge":"{good}","origin":7}}"#);
    let detail = signed(&authenticator, &data, client.as_bytes(), &manifest, &nonce);
    assert_eq!(
        check(&authenticator, &detail, &context()),
        Err(PasskeyError::WrongType("passkey.client_data_json's origin"))
    );
}

#[test]
fn authenticator_data_must_be_whole_for_this_rp_and_user_present() {
    let authenticator = SoftwareAuthenticator::new(Algorithm::Es256, "alice", RP_ID);
    let (manifest, nonce) = (manifest(), nonce("n1"));
    let client = SoftwareAuthenticator::client_data_json(
        "webauthn.get",
        &challenge(&manifest, &nonce),
        ORIGIN,
    );
    let full = authenticator.authenticator_data(0x01, 0);
    let detail = signed(&authenticator, &full[..36], &client, &manifest, &nonce);
    assert_eq!(
        check(&authenticator, &detail, &context()),
        Err(PasskeyError::AuthenticatorDataTooShort(36))
    );
    let mut other_rp = full.clone();
    other_rp[..32].copy_from_slice(&Sha256::digest(b"evil.example"));
    let detail = signed(&authenticator, &other_rp, &client, &manifest, &nonce);
    assert_eq!(
        check(&authenticator, &detail, &context()),
        Err(PasskeyError::RpIdHashMismatch(RP_ID.into()))
    );
    let absent = authenticator.authenticator_data(0x04, 0);
    let detail = signed(&authenticator, &absent, &client, &manifest, &nonce);
    assert_eq!(
        check(&authenticator, &detail, &context()),
        Err(PasskeyError::UserNotPresent)
    );
    // Presence without verification is enough, and reported.
    let detail = signed(&authenticator, &full, &client, &manifest, &nonce);
    assert!(
        !check(&authenticator, &detail, &context())
            .unwrap()
            .user_verified
    );
}

#[test]
fn the_relying_party_must_match_the_enrolment_and_the_origin() {
    let (authenticator, detail) = es256();
    let mut elsewhere = enrolled(&authenticator);
    elsewhere.rp_id = "other.example.org".into();
    let assertion = PasskeyAssertion::from_detail(Some(&detail)).unwrap();
    assert!(matches!(
        verify_decision(&assertion, &elsewhere, &context()),
        Err(PasskeyError::RpIdMismatch { .. })
    ));
    for (origin, rp_id, on) in [
        ("https://gate.example.org", "gate.example.org", true),
        ("https://gate.example.org:8443", "example.org", true),
        ("http://127.0.0.1:8080", "127.0.0.1", true),
        ("https://[::1]:8080", "::1", true),
        ("https://evilgate.example.org", "gate.example.org", false),
        ("https://gate.example.org/path", "gate.example.org", false),
        ("https://gate.example.org:", "gate.example.org", false),
        ("https://gate.example.org@evil", "gate.example.org", false),
        ("ftp://gate.example.org", "gate.example.org", false),
        ("https://[::1]x", "::1", false),
        ("https://example.org", "gate.example.org", false),
    ] {
        assert_eq!(origin_is_on_rp_id(origin, rp_id), on, "{origin} {rp_id}");
    }
}

#[test]
fn a_signature_by_another_key_or_over_other_bytes_is_refused() {
    let (_, detail) = es256();
    let mallory = SoftwareAuthenticator::new(Algorithm::Es256, "mallory", RP_ID);
    let mut alice_id = enrolled(&mallory);
    alice_id.credential_id = SoftwareAuthenticator::new(Algorithm::Es256, "alice", RP_ID)
        .credential_id
        .clone();
    let assertion = PasskeyAssertion::from_detail(Some(&detail)).unwrap();
    assert_eq!(
        verify_decision(&assertion, &alice_id, &context()),
        Err(PasskeyError::BadSignature)
    );
    // Another credential than the one named.
    assert_eq!(
        verify_decision(&assertion, &enrolled(&mallory), &context()),
        Err(PasskeyError::CredentialMismatch)
    );
    // Ed25519: another key, and a flipped bit in the signed data.
    let mut bob = SoftwareAuthenticator::new(Algorithm::EdDsa, "bob", RP_ID);
    let (manifest, nonce) = (manifest(), nonce("n3"));
    let detail = bob.decide(&commitment(&manifest, &nonce));
    let eve = SoftwareAuthenticator::new(Algorithm::EdDsa, "eve", RP_ID);
    let mut bob_id = enrolled(&eve);
    bob_id.credential_id = bob.credential_id.clone();
    let assertion = PasskeyAssertion::from_detail(Some(&detail)).unwrap();
    assert_eq!(
        verify_decision(&assertion, &bob_id, &context()),
        Err(PasskeyError::BadSignature)
    );
    let mut data = assertion.authenticator_data.clone();
    data[36] ^= 1;
    let detail = with(
        &detail,
        "authenticator_data",
        json!(URL_SAFE_NO_PAD.encode(data)),
    );
    assert_eq!(
        check(&bob, &detail, &context()),
        Err(PasskeyError::BadSignature)
    );
}

#[test]
fn only_canonical_der_is_accepted_and_high_s_is_not_a_new_approval() {
    let (authenticator, detail) = es256();
    let der = PasskeyAssertion::from_detail(Some(&detail))
        .unwrap()
        .signature;
    let resign = |signature: Vec<u8>| {
        let detail = with(
            &detail,
            "signature",
            json!(URL_SAFE_NO_PAD.encode(signature)),
        );
        check(&authenticator, &detail, &context())
    };
    let not_der = Err(PasskeyError::BadSignatureEncoding(
        "an ECDSA signature in DER",
    ));
    // Long-form length of the sequence (BER, not DER).
    let mut long = vec![0x30, 0x81];
    long.extend_from_slice(&der[1..]);
    assert_eq!(resign(long), not_der);
    // A trailing byte.
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(resign(trailing), not_der);
    // r with a needless leading zero.
    let r_len = der[3] as usize;
    let mut padded = vec![0x30, der[1] + 1, 0x02, der[3] + 1, 0x00];
    padded.extend_from_slice(&der[4..]);
    assert_eq!(padded.len(), der.len() + 1);
    assert_eq!(resign(padded), not_der, "r is {r_len} bytes");
    // Raw r || s (what some libraries produce) is not DER.
    let signature = p256::ecdsa::Signature::from_der(&der).unwrap();
    assert_eq!(resign(signature.to_bytes().to_vec()), not_der);
    // The high-S twin verifies: authenticators need not normalise S, and
    // the nonce (checked by the log replay) keeps it from being reused.
    let (r, s) = signature.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    assert!(resign(twin.to_der().as_bytes().to_vec()).is_ok());
    // Ed25519 signatures are exactly 64 bytes.
    let mut bob = SoftwareAuthenticator::new(Algorithm::EdDsa, "bob", RP_ID);
    let (manifest, nonce) = (manifest(), nonce("n3"));
    let detail = bob.decide(&commitment(&manifest, &nonce));
    let detail = with(
        &detail,
        "signature",
        json!(URL_SAFE_NO_PAD.encode([0u8; 63])),
    );
    assert_eq!(
        check(&bob, &detail, &context()),
        Err(PasskeyError::BadSignatureEncoding(
            "a 64-byte Ed25519 signature"
        ))
    );
}

#[test]
fn the_passkey_object_is_read_strictly() {
    let (_, detail) = es256();
    let parse = |detail: &Value| PasskeyAssertion::from_detail(Some(detail));
    assert_eq!(
        parse(&with(&detail, "extra", json!(1))),
        Err(PasskeyError::UnknownField("extra".into()))
    );
    let mut missing = detail.clone();
    missing.as_object_mut().unwrap().remove("nonce");
    assert_eq!(parse(&missing), Err(PasskeyError::Missing("passkey.nonce")));
    assert_eq!(
        PasskeyAssertion::from_detail(None),
        Err(PasskeyError::Missing("passkey"))
    );
    assert_eq!(
        PasskeyAssertion::from_detail(Some(&json!("x"))),
        Err(PasskeyError::WrongType("passkey"))
    );
    assert_eq!(
        parse(&with(&detail, "signature", json!(7))),
        Err(PasskeyError::WrongType("passkey.signature"))
    );
    // Huge base64 is refused by its length, before decoding.
    let huge = "A".repeat(10 << 20);
    assert_eq!(
        parse(&with(&detail, "client_data_json", json!(huge))),
        Err(PasskeyError::TooLong {
            field: "passkey.client_data_json",
            max: 4096
        })
    );
    // Other spellings of base64: padding, the standard alphabet, trailing
    // bits that are not zero.
    let raw = PasskeyAssertion::from_detail(Some(&detail)).unwrap();
    let data = &raw.authenticator_data;
    assert_ne!(
        data.len() % 3,
        0,
        "padding needs a length not divisible by 3"
    );
    for spelling in [
        URL_SAFE.encode(data),
        STANDARD.encode([0xfb, 0xff, 0xfe]),
        format!("{}B", &URL_SAFE_NO_PAD.encode(data)[..48]),
        " ".to_owned() + &URL_SAFE_NO_PAD.encode(data),
    ] {
        assert_eq!(
            parse(&with(&detail, "authenticator_data", json!(spelling))),
            Err(PasskeyError::NotBase64Url("passkey.authenticator_data")),
            "{spelling}"
        );
    }
    // 16 bytes take 22 characters; the last carries 2 bits of data and 4
    // that must be zero: "B" sets one of those.
    assert_eq!(
        parse(&with(&detail, "nonce", json!("AAAAAAAAAAAAAAAAAAAAAB"))),
        Err(PasskeyError::NotBase64Url("passkey.nonce"))
    );
    assert_eq!(
        parse(&with(&detail, "nonce", json!("AAAA"))),
        Err(PasskeyError::Invalid {
            field: "passkey.nonce",
            reason: "is too short"
        })
    );
    assert_eq!(
        parse(&with(&detail, "manifest_sha256", json!("AB".repeat(32)))),
        Err(PasskeyError::Invalid {
            field: "passkey.manifest_sha256",
            reason: "is not 64 lowercase hex digits"
        })
    );
    assert_eq!(
        parse(&with(&detail, "rp_id", json!("Gate.example.org"))),
        Err(PasskeyError::Invalid {
            field: "passkey.rp_id",
            reason: "is not a lowercase host name"
        })
    );
}

#[test]
fn enrolments_are_read_strictly_and_keys_must_be_points() {
    let authenticator = SoftwareAuthenticator::new(Algorithm::Es256, "alice", RP_ID);
    let good = authenticator.enrolment();
    assert!(EnrolledPasskey::from_detail(Some(&good)).is_ok());
    let parse = |detail: Value| EnrolledPasskey::from_detail(Some(&detail));
    assert_eq!(
        parse(with(&good, "alg", json!(-257))),
        Err(PasskeyError::UnsupportedAlgorithm(-257))
    );
    assert_eq!(
        parse(with(&good, "alg", json!("-7"))),
        Err(PasskeyError::WrongType("passkey.alg"))
    );
    let mut off_curve = authenticator.public_key();
    off_curve[64] ^= 1;
    assert!(matches!(
        parse(with(
            &good,
            "public_key",
            json!(URL_SAFE_NO_PAD.encode(off_curve))
        )),
        Err(PasskeyError::BadPublicKey(_))
    ));
    let compressed = vec![0x02; 33];
    assert!(matches!(
        parse(with(
            &good,
            "public_key",
            json!(URL_SAFE_NO_PAD.encode(compressed))
        )),
        Err(PasskeyError::BadPublicKey(_))
    ));
    // A small-order Ed25519 key would verify forged signatures.
    let ed = SoftwareAuthenticator::new(Algorithm::EdDsa, "bob", RP_ID).enrolment();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        parse(with(
            &ed,
            "public_key",
            json!(URL_SAFE_NO_PAD.encode(identity))
        )),
        Err(PasskeyError::BadPublicKey(_))
    ));
    assert_eq!(
        parse(with(&good, "owner", json!("x"))),
        Err(PasskeyError::UnknownField("owner".into()))
    );
    let revocation = json!({"maintainer": "alice", "credential_id": "AAAA"});
    assert!(PasskeyRevocation::from_detail(revocation.as_object().unwrap()).is_ok());
    let revocation = json!({"maintainer": "alice", "credential_id": "AAAA="});
    assert_eq!(
        PasskeyRevocation::from_detail(revocation.as_object().unwrap()),
        Err(PasskeyError::NotBase64Url("credential_id"))
    );
}
