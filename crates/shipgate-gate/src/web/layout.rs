//! The frame every page shares: head (CSP-friendly: external CSS and script
//! only), the header with the signed-in maintainer, and the content.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use super::assets;

/// Who is looking at the page, when signed in.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The maintainer's name.
    pub maintainer: &'a str,
    /// Their session's CSRF token (for the script and the sign-out form).
    pub csrf: &'a str,
}

/// A whole page.
pub fn page(title: &str, viewer: Option<Viewer<'_>>, content: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                @if let Some(v) = viewer {
                    meta name="shipgate-csrf" content=(v.csrf);
                }
                title { (title) " · shipgate" }
                link rel="stylesheet" href=(assets::style_path());
                script src=(assets::script_path()) defer {}
            }
            body {
                header {
                    a class="brand" href="/" { "shipgate" }
                    nav aria-label="Account" {
                        @match viewer {
                            Some(v) => {
                                span { "Signed in as " strong { (v.maintainer) } " " }
                                form method="post" action="/signout" {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button type="submit" { "Sign out" }
                                }
                            }
                            None => { a href="/signin" { "Maintainer sign-in" } }
                        }
                    }
                }
                main id="content" { (content) }
                footer {
                    p id="status" class="status" role="status" aria-live="polite" {}
                }
            }
        }
    };
    Html(markup.into_string())
}

/// A Unix time as UTC text.
pub fn time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(time(0), "1970-01-01 00:00 UTC");
        assert_eq!(time(1_780_000_000), "2026-05-28 20:26 UTC");
    }

    #[test]
    fn gate_supplied_text_is_escaped() {
        let Html(body) = page("<script>x</script>", None, html! { p { ("<b>\"&") } });
        assert!(!body.contains("<script>x"));
        assert!(body.contains("&lt;script&gt;x"));
        assert!(body.contains("&lt;b&gt;&quot;&amp;"));
    }
}
