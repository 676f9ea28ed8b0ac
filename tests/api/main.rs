//! The event loop and the synchronisation primitives as a program uses them: the loop's API,
//! locks, queues, task functions, misuse, foreign futures, leaks and panics.
//!
//! One test binary for the folder (as shuttle's tests are laid out): `cargo test --test api`.

#[path = "../common/mod.rs"]
mod common;

mod event_loop;
mod foreign;
mod leaks;
mod locks;
mod misuse;
mod panics;
mod queues;
mod task_functions;
