//! Python package indexes: the legacy upload API (`:action=file_upload` multipart, as
//! twine sends it), Basic auth `__token__:<token>`; what the index holds is read from its
//! simple index (`#sha256=` fragments).

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use super::http::{self, Encoding};
use super::{Context, PublishError, PublishFile, Published, PublishedFile, Target, base_url};
use crate::TargetKind;
use crate::artifact::python_meta::CoreMetadata;
use crate::artifact::{ArtifactFormat, Metadata};

/// The simple index for an upload URL.
fn index_url(target: &Target) -> String {
    if let Some(index) = &target.index {
        return base_url(index);
    }
    let registry = target.registry.trim_end_matches('/');
    match registry {
        "https://upload.pypi.org/legacy" => "https://pypi.org/simple/".to_owned(),
        "https://test.pypi.org/legacy" => "https://test.pypi.org/simple/".to_owned(),
        other => format!("{other}/simple/"),
    }
}

/// The files a simple index page lists, with their SHA-256 when given.
fn listed_files(page: &str) -> Vec<(String, Option<String>)> {
    let mut files = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("href=") {
        rest = &rest[at + 5..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        rest = &rest[1..];
        let Some(end) = rest.find(quote) else { break };
        let href = rest[..end].replace("&amp;", "&");
        rest = &rest[end..];
        let (location, fragment) = href.split_once('#').unwrap_or((&href, ""));
        let location = location.split('?').next().unwrap_or(location);
        let file = location.rsplit('/').next().unwrap_or(location);
        let file = percent_encoding::percent_decode_str(file)
            .decode_utf8_lossy()
            .into_owned();
        let sha256 = fragment
            .strip_prefix("sha256=")
            .map(str::to_ascii_lowercase);
        files.push((file, sha256));
    }
    files
}

/// The index's listing of the project: file name to SHA-256 (`None`: project unknown).
async fn listing(
    ctx: &Context<'_>,
    project_url: &str,
) -> Result<Option<Vec<(String, Option<String>)>>, PublishError> {
    let what = "PyPI: reading the simple index";
    let response = ctx
        .client
        .get(project_url)
        .header("accept", "text/html")
        .send()
        .await
        .map_err(|e| http::send_failed(what, &e, ctx.credential))?;
    let status = response.status();
    // pypiserver sends projects it does not host to its upstream (a 303 to pypi.org).
    if status == StatusCode::NOT_FOUND || status.is_redirection() {
        return Ok(None);
    }
    let body = http::read_body(what, response, ctx.credential).await?;
    if !status.is_success() {
        return Err(http::status_error(
            what,
            project_url,
            status,
            &body,
            ctx.credential,
        ));
    }
    let page = String::from_utf8(body.clone())
        .map_err(|_| http::garbage(what, project_url, "not UTF-8", &body, ctx.credential))?;
    Ok(Some(listed_files(&page)))
}

/// Whether the index holds the file with these bytes; a conflict when with other bytes.
fn already_there(
    listing: &Option<Vec<(String, Option<String>)>>,
    file_name: &str,
    sha256: &str,
    project_url: &str,
) -> Result<bool, PublishError> {
    let Some(files) = listing else {
        return Ok(false);
    };
    match files.iter().find(|(name, _)| name == file_name) {
        None => Ok(false),
        Some((_, Some(theirs))) if theirs == sha256 => Ok(true),
        Some((_, theirs)) => Err(PublishError::Conflict {
            detail: format!(
                "PyPI: {file_name} is already on {project_url} with other bytes \
                 (index: {}, ours: sha256:{sha256})",
                theirs
                    .as_deref()
                    .map_or("no sha256 listed".to_owned(), |t| format!("sha256:{t}"))
            ),
        }),
    }
}

/// Core metadata field name to the form field twine sends it as.
fn form_field(field: &str) -> String {
    match field.to_ascii_lowercase().as_str() {
        "classifier" => "classifiers".to_owned(),
        "project-url" => "project_urls".to_owned(),
        "home-page" => "home_page".to_owned(),
        "description" => "description".to_owned(),
        other => other.replace('-', "_"),
    }
}

fn metadata_form(metadata: &CoreMetadata) -> Form {
    let mut form = Form::new();
    for (field, value) in &metadata.fields {
        // The description is sent once, from the body when there is one.
        if field.eq_ignore_ascii_case("Description") {
            continue;
        }
        form = form.text(form_field(field), value.clone());
    }
    if let Some(description) = &metadata.description {
        form = form.text("description", description.clone());
    }
    form
}

pub(super) async fn publish(
    ctx: &Context<'_>,
    target: &Target,
    files: &[PublishFile],
) -> Result<Published, PublishError> {
    let index = index_url(target);
    // Read and check everything before uploading anything.
    let mut prepared = Vec::new();
    let mut project: Option<String> = None;
    for file in files {
        let digests = http::digests(file).await?;
        let artifact = super::read_artifact(TargetKind::Pypi, file, ctx.limits).await?;
        if let Some(seen) = &project
            && *seen != artifact.info.normalized_name
        {
            return Err(PublishError::Permanent {
                detail: format!(
                    "PyPI: {} is for {}, the other files for {seen}",
                    file.file_name, artifact.info.normalized_name
                ),
            });
        }
        project = Some(artifact.info.normalized_name.clone());
        prepared.push((file, digests, artifact));
    }
    let project = project.unwrap_or_default();
    let project_url = format!("{index}{project}/");
    let before = listing(ctx, &project_url).await?;
    let mut results = Vec::new();
    let mut sent_any = false;
    for (file, digests, artifact) in prepared {
        let present = already_there(&before, &file.file_name, &digests.sha256_hex, &project_url)?;
        results.push((file, digests, artifact, present));
    }
    for (file, digests, artifact, present) in &results {
        if *present {
            continue;
        }
        upload(ctx, target, file, digests, artifact, &project_url).await?;
        sent_any = true;
    }
    Ok(Published {
        url: project_url,
        files: results
            .iter()
            .map(|(file, digests, _, _)| PublishedFile {
                file_name: file.file_name.clone(),
                integrity: format!("sha256:{}", digests.sha256_hex),
            })
            .collect(),
        already_present: !sent_any,
    })
}

async fn upload(
    ctx: &Context<'_>,
    target: &Target,
    file: &PublishFile,
    digests: &http::Digests,
    artifact: &crate::artifact::ReadArtifact,
    project_url: &str,
) -> Result<(), PublishError> {
    let Metadata::Python(metadata) = &artifact.metadata else {
        return Err(PublishError::Permanent {
            detail: format!("{}: not a Python artifact", file.file_name),
        });
    };
    let (filetype, pyversion) = match artifact.info.format {
        ArtifactFormat::Wheel => {
            let name = crate::artifact::wheel_python_tag(&file.file_name)?;
            ("bdist_wheel", name)
        }
        _ => ("sdist", "source".to_owned()),
    };
    let content = Part::stream_with_length(
        http::file_body(file, Vec::new(), Encoding::Raw, Vec::new()),
        digests.len,
    )
    .file_name(file.file_name.clone())
    .mime_str("application/octet-stream")
    .map_err(|e| PublishError::Permanent {
        detail: format!("PyPI: cannot build the upload: {e}"),
    })?;
    let form = metadata_form(metadata)
        .text(":action", "file_upload")
        .text("protocol_version", "1")
        .text("filetype", filetype)
        .text("pyversion", pyversion)
        .text("sha256_digest", digests.sha256_hex.clone())
        .part("content", content);
    let (user, password) = ctx.credential.pypi_basic();
    let url = base_url(&target.registry);
    let what = "PyPI: uploading";
    let response = ctx
        .client
        .post(&url)
        .basic_auth(user, Some(password))
        .multipart(form)
        .send()
        .await
        .map_err(|e| http::send_failed(what, &e, ctx.credential))?;
    let status = response.status();
    let answer = http::read_body(what, response, ctx.credential).await?;
    if status.is_success() {
        return Ok(());
    }
    // "File already exists" (PyPI 400, pypiserver 409): the index's listing decides.
    if (status == StatusCode::CONFLICT || status == StatusCode::BAD_REQUEST)
        && let Ok(now) = listing(ctx, project_url).await
    {
        match already_there(&now, &file.file_name, &digests.sha256_hex, project_url) {
            Ok(true) => return Ok(()),
            Err(conflict) => return Err(conflict),
            Ok(false) => {}
        }
    }
    Err(http::status_error(
        &format!("{what} {}", file.file_name),
        &url,
        status,
        &answer,
        ctx.credential,
    ))
}

#[cfg(test)]
mod tests {
    use super::listed_files;

    #[test]
    fn reads_pypiserver_and_warehouse_links() {
        let page = r#"<a href="../../packages/demo-1.0.tar.gz#sha256=ABCD">demo-1.0.tar.gz</a>
            <a href='https://files.example/p/demo-1.0-py3-none-any.whl#sha256=ef01' data-requires-python="">x</a>
            <a href="demo%2B-1.0.zip">y</a>"#;
        let files = listed_files(page);
        assert_eq!(
            files[0],
            ("demo-1.0.tar.gz".to_owned(), Some("abcd".to_owned()))
        );
        assert_eq!(
            files[1],
            (
                "demo-1.0-py3-none-any.whl".to_owned(),
                Some("ef01".to_owned())
            )
        );
        assert_eq!(files[2], ("demo+-1.0.zip".to_owned(), None));
    }
}
