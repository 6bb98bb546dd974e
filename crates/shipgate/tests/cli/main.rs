//! End-to-end tests: each runs the real `shipgate` binary in a temporary
//! directory. One test binary, one module per command group.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

mod audit;
mod execution;
mod gate;
mod gate_at_rest;
mod gate_bruteforce;
mod gate_crash;
mod gate_deceptive;
mod gate_flow;
mod gate_limits;
mod gate_load;
mod gate_log;
mod gate_log_meaning;
mod gate_log_paging;
mod gate_matrix;
mod gate_quota;
mod gate_util;
mod help;
mod home;
mod oidc;
mod openapi_contract;
mod signing;
