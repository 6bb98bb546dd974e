//! End-to-end tests: each runs the real `shipgate` binary in a temporary
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! directory. One test binary, one module per command group.

mod util;

mod help;
