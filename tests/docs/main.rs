//! What the documentation promises: doc examples on every public item, the examples, the
//! guide's listings, trace snapshots and pictures.
//!
//! One test binary for the folder (as shuttle's tests are laid out): `cargo test --test docs`.

#[path = "../common/mod.rs"]
mod common;

mod doc_examples;
mod examples;
mod guide;
mod layering;
mod snapshots;
mod trace_pictures;
