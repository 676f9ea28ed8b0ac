//! Streams on the simulated network, with and without network faults.
//!
//! One test binary for the folder (as shuttle's tests are laid out): `cargo test --test streams`.

#[path = "../common/mod.rs"]
mod common;

mod faults;
mod streams;
