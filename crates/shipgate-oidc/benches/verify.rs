//! In-process verification throughput on one core (a current-thread tokio
//! runtime, one task), through the whole verifier path the gate uses: strict
//! pre-parse, issuer check, key from the (warm) JWKS cache of a remote
//! verifier, signature, registered claims and two expected claims. The keys
//! are fetched once from a real `oidc serve` router on loopback.
//!
//! Run by `bench/oidc/run.sh` (`cargo bench -p shipgate-oidc --bench verify --
//! --out DIR --seconds S`). Writes DIR/tokens.json (the tokens and the JWKS,
//! for the PyJWT side) and DIR/rust.json (the results).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shipgate_oidc::server::{self, Documents};
use shipgate_oidc::{
    Algorithm, Expectation, Issuer, KeyDir, RemoteOptions, TokenRequest, Validation, Verifier,
};

const AUDIENCE: &str = "deploy";
const ROUNDS: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::path::PathBuf::from("bench/out/oidc");
    let mut seconds = 2.0_f64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().ok_or("--out DIR")?.into(),
            "--seconds" => seconds = args.next().ok_or("--seconds S")?.parse()?,
            "--bench" => {} // passed by `cargo bench`
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    std::fs::create_dir_all(&out)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(&out, Duration::from_secs_f64(seconds)))
}

async fn run(out: &std::path::Path, per_round: Duration) -> Result<(), Box<dyn std::error::Error>> {
    // One key per algorithm, each in its own directory (the newest signs).
    let (listener, addr) = server::bind("127.0.0.1:0".parse()?).await?;
    let issuer_url = format!("http://{addr}");
    let all_keys = out.join("keys-all");
    let _ = std::fs::remove_dir_all(&all_keys);
    let mut tokens = serde_json::Map::new();
    for alg in Algorithm::ALL {
        let key = KeyDir::new(&all_keys).generate(alg)?;
        let issuer = Issuer::new(&issuer_url, key)?;
        let claims = json!({
            "execution_id": "3f1c9a52-6d7e-4f0a-9b1e-1c2d3e4f5a6b",
            "org_id": "org-8d2f", "canvas_id": "canvas-41aa", "node_id": "deploy-prod",
            "commit_sha": "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a",
            "pipeline_file": ".semaphore/deploy.yml",
        });
        let token = issuer.issue(&TokenRequest {
            subject: "execution:3f1c9a52".into(),
            audience: vec![AUDIENCE.into()],
            ttl: Duration::from_secs(3600),
            claims: claims.as_object().cloned().unwrap_or_default(),
        })?;
        tokens.insert(alg.as_str().into(), Value::String(token.token));
    }
    let documents = Documents::load(KeyDir::new(&all_keys), &issuer_url)?;
    let jwks: Value = serde_json::from_str(
        &shipgate_oidc::documents::render(&issuer_url, &KeyDir::new(&all_keys).load()?).1,
    )?;
    tokio::spawn(server::serve(listener, Arc::new(documents)));

    let verifier = Verifier::remote(&issuer_url, RemoteOptions::default())?;
    let mut validation = Validation::new(AUDIENCE);
    validation.expectations = vec![
        Expectation::exact("node_id", "deploy-prod")?,
        Expectation::exact("commit_sha", "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a")?,
    ];
    let mut results = serde_json::Map::new();
    for alg in Algorithm::ALL {
        let token = tokens[alg.as_str()].as_str().unwrap_or_default().to_owned();
        verifier.verify(&token, &validation).await?; // warms the key cache
        let mut rates = Vec::new();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let mut count = 0u64;
            while start.elapsed() < per_round {
                for _ in 0..256 {
                    verifier.verify(&token, &validation).await?;
                }
                count += 256;
            }
            rates.push(count as f64 / start.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        // For comparison: the signature check alone, on the same token.
        let parsed = shipgate_oidc::parse_unverified(&token)?;
        let key = KeyDir::new(&all_keys)
            .load()?
            .keys()
            .iter()
            .find(|k| k.kid() == parsed.kid())
            .ok_or("key")?
            .verifying_key()?;
        let (input, sig) = token.rsplit_once('.').ok_or("token")?;
        let sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)?;
        let start = Instant::now();
        let mut count = 0u64;
        while start.elapsed() < per_round {
            for _ in 0..256 {
                key.verify(alg, input.as_bytes(), &sig)?;
            }
            count += 256;
        }
        let raw = count as f64 / start.elapsed().as_secs_f64();
        println!(
            "shipgate-oidc {:<6} {:>10.0} verifications/s (median of {ROUNDS}; signature alone {:.0}/s)",
            alg.as_str(),
            median,
            raw
        );
        results.insert(alg.as_str().into(), json!(median));
        results.insert(format!("{}-signature-only", alg.as_str()), json!(raw));
    }
    std::fs::write(
        out.join("tokens.json"),
        serde_json::to_string_pretty(&json!({
            "issuer": issuer_url, "audience": AUDIENCE, "tokens": tokens, "jwks": jwks,
            "expect": {"node_id": "deploy-prod", "commit_sha": "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a"},
        }))?,
    )?;
    std::fs::write(out.join("rust.json"), Value::Object(results).to_string())?;
    Ok(())
}
