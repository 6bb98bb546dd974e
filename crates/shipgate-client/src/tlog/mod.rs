//! The client side of the gate's transparency log.
//!
//! - [`audit`]: what `shipgate fetch` and `shipgate log verify` check.
//! - [`replay`]: what the log means (the rules the entries audit checks).
//! - `passkeys`: the passkey credentials and decisions within that replay.
//! - [`saved`]: the checkpoints a client remembers per gate.
//! - [`witnesses`]: the witness cosignatures a client requires.

pub mod audit;
mod passkeys;
pub mod replay;
pub mod saved;
pub mod witnesses;
