//! `cargo +nightly fuzz run scenario`: see `tulipsim_sim::fuzzing::scenario` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulipsim_sim::fuzzing::scenario(data));
