//! The bodies of the cargo-fuzz targets in `fuzz/`. They live here, not in the targets, so that
//! a stable `cargo test` (`sim/tests/fuzz_corpus.rs`) replays every corpus file and every saved
//! crash through exactly the code the fuzzer runs. Each body panics on a finding, which is
//! what libFuzzer records as a crash.

use std::cell::Cell;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use tulipsim::scheduler::Bytes;
use tulipsim::{DoneCallback, Error, EventLoop, Future, LoopConfig, Task, TimerHandle, TraceLevel};

use crate::explore::{problems, random_scenario, Faults};
use crate::interp::{self, Ending, RunOptions};
use crate::scenario::Scenario;

/// The fault mix of the schedule explorer: each fault decision reads one byte, and fires when
/// the byte is below 5% of 256.
const EXPLORER_FAULTS: Faults = Faults {
    early_timeout: 0.05,
    timer_jitter: 0.05,
    spurious_cancel: 0.05,
};

fn run_checked(scenario: &Scenario, decisions: &[u8], faults: Faults) -> interp::Run {
    interp::run(
        scenario,
        RunOptions {
            seed: 0,
            scheduler: Some(Box::new(Bytes::new(decisions.to_vec()))),
            faults: faults.config(),
            trace: TraceLevel::Off,
        },
    )
}

fn assert_no_problems(what: &str, scenario: &Scenario, run: &interp::Run) {
    let found = problems(run);
    assert!(
        found.is_empty(),
        "{what}: {} broken invariant(s):\n  {}\nscenario:\n{}schedule: '{}'",
        found.len(),
        found.join("\n  "),
        scenario.to_json(),
        run.schedule
    );
}

/// `schedule_explorer`: the first two bytes pick one of the generated scenarios
/// (`random:0` to `random:65535`); the rest are the `Bytes` policy's decisions and fault
/// decisions. Any broken invariant, runaway or panic is a finding.
///
/// ```
/// tulipsim_sim::fuzzing::schedule_explorer(&[3, 0, 1, 1, 0, 2]);
/// ```
pub fn schedule_explorer(data: &[u8]) {
    let (k, decisions) = match data {
        [a, b, rest @ ..] => (u64::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, &[][..]),
    };
    let scenario = random_scenario(k);
    let run = run_checked(&scenario, decisions, EXPLORER_FAULTS);
    assert_no_problems(&format!("random:{k}"), &scenario, &run);
}

/// `scenario`: an `Arbitrary` scenario, a fault mix, then decisions. tulipsim must never panic,
/// hang past its limits, break an invariant, run differently twice, or leave the scenario's
/// state alive after its loop is closed.
///
/// ```
/// tulipsim_sim::fuzzing::scenario(b"some fuzzer input, any bytes at all");
/// ```
pub fn scenario(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(scenario) = Scenario::arbitrary(&mut u) else {
        return;
    };
    let mix = u.arbitrary::<u8>().unwrap_or(0);
    let p = |bit: u8| if mix & (1 << bit) != 0 { 0.1 } else { 0.0 };
    let faults = Faults {
        early_timeout: p(0),
        timer_jitter: p(1),
        spurious_cancel: p(2),
    };
    let decisions = u.take_rest();
    let run = run_checked(&scenario, decisions, faults);
    assert_no_problems("scenario", &scenario, &run);
    assert!(
        run.leaked == 0,
        "the scenario's state outlived its closed loop\n{}",
        scenario.to_json()
    );
    let again = run_checked(&scenario, decisions, faults);
    assert_eq!(
        run.lines,
        again.lines,
        "the same input ran differently\n{}",
        scenario.to_json()
    );
    assert!(!matches!(run.ending, Ending::Runaway(_) | Ending::Panic(_)));
}

/// One call of the `api_misuse` target: indices pick among the futures, tasks and handles made
/// so far (modulo their count).
#[derive(Arbitrary, Debug)]
pub enum Call {
    /// `loop.create_future()`.
    NewFuture,
    /// `fut.set_result(v)`.
    SetResult(u8, i8),
    /// `fut.set_exception(e)`.
    SetException(u8),
    /// `fut.cancel()` / `fut.cancel(msg)`.
    Cancel(u8, bool),
    /// `fut.result()`.
    Result(u8),
    /// `fut.exception()`.
    Exception(u8),
    /// `fut.add_done_callback(cb)`.
    AddCallback(u8),
    /// `fut.remove_done_callback(cb)` with a callback added earlier (or a new one).
    RemoveCallback(u8, u8),
    /// A task sleeping this many half seconds.
    SpawnSleeper(u8),
    /// A task awaiting a future.
    SpawnAwaiter(u8),
    /// `task.cancel()`.
    CancelTask(u8),
    /// `task.uncancel()`.
    Uncancel(u8),
    /// `task.result()` and `task.exception()`.
    TaskResult(u8),
    /// `loop.call_later(d, cb)`.
    CallLater(u8),
    /// `handle.cancel()`.
    CancelHandle(u8),
    /// `loop.run_until_complete(sleep(d))`.
    RunFor(u8),
    /// `loop.run_until_complete(fut)`.
    RunUntil(u8),
    /// `loop.stop()`.
    Stop,
    /// `loop.close()`.
    Close,
}

fn pick<T: Clone>(items: &[T], i: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[usize::from(i) % items.len()].clone())
}

/// The errors a call may return, by kind name: anything else is a finding.
fn allowed(call: &Call, e: &Error) {
    let kind = e.kind_name();
    let ok = match call {
        // RuntimeError: callbacks added after close() cannot be scheduled (CPython's too).
        Call::SetResult(..) | Call::SetException(_) => {
            matches!(kind, "InvalidStateError" | "RuntimeError")
        }
        Call::Result(_) | Call::TaskResult(_) => {
            matches!(
                kind,
                "InvalidStateError" | "CancelledError" | "Error" | "RuntimeError"
            )
        }
        Call::Exception(_) => matches!(kind, "InvalidStateError" | "CancelledError"),
        Call::RunFor(_) | Call::RunUntil(_) => matches!(
            kind,
            "RuntimeError" | "Deadlock" | "CancelledError" | "Error" | "InvalidStateError"
        ),
        _ => false,
    };
    assert!(ok, "{call:?} returned an undocumented error: {kind}: {e}");
}

/// `api_misuse`: a random sequence of [`Call`]s on futures, tasks and timer handles, valid and
/// not (results of pending futures, double completions, runs of a closed loop, cancels of done
/// tasks...). Every call must return a value or a documented error; nothing may panic; and once
/// the loop is closed and the handles dropped, every callback it held is freed.
///
/// ```
/// tulipsim_sim::fuzzing::api_misuse(&[0, 1, 0, 2, 7, 0, 16, 0, 0, 18]);
/// ```
pub fn api_misuse(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let token = Rc::new(());
    let lp = EventLoop::with_config(LoopConfig::default().max_steps(10_000));
    let mut futures: Vec<Future<i64>> = Vec::new();
    let mut tasks: Vec<Task<i64>> = Vec::new();
    let mut handles: Vec<TimerHandle> = Vec::new();
    let mut callbacks: Vec<DoneCallback<i64>> = Vec::new();
    let calls = Rc::new(Cell::new(0u64));
    for _ in 0..64 {
        let Ok(call) = Call::arbitrary(&mut u) else {
            break;
        };
        let h = lp.handle();
        match &call {
            Call::NewFuture => futures.push(h.create_future()),
            Call::SetResult(i, v) => {
                if let Some(f) = pick(&futures, *i) {
                    if let Err(e) = f.set_result(i64::from(*v)) {
                        allowed(&call, &e);
                    }
                }
            }
            Call::SetException(i) => {
                if let Some(f) = pick(&futures, *i) {
                    if let Err(e) = f.set_exception(Error::msg("boom")) {
                        allowed(&call, &e);
                    }
                }
            }
            Call::Cancel(i, msg) => {
                if let Some(f) = pick(&futures, *i) {
                    let was_done = f.done();
                    let said = if *msg { f.cancel_with("m") } else { f.cancel() };
                    assert_eq!(
                        said, !was_done,
                        "cancel() answered {said} on a future done={was_done}"
                    );
                }
            }
            Call::Result(i) => {
                if let Some(Err(e)) = pick(&futures, *i).map(|f| f.result()) {
                    allowed(&call, &e);
                }
            }
            Call::Exception(i) => {
                if let Some(Err(e)) = pick(&futures, *i).map(|f| f.exception()) {
                    allowed(&call, &e);
                }
            }
            Call::AddCallback(i) => {
                if let Some(f) = pick(&futures, *i) {
                    let (t, c) = (token.clone(), calls.clone());
                    let cb = DoneCallback::new(move |_: &Future<i64>| {
                        let _ = &t;
                        c.set(c.get() + 1);
                    });
                    f.add_done_callback(cb.clone());
                    callbacks.push(cb);
                }
            }
            Call::RemoveCallback(i, j) => {
                if let (Some(f), Some(cb)) = (pick(&futures, *i), pick(&callbacks, *j)) {
                    let _removed = f.remove_done_callback(&cb);
                }
            }
            Call::SpawnSleeper(d) => {
                let t = token.clone();
                let d = f64::from(*d % 8) / 2.0;
                tasks.push(h.create_task(async move {
                    let _ = &t;
                    tulipsim::sleep(d).await?;
                    Ok(1)
                }));
            }
            Call::SpawnAwaiter(i) => {
                if let Some(f) = pick(&futures, *i) {
                    tasks.push(h.create_task(async move { f.await }));
                }
            }
            Call::CancelTask(i) => {
                if let Some(t) = pick(&tasks, *i) {
                    let was_done = t.done();
                    assert_eq!(
                        t.cancel(),
                        !was_done,
                        "Task.cancel() on a task done={was_done}"
                    );
                }
            }
            Call::Uncancel(i) => {
                if let Some(t) = pick(&tasks, *i) {
                    let before = t.cancelling();
                    let after = t.uncancel();
                    assert_eq!(
                        after,
                        before.saturating_sub(1),
                        "uncancel() never goes below 0"
                    );
                }
            }
            Call::TaskResult(i) => {
                if let Some(t) = pick(&tasks, *i) {
                    if let Err(e) = t.result() {
                        allowed(&call, &e);
                    }
                    if let Err(e) = t.exception() {
                        allowed(&Call::Exception(0), &e);
                    }
                }
            }
            Call::CallLater(d) => {
                let (t, c) = (token.clone(), calls.clone());
                handles.push(h.call_later(f64::from(*d % 8) / 2.0, move || {
                    let _ = &t;
                    c.set(c.get() + 1);
                }));
            }
            Call::CancelHandle(i) => {
                if let Some(handle) = pick(&handles, *i) {
                    handle.cancel();
                    assert!(handle.cancelled());
                }
            }
            Call::RunFor(d) => {
                if let Err(e) = lp.run_until_complete(tulipsim::sleep(f64::from(*d % 8) / 2.0)) {
                    allowed(&call, &e);
                }
            }
            Call::RunUntil(i) => {
                if let Some(f) = pick(&futures, *i) {
                    if let Err(e) = lp.run_until_complete(f) {
                        allowed(&call, &e);
                    }
                }
            }
            Call::Stop => h.stop(),
            Call::Close => {
                if let Err(e) = lp.close() {
                    assert_eq!(e.kind_name(), "RuntimeError", "close() failed with {e}");
                }
            }
        }
    }
    let _ = lp.close();
    // Dropping a failed future nobody asked reports it: drop them while the loop can still
    // take the reports, so nothing is printed.
    drop((futures, tasks, handles, callbacks));
    let _ = lp.take_reports();
    drop(lp);
    assert_eq!(
        Rc::strong_count(&token),
        1,
        "a closed loop and dropped handles left callbacks alive"
    );
}
