//! What the macros expand to. Not a public API: it may change in any release.

use std::future::Future;

pub use tokio;

/// How many simulated resources (sockets, timers, runtimes) this thread still holds: zero once
/// every handle is dropped and every loop closed (`tokio/tests/sim.rs` checks it).
pub fn live_resources() -> usize {
    crate::local::live_on_this_thread()
}

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

/// `#[tokio::test]`: the body under tulipsim's `check` harness, its seeds, policy and replay
/// from the `TULIPSIM_*` variables, and faults from `TULIPSIM_FAULTS` (see
/// [`faults_from_env`]).
#[track_caller]
pub fn run_test<F, Fut>(body: F)
where
    F: Fn() -> Fut + Sync,
    Fut: Future<Output = Result<(), tulipsim::Error>> + 'static,
{
    let faults = match faults_from_env() {
        Ok(f) => f,
        Err(e) => panic!("#[tokio::test]: {e}"),
    };
    if let Err(failure) = tulipsim::check(body).faults(faults).outcome() {
        panic!("{}", with_build_env(&failure.to_string()));
    }
}

/// A replay command must rebuild the simulated program with the same faults: tulipsim's report
/// knows neither `RUSTFLAGS="--cfg tulipsim"` nor `TULIPSIM_FAULTS`, so they are added in front.
fn with_build_env(report: &str) -> String {
    let mut prefix = String::from("RUSTFLAGS='--cfg tulipsim' ");
    if let Ok(f) = std::env::var("TULIPSIM_FAULTS") {
        if !f.trim().is_empty() {
            prefix.push_str(&format!("TULIPSIM_FAULTS='{f}' "));
        }
    }
    report.replace("TULIPSIM_SEED=", &format!("{prefix}TULIPSIM_SEED="))
}

/// The faults `TULIPSIM_FAULTS` asks for: a comma-separated list of `name=p` or
/// `name=p:seconds` (`early_timeout=p`, `jitter=p:max`, `spurious_cancel=p`,
/// `net_delay=p:max`, `net_reset=p`, `net_partition=p:duration`, `net_half_close=p`,
/// `net_unresponsive=p:duration`, `all=p`). Unset or empty: no faults. A tokio test's code
/// cannot say which faults it wants, so the variable does.
pub fn faults_from_env() -> Result<tulipsim::FaultConfig, String> {
    match std::env::var("TULIPSIM_FAULTS") {
        Err(_) => Ok(tulipsim::FaultConfig::default()),
        Ok(spec) => parse_faults(&spec),
    }
}

fn parse_faults(spec: &str) -> Result<tulipsim::FaultConfig, String> {
    spec.parse::<tulipsim::FaultConfig>()
        .map_err(|e| format!("TULIPSIM_FAULTS={spec:?}: {e}"))
}

/// `#[tokio::main]`: the body on a fresh runtime (seed from `TULIPSIM_SEED`).
#[track_caller]
pub fn block_on_main<F: Future>(body: F) -> F::Output {
    crate::runtime::Runtime::new()
        .unwrap_or_else(|e| panic!("#[tokio::main]: {e}"))
        .block_on(body)
}

#[cfg(test)]
mod tests {
    use super::parse_faults;
    use tulipsim::FaultConfig;

    #[test]
    fn fault_specs_parse_into_the_builder_calls() {
        assert_eq!(parse_faults("").unwrap(), FaultConfig::default());
        assert_eq!(
            parse_faults("early_timeout=0.1, net_delay=0.2:0.5").unwrap(),
            FaultConfig::default()
                .early_timeout(0.1)
                .net_delay(0.2, 0.5)
        );
        assert!(parse_faults("early_timeout").is_err());
        assert!(parse_faults("early_timeout=2").is_err());
        let err = parse_faults("typo=0.1").unwrap_err();
        assert!(
            err.contains("TULIPSIM_FAULTS") && err.contains("typo"),
            "{err}"
        );
    }
}
