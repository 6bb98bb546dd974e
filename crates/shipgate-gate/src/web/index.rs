//! `GET /`: every package the gate serves, with its approval policy, the
//! releases waiting for a decision and the latest ones.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use maud::{Markup, html};
use shipgate_protocol::wire::ReleaseQuery;

use super::WebError;
use super::guard;
use super::layout::{self, Viewer};
use crate::api::AppState;
use crate::storage::{ReleaseState, ReleaseSummary};

/// Latest releases shown per package.
const RECENT: u32 = 10;

/// The state as a badge.
pub fn state_badge(state: ReleaseState) -> Markup {
    html! { span class="state" { (state.as_str()) } }
}

fn release_rows(releases: &[ReleaseSummary]) -> Markup {
    html! {
        div class="scroll" {
            table {
                thead { tr { th scope="col" { "Version" } th scope="col" { "State" } th scope="col" { "Staged" } } }
                tbody {
                    @for r in releases {
                        tr {
                            td { a href={ "/releases/" (r.id) } { (r.version) } }
                            td { (state_badge(r.state)) }
                            td { (layout::time(r.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    let session = guard::session(&state, &headers).await?;
    let mut sections = Vec::new();
    for package in &state.config().packages {
        let staged = state
            .db()
            .list_releases(&ReleaseQuery {
                state: Some(ReleaseState::Staged),
                package: Some(&package.name),
                before: None,
                limit: Some(100),
            })
            .await?;
        let recent = state
            .db()
            .list_releases(&ReleaseQuery {
                state: None,
                package: Some(&package.name),
                before: None,
                limit: Some(RECENT),
            })
            .await?;
        sections.push(html! {
            section aria-labelledby={ "pkg-" (package.name) } {
                h2 id={ "pkg-" (package.name) } { (package.name) }
                p {
                    (package.quorum) " approval(s) needed from: " (package.maintainers.join(", "))
                    ". Second factor: " (package.approval.as_str()) "."
                }
                h3 { "Waiting for a decision" }
                @if staged.is_empty() { p { "Nothing staged." } } @else { (release_rows(&staged)) }
                h3 { "Latest releases" }
                @if recent.is_empty() { p { "No releases yet." } } @else { (release_rows(&recent)) }
            }
        });
    }
    let viewer = session.as_ref().map(|(_, s)| Viewer {
        maintainer: &s.maintainer,
        csrf: &s.csrf_token,
    });
    Ok(layout::page(
        "Packages",
        viewer,
        html! {
            h1 { "Packages" }
            @if sections.is_empty() { p { "This gate serves no packages yet." } }
            @for s in &sections { (s) }
        },
    ))
}
