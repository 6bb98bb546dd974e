//! Content-addressed blob storage (see [`dir`]).

mod dir;

pub use dir::*;
