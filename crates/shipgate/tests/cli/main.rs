//! End-to-end tests: each runs the real `shipgate` binary in a temporary
//! directory. One test binary, one module per command group.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

mod actions;
mod audit;
mod client_limits;
mod execution;
mod fake_gate;
mod fetch_safety;
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
mod gate_scale;
mod gate_scale_drills;
mod gate_util;
mod help;
mod home;
mod json_and_messages;
mod oidc;
mod openapi_contract;
mod ops_backup;
mod ops_health;
mod ops_packaging;
mod ops_serve;
mod ops_tls;
mod ops_util;
mod pg_util;
mod publish_bench;
mod publish_cargo;
mod publish_download;
mod publish_npm;
mod publish_pypi;
mod publish_util;
mod signing;
mod terminal;
