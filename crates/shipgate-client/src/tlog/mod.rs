//! The client side of the gate's transparency log.
//!
//! - [`audit`]: what `shipgate fetch` and `shipgate log verify` check.
//! - [`saved`]: the checkpoints a client remembers per gate.

pub mod audit;
pub mod saved;
