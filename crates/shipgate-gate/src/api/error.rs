//! API errors: always `{"error": {"code", "message"}}` with a fitting status.
//! A refused credential always gets the same generic answer; the precise
//! reason goes to the server log (tracing) only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use shipgate_protocol::wire::{ErrorBody, ErrorDetail};

/// The one message a caller sees when a credential is refused.
pub const REFUSED_MESSAGE: &str = "the credentials were refused (the gate does not say why; its operator finds the reason in the server log)";

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: a credential was missing or refused. `reason` is logged, never sent.
    /// It may quote the token (its `alg`, an unverified `iss`), so it is
    /// escaped: a newline or an escape sequence in a forged token must not
    /// forge log lines or drive the operator's terminal.
    pub fn refused(reason: impl std::fmt::Display) -> Self {
        let reason = reason.to_string();
        tracing::warn!(reason = %shipgate_protocol::untrusted::escape_for_terminal(&reason), "credentials refused");
        crate::metrics::token_refused(&reason);
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", REFUSED_MESSAGE)
    }

    /// 422: the staged archives are not what the package's registry targets
    /// publish, or do not state the staged name and version.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "artifact_refused",
            message,
        )
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 409: the package's limits do not admit this staging now.
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "limit_exceeded", message)
    }

    /// A staging refused by the package's limits: 413 for a release larger
    /// than allowed, 409 `limit_exceeded` for what the package holds.
    pub fn limit_exceeded(package: &str, err: &crate::limits::LimitExceeded) -> Self {
        let message = format!("staging {package}: {err}");
        match err {
            crate::limits::LimitExceeded::ReleaseBytes { .. } => Self::too_large(message),
            _ => Self::limit(message),
        }
    }

    /// 413: the body or the release is larger than allowed.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 408: the client stopped sending in the middle of a request.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", message)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not allowed on this path (see /v1/openapi.json)",
        )
    }

    /// 503: a dependency (the CI provider's key endpoint) is unreachable.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        tracing::error!(detail = %shipgate_protocol::untrusted::escape_for_terminal(&detail), "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the gate cannot verify CI tokens right now (the CI provider's keys are unreachable); retry later",
        )
    }

    /// 503: the database cannot be reached; nothing was changed.
    pub fn database_unavailable(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        tracing::error!(detail = %shipgate_protocol::untrusted::escape_for_terminal(&detail), "database unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the gate cannot reach its database right now; nothing was changed, retry later",
        )
    }

    /// 501: this gate is not set up for the request (e.g. execution tokens
    /// when its `public_url` cannot be an OIDC issuer).
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", message)
    }

    /// 500: logs the detail, sends a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        tracing::error!(detail = %shipgate_protocol::untrusted::escape_for_terminal(&detail), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the gate operator can find the cause in the server log",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// A database that cannot be reached is a 503 (retry, perhaps on another
/// replica); anything else a storage layer returns is a 500.
impl From<crate::storage::StorageError> for ApiError {
    fn from(err: crate::storage::StorageError) -> Self {
        if err.is_unavailable() {
            Self::database_unavailable(err)
        } else {
            Self::internal(err)
        }
    }
}

/// A malformed package, version, maintainer or file name in a request.
impl From<shipgate_protocol::names::InvalidName> for ApiError {
    fn from(err: shipgate_protocol::names::InvalidName) -> Self {
        Self::bad_request(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code an error can carry is one the document lists.
    #[test]
    fn every_code_is_documented() {
        let errors = [
            ApiError::bad_request("x"),
            ApiError::refused("x"),
            ApiError::not_found("x"),
            ApiError::conflict("x"),
            ApiError::limit("x"),
            ApiError::too_large("x"),
            ApiError::timeout("x"),
            ApiError::method_not_allowed(),
            ApiError::unavailable("x"),
            ApiError::database_unavailable("x"),
            ApiError::not_implemented("x"),
            ApiError::internal("x"),
        ];
        for error in errors {
            assert!(
                shipgate_protocol::wire::ERROR_CODES.contains(&error.code),
                "{} is not in ERROR_CODES",
                error.code
            );
        }
    }
}
