//! Cargo registries with a sparse index: the API URL comes from the index's
//! `config.json`, what the registry holds from the index entry's `cksum`, and the crate is
//! published with `PUT /api/v1/crates/new` (u32 LE JSON length, JSON metadata, u32 LE
//! crate length, crate bytes), `Authorization: <token>`.

use serde_json::Value;

use super::http::{self, Encoding};
use super::{Context, PublishError, PublishFile, Published, PublishedFile, Target, base_url};
use crate::TargetKind;
use crate::artifact::Metadata;

/// The path of a crate's file in a sparse index.
fn index_path(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", name.get(..1).unwrap_or_default()),
        _ => format!(
            "{}/{}/{name}",
            name.get(..2).unwrap_or_default(),
            name.get(2..4).unwrap_or_default()
        ),
    }
}

async fn get_json(
    ctx: &Context<'_>,
    what: &str,
    url: &str,
) -> Result<Option<Vec<u8>>, PublishError> {
    let response = ctx
        .client
        .get(url)
        .send()
        .await
        .map_err(|e| http::send_failed(what, &e, ctx.credential))?;
    let status = response.status();
    // Sparse indexes answer 404 (or 410, 451) for crates they do not have; registries
    // that serve the index as static files next to their API routes (cargo-http-registry)
    // answer 405 for a file that does not exist. None of these means "present".
    if matches!(status.as_u16(), 404 | 405 | 410 | 451) {
        return Ok(None);
    }
    let body = http::read_body(what, response, ctx.credential).await?;
    if !status.is_success() {
        return Err(http::status_error(what, url, status, &body, ctx.credential));
    }
    Ok(Some(body))
}

/// The `cksum` the index records for this version, if any.
async fn indexed_cksum(
    ctx: &Context<'_>,
    entry_url: &str,
    version: &str,
) -> Result<Option<String>, PublishError> {
    let what = "cargo: reading the index entry";
    let Some(body) = get_json(ctx, what, entry_url).await? else {
        return Ok(None);
    };
    let text = String::from_utf8(body.clone())
        .map_err(|_| http::garbage(what, entry_url, "not UTF-8", &body, ctx.credential))?;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line).map_err(|e| {
            http::garbage(
                what,
                entry_url,
                &e.to_string(),
                line.as_bytes(),
                ctx.credential,
            )
        })?;
        if entry.get("vers").and_then(Value::as_str) == Some(version) {
            return Ok(Some(
                entry
                    .get("cksum")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase(),
            ));
        }
    }
    Ok(None)
}

fn check_existing(
    cksum: Option<String>,
    name: &str,
    version: &str,
    sha256: &str,
) -> Result<bool, PublishError> {
    match cksum {
        None => Ok(false),
        Some(theirs) if theirs == sha256 => Ok(true),
        Some(theirs) => Err(PublishError::Conflict {
            detail: format!(
                "cargo: {name} {version} is already in the index with other bytes \
                 (index cksum: {theirs}, ours: {sha256})"
            ),
        }),
    }
}

pub(super) async fn publish(
    ctx: &Context<'_>,
    target: &Target,
    files: &[PublishFile],
) -> Result<Published, PublishError> {
    let [file] = files else {
        return Err(PublishError::Permanent {
            detail: format!(
                "cargo publishes exactly one .crate file, got {} files",
                files.len()
            ),
        });
    };
    let Some(index) = target.registry.strip_prefix("sparse+") else {
        return Err(PublishError::Permanent {
            detail: format!(
                "cargo registry {:?} is not a sparse index (sparse+https://...); git indexes are not supported",
                target.registry
            ),
        });
    };
    let index = base_url(index);
    let digests = http::digests(file).await?;
    let artifact = super::read_artifact(TargetKind::Cargo, file, ctx.limits).await?;
    let Metadata::Cargo { manifest, readme } = &artifact.metadata else {
        return Err(PublishError::Permanent {
            detail: format!("{}: not a .crate file", file.file_name),
        });
    };
    let name = &artifact.info.name;
    let version = &artifact.info.version;

    let config_url = format!("{index}config.json");
    let what = "cargo: reading the index configuration";
    let config_body =
        get_json(ctx, what, &config_url)
            .await?
            .ok_or_else(|| PublishError::Permanent {
                detail: format!("{what}: {config_url} does not exist; is this a sparse index?"),
            })?;
    let config: Value = serde_json::from_slice(&config_body).map_err(|e| {
        http::garbage(
            what,
            &config_url,
            &e.to_string(),
            &config_body,
            ctx.credential,
        )
    })?;
    let api = config
        .get("api")
        .and_then(Value::as_str)
        .ok_or_else(|| PublishError::Permanent {
            detail: format!(
                "{config_url} names no \"api\": the registry does not accept publishing"
            ),
        })?;
    let api = base_url(api);
    let dl = config.get("dl").and_then(Value::as_str).unwrap_or_default();
    let download_url = if dl.contains('{') {
        dl.replace("{crate}", name).replace("{version}", version)
    } else {
        format!("{}/{name}/{version}/download", dl.trim_end_matches('/'))
    };
    let published = |already_present| Published {
        url: download_url.clone(),
        files: vec![PublishedFile {
            file_name: file.file_name.clone(),
            integrity: format!("sha256:{}", digests.sha256_hex),
        }],
        already_present,
    };

    let entry_url = format!("{index}{}", index_path(name));
    let present = indexed_cksum(ctx, &entry_url, version).await?;
    if check_existing(present, name, version, &digests.sha256_hex)? {
        return Ok(published(true));
    }

    let to_crates_io = api.starts_with("https://crates.io/");
    let metadata =
        super::cargo_metadata::publish_metadata(manifest, readme.as_deref(), to_crates_io);
    let json = serde_json::to_vec(&metadata).map_err(|e| PublishError::Permanent {
        detail: format!("cargo: cannot build the publish metadata: {e}"),
    })?;
    let json_len = u32::try_from(json.len()).map_err(|_| PublishError::Permanent {
        detail: "cargo: the publish metadata is larger than 4 GiB".to_owned(),
    })?;
    let crate_len = u32::try_from(digests.len).map_err(|_| PublishError::Permanent {
        detail: format!("cargo: {} is larger than 4 GiB", file.file_name),
    })?;
    let mut prefix = Vec::with_capacity(json.len() + 8);
    prefix.extend_from_slice(&json_len.to_le_bytes());
    prefix.extend_from_slice(&json);
    prefix.extend_from_slice(&crate_len.to_le_bytes());
    let content_length = prefix.len() as u64 + digests.len;
    let body = http::file_body(file, prefix, Encoding::Raw, Vec::new());
    let url = format!("{api}api/v1/crates/new");
    let what = "cargo: publishing";
    let response = ctx
        .client
        .put(&url)
        .header("authorization", ctx.credential.secret())
        .header("content-type", "application/octet-stream")
        .header("content-length", content_length)
        .body(body)
        .send()
        .await
        .map_err(|e| http::send_failed(what, &e, ctx.credential))?;
    let status = response.status();
    let answer = http::read_body(what, response, ctx.credential).await?;
    // Registries answer errors as {"errors":[{"detail":...}]}, some with status 200.
    let errors: Vec<String> = serde_json::from_slice::<Value>(&answer)
        .ok()
        .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            e.get("detail")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    if status.is_success() && errors.is_empty() {
        return Ok(published(false));
    }
    // A duplicate refused: the index decides between "already there" and "conflict".
    if let Ok(present) = indexed_cksum(ctx, &entry_url, version).await {
        match check_existing(present, name, version, &digests.sha256_hex) {
            Ok(true) => return Ok(published(true)),
            Err(conflict) => return Err(conflict),
            Ok(false) => {}
        }
    }
    if status.is_success() {
        return Err(PublishError::Permanent {
            detail: ctx.credential.scrub(&format!(
                "{what}: {url} refused the crate: {}",
                errors.join("; ")
            )),
        });
    }
    Err(http::status_error(
        what,
        &url,
        status,
        &answer,
        ctx.credential,
    ))
}

#[cfg(test)]
mod tests {
    use super::index_path;

    #[test]
    fn sparse_index_paths() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Serde"), "se/rd/serde");
    }
}
