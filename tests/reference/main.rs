//! The 2014 asyncio reference text (tasks, futures, task functions), example by example.
//!
//! One test binary for the folder (as shuttle's tests are laid out): `cargo test --test reference`.

#[path = "../common/mod.rs"]
mod common;

mod functions;
mod future;
mod task;
