//! Fuzzing one's own async code: the fuzzer's bytes become the scheduler's decisions.
//!
//! A `cargo fuzz` target hands its input to [`run`], which runs the body once on a fresh loop
//! under the [`Bytes`] policy: each choice of which ready entry runs next, and each fault, reads
//! the next bytes of the input, so coverage-guided fuzzing steers toward new interleavings. A
//! panic, an error the body returns, a deadlock or a runaway panics with a report, which is
//! what libFuzzer records as a crash. Empty input is the FIFO run.
//!
//! ```
//! use std::{cell::Cell, rc::Rc};
//! use tulipsim::{create_task, gather, sleep};
//!
//! // In fuzz/fuzz_targets/my_target.rs:
//! //   libfuzzer_sys::fuzz_target!(|data: &[u8]| { my_body(data) });
//! fn my_body(data: &[u8]) {
//!     tulipsim::fuzz::run(data, || async {
//!         let hits = Rc::new(Cell::new(0));
//!         let bump = |h: Rc<Cell<u32>>| async move {
//!             sleep(0).await?;
//!             h.set(h.get() + 1); // read and write in one step: no lost update
//!             Ok(())
//!         };
//!         let a = create_task(bump(hits.clone()))?;
//!         let b = create_task(bump(hits.clone()))?;
//!         gather(vec![a, b]).await?;
//!         assert_eq!(hits.get(), 2);
//!         Ok(())
//!     });
//! }
//! my_body(&[]);
//! my_body(&[7, 1, 200, 3]);
//! ```
//!
//! `docs/fuzzing.md` shows the whole loop: a target, a crash, the replay and the regression
//! test.

use std::future::Future as StdFuture;
use std::panic::Location;

use crate::events::EventLoop;
use crate::exceptions::Error;
use crate::faults::FaultConfig;
use crate::harness::RunConfig;
use crate::scheduler::{Bytes, FaultPlan, Schedule};
use crate::trace::TraceLevel;

/// How a fuzzed run went wrong, as the panic message of [`run`] shows it.
///
/// ```
/// use tulipsim::{fuzz, Error, FaultConfig};
/// let failure = fuzz::try_run(&[], FaultConfig::default(), || async {
///     Err::<(), _>(Error::msg("bad state"))
/// })
/// .unwrap_err();
/// assert_eq!(failure.error.to_string(), "bad state");
/// assert!(failure.schedule.is_fifo()); // empty input: the FIFO run
/// assert!(failure.to_string().starts_with("tulipsim::fuzz: the program failed: bad state"));
/// ```
#[derive(Clone, Debug)]
pub struct FuzzFailure {
    /// The error the run ended with (a panic in a task is an [`Error::Panic`]).
    pub error: Error,
    /// The run's choices as a schedule: replay it in a test with
    /// [`Check::replay`](crate::Check::replay).
    pub schedule: Schedule,
    /// The fault queries that fired: replay them with
    /// [`Check::fault_plan`](crate::Check::fault_plan).
    pub faults: FaultPlan,
    /// The last lines of the run's trace.
    pub trace_tail: String,
}

impl std::fmt::Display for FuzzFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "tulipsim::fuzz: the program failed: {}", self.error)?;
        writeln!(
            f,
            "  replay in a test: check(body).seed(0).replay(\"{}\".parse()?).fault_plan(\"{}\".parse()?)",
            self.schedule, self.faults
        )?;
        writeln!(f, "  trace (last lines):")?;
        for line in self.trace_tail.lines() {
            writeln!(f, "    {line}")?;
        }
        Ok(())
    }
}

/// Runs `body` once with its decisions read from `data`; panics with a [`FuzzFailure`] report
/// if it fails. See the [module docs](self) for an example.
///
/// ```
/// let v = tulipsim::fuzz::run(&[3, 1, 4], || async {
///     tulipsim::sleep(1).await?;
///     Ok(42)
/// });
/// assert_eq!(v, 42);
/// ```
#[track_caller]
pub fn run<F, Fut, T>(data: &[u8], body: F) -> T
where
    F: FnOnce() -> Fut,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    match try_run(data, FaultConfig::default(), body) {
        Ok(v) => v,
        Err(failure) => panic!("{failure}"),
    }
}

/// [`run`] with faults (each fault decision reads one byte), giving the failure instead of
/// panicking.
///
/// ```
/// use tulipsim::{fuzz, sleep, timeout, FaultConfig};
/// // Every early timeout fires when its byte is below 0.5 * 256: byte 0 does.
/// let r = fuzz::try_run(&[0], FaultConfig::default().early_timeout(0.5), || async {
///     timeout(10).run(sleep(1)).await
/// });
/// assert!(matches!(r.unwrap_err().error, tulipsim::Error::Timeout(_)));
/// ```
#[track_caller]
pub fn try_run<F, Fut, T>(data: &[u8], faults: FaultConfig, body: F) -> Result<T, FuzzFailure>
where
    F: FnOnce() -> Fut,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    let site = Location::caller();
    // A check's limits, without its watchdog: the fuzzer has its own timeout. Fault amounts
    // (jitter) come from seed 0's stream; the replay uses seed 0 too.
    let config = RunConfig {
        faults,
        ..RunConfig::new(site)
    }
    .loop_config(0, TraceLevel::Full);
    let lp = EventLoop::with_config(config);
    lp.set_boxed_scheduler(Box::new(Bytes::new(data.to_vec())));
    let outcome = lp.run_until_complete_at(body(), site);
    let result = outcome.map_err(|error| FuzzFailure {
        error,
        schedule: lp.schedule(),
        faults: lp.fired_faults(),
        trace_tail: lp.trace().tail(30),
    });
    let _ = lp.close();
    let _ = lp.take_reports();
    result
}
