//! Ports of CPython 3.11's own asyncio tests (`Lib/test/test_asyncio`), case by case.
//!
//! One test binary for the folder (as shuttle's tests are laid out): `cargo test --test cpython`.

#[path = "../common/mod.rs"]
mod common;

mod taskgroups;
mod tasks;
mod timeouts;
mod wait_for;
