//! Module names and versions: short single words, so that they fit in a
//! manifest line and a minisign trusted comment without any quoting.

use std::fmt;

use crate::limits::MAX_LABEL_BYTES;

/// Why a name or version is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// Empty.
    #[error("is empty")]
    Empty,
    /// Longer than [`MAX_LABEL_BYTES`].
    #[error("is longer than {MAX_LABEL_BYTES} bytes")]
    TooLong,
    /// Contains whitespace or a control character.
    #[error("{0:?} contains whitespace or a control character")]
    Whitespace(String),
}

fn check_label(text: &str) -> Result<(), LabelError> {
    if text.is_empty() {
        return Err(LabelError::Empty);
    }
    if text.len() > MAX_LABEL_BYTES {
        return Err(LabelError::TooLong);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(LabelError::Whitespace(text.to_string()));
    }
    Ok(())
}

macro_rules! label_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `text`: 1 to 128 bytes, no whitespace, no control characters.
            pub fn new(text: impl Into<String>) -> Result<Self, LabelError> {
                let text = text.into();
                check_label(&text)?;
                Ok(Self(text))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    };
}

label_type!(
    /// A module's name (by default its directory name).
    ModuleName
);
label_type!(
    /// A module's version (by default `0.0.0`). Any single word is accepted;
    /// `sign --bump` needs a semantic version.
    ModuleVersion
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_single_words() {
        assert!(ModuleName::new("@scope/pkg").is_ok());
        assert!(ModuleVersion::new("1.2.3-rc.1+build.5").is_ok());
        assert_eq!(ModuleName::new(""), Err(LabelError::Empty));
        assert!(ModuleName::new("two words").is_err());
        assert!(ModuleName::new("tab\there").is_err());
        assert!(ModuleVersion::new("1.0\n").is_err());
        assert_eq!(ModuleName::new("x".repeat(129)), Err(LabelError::TooLong));
    }
}
