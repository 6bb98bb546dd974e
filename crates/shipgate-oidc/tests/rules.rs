//! One test (at least) per verification rule of the issue (RFC 8725). Each
//! token is crafted by hand and signed with the real key wherever that makes
//! the rule the only thing standing between the token and acceptance, and
//! each test asserts the precise rule that fired: removing the rule makes
//! the test fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AUD, ISS, TestIssuer, b64, claims, header, keys, now, sign, sign_raw, token};
use serde_json::{Value, json};
use shipgate_oidc::{
    Expectation, InMemoryReplayGuard, JsonError, Part, Rejection, SignatureError, SigningKey,
    Validation, Verifier, VerifyError,
};

fn verifier() -> Verifier {
    Verifier::with_keys(ISS, keys().key_set())
}

async fn verify_with(token: &str, validation: &Validation) -> Result<(), Rejection> {
    match verifier().verify(token, validation).await {
        Ok(_) => Ok(()),
        Err(VerifyError::Rejected(r)) => Err(r),
        Err(other) => panic!("unexpected error {other}"),
    }
}

async fn verify(token: &str) -> Result<(), Rejection> {
    verify_with(token, &Validation::new(AUD)).await
}

fn with(mut base: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

#[tokio::test]
async fn good_tokens_of_every_algorithm_verify() {
    for key in keys().all() {
        let verified = verifier()
            .verify(&token(key, &claims()), &Validation::new(AUD))
            .await
            .unwrap();
        assert_eq!(verified.kid, key.kid());
        assert_eq!(verified.claims.get_str("node_id"), Some("deploy-prod"));
    }
}

// --- Algorithms ----------------------------------------------------------

#[tokio::test]
async fn alg_none_in_any_spelling_is_refused() {
    let key = &keys().rsa;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = json!({"alg": alg, "kid": key.kid()});
        // With an empty signature (the classic attack) ...
        let unsigned = format!("{}.{}.", b64(h.to_string()), b64(claims().to_string()));
        assert_eq!(verify(&unsigned).await, Err(Rejection::NotCompact));
        // ... and with the real key's valid signature over it.
        let signed = sign(key, &h, &claims());
        assert_eq!(
            verify(&signed).await,
            Err(Rejection::AlgorithmNotAllowed(alg.into()))
        );
    }
}

#[tokio::test]
async fn hmac_with_the_rsa_public_key_as_secret_is_refused() {
    // The RS/HS confusion: an attacker signs with HMAC, using as secret some
    // encoding of the issuer's public key, hoping the verifier feeds the
    // same bytes to HMAC.
    let key = &keys().rsa;
    let public = key.public_jwk().to_published_json(key.kid());
    let modulus = common::b64(match key.public_jwk() {
        shipgate_oidc::PublicJwk::Rsa { n, .. } => n.clone(),
        _ => unreachable!(),
    });
    let secrets = [public.to_string(), keys().jwks().to_string(), modulus];
    for (alg, hmac) in [
        ("HS256", aws_lc_rs::hmac::HMAC_SHA256),
        ("HS384", aws_lc_rs::hmac::HMAC_SHA384),
        ("HS512", aws_lc_rs::hmac::HMAC_SHA512),
    ] {
        for secret in &secrets {
            let h = json!({"alg": alg, "kid": key.kid(), "typ": "JWT"});
            let input = format!("{}.{}", b64(h.to_string()), b64(claims().to_string()));
            let tag = aws_lc_rs::hmac::sign(
                &aws_lc_rs::hmac::Key::new(hmac, secret.as_bytes()),
                input.as_bytes(),
            );
            let forged = format!("{input}.{}", b64(tag.as_ref()));
            assert_eq!(
                verify(&forged).await,
                Err(Rejection::AlgorithmNotAllowed(alg.into()))
            );
        }
    }
}

#[tokio::test]
async fn algorithms_off_the_allow_list_or_in_the_wrong_case_are_refused() {
    // Validly signed by the RSA key: only the allow-list refuses them.
    let key = &keys().rsa;
    for alg in [
        "rs256", "Rs256", "RS384", "RS512", "PS256", "ES384", "ES256K", "EDDSA", "Ed25519",
    ] {
        let h = json!({"alg": alg, "kid": key.kid()});
        assert_eq!(
            verify(&sign(key, &h, &claims())).await,
            Err(Rejection::AlgorithmNotAllowed(alg.into())),
            "{alg}"
        );
    }
    let h = json!({"alg": ["RS256"], "kid": key.kid()});
    assert!(matches!(
        verify(&sign(key, &h, &claims())).await,
        Err(Rejection::AlgorithmNotAllowed(_))
    ));
    let h = json!({"kid": key.kid()});
    assert!(matches!(
        verify(&sign(key, &h, &claims())).await,
        Err(Rejection::AlgorithmNotAllowed(_))
    ));
}

#[tokio::test]
async fn a_key_verifies_only_with_the_algorithm_of_its_type() {
    let k = keys();
    // Header names the RSA key but says ES256 (signed by the EC key), and so on.
    for (kid_of, signer) in [
        (&k.rsa, &k.ec),
        (&k.ec, &k.rsa),
        (&k.ed, &k.ec),
        (&k.rsa, &k.ed),
    ] {
        let h = json!({"alg": signer.algorithm().as_str(), "kid": kid_of.kid()});
        assert_eq!(
            verify(&sign(signer, &h, &claims())).await,
            Err(Rejection::Signature(SignatureError::AlgorithmMismatch {
                header: signer.algorithm(),
                pinned: kid_of.algorithm(),
                kid: kid_of.kid().into(),
            }))
        );
    }
}

// --- Keys come only from the pinned issuer's JWKS ---------------------------

#[tokio::test]
async fn embedded_jwk_jku_x5u_x5c_are_never_used() {
    // An attacker's server, on loopback, that would serve the attacker's key.
    let attacker = SigningKey::generate(shipgate_oidc::Algorithm::EdDSA)
        .unwrap()
        .0;
    let attacker_jwk = attacker.public_jwk().to_published_json(attacker.kid());
    let evil = TestIssuer::start(json!({"keys": [attacker_jwk.clone()]})).await;
    let jku = format!("{}/jwks", evil.url);
    let embedded = [
        json!({"jwk": attacker_jwk}),
        json!({"jku": jku}),
        json!({"x5u": format!("{}/cert.pem", evil.url)}),
        json!({"x5c": ["MIIBszCCAVmgAwIBAgIU"]}),
        json!({"x5t": "abc", "x5t#S256": "abc"}),
    ];
    for extra in &embedded {
        // The attacker's own kid: not in the issuer's JWKS.
        let mut h = with(header(&attacker), extra.clone());
        assert_eq!(
            verify(&sign(&attacker, &h, &claims())).await,
            Err(Rejection::UnknownKid {
                kid: attacker.kid().into(),
                refetch: "not possible: fixed key set"
            }),
            "{extra}"
        );
        // The issuer's kid with the attacker's key material alongside.
        h["kid"] = json!(keys().ed.kid());
        assert_eq!(
            verify(&sign(&attacker, &h, &claims())).await,
            Err(Rejection::Signature(SignatureError::Invalid)),
            "{extra}"
        );
    }
    // The same through a remote verifier of the real issuer.
    let issuer = TestIssuer::start(keys().jwks()).await;
    let remote = Verifier::remote(&issuer.url, Default::default()).unwrap();
    let h = with(header(&attacker), json!({"jku": jku, "jwk": attacker_jwk}));
    let c = with(claims(), json!({"iss": issuer.url}));
    let err = remote
        .verify(&sign(&attacker, &h, &c), &Validation::new(AUD))
        .await
        .unwrap_err();
    assert!(
        matches!(err.rejection(), Some(Rejection::UnknownKid { .. })),
        "{err}"
    );
    assert_eq!(
        evil.jwks_hits() + evil.discovery_hits() + evil.other_hits(),
        0
    );
}

#[tokio::test]
async fn kid_is_required() {
    let key = &keys().ed;
    for h in [
        json!({"alg": "EdDSA"}),
        json!({"alg": "EdDSA", "kid": ""}),
        json!({"alg": "EdDSA", "kid": 7}),
        json!({"alg": "EdDSA", "kid": null}),
        json!({"alg": "EdDSA", "kid": "k".repeat(257)}),
    ] {
        assert_eq!(
            verify(&sign(key, &h, &claims())).await,
            Err(Rejection::MissingKid),
            "{h}"
        );
    }
}

#[tokio::test]
async fn kid_is_an_opaque_map_key() {
    let key = &keys().ed;
    let upper = key.kid().to_uppercase();
    for kid in [
        "../../../../dev/null",
        "' OR '1'='1",
        "\u{0}",
        upper.as_str(),
        " ",
    ] {
        let h = json!({"alg": "EdDSA", "kid": kid});
        assert!(
            matches!(
                verify(&sign(key, &h, &claims())).await,
                Err(Rejection::UnknownKid { .. })
            ),
            "{kid:?}"
        );
    }
}

// --- Header extensions and form ---------------------------------------------

#[tokio::test]
async fn crit_headers_are_refused() {
    let key = &keys().ec;
    for extra in [
        json!({"crit": ["exp"], "exp": now() + 60}),
        json!({"crit": ["b64"], "b64": true}),
        json!({"crit": []}),
    ] {
        let h = with(header(key), extra.clone());
        assert_eq!(
            verify(&sign(key, &h, &claims())).await,
            Err(Rejection::CriticalHeader),
            "{extra}"
        );
    }
}

#[tokio::test]
async fn only_the_compact_three_part_form_is_accepted() {
    let good = token(&keys().ed, &claims());
    let (input, sig) = good.rsplit_once('.').unwrap();
    let (h, p) = input.split_once('.').unwrap();
    let jwe = format!("{h}.{p}.{sig}.{sig}.{sig}");
    let json_serialization = json!({"payload": p, "protected": h, "signature": sig}).to_string();
    for bad in [
        jwe.as_str(),
        &format!("{good}."),
        &format!(".{good}"),
        &format!("{h}.{p}"),
        &format!("{h}..{sig}"),
        &format!("{h}.{p}."),
        &format!("{good}.{sig}"),
        json_serialization.as_str(),
        "",
    ] {
        assert_eq!(verify(bad).await, Err(Rejection::NotCompact), "{bad}");
    }
}

#[tokio::test]
async fn only_unpadded_base64url_is_accepted() {
    let key = &keys().rsa; // 256-byte signatures: base64 would pad with "=".
    let good = token(key, &claims());
    assert_eq!(verify(&good).await, Ok(()));
    let (input, sig) = good.rsplit_once('.').unwrap();
    assert_eq!(
        verify(&format!("{input}.{sig}==")).await,
        Err(Rejection::NotBase64Url(Part::Signature))
    );
    // A header in the standard alphabet, signed as it is.
    let h = with(header(key), json!({"note": "??>>??>>"}));
    let std_header = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        h.to_string(),
    );
    assert!(std_header.contains('/') || std_header.contains('+'));
    let input = format!("{std_header}.{}", b64(claims().to_string()));
    let t = format!("{input}.{}", key.sign_b64(input.as_bytes()).unwrap());
    assert_eq!(verify(&t).await, Err(Rejection::NotBase64Url(Part::Header)));
    // Non-canonical trailing bits in the payload (same bytes for a lenient
    // decoder), signed as they are.
    let mut c = claims();
    let mut payload = b64(c.to_string());
    while payload.len().is_multiple_of(4) {
        c = with(c, json!({"p": "x"}));
        payload = b64(c.to_string());
    }
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = payload.pop().unwrap();
    let flipped = alphabet
        .chars()
        .nth(alphabet.find(last).unwrap() ^ 1)
        .unwrap();
    let odd = format!("{payload}{flipped}");
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    );
    assert_eq!(
        base64::Engine::decode(&lenient, &odd).unwrap(),
        c.to_string().into_bytes(),
        "a lenient decoder sees the same claims"
    );
    let input = format!("{}.{odd}", b64(header(key).to_string()));
    let t = format!("{input}.{}", key.sign_b64(input.as_bytes()).unwrap());
    assert_eq!(
        verify(&t).await,
        Err(Rejection::NotBase64Url(Part::Payload))
    );
    // Whitespace anywhere inside.
    let spaced = good.replacen('.', ".\n", 1);
    assert!(matches!(
        verify(&spaced).await,
        Err(Rejection::NotBase64Url(_))
    ));
}

#[tokio::test]
async fn tokens_over_16_kib_are_refused() {
    let key = &keys().ed;
    let fits = with(claims(), json!({"padding": "x".repeat(11_000)}));
    let t = token(key, &fits);
    assert!(t.len() < 16 * 1024);
    assert_eq!(verify(&t).await, Ok(()));
    let big = with(claims(), json!({"padding": "x".repeat(13_000)}));
    let t = token(key, &big);
    assert!(t.len() > 16 * 1024);
    assert_eq!(verify(&t).await, Err(Rejection::TooLarge(t.len())));
}

#[tokio::test]
async fn duplicate_json_names_are_refused() {
    let key = &keys().ed;
    let h = format!(r#"{{"alg":"EdDSA","kid":"{}","alg":"EdDSA"}}"#, key.kid());
    assert_eq!(
        verify(&sign_raw(key, &h, &claims().to_string())).await,
        Err(Rejection::BadJson(
            Part::Header,
            JsonError::DuplicateKey("alg".into())
        ))
    );
    // The last `aud` is the right one: a last-wins parser would accept it.
    let c = claims().to_string();
    let payload = c.replacen('{', r#"{"aud":"someone-else","#, 1);
    assert_eq!(
        verify(&sign_raw(key, &header(key).to_string(), &payload)).await,
        Err(Rejection::BadJson(
            Part::Payload,
            JsonError::DuplicateKey("aud".into())
        ))
    );
}

#[tokio::test]
async fn non_object_or_malformed_json_parts_are_refused() {
    let key = &keys().ed;
    let h = header(key).to_string();
    for payload in ["[]", "\"s\"", "{", "{\"a\":1}x"] {
        assert!(matches!(
            verify(&sign_raw(key, &h, payload)).await,
            Err(Rejection::BadJson(Part::Payload, _))
        ));
    }
}

// --- Claims -------------------------------------------------------------------

#[tokio::test]
async fn iss_must_match_exactly() {
    let key = &keys().ec;
    for iss in [
        json!("https://ci.example.com/"),
        json!("https://CI.example.com"),
        json!(""),
    ] {
        assert!(
            matches!(
                verify(&token(key, &with(claims(), json!({ "iss": iss })))).await,
                Err(Rejection::IssuerMismatch { .. })
            ),
            "{iss}"
        );
    }
    assert!(matches!(
        verify(&token(key, &with(claims(), json!({ "iss": null })))).await,
        Err(Rejection::IssuerMismatch { .. })
    ));
}

#[tokio::test]
async fn aud_is_required_exact_and_single_unless_allowed() {
    let key = &keys().ec;
    assert_eq!(
        verify(&token(key, &with(claims(), json!({"aud": null})))).await,
        Err(Rejection::MissingClaim("aud"))
    );
    assert!(matches!(
        verify(&token(
            key,
            &with(claims(), json!({"aud": "deploy-staging"}))
        ))
        .await,
        Err(Rejection::AudienceMismatch { .. })
    ));
    let multi = token(key, &with(claims(), json!({"aud": [AUD, "other"]})));
    assert_eq!(verify(&multi).await, Err(Rejection::ExtraAudiences(2)));
    let mut v = Validation::new(AUD);
    v.allow_extra_audiences = true;
    assert_eq!(verify_with(&multi, &v).await, Ok(()));
}

#[tokio::test]
async fn exp_is_required_and_time_claims_are_checked_with_60s_leeway() {
    let key = &keys().ed;
    let t = now();
    assert_eq!(
        verify(&token(key, &with(claims(), json!({"exp": null})))).await,
        Err(Rejection::MissingClaim("exp"))
    );
    assert_eq!(
        verify(&token(key, &with(claims(), json!({"exp": t - 30})))).await,
        Ok(())
    );
    assert!(matches!(
        verify(&token(key, &with(claims(), json!({"exp": t - 120})))).await,
        Err(Rejection::Expired { leeway: 60, .. })
    ));
    assert!(matches!(
        verify(&token(key, &with(claims(), json!({"nbf": t + 120})))).await,
        Err(Rejection::NotYetValid { .. })
    ));
    assert!(matches!(
        verify(&token(key, &with(claims(), json!({"iat": t + 120})))).await,
        Err(Rejection::IssuedInFuture { .. })
    ));
}

#[tokio::test]
async fn time_claims_of_the_wrong_json_type_are_refused() {
    let key = &keys().ed;
    let t = now();
    for (claim, value) in [
        ("exp", json!((t + 600).to_string())),
        ("exp", json!((t + 600) as f64 + 0.5)),
        ("nbf", json!(t.to_string())),
        ("iat", json!(true)),
    ] {
        assert_eq!(
            verify(&token(key, &with(claims(), json!({ claim: value })))).await,
            Err(Rejection::ClaimType(claim.into())),
            "{claim}"
        );
    }
}

#[tokio::test]
async fn expected_claims_must_be_present_non_empty_and_equal() {
    let key = &keys().rsa;
    let t = token(
        key,
        &with(claims(), json!({"run": 42, "prod": true, "empty": ""})),
    );
    let mut v = Validation::new(AUD);
    for e in ["node_id=deploy-prod", "run=42", "prod=true"] {
        v.expectations = vec![Expectation::parse_exact(e).unwrap()];
        assert_eq!(verify_with(&t, &v).await, Ok(()), "{e}");
    }
    for e in ["node_id=deploy", "run=42.0", "prod=1"] {
        v.expectations = vec![Expectation::parse_exact(e).unwrap()];
        assert!(matches!(
            verify_with(&t, &v).await,
            Err(Rejection::ExpectedClaimMismatch { .. })
        ));
    }
    for e in ["missing=x", "empty=x"] {
        v.expectations = vec![Expectation::parse_exact(e).unwrap()];
        assert!(matches!(
            verify_with(&t, &v).await,
            Err(Rejection::ExpectedClaimMissing(_))
        ));
    }
    v.expectations = vec![Expectation::parse_glob("node_id=deploy-*").unwrap()];
    assert_eq!(verify_with(&t, &v).await, Ok(()));
}

// --- Signatures -------------------------------------------------------------

#[tokio::test]
async fn ecdsa_signatures_with_zero_r_or_s_are_refused() {
    let key = &keys().ec;
    let good = token(key, &claims());
    let (input, sig) = good.rsplit_once('.').unwrap();
    let sig =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    for (r, s) in [(true, false), (false, true), (true, true)] {
        let mut forged = sig.clone();
        if r {
            forged[..32].fill(0);
        }
        if s {
            forged[32..].fill(0);
        }
        assert_eq!(
            verify(&format!("{input}.{}", b64(&forged))).await,
            Err(Rejection::Signature(SignatureError::EcdsaZeroScalar))
        );
    }
}

#[tokio::test]
async fn tampered_payloads_and_signatures_fail() {
    for key in keys().all() {
        let good = token(key, &claims());
        let (input, sig) = good.rsplit_once('.').unwrap();
        let (h, _) = input.split_once('.').unwrap();
        let other = b64(with(claims(), json!({"node_id": "deploy-dev"})).to_string());
        assert_eq!(
            verify(&format!("{h}.{other}.{sig}")).await,
            Err(Rejection::Signature(SignatureError::Invalid))
        );
        let mut bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
        bytes[5] ^= 1;
        assert_eq!(
            verify(&format!("{input}.{}", b64(&bytes))).await,
            Err(Rejection::Signature(SignatureError::Invalid))
        );
    }
}

// --- Replay -------------------------------------------------------------------

#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let guard = InMemoryReplayGuard::new();
    let t = token(&keys().ed, &claims());
    let first = verifier().verify(&t, &Validation::new(AUD)).await.unwrap();
    first
        .check_replay(&guard, shipgate_oidc::DEFAULT_LEEWAY)
        .await
        .unwrap();
    let second = verifier().verify(&t, &Validation::new(AUD)).await.unwrap();
    let err = second
        .check_replay(&guard, shipgate_oidc::DEFAULT_LEEWAY)
        .await
        .unwrap_err();
    assert_eq!(err.rejection(), Some(&Rejection::Replayed("jti-1".into())));
    let no_jti = token(&keys().ed, &with(claims(), json!({"jti": null})));
    let v = verifier()
        .verify(&no_jti, &Validation::new(AUD))
        .await
        .unwrap();
    let err = v
        .check_replay(&guard, shipgate_oidc::DEFAULT_LEEWAY)
        .await
        .unwrap_err();
    assert_eq!(err.rejection(), Some(&Rejection::MissingClaim("jti")));
}

// --- Hostile time claims --------------------------------------------------

/// The usual claims with `claim` written as raw JSON text, so that numbers
/// reach the parser exactly as an attacker writes them (`2^64`, `1e30`).
fn payload_with_raw(claim: &str, raw: &str) -> String {
    let mut base = claims();
    base.as_object_mut().unwrap().remove(claim);
    let text = base.to_string();
    format!("{},\"{claim}\":{raw}}}", &text[..text.len() - 1])
}

#[tokio::test]
async fn hostile_time_claims_are_refused_and_never_panic() {
    let key = &keys().ed;
    let h = header(key).to_string();
    let out_of_range = |claim: &str, raw: &str| {
        Err(Rejection::TimeOutOfRange {
            claim: claim.into(),
            value: raw.into(),
        })
    };
    for claim in ["exp", "nbf", "iat"] {
        // 2^63-1 used to panic the request ("overflow when adding duration
        // to instant"); 2^63 was "far future" to one check and 0 to the
        // replay store; -1 passed as a time long past.
        for raw in [
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "-1",
            "253402300800",
        ] {
            let t = sign_raw(key, &h, &payload_with_raw(claim, raw));
            assert_eq!(verify(&t).await, out_of_range(claim, raw), "{claim}={raw}");
        }
        for raw in ["18446744073709551616", "1e30", "1.5", "\"123\"", "null"] {
            let t = sign_raw(key, &h, &payload_with_raw(claim, raw));
            assert_eq!(
                verify(&t).await,
                Err(Rejection::ClaimType(claim.into())),
                "{claim}={raw}"
            );
        }
    }
}

#[tokio::test]
async fn exp_may_be_at_most_a_year_ahead_or_the_verifier_s_bound() {
    let key = &keys().rsa;
    let t = now();
    let year = shipgate_oidc::MAX_EXP_AHEAD.as_secs() as i64;
    assert_eq!(year, 365 * 24 * 3600);
    assert_eq!(
        verify(&token(key, &with(claims(), json!({"exp": t + year - 60})))).await,
        Ok(())
    );
    assert!(matches!(
        verify(&token(key, &with(claims(), json!({"exp": t + year + 60})))).await,
        Err(Rejection::ExpiresTooFarAhead { .. })
    ));
    let mut v = Validation::new(AUD);
    v.max_exp_ahead = std::time::Duration::from_secs(3600);
    assert!(matches!(
        verify_with(&token(key, &with(claims(), json!({"exp": t + 7200}))), &v).await,
        Err(Rejection::ExpiresTooFarAhead { max: 3600, .. })
    ));
}

/// Records what a replay guard was asked to remember.
#[derive(Default)]
struct RecordingGuard(std::sync::Mutex<Vec<(String, std::time::SystemTime)>>);

impl shipgate_oidc::ReplayGuard for RecordingGuard {
    async fn check_and_remember(
        &self,
        jti: &str,
        forget_after: std::time::SystemTime,
    ) -> Result<(), VerifyError> {
        self.0.lock().unwrap().push((jti.to_owned(), forget_after));
        Ok(())
    }
}

#[tokio::test]
async fn a_jti_is_remembered_until_the_token_s_real_expiry() {
    use std::time::{Duration, UNIX_EPOCH};
    let leeway = shipgate_oidc::DEFAULT_LEEWAY;
    let far = now() + 300 * 24 * 3600;
    for exp in [now() + 300, far] {
        let t = token(&keys().ed, &with(claims(), json!({"exp": exp})));
        let verified = verifier().verify(&t, &Validation::new(AUD)).await.unwrap();
        let guard = RecordingGuard::default();
        verified.check_replay(&guard, leeway).await.unwrap();
        let remembered = guard.0.lock().unwrap().clone();
        assert_eq!(
            remembered,
            vec![(
                "jti-1".to_owned(),
                UNIX_EPOCH + Duration::from_secs(exp as u64) + leeway
            )]
        );
    }
    // The in-memory guard keeps it for that long: still refused a day later.
    let guard = InMemoryReplayGuard::new();
    let t = token(&keys().ed, &with(claims(), json!({"exp": far})));
    let verified = verifier().verify(&t, &Validation::new(AUD)).await.unwrap();
    verified.check_replay(&guard, leeway).await.unwrap();
    let forget_after = UNIX_EPOCH + Duration::from_secs(far as u64) + leeway;
    let a_day_later = UNIX_EPOCH + Duration::from_secs(now() as u64 + 86_400);
    for _ in 0..5 {
        let err = guard
            .check_and_remember_at("jti-1", forget_after, a_day_later)
            .unwrap_err();
        assert_eq!(err.rejection(), Some(&Rejection::Replayed("jti-1".into())));
    }
    // A leeway no clock can add is refused, not a panic.
    let err = verified
        .check_replay(&guard, Duration::MAX)
        .await
        .unwrap_err();
    assert!(matches!(
        err.rejection(),
        Some(Rejection::TimeOutOfRange { .. })
    ));
}
