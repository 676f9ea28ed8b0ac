//! `cargo +nightly fuzz run api_misuse`: see `tulipsim_sim::fuzzing::api_misuse` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulipsim_sim::fuzzing::api_misuse(data));
