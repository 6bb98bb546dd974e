//! The remote key source against a real HTTP issuer on loopback: discovery,
//! the JWKS cache, refetch on an unknown kid at most once per 60 s, failed
//! fetches rate-limited, Cache-Control honoured, the disk cache, the issuer
//! allow-list consulted before any fetch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::{AUD, TestIssuer, claims, keys, token};
use serde_json::{Value, json};
use shipgate_oidc::{
    Algorithm, DiskCache, FetchError, Rejection, RemoteOptions, SigningKey, Validation, Verifier,
    VerifierSet, VerifyError,
};

fn claims_for(issuer: &TestIssuer) -> Value {
    let mut c = claims();
    c["iss"] = json!(issuer.url);
    c
}

fn jwks_of(keys: &[&SigningKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.public_jwk().to_published_json(k.kid())).collect::<Vec<_>>()})
}

/// A test clock: seconds after a fixed start, so that offsets do not drift
/// with the real time the test takes.
fn clock() -> impl Fn(u64) -> SystemTime {
    let start = SystemTime::now();
    move |offset| start + Duration::from_secs(offset)
}

#[tokio::test]
async fn fetches_once_then_serves_from_cache() {
    let issuer = TestIssuer::start(keys().jwks()).await;
    let verifier = Verifier::remote(&issuer.url, RemoteOptions::default()).unwrap();
    for key in keys().all() {
        verifier
            .verify(&token(key, &claims_for(&issuer)), &Validation::new(AUD))
            .await
            .unwrap();
    }
    assert_eq!((issuer.discovery_hits(), issuer.jwks_hits()), (1, 1));
}

#[tokio::test]
async fn unknown_kid_refetches_once_and_then_not_for_60_seconds() {
    let at = clock();
    let old = &keys().ed;
    let issuer = TestIssuer::start(jwks_of(&[old])).await;
    let verifier = Verifier::remote(&issuer.url, RemoteOptions::default()).unwrap();
    let v = Validation::new(AUD);
    let c = claims_for(&issuer);
    verifier
        .verify_at(&token(old, &c), &v, at(0))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits(), 1);

    // Rotation: a new key is published; its first token triggers one refetch.
    let new = SigningKey::generate(Algorithm::ES256).unwrap().0;
    issuer.set_jwks(jwks_of(&[old, &new]));
    verifier
        .verify_at(&token(&new, &c), &v, at(1))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits(), 2);

    // Made-up kids: the first refetch within 60 s of the last one is refused
    // without contacting the issuer.
    let stranger = SigningKey::generate(Algorithm::EdDSA).unwrap().0;
    for offset in [2, 30, 60] {
        let err = verifier
            .verify_at(&token(&stranger, &c), &v, at(offset))
            .await
            .unwrap_err();
        assert!(
            matches!(err.rejection(), Some(Rejection::UnknownKid { refetch, .. }) if refetch.starts_with("suppressed")),
            "{err}"
        );
    }
    assert_eq!(issuer.jwks_hits(), 2);
    // 61 s after the last refetch: one more refetch, still unknown.
    let err = verifier
        .verify_at(&token(&stranger, &c), &v, at(62))
        .await
        .unwrap_err();
    assert!(matches!(
        err.rejection(),
        Some(Rejection::UnknownKid {
            refetch: "done",
            ..
        })
    ));
    assert_eq!(issuer.jwks_hits(), 3);
}

#[tokio::test]
async fn failed_fetches_are_rate_limited_too() {
    let at = clock();
    let key = &keys().ed;
    let issuer = TestIssuer::start(jwks_of(&[key])).await;
    let verifier = Verifier::remote(&issuer.url, RemoteOptions::default()).unwrap();
    let v = Validation::new(AUD);
    let c = claims_for(&issuer);
    verifier
        .verify_at(&token(key, &c), &v, at(0))
        .await
        .unwrap();
    // The issuer breaks; an unknown kid's refetch fails and still counts.
    issuer.set_jwks(json!({"not": "a jwks"}));
    let stranger = SigningKey::generate(Algorithm::EdDSA).unwrap().0;
    let err = verifier
        .verify_at(&token(&stranger, &c), &v, at(1))
        .await
        .unwrap_err();
    assert!(matches!(
        err.rejection(),
        Some(Rejection::UnknownKid {
            refetch: "failed",
            ..
        })
    ));
    let hits = issuer.jwks_hits();
    verifier
        .verify_at(&token(&stranger, &c), &v, at(2))
        .await
        .unwrap_err();
    assert_eq!(issuer.jwks_hits(), hits, "no second refetch within 60 s");
    // Regular expiry (max-age 300) then a failing fetch: an error (not a
    // token problem), and no new attempt during the 10 s backoff.
    let err = verifier
        .verify_at(&token(key, &c), &v, at(400))
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Keys(FetchError::BadDocument { .. })),
        "{err}"
    );
    let hits = issuer.jwks_hits();
    let err = verifier
        .verify_at(&token(key, &c), &v, at(405))
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Keys(FetchError::Backoff { .. })),
        "{err}"
    );
    assert_eq!(issuer.jwks_hits(), hits);
    // After the backoff, and once the issuer is fixed, all is well.
    issuer.set_jwks(jwks_of(&[key]));
    verifier
        .verify_at(&token(key, &c), &v, at(420))
        .await
        .unwrap();
}

#[tokio::test]
async fn cache_control_max_age_is_honoured() {
    let at = clock();
    let key = &keys().ed;
    let issuer = TestIssuer::start(jwks_of(&[key])).await;
    issuer.set_cache_control("public, max-age=120");
    let verifier = Verifier::remote(&issuer.url, RemoteOptions::default()).unwrap();
    let v = Validation::new(AUD);
    let c = claims_for(&issuer);
    verifier
        .verify_at(&token(key, &c), &v, at(0))
        .await
        .unwrap();
    verifier
        .verify_at(&token(key, &c), &v, at(100))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits(), 1);
    // Past max-age, but the token must still be valid then: use a longer one.
    let mut long = c.clone();
    long["exp"] = json!(common::now() + 3600);
    verifier
        .verify_at(&token(key, &long), &v, at(130))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits(), 2);
    issuer.set_cache_control("no-store");
    verifier
        .verify_at(&token(key, &long), &v, at(260))
        .await
        .unwrap();
    verifier
        .verify_at(&token(key, &long), &v, at(261))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits(), 4, "no-store: fetched every time");
}

#[tokio::test]
async fn discovery_must_name_the_pinned_issuer_and_a_fetchable_jwks_uri() {
    let key = &keys().ed;
    let issuer = TestIssuer::start(jwks_of(&[key])).await;
    let v = Validation::new(AUD);
    let c = claims_for(&issuer);
    for (doc, check) in [
        (
            json!({"issuer": format!("{}/", issuer.url), "jwks_uri": format!("{}/jwks", issuer.url)}),
            "issuer-mismatch",
        ),
        (
            json!({"issuer": issuer.url, "jwks_uri": "http://example.com/jwks"}),
            "url",
        ),
        (json!({"issuer": issuer.url}), "bad"),
        (json!({"jwks_uri": format!("{}/jwks", issuer.url)}), "bad"),
    ] {
        issuer.set_discovery(doc.clone());
        let verifier = Verifier::remote(&issuer.url, RemoteOptions::default()).unwrap();
        let err = verifier.verify(&token(key, &c), &v).await.unwrap_err();
        let ok = matches!(
            (check, &err),
            (
                "issuer-mismatch",
                VerifyError::Keys(FetchError::IssuerMismatch { .. })
            ) | ("url", VerifyError::Keys(FetchError::UrlNotAllowed { .. }))
                | ("bad", VerifyError::Keys(FetchError::BadDocument { .. }))
        );
        assert!(ok, "{doc}: {err}");
    }
}

#[tokio::test]
async fn oversized_documents_are_refused() {
    let key = &keys().ed;
    let issuer = TestIssuer::start(json!({"keys": [], "pad": "x".repeat(300 * 1024)})).await;
    let verifier = Verifier::remote(&issuer.url, RemoteOptions::default()).unwrap();
    let err = verifier
        .verify(&token(key, &claims_for(&issuer)), &Validation::new(AUD))
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Keys(FetchError::TooLarge { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_tokens_and_foreign_issuers_cause_no_fetch() {
    let key = &keys().ed;
    let issuer = TestIssuer::start(jwks_of(&[key])).await;
    let verifier = Verifier::remote(&issuer.url, RemoteOptions::default()).unwrap();
    let v = Validation::new(AUD);
    assert!(verifier.verify("a.b", &v).await.is_err());
    let mut foreign = claims_for(&issuer);
    foreign["iss"] = json!("https://attacker.example");
    let err = verifier
        .verify(&token(key, &foreign), &v)
        .await
        .unwrap_err();
    assert!(matches!(
        err.rejection(),
        Some(Rejection::IssuerMismatch { .. })
    ));
    assert_eq!(issuer.discovery_hits() + issuer.jwks_hits(), 0);
}

#[tokio::test]
async fn the_allow_list_is_consulted_before_any_fetch() {
    let key = &keys().ed;
    let allowed = TestIssuer::start(jwks_of(&[key])).await;
    let other = TestIssuer::start(jwks_of(&[key])).await;
    let set = VerifierSet::remote([allowed.url.as_str()], &RemoteOptions::default()).unwrap();
    let v = Validation::new(AUD);
    set.verify(&token(key, &claims_for(&allowed)), &v)
        .await
        .unwrap();
    let err = set
        .verify(&token(key, &claims_for(&other)), &v)
        .await
        .unwrap_err();
    assert!(matches!(
        err.rejection(),
        Some(Rejection::IssuerMismatch { .. })
    ));
    assert_eq!(other.discovery_hits() + other.jwks_hits(), 0);
    assert!(set.allows(&allowed.url) && !set.allows(&other.url));
}

#[tokio::test]
async fn the_disk_cache_serves_a_second_process_and_keeps_the_refetch_floor() {
    let key = &keys().ed;
    let issuer = TestIssuer::start(jwks_of(&[key])).await;
    let dir = tempfile::tempdir().unwrap();
    let options = RemoteOptions {
        disk_cache: Some(DiskCache::new(dir.path())),
        ..RemoteOptions::default()
    };
    let v = Validation::new(AUD);
    let c = claims_for(&issuer);
    Verifier::remote(&issuer.url, options.clone())
        .unwrap()
        .verify(&token(key, &c), &v)
        .await
        .unwrap();
    // A new verifier (as a new CLI process would) uses the cached keys.
    Verifier::remote(&issuer.url, options.clone())
        .unwrap()
        .verify(&token(key, &c), &v)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits(), 1);
    // An unknown kid: one refetch, remembered on disk ...
    let stranger = SigningKey::generate(Algorithm::EdDSA).unwrap().0;
    let fresh = || Verifier::remote(&issuer.url, options.clone()).unwrap();
    fresh().verify(&token(&stranger, &c), &v).await.unwrap_err();
    assert_eq!(issuer.jwks_hits(), 2);
    // ... so the next process does not refetch within 60 s.
    fresh().verify(&token(&stranger, &c), &v).await.unwrap_err();
    assert_eq!(issuer.jwks_hits(), 2);
    // A corrupt cache file is ignored and rewritten.
    let path = DiskCache::new(dir.path()).path_for(&issuer.url);
    std::fs::write(&path, b"{ not json").unwrap();
    fresh().verify(&token(key, &c), &v).await.unwrap();
    assert_eq!(issuer.jwks_hits(), 3);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(key.kid()));
}

/// A cache file for `issuer` holding `keys`, as the disk cache writes it.
fn cache_file(issuer: &TestIssuer, keys: &[&SigningKey], fetched_at: u64, max_age: u64) -> String {
    json!({"version": 1, "issuer": issuer.url, "jwks_uri": format!("{}/jwks", issuer.url),
           "fetched_at": fetched_at, "max_age": max_age, "refetched_at": null,
           "jwks": jwks_of(keys)})
    .to_string()
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[cfg(unix)]
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Keys planted by another local user (or another process, through a file
/// or directory others may write) are never used: the cache is treated as
/// absent, the real keys are fetched, the planted key's token is refused.
#[cfg(unix)]
#[tokio::test]
async fn a_planted_cache_file_or_directory_is_not_trusted() {
    let real = &keys().ed;
    let planted = SigningKey::generate(Algorithm::EdDSA).unwrap().0;
    let issuer = TestIssuer::start(jwks_of(&[real])).await;
    let v = Validation::new(AUD);
    let c = claims_for(&issuer);
    let now = unix(SystemTime::now());
    let root = tempfile::tempdir().unwrap();
    let as_planted = |case: &str, dir_mode: u32, file_mode: u32, owner: Option<u32>| {
        let dir = root.path().join(case);
        std::fs::create_dir(&dir).unwrap();
        let cache = DiskCache::new(&dir);
        let path = cache.path_for(&issuer.url);
        std::fs::write(&path, cache_file(&issuer, &[&planted], now, 300)).unwrap();
        chmod(&path, file_mode);
        if let Some(uid) = owner {
            std::os::unix::fs::chown(&path, Some(uid), None).unwrap();
        }
        chmod(&dir, dir_mode);
        RemoteOptions {
            disk_cache: Some(cache),
            ..RemoteOptions::default()
        }
    };
    let mut cases = vec![
        ("world-writable file", as_planted("a", 0o700, 0o666, None)),
        ("group-writable file", as_planted("b", 0o700, 0o620, None)),
        (
            "world-writable directory",
            as_planted("c", 0o777, 0o600, None),
        ),
        (
            "group-writable directory",
            as_planted("d", 0o770, 0o600, None),
        ),
    ];
    // Only root can give a file to another user; as any other user the
    // owner rule is covered by the unit test on a file root owns.
    if effective_uid() == 0 {
        cases.push((
            "file of another user",
            as_planted("e", 0o700, 0o600, Some(65534)),
        ));
    }
    let mut fetches = issuer.jwks_hits();
    for (case, options) in cases {
        let err = Verifier::remote(&issuer.url, options)
            .unwrap()
            .verify(&token(&planted, &c), &v)
            .await
            .unwrap_err();
        assert!(
            matches!(err.rejection(), Some(Rejection::UnknownKid { .. })),
            "{case}: {err}"
        );
        fetches += 1;
        assert_eq!(
            issuer.jwks_hits(),
            fetches,
            "{case}: the real keys were fetched"
        );
    }
    // The control: the same file, private, is used as it stands.
    let options = as_planted("f", 0o700, 0o600, None);
    Verifier::remote(&issuer.url, options)
        .unwrap()
        .verify(&token(&planted, &c), &v)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits(), fetches, "the private file was used");
}

#[cfg(unix)]
fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process just created is its effective user.
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid()
}

/// A cache file claiming ten years of freshness is fresh for 24 hours at
/// most: after that the keys are fetched again, and a key the issuer has
/// since dropped no longer verifies.
#[tokio::test]
async fn a_cached_lifetime_is_clamped_to_24_hours() {
    let at = clock();
    let old = SigningKey::generate(Algorithm::EdDSA).unwrap().0;
    let new = &keys().ed;
    let issuer = TestIssuer::start(jwks_of(&[new])).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(dir.path());
    let ten_years = 10 * 365 * 24 * 3600;
    std::fs::write(
        cache.path_for(&issuer.url),
        cache_file(&issuer, &[&old], unix(at(0)), ten_years),
    )
    .unwrap();
    let options = RemoteOptions {
        disk_cache: Some(cache),
        ..RemoteOptions::default()
    };
    let v = Validation::new(AUD);
    let mut c = claims_for(&issuer);
    c["exp"] = json!(unix(at(0)) + 3 * 24 * 3600);
    // Within 24 h the cached key is used without a fetch ...
    Verifier::remote(&issuer.url, options.clone())
        .unwrap()
        .verify_at(&token(&old, &c), &v, at(23 * 3600))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits(), 0);
    // ... after 24 h it is stale whatever the file says.
    let err = Verifier::remote(&issuer.url, options)
        .unwrap()
        .verify_at(&token(&old, &c), &v, at(24 * 3600 + 1))
        .await
        .unwrap_err();
    assert!(
        matches!(err.rejection(), Some(Rejection::UnknownKid { .. })),
        "{err}"
    );
    assert_eq!(issuer.jwks_hits(), 1);
}

#[test]
fn plain_http_to_a_remote_issuer_is_refused_up_front() {
    let err = Verifier::remote("http://example.com", RemoteOptions::default()).unwrap_err();
    assert!(matches!(err, FetchError::UrlNotAllowed { .. }));
}
