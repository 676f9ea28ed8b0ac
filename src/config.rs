//! Settings of one event loop: limits and what a panic does.

use crate::events::IntoDelay;
use crate::faults::FaultConfig;
use crate::trace::TraceLevel;

/// What happens when a task or a callback panics.
///
/// ```
/// use tulipsim::{create_task, Error, EventLoop, LoopConfig, PanicPolicy};
///
/// // Capture: the panic becomes the task's exception, as any asyncio exception would.
/// let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
/// let r = lp.run_until_complete(async {
///     let child = create_task(async { if true { panic!("bad") } Ok(1) })?;
///     match child.await {
///         Err(Error::Panic(p)) => Ok(p.message().to_string()),
///         other => panic!("{other:?}"),
///     }
/// });
/// assert_eq!(r.unwrap(), "bad");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PanicPolicy {
    /// The default: the panic becomes the task's exception *and* the loop stops at once;
    /// `run_until_complete` returns [`Error::Panic`](crate::Error::Panic). A panic is a bug in
    /// the code under test, so the run ends where it happened instead of carrying on.
    #[default]
    StopLoop,
    /// asyncio's model: the panic becomes the task's exception (a callback's is reported to the
    /// exception handler) and the loop goes on.
    Capture,
}

/// Configuration for [`EventLoop::with_config`](crate::EventLoop::with_config).
///
/// ```
/// use tulipsim::{EventLoop, LoopConfig};
///
/// let lp = EventLoop::with_config(
///     LoopConfig::default().max_steps(1_000_000).max_time(3600.0),
/// );
/// # drop(lp);
/// ```
#[derive(Clone, Debug)]
pub struct LoopConfig {
    pub(crate) max_steps: u64,
    pub(crate) max_time: i64,
    pub(crate) panic_policy: PanicPolicy,
    pub(crate) seed: Option<u64>,
    pub(crate) trace: TraceLevel,
    pub(crate) faults: FaultConfig,
    /// The harness's wall-clock watchdog of this run, if any.
    pub(crate) watch: Option<std::sync::Arc<crate::base_events::Watch>>,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            max_steps: u64::MAX,
            max_time: i64::MAX,
            panic_policy: PanicPolicy::StopLoop,
            seed: None,
            trace: TraceLevel::Off,
            faults: FaultConfig::default(),
            watch: None,
        }
    }
}

impl LoopConfig {
    /// Stop with [`Error::Limit`](crate::Error::Limit) once this many ready-queue entries
    /// (task steps and callbacks) have run. Unlimited by default.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_steps(100));
    /// let r: Result<(), Error> = lp.run_until_complete(async { loop { sleep(0).await? } });
    /// assert!(matches!(r, Err(Error::Limit(l)) if l.is_step_limit()));
    /// ```
    pub fn max_steps(mut self, steps: u64) -> Self {
        self.max_steps = steps;
        self
    }

    /// Stop with [`Error::Limit`](crate::Error::Limit) instead of moving the virtual clock past
    /// this time. Unlimited by default.
    ///
    /// ```
    /// use tulipsim::{sleep, Error, EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().max_time(60));
    /// let r = lp.run_until_complete(sleep(3600));
    /// assert!(matches!(r, Err(Error::Limit(l)) if !l.is_step_limit()));
    /// ```
    pub fn max_time(mut self, time: impl IntoDelay) -> Self {
        self.max_time = time.into_nanos();
        self
    }

    /// What a panic inside a task or callback does; see [`PanicPolicy`].
    ///
    /// ```
    /// use tulipsim::{Error, EventLoop, LoopConfig, PanicPolicy};
    /// let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    /// let r: Result<(), Error> = lp.run_until_complete(async { panic!("boom") });
    /// assert!(matches!(r, Err(Error::Panic(_))));
    /// ```
    pub fn panic_policy(mut self, policy: PanicPolicy) -> Self {
        self.panic_policy = policy;
        self
    }

    /// The seed this loop runs under: it seeds the scheduler given to
    /// [`set_scheduler`](crate::LoopHandle::set_scheduler) and the fault stream, and failure
    /// reports print it so that a run can be replayed.
    ///
    /// ```
    /// # use tulipsim::{EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().seed(7));
    /// assert_eq!(lp.seed(), Some(7));
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How much the loop records in its [`Trace`](crate::Trace); off by default.
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop, LoopConfig, TraceLevel};
    /// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    /// lp.run_until_complete(sleep(1)).unwrap();
    /// assert!(!lp.trace().to_string().is_empty());
    /// ```
    pub fn trace(mut self, level: TraceLevel) -> Self {
        self.trace = level;
        self
    }

    /// Which faults to inject, drawing from the fault stream of [`seed`](Self::seed); none by
    /// default.
    ///
    /// ```
    /// use tulipsim::{EventLoop, FaultConfig, LoopConfig};
    /// let config = LoopConfig::default().seed(3).faults(FaultConfig::default().early_timeout(0.5));
    /// let lp = EventLoop::with_config(config);
    /// assert_eq!(lp.seed(), Some(3));
    /// ```
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }
}
