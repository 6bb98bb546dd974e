//! The README's GitHub Actions example.
