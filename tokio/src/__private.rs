//! What the macros expand to. Not a public API: it may change in any release.

use std::future::Future;

pub use tokio;

/// The branch `select!` polls first: a seeded draw from the running loop (0 outside one).
pub fn select_start(branches: u32) -> u32 {
    if branches <= 1 {
        return 0;
    }
    tulipsim::random_range(0..u64::from(branches)).map_or(0, |k| k as u32)
}

/// What a `#[tokio::test]` body may return.
pub trait TestResult {
    /// `Ok` for a passing body; an error that fails the seed otherwise.
    fn into_test_result(self) -> Result<(), tulipsim::Error>;
}

impl TestResult for () {
    fn into_test_result(self) -> Result<(), tulipsim::Error> {
        Ok(())
    }
}

impl<E: std::fmt::Debug> TestResult for Result<(), E> {
    fn into_test_result(self) -> Result<(), tulipsim::Error> {
        self.map_err(|e| tulipsim::Error::msg(format!("the test returned Err({e:?})")))
    }
}

/// `#[tokio::test]`: the body under tulipsim's `check` harness, its seeds, policy, faults and
/// replay from the `TULIPSIM_*` variables.
#[track_caller]
pub fn run_test<F, Fut>(body: F)
where
    F: Fn() -> Fut + Sync,
    Fut: Future<Output = Result<(), tulipsim::Error>> + 'static,
{
    tulipsim::check(body).run();
}

/// `#[tokio::main]`: the body on a fresh runtime (seed from `TULIPSIM_SEED`).
#[track_caller]
pub fn block_on_main<F: Future>(body: F) -> F::Output {
    crate::runtime::Runtime::new()
        .unwrap_or_else(|e| panic!("#[tokio::main]: {e}"))
        .block_on(body)
}
