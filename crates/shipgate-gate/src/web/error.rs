//! How the review pages refuse: a short page (or, for the script's
//! requests, `{"error": "..."}`) with one line saying why. The precise
//! reason of a refused credential goes to the server log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::layout;

/// A refusal or failure of a page or a ceremony.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    message: String,
    json: bool,
}

impl WebError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            json: false,
        }
    }

    /// Answers as JSON (for the script's `fetch` calls).
    pub fn json(mut self) -> Self {
        self.json = true;
        self
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403: refused; `log` says why, in the server log only.
    pub fn refused(log: impl std::fmt::Display) -> Self {
        tracing::warn!(reason = %log, "review pages: refused");
        Self::new(StatusCode::FORBIDDEN, "refused")
    }

    /// 403 with a reason the caller may see (no credential detail in it).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the state does not allow it (already decided, already approved).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 500: the cause is logged, the caller learns nothing more.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "review pages: internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error (the cause is in the gate's log)",
        )
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<crate::storage::StorageError> for WebError {
    fn from(err: crate::storage::StorageError) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if self.json {
            let body = serde_json::json!({ "error": self.message });
            return (self.status, Json(body)).into_response();
        }
        let title = self.status.canonical_reason().unwrap_or("Error");
        let page = layout::page(
            title,
            None,
            maud::html! {
                h1 { (title) }
                p { (self.message) }
                p { a href="/" { "Back to the packages" } }
            },
        );
        (self.status, page).into_response()
    }
}
