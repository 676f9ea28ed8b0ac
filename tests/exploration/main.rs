//! Exploration: policies, faults, the harness (`check`, replay, shrinking), `#[tulipsim::test]`,
//! and the harness's promise never to report a false result.
//!
//! One test binary for the folder (as shuttle's tests are laid out): `cargo test --test exploration`.

#[path = "../common/mod.rs"]
mod common;

mod faults;
mod harness;
mod policies;
mod test_attribute;
mod trust;
