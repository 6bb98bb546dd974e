//! GitHub Actions workflow audit: workflow model, one file per rule, reporters.
