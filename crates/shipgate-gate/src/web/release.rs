//! `GET /releases/{id}`: everything a reviewer needs before deciding —
//! provenance (linked to the CI run), files with sizes and digests, what
//! changed since the previous release (files, and what the archives declare:
//! install scripts loudly), the approvals so far and the release's log
//! events. Signed-in maintainers of the package also get the staged files
//! and the decision forms.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Html;
use maud::{Markup, html};
use serde_json::Value;
use shipgate_protocol::wire::{ArtifactReview, Diff};

use super::WebError;
use super::guard;
use super::index::state_badge;
use super::layout::{self, Viewer};
use crate::api::AppState;
use crate::storage::{Event, ReleaseDetail, ReleaseState};

/// A release id from the path: plain digits, positive.
pub fn release_id(path: Result<Path<String>, PathRejection>) -> Result<i64, WebError> {
    let Path(raw) = path.map_err(|e| WebError::bad_request(e.body_text()))?;
    let digits = !raw.is_empty() && raw.len() <= 18 && raw.bytes().all(|b| b.is_ascii_digit());
    raw.parse::<i64>()
        .ok()
        .filter(|id| digits && *id > 0 && !raw.starts_with('0'))
        .ok_or_else(|| WebError::bad_request("the release id must be a positive number"))
}

/// True when the provenance is GitHub-shaped, so its parts can be linked.
fn github(detail: &ReleaseDetail) -> bool {
    let p = &detail.provenance;
    let repo_ok = p.repository.split('/').count() == 2
        && p.repository
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    repo_ok
        && (p.issuer == "https://token.actions.githubusercontent.com"
            || p.workflow.contains("/.github/workflows/"))
}

fn provenance(detail: &ReleaseDetail) -> Markup {
    let p = &detail.provenance;
    let linked = github(detail);
    let base = format!("https://github.com/{}", p.repository);
    let workflow_path = p
        .workflow
        .split_once("/.github/")
        .map(|(_, rest)| format!(".github/{}", rest.split('@').next().unwrap_or(rest)));
    let commit_ok = p.commit_sha.bytes().all(|b| b.is_ascii_hexdigit());
    let run_ok = p.run_id.bytes().all(|b| b.is_ascii_digit()) && !p.run_id.is_empty();
    html! {
        dl {
            dt { "Repository" }
            dd { @if linked { a href=(base) rel="noopener noreferrer" { (p.repository) } } @else { (p.repository) } }
            dt { "Workflow" }
            dd {
                @match (&workflow_path, linked && commit_ok) {
                    (Some(path), true) => { a href={ (base) "/blob/" (p.commit_sha) "/" (path) } rel="noopener noreferrer" { code { (p.workflow) } } }
                    _ => { code { (p.workflow) } }
                }
            }
            dt { "Ref" }
            dd { code { (p.git_ref) } }
            dt { "Commit" }
            dd { @if linked && commit_ok { a href={ (base) "/commit/" (p.commit_sha) } rel="noopener noreferrer" { code { (p.commit_sha) } } } @else { code { (p.commit_sha) } } }
            dt { "Run" }
            dd { @if linked && run_ok { a href={ (base) "/actions/runs/" (p.run_id) } rel="noopener noreferrer" { (p.run_id) } } @else { (p.run_id) } }
            @if let Some(env) = &p.environment { dt { "Environment" } dd { (env) } }
            @if let Some(event) = &p.event_name { dt { "Event" } dd { (event) } }
            dt { "Identity" }
            dd { code { (p.subject) } " from " code { (p.issuer) } }
        }
    }
}

fn files(detail: &ReleaseDetail, downloads: bool) -> Markup {
    let id = detail.summary.id;
    html! {
        div class="scroll" {
            table {
                thead { tr { th scope="col" { "File" } th scope="col" { "Size (bytes)" } th scope="col" { "SHA-256" } } }
                tbody {
                    @for f in &detail.files {
                        tr {
                            td {
                                @if downloads {
                                    a href={ "/releases/" (id) "/files/" (utf8_percent(&f.path)) } download { (f.path) }
                                } @else { (f.path) }
                            }
                            td { (f.size) }
                            td class="digest" { (f.sha256) }
                        }
                    }
                }
            }
        }
        @if !downloads && detail.summary.state == ReleaseState::Staged {
            p { "Maintainers of this package can download the staged files after signing in." }
        }
    }
}

/// Percent-encodes a file name for a path segment.
fn utf8_percent(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn file_diff(diff: &Diff) -> Markup {
    html! {
        p {
            @match &diff.previous_version {
                Some(v) => { "Compared with the previous release, " strong { (v) } ": " }
                None => { "This is the package's first release: every file is new. " }
            }
            (diff.added.len()) " added, " (diff.changed.len()) " changed, "
            (diff.removed.len()) " removed, " (diff.unchanged) " unchanged."
        }
        @if !(diff.added.is_empty() && diff.changed.is_empty() && diff.removed.is_empty()) {
            div class="scroll" {
                table {
                    thead { tr { th scope="col" { "Change" } th scope="col" { "File" } th scope="col" { "Size" } } }
                    tbody {
                        @for f in &diff.added { tr { td { "added" } td { (f.path) } td { (f.size) } } }
                        @for f in &diff.changed { tr { td { "changed" } td { (f.path) } td { (f.old_size) " → " (f.new_size) } } }
                        @for f in &diff.removed { tr { td { "removed" } td { (f.path) } td { (f.size) } } }
                    }
                }
            }
        }
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn artifacts(review: &ArtifactReview) -> Markup {
    let loud: Vec<&Value> = review
        .changes
        .iter()
        .filter(|c| c.get("loud").and_then(Value::as_bool) == Some(true))
        .collect();
    html! {
        @if review.loud {
            div class="loud" role="alert" id="install-script-warning" {
                p { strong { "Warning: code that runs on the installer's machine was added or changed." } }
                ul {
                    @for c in &loud {
                        li {
                            (text(c.get("subject"))) " " code { (text(c.get("key"))) } " " (text(c.get("change")))
                            @if let Some(after) = c.get("after") { ": " code { (text(Some(after))) } }
                        }
                    }
                }
                p { "Read it before approving." }
            }
        }
        @if review.changes.is_empty() {
            p { "The archives declare the same scripts, dependencies and entry points as "
                @match &review.previous_version { Some(v) => { (v) } None => { "before" } } "." }
        } @else {
            div class="scroll" {
                table {
                    caption { "What the archives declare, against "
                        @match &review.previous_version { Some(v) => { (v) } None => { "nothing (first release)" } } }
                    thead { tr { th scope="col" { "What" } th scope="col" { "Name" } th scope="col" { "Change" } th scope="col" { "Before" } th scope="col" { "After" } } }
                    tbody {
                        @for c in &review.changes {
                            tr class=[(c.get("loud").and_then(Value::as_bool) == Some(true)).then_some("loud-row")] {
                                td { (text(c.get("subject"))) }
                                td { code { (text(c.get("key"))) } }
                                td { (text(c.get("change"))) }
                                td { code { (text(c.get("before"))) } }
                                td { code { (text(c.get("after"))) } }
                            }
                        }
                    }
                }
            }
        }
        @for f in &review.files {
            details {
                summary { (text(f.get("file_name"))) ": " (text(f.get("name"))) " " (text(f.get("version"))) " (" (text(f.get("kind"))) ")" }
                pre { code { (serde_json::to_string_pretty(f.get("declares").unwrap_or(&Value::Null)).unwrap_or_default()) } }
            }
        }
    }
}

fn events(events: &[Event]) -> Markup {
    html! {
        div class="scroll" {
            table {
                thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "By" } th scope="col" { "Second factor" } } }
                tbody {
                    @for e in events {
                        @let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
                        tr {
                            td { (e.seq) }
                            td { (layout::time(e.at)) }
                            td { (e.kind) }
                            td { (e.actor) }
                            td { (text(detail.get("approval"))) }
                        }
                    }
                }
            }
        }
    }
}

fn decision_forms(id: i64) -> Markup {
    let endpoint = format!("/releases/{id}/decision");
    html! {
        section aria-labelledby="decide" {
            h2 id="decide" { "Your decision" }
            p class="without-script" { "Deciding signs the release's manifest digest with your passkey, which needs JavaScript." }
            div class="decisions needs-script" hidden {
                form class="decision" id="approve" data-endpoint=(endpoint) data-decision="approve" {
                    p { "Approving signs this release's manifest digest with your passkey." }
                    button type="submit" { "Approve with passkey" }
                }
                form class="decision" id="reject" data-endpoint=(endpoint) data-decision="reject" {
                    label for="reason" { "Reason for rejecting" }
                    textarea id="reason" name="reason" required maxlength="2000" rows="3" {}
                    button type="submit" class="reject" { "Reject with passkey" }
                }
            }
        }
    }
}

/// `GET /releases/{id}`.
pub async fn page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    let id = release_id(path)?;
    let session = guard::session(&state, &headers).await?;
    let detail = state
        .db()
        .release(id)
        .await?
        .ok_or_else(|| WebError::not_found(format!("no release with id {id}")))?;
    let package = &detail.summary.package;
    let config = state.config().package(package);
    let quorum = config.map_or(0, |p| p.quorum);
    let previous = state.db().previous_released(package, id).await?;
    let diff = crate::diff::diff(previous, &detail.files);
    let review = match state.db().artifacts(id).await? {
        Some(json) => {
            let previous = state.db().previous_released_artifacts(package, id).await?;
            crate::artifacts::review(&json, previous)
        }
        None => None,
    };
    let release_events = state.db().release_events(id).await?;
    let maintainer_here = match &session {
        Some((_, s)) => {
            let listed = config.is_some_and(|p| p.maintainers.contains(&s.maintainer));
            let enrolled = state
                .db()
                .maintainer(&s.maintainer)
                .await?
                .is_some_and(|m| m.packages.contains(package));
            listed && enrolled
        }
        None => false,
    };
    let viewer = session.as_ref().map(|(_, s)| Viewer {
        maintainer: &s.maintainer,
        csrf: &s.csrf_token,
    });
    let staged = detail.summary.state == ReleaseState::Staged;
    let title = format!("{} {}", package, detail.summary.version);
    Ok(layout::page(
        &title,
        viewer,
        html! {
            h1 { (package) " " (detail.summary.version) " " (state_badge(detail.summary.state)) }
            p { "Release " (id) ", staged " (layout::time(detail.summary.created_at)) "."
                @if let Some(at) = detail.summary.decided_at { " Decided " (layout::time(at)) "." } }
            @if let Some(reason) = &detail.reject_reason { p { strong { "Rejected: " } (reason) } }
            @if let Some(review) = &review { @if review.loud { (artifacts_banner_anchor()) } }
            h2 { "Approvals" }
            p { (detail.approvals.len()) " of " (quorum) " needed." }
            @if !detail.approvals.is_empty() {
                ul { @for a in &detail.approvals { li { (a.maintainer) " at " (layout::time(a.approved_at)) } } }
            }
            @if staged && maintainer_here { (decision_forms(id)) }
            @if staged && session.is_none() { p { a href="/signin" { "Sign in" } " with your passkey to decide." } }
            h2 { "Provenance" }
            (provenance(&detail))
            h2 { "Files" }
            (files(&detail, maintainer_here))
            h2 { "Changes since the previous release" }
            (file_diff(&diff))
            @if let Some(review) = &review {
                h2 { "Archive contents" }
                (artifacts(review))
            }
            h2 { "Log events" }
            (events(&release_events))
        },
    ))
}

/// A short pointer at the top of the page to the loud warning below.
fn artifacts_banner_anchor() -> Markup {
    html! {
        p class="loud" { strong { "Install scripts changed" } " — see " a href="#install-script-warning" { "the warning under Archive contents" } "." }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_positive_numbers() {
        for ok in ["1", "42"] {
            assert!(release_id(Ok(Path(ok.into()))).is_ok());
        }
        for bad in [
            "0",
            "01",
            "-1",
            "+1",
            "1e3",
            "",
            "99999999999999999999",
            "１",
        ] {
            assert!(release_id(Ok(Path(bad.into()))).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names_are_percent_encoded() {
        assert_eq!(utf8_percent("a b/ü.tgz"), "a%20b%2F%C3%BC.tgz");
    }
}
