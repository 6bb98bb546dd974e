//! npm registries: `PUT /<name>` with the publish document (the version's `package.json`
//! with `dist`, the dist-tag, and the tarball as a base64 attachment), bearer token.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use super::http::{self, Encoding};
use super::{Context, PublishError, PublishFile, Published, PublishedFile, Target, base_url};
use crate::TargetKind;
use crate::artifact::Metadata;

/// `@scope/name` becomes `@scope%2fname` in paths, as npm sends it.
fn escaped_name(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

/// A string from the package's `publishConfig`.
fn publish_config(manifest: &Map<String, Value>, key: &str) -> Option<String> {
    manifest
        .get("publishConfig")
        .and_then(|c| c.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// What the registry says about one version, if it has it.
async fn existing_integrity(
    ctx: &Context<'_>,
    package_url: &str,
    version: &str,
) -> Result<Option<(Option<String>, Option<String>)>, PublishError> {
    let what = "npm: reading the package document";
    let response = ctx
        .client
        .get(package_url)
        .bearer_auth(ctx.credential.secret())
        .header(
            "accept",
            "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8",
        )
        .send()
        .await
        .map_err(|e| http::send_failed(what, &e, ctx.credential))?;
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let body = http::read_body(what, response, ctx.credential).await?;
    if !status.is_success() {
        return Err(http::status_error(
            what,
            package_url,
            status,
            &body,
            ctx.credential,
        ));
    }
    let document: Value = serde_json::from_slice(&body)
        .map_err(|e| http::garbage(what, package_url, &e.to_string(), &body, ctx.credential))?;
    let Some(versions) = document.get("versions").and_then(Value::as_object) else {
        return Err(http::garbage(
            what,
            package_url,
            "no versions object",
            &body,
            ctx.credential,
        ));
    };
    Ok(versions.get(version).map(|v| {
        let dist = v.get("dist");
        let field = |k: &str| {
            dist.and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        (field("integrity"), field("shasum"))
    }))
}

/// Already there with these bytes (`Some`), absent (`None`), or there with other bytes.
async fn check_existing(
    ctx: &Context<'_>,
    package_url: &str,
    name: &str,
    version: &str,
    integrity: &str,
    shasum: &str,
) -> Result<bool, PublishError> {
    match existing_integrity(ctx, package_url, version).await? {
        None => Ok(false),
        Some((their_integrity, their_shasum)) => {
            let same = match (&their_integrity, &their_shasum) {
                (Some(i), _) if i.starts_with("sha512-") => i == integrity,
                (_, Some(s)) => s.eq_ignore_ascii_case(shasum),
                _ => false,
            };
            if same {
                Ok(true)
            } else {
                Err(PublishError::Conflict {
                    detail: format!(
                        "npm: {name}@{version} is already published with other bytes \
                         (registry: {}, ours: {integrity})",
                        their_integrity
                            .or(their_shasum)
                            .unwrap_or_else(|| "no digest".to_owned())
                    ),
                })
            }
        }
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
                "npm publishes exactly one tarball, got {} files",
                files.len()
            ),
        });
    };
    let digests = http::digests(file).await?;
    let artifact = super::read_artifact(TargetKind::Npm, file, ctx.limits).await?;
    let Metadata::Npm(manifest) = artifact.metadata else {
        return Err(PublishError::Permanent {
            detail: format!("{}: not an npm tarball", file.file_name),
        });
    };
    let name = artifact.info.name;
    let version = artifact.info.version;
    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(&digests.sha512)
    );
    let registry = base_url(&target.registry);
    let package_url = format!("{registry}{}", escaped_name(&name));
    let unscoped = name.rsplit('/').next().unwrap_or(&name);
    let tarball_url = format!("{registry}{name}/-/{unscoped}-{version}.tgz");
    let published = |already_present| Published {
        url: tarball_url.clone(),
        files: vec![PublishedFile {
            file_name: file.file_name.clone(),
            integrity: integrity.clone(),
        }],
        already_present,
    };

    if check_existing(
        ctx,
        &package_url,
        &name,
        &version,
        &integrity,
        &digests.sha1_hex,
    )
    .await?
    {
        return Ok(published(true));
    }

    // The target's tag, else the package's own `publishConfig.tag`, else `latest`.
    let tag = target
        .tag
        .clone()
        .or_else(|| publish_config(&manifest, "tag"))
        .unwrap_or_else(|| "latest".to_owned());
    let attachment_name = format!("{name}-{version}.tgz");
    let (prefix, suffix) = document(
        &manifest,
        &name,
        &version,
        &tag,
        &tarball_url,
        &integrity,
        &digests.sha1_hex,
        &attachment_name,
        digests.len,
    )?;
    let content_length = prefix.len() as u64 + http::base64_len(digests.len) + suffix.len() as u64;
    let body = http::file_body(file, prefix, Encoding::Base64, suffix);
    let what = "npm: publishing";
    let response = ctx
        .client
        .put(&package_url)
        .bearer_auth(ctx.credential.secret())
        .header("content-type", "application/json")
        .header("content-length", content_length)
        .header("npm-command", "publish")
        .body(body)
        .send()
        .await
        .map_err(|e| http::send_failed(what, &e, ctx.credential))?;
    let status = response.status();
    let answer = http::read_body(what, response, ctx.credential).await?;
    if status.is_success() {
        return Ok(published(false));
    }
    // Another publish may have won the race: the registry's state decides.
    if status == StatusCode::CONFLICT || status == StatusCode::FORBIDDEN {
        let again = check_existing(
            ctx,
            &package_url,
            &name,
            &version,
            &integrity,
            &digests.sha1_hex,
        )
        .await;
        match again {
            Ok(true) => return Ok(published(true)),
            Err(conflict @ PublishError::Conflict { .. }) => return Err(conflict),
            _ => {}
        }
    }
    Err(http::status_error(
        what,
        &package_url,
        status,
        &answer,
        ctx.credential,
    ))
}

/// The publish document split around the attachment's base64 data, which is streamed
/// between the two halves.
#[allow(clippy::too_many_arguments)]
fn document(
    manifest: &Map<String, Value>,
    name: &str,
    version: &str,
    tag: &str,
    tarball_url: &str,
    integrity: &str,
    shasum: &str,
    attachment_name: &str,
    length: u64,
) -> Result<(Vec<u8>, Vec<u8>), PublishError> {
    let mut version_doc = manifest.clone();
    version_doc.insert("_id".to_owned(), json!(format!("{name}@{version}")));
    version_doc.insert(
        "dist".to_owned(),
        json!({ "integrity": integrity, "shasum": shasum, "tarball": tarball_url }),
    );
    let mut root = Map::new();
    root.insert("_id".to_owned(), json!(name));
    root.insert("name".to_owned(), json!(name));
    if let Some(description) = manifest.get("description") {
        root.insert("description".to_owned(), description.clone());
    }
    root.insert("dist-tags".to_owned(), json!({ tag: version }));
    root.insert(
        "versions".to_owned(),
        json!({ version: Value::Object(version_doc) }),
    );
    // npm sends `publishConfig.access` (a scoped package is private unless "public").
    root.insert(
        "access".to_owned(),
        publish_config(manifest, "access").map_or(Value::Null, Value::String),
    );
    let head =
        serde_json::to_string(&Value::Object(root)).map_err(|e| PublishError::Permanent {
            detail: format!("npm: cannot build the publish document: {e}"),
        })?;
    // `head` ends with the root object's `}`: reopen it for `_attachments`.
    let head = head.strip_suffix('}').unwrap_or(&head);
    let key = serde_json::to_string(attachment_name).map_err(|e| PublishError::Permanent {
        detail: format!("npm: cannot build the publish document: {e}"),
    })?;
    let prefix = format!(
        "{head},\"_attachments\":{{{key}:{{\"content_type\":\"application/octet-stream\",\"length\":{length},\"data\":\""
    );
    Ok((prefix.into_bytes(), b"\"}}}".to_vec()))
}
