//! Orderings checked against CPython: each test's log equals the `.expected` output of the
//! Python program of the same name in `programs/`, which CPython 3.11 printed.
//!
//! One test binary for the folder (as shuttle's tests are laid out): `cargo test --test oracle`.

#[path = "../common/mod.rs"]
mod common;

mod orderings;
mod sync;
mod tasks;
