//! `cargo +nightly fuzz run schedule_explorer`: see `tulipsim_sim::fuzzing::schedule_explorer` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulipsim_sim::fuzzing::schedule_explorer(data));
