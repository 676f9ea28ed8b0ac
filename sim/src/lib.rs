//! Generated asyncio programs for tulipsim.
//!
//! - [`scenario`]: a small asyncio program as data, with proptest and `arbitrary` generators;
//! - [`interp`]: runs a scenario on tulipsim and writes its canonical trace;
//! - [`python`]: writes the same scenario as a CPython 3.11 asyncio program that prints the same
//!   trace format, and runs it on the virtual-time loop in `sim/python/vloop.py`.
//!
//! The differential test (`tests/differential.rs`) and the `tulipsim-sim` CLI are built on these.

pub mod bugs;
pub mod differential;
pub mod explore;
pub mod fuzzing;
pub mod generate;
pub mod interp;
pub mod invariants;
pub mod python;
pub mod scenario;
pub mod workload;
