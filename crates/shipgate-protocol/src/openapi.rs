//! OpenAPI schemas for the string shapes the API bodies and paths share
//! (built with the `openapi` feature; the gate generates its document from
//! them, the client never links this).
//!
//! Each is a named component with the exact rule the gate enforces, so a
//! generated request is valid exactly when the gate accepts its shape; the
//! patterns live next to the checks they describe ([`crate::names`]) and a
//! test there keeps the two in agreement.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

use crate::names;

fn string(
    pattern: &str,
    min: Option<usize>,
    max: Option<usize>,
    description: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(min)
        .max_length(max)
        .description(Some(description))
        .into()
}

/// Declares a named string schema.
macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

string_schema!(
    /// A lowercase hex SHA-256 digest.
    Sha256Hex => string(names::SHA256_HEX_PATTERN, None, None, "Lowercase hex SHA-256 (64 digits).")
);
string_schema!(
    /// A release id in a path or query: a positive integer in plain digits.
    ReleaseIdText => string(
        names::RELEASE_ID_PATTERN,
        None,
        None,
        "A release id: a positive integer written in plain digits (no sign, no leading zero).",
    )
);
string_schema!(
    /// A package name.
    PackageName => string(names::PACKAGE_PATTERN, None, None, "A package name.")
);
string_schema!(
    /// A version.
    VersionName => string(names::VERSION_PATTERN, None, None, "A version.")
);
string_schema!(
    /// A staged file name.
    FileName => string(
        names::FILE_PATTERN,
        Some(1),
        Some(names::MAX_FILE_NAME),
        "A file name: ASCII letters, digits and . _ - + ~ @ = , ( ) [ ], not only dots, at most 255 bytes.",
    )
);
string_schema!(
    /// A TOTP code.
    TotpCode => string(names::TOTP_CODE_PATTERN, None, None, "The maintainer's current TOTP code (8 digits).")
);
string_schema!(
    /// A rejection reason.
    RejectReason => string(
        names::REJECT_REASON_PATTERN,
        Some(1),
        Some(names::MAX_REJECT_REASON),
        "Why the release is rejected: at most 2000 bytes, not only white space; line breaks are fine, other control and invisible formatting characters are refused.",
    )
);
string_schema!(
    /// An API error code.
    ErrorCode => ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::wire::ERROR_CODES.iter().copied()))
        .description(Some("Machine-readable error code."))
        .into()
);
string_schema!(
    /// Bytes of a file part.
    Binary => ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("binary".into())))
        .into()
);
string_schema!(
    /// The `limit` of a releases page: 1 to [`crate::wire::RELEASES_PAGE_MAX`].
    PageLimit => string(
        PAGE_LIMIT_PATTERN,
        None,
        None,
        "A whole number from 1 to 500 in plain digits.",
    )
);

/// 1 to 500 in plain digits (a test checks it against `RELEASES_PAGE_MAX`).
const PAGE_LIMIT_PATTERN: &str = "^([1-9][0-9]?|[1-4][0-9]{2}|500)$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_limit_pattern_is_the_page_range() {
        let re = regex::Regex::new(PAGE_LIMIT_PATTERN).unwrap();
        for n in 0..=1000u32 {
            let ok = (1..=crate::wire::RELEASES_PAGE_MAX).contains(&n);
            assert_eq!(re.is_match(&n.to_string()), ok, "{n}");
        }
        assert!(!re.is_match("01"));
    }
}
