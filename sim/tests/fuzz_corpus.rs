//! The cargo-fuzz targets on stable: every committed corpus input and every saved crash
//! (`fuzz/corpus/<target>/`, `fuzz/artifacts/<target>/`) runs through the same function the
//! fuzzer calls, so CI covers the targets without nightly, and a crash once saved stays fixed.
//! A few hundred seeded random inputs per target run too.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use tulipsim_sim::fuzzing;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 3] = [
    ("schedule_explorer", fuzzing::schedule_explorer),
    ("scenario", fuzzing::scenario),
    ("api_misuse", fuzzing::api_misuse),
];

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn replay(target: &str, run: Target, files: &[PathBuf]) {
    for file in files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} fails (run `cargo +nightly fuzz run {target} {}` to see it)",
            file.display(),
            file.display()
        );
    }
}

#[test]
fn every_corpus_input_and_saved_crash_passes() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    for (target, run) in TARGETS {
        let corpus = inputs(&fuzz.join("corpus").join(target));
        assert!(
            corpus.len() >= 5,
            "{target}: the committed seed corpus is missing"
        );
        replay(target, run, &corpus);
        replay(target, run, &inputs(&fuzz.join("artifacts").join(target)));
    }
}

#[test]
fn seeded_random_inputs_pass() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    for (target, run) in TARGETS {
        for _ in 0..300 {
            let len = rng.random_range(0..200);
            let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target} fails on {data:?}");
        }
    }
}
