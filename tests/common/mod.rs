//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::{poll_fn, Future as StdFuture};
use std::path::PathBuf;
use std::pin::pin;
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use tulipsim::{get_running_loop, sleep, Error, EventLoop, FaultConfig, LoopConfig, TraceLevel};

/// An append-only event log, cloned into tasks and callbacks.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn push(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    /// The log as CPython's `print` would have written it: one line each, newline-terminated.
    pub fn text(&self) -> String {
        self.0.borrow().iter().map(|l| format!("{l}\n")).collect()
    }
}

/// A CancelledError's `args` as Python prints them: `()` or `('msg',)`.
pub fn args(e: &Error) -> String {
    match e {
        Error::Cancelled(c) => match c.message() {
            Some(m) => format!("('{m}',)"),
            None => "()".to_string(),
        },
        other => format!("({other:?},)"),
    }
}

/// Python's `str(True)`.
pub fn py(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Runs `main` on a new loop and returns its result and the virtual time at the end.
pub fn run<T: 'static>(main: impl StdFuture<Output = Result<T, Error>> + 'static) -> (T, f64) {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(main).unwrap();
    (r, lp.time())
}

/// A loop for the fault tests (`tests/exploration/faults.rs`, `tests/streams/faults.rs`): `seed` draws the
/// faults `faults` turns on, and the trace is full because those tests read the fault lines in
/// it and compare a replay with its original by it.
pub fn lp(seed: u64, faults: FaultConfig) -> EventLoop {
    EventLoop::with_config(
        LoopConfig::default()
            .seed(seed)
            .faults(faults)
            .trace(TraceLevel::Full),
    )
}

/// Awaits `fut` until `secs` have passed, then drops it mid-await, as `select!` drops a losing
/// branch. The timer is polled first, so it wins a tie with `fut`.
pub async fn drop_after<F: StdFuture>(fut: F, secs: f64) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut timer = pin!(sleep(secs));
    poll_fn(|cx| {
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        fut.as_mut().poll(cx).map(Some)
    })
    .await
}

/// A waker that does nothing, for polling outside any executor.
pub struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

/// CPython's `test_asyncio.utils.await_without_task`: drive `fut` from a plain callback of the
/// running loop (no task is current there), then come back after one loop iteration with its
/// outcome.
pub async fn await_without_task<T: 'static>(
    fut: impl StdFuture<Output = Result<T, Error>> + 'static,
) -> Result<T, Error> {
    let outcome: Rc<RefCell<Option<Result<T, Error>>>> = Rc::default();
    let out = outcome.clone();
    get_running_loop()?.call_soon(move || {
        let waker = Waker::from(Arc::new(NoopWaker));
        let mut cx = Context::from_waker(&waker);
        let fut = pin!(fut);
        if let Poll::Ready(r) = fut.poll(&mut cx) {
            *out.borrow_mut() = Some(r);
        }
    });
    sleep(0).await?;
    let r = outcome.borrow_mut().take();
    r.expect("the future finished in one poll")
}

/// Counts live instances; each [`Tracked`] is one: the leak tests check it reaches zero.
#[derive(Clone, Default)]
pub struct Live(Rc<std::cell::Cell<usize>>);

/// One live instance of a [`Live`] count, until dropped.
pub struct Tracked(pub Live);

impl Live {
    pub fn track(&self) -> Tracked {
        self.0.set(self.0.get() + 1);
        Tracked(self.clone())
    }
    pub fn count(&self) -> usize {
        self.0.get()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let live = &self.0 .0;
        live.set(live.get() - 1);
    }
}

/// The latest modification time of any file under `dirs`.
pub fn newest_source(dirs: &[PathBuf]) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else if let Ok(t) = meta.modified() {
                newest = newest.max(t);
            }
        }
    }
    newest
}

/// Runs an example with `env` and without any other `TULIPSIM_*` variable (the cache example's
/// check reads them, so that its replay command works).
pub fn run_example_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} was not built; `cargo test` builds examples (run it without --test filters)",
        path.display()
    );
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let newest = newest_source(&[root.join("src"), root.join("examples")]);
    assert!(
        built >= newest,
        "{} is older than the sources: `cargo test --test docs` does not rebuild examples; \
         run `cargo build --examples` first, or `cargo test` without --test filters",
        path.display()
    );
    let mut command = Command::new(&path);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TULIPSIM_") {
            command.env_remove(key);
        }
    }
    let out = command
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What CPython 3.11 printed for the oracle program `tests/oracle/programs/{name}.py`.
pub fn expected(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle/programs")
        .join(format!("{name}.expected"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
