//! Runs a [`Scenario`] on tulipsim and writes its canonical trace.
//!
//! The trace has one line per observable event, `"{time:.3} {who} {what}"`: each step's outcome,
//! each task's end, the main task's end, then a summary of every future and task. The Python
//! emitter (`python.rs`) writes a program that prints the same lines under CPython.

use std::cell::RefCell;
use std::future::{Future as StdFuture, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;

use tulipsim::scheduler::{Schedule, Scheduler};
use tulipsim::{
    as_completed, create_task, gather, gather_return_exceptions, shield, sleep, task_group,
    timeout, wait, wait_for, Error, EventLoop, FaultConfig, Future, LoopConfig, LoopHandle,
    PanicPolicy, ReturnWhen, Task, Trace, TraceLevel,
};

use crate::invariants;
use crate::scenario::{Exc, Half, Handler, Mode, Scenario, Step, Target};

/// A task's or future's value: Python's `None` or an int.
pub type Val = Option<i64>;

/// A scenario's user exception: its `Display` is the Python type's name.
#[derive(Debug)]
struct ScenarioError(Exc);

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

impl std::error::Error for ScenarioError {}

/// The Python type name of an error.
pub fn type_name(e: &Error) -> String {
    match e {
        Error::User(_) => e.to_string(),
        other => other.kind_name().to_string(),
    }
}

pub(crate) fn fmt_val(v: &Val) -> String {
    match v {
        None => "None".to_string(),
        Some(n) => n.to_string(),
    }
}

fn fmt_outcome(r: &Result<Val, Error>) -> String {
    match r {
        Ok(v) => fmt_val(v),
        Err(e) => type_name(e),
    }
}

/// How a body ended: ran off its end, or `return v`.
enum Flow {
    Next,
    Return(Val),
}

type Boxed<'a, T> = Pin<Box<dyn StdFuture<Output = Result<T, Error>> + 'a>>;

pub(crate) struct Ctx {
    pub(crate) scenario: Scenario,
    pub(crate) lp: LoopHandle,
    log: RefCell<Vec<String>>,
    futures: Vec<Future<Val>>,
    tasks: RefCell<Vec<Option<Task<Val>>>>,
    /// Invariants broken at the moment a step returned (see `invariants.rs`).
    violations: RefCell<Vec<String>>,
    /// Whether timeouts may fire before their deadline (an early-timeout fault is on).
    pub(crate) early_timeouts: bool,
}

impl Ctx {
    /// The virtual time in integer nanoseconds, as the loop counts it (no float rounding).
    pub(crate) fn now_ns(&self) -> i64 {
        (self.lp.time() * 1e9).round() as i64
    }

    pub(crate) fn violate(&self, who: &str, what: String) {
        let at = format!("{:.3} {who}: {what}", self.lp.time());
        self.violations.borrow_mut().push(at);
    }

    fn emit(&self, who: &str, what: &str) {
        self.log
            .borrow_mut()
            .push(format!("{:.3} {who} {what}", self.lp.time()));
    }

    fn task(&self, i: u8) -> Option<Task<Val>> {
        self.tasks.borrow().get(usize::from(i)).cloned().flatten()
    }

    /// A target's future, or `None` if it is a task not spawned (or out of range).
    fn future(&self, t: Target) -> Option<Future<Val>> {
        match t {
            Target::Future(i) => self.futures.get(usize::from(i)).cloned(),
            Target::Task(i) => self.task(i).map(|t| t.as_future()),
        }
    }

    fn futures_of(&self, ts: &[Target]) -> Option<Vec<Future<Val>>> {
        ts.iter().map(|t| self.future(*t)).collect()
    }

    /// `[F0, T2]`: the names of `fs`, sorted (Python's `wait` returns sets).
    fn names(&self, fs: &[Future<Val>]) -> String {
        let mut named: Vec<(u8, u32)> = fs
            .iter()
            .map(|f| {
                let n = self.name_of(f);
                (n.as_bytes()[0], n[1..].parse().unwrap_or(u32::MAX))
            })
            .collect();
        named.sort_unstable();
        brackets(named.iter().map(|(c, i)| format!("{}{i}", char::from(*c))))
    }

    pub(crate) fn name_of(&self, f: &Future<Val>) -> String {
        for (i, g) in self.futures.iter().enumerate() {
            if g.same(f) {
                return format!("F{i}");
            }
        }
        for (i, t) in self.tasks.borrow().iter().enumerate() {
            if t.as_ref().is_some_and(|t| t.as_future().same(f)) {
                return format!("T{i}");
            }
        }
        "?".to_string()
    }
}

/// Logs `desc -> value` or `desc -> raised Type`, and passes the outcome on.
async fn step<T>(
    ctx: &Ctx,
    who: &str,
    desc: &str,
    fut: impl StdFuture<Output = Result<T, Error>>,
    show: impl FnOnce(&T) -> String,
) -> Result<T, Error> {
    match fut.await {
        Ok(v) => {
            ctx.emit(who, &format!("{desc} -> {}", show(&v)));
            Ok(v)
        }
        Err(e) => {
            ctx.emit(who, &format!("{desc} -> raised {}", type_name(&e)));
            Err(e)
        }
    }
}

/// A block statement (`async with`): logs `-> None` when it runs off its end, nothing on
/// `return` (Python's `else:` clause is skipped), `-> raised Type` when it raises.
async fn block(
    ctx: &Ctx,
    who: &str,
    desc: &str,
    fut: impl StdFuture<Output = Result<Flow, Error>>,
) -> Result<Flow, Error> {
    match fut.await {
        Ok(Flow::Next) => {
            ctx.emit(who, &format!("{desc} -> None"));
            Ok(Flow::Next)
        }
        Ok(flow) => Ok(flow),
        Err(e) => {
            ctx.emit(who, &format!("{desc} -> raised {}", type_name(&e)));
            Err(e)
        }
    }
}

/// `Spawn(i)`: logs `skip` for a task that cannot be spawned or already was.
fn spawn(
    ctx: &Rc<Ctx>,
    who: &str,
    i: u8,
    make: impl FnOnce(Rc<Ctx>) -> Result<Task<Val>, Error>,
) -> Result<(), Error> {
    let desc = format!("spawn T{i}");
    if !ctx.scenario.spawnable(i) || ctx.task(i).is_some() {
        ctx.emit(who, &format!("{desc} -> skip"));
        return Ok(());
    }
    let t = make(ctx.clone())?;
    ctx.tasks.borrow_mut()[usize::from(i)] = Some(t);
    ctx.emit(who, &format!("{desc} -> None"));
    Ok(())
}

fn run_steps<'a>(ctx: &'a Rc<Ctx>, who: &'a str, steps: &'a [Step]) -> Boxed<'a, Flow> {
    Box::pin(async move {
        for s in steps {
            if let Flow::Return(v) = run_step(ctx, who, s).await? {
                return Ok(Flow::Return(v));
            }
        }
        Ok(Flow::Next)
    })
}

async fn run_step(ctx: &Rc<Ctx>, who: &str, s: &Step) -> Result<Flow, Error> {
    let desc = s.desc();
    let skip = |desc: &str| {
        ctx.emit(who, &format!("{desc} -> skip"));
        Ok(Flow::Next)
    };
    let none = |_: &()| "None".to_string();
    match s {
        Step::Sleep(d) => {
            let start = ctx.now_ns();
            let slept = step(ctx, who, &desc, sleep(d.secs()), none).await;
            if slept.is_ok() {
                invariants::sleep_not_early(ctx, who, start, *d);
            }
            slept?;
        }
        Step::Await(t) => {
            let Some(f) = ctx.future(*t) else {
                return skip(&desc);
            };
            let r = step(ctx, who, &desc, f.clone().into_future(), fmt_val).await;
            invariants::await_outcome(ctx, who, "await", &f, &r);
            r?;
        }
        Step::SetResult {
            future: i,
            value: v,
        } => {
            let Some(f) = ctx.future(Target::Future(*i)) else {
                return skip(&desc);
            };
            let set = async { f.set_result(Some(i64::from(*v))) };
            step(ctx, who, &desc, set, none).await?;
        }
        Step::SetException {
            future: i,
            exception: e,
        } => {
            let Some(f) = ctx.future(Target::Future(*i)) else {
                return skip(&desc);
            };
            let set = async { f.set_exception(Error::new(ScenarioError(*e))) };
            step(ctx, who, &desc, set, none).await?;
        }
        Step::Cancel { target: t, msg } => {
            let Some(f) = ctx.future(*t) else {
                return skip(&desc);
            };
            let before = state(&f);
            let cancelled = if *msg {
                f.cancel_with("msg")
            } else {
                f.cancel()
            };
            invariants::cancel_answer(ctx, who, &before, cancelled, &f);
            let shown = if cancelled { "True" } else { "False" };
            ctx.emit(who, &format!("{desc} -> {shown}"));
        }
        Step::Spawn(i) => spawn(ctx, who, *i, |c| create_task(run_task(c, *i)))?,
        Step::Shield(t) => {
            let Some(f) = ctx.future(*t) else {
                return skip(&desc);
            };
            let r = step(ctx, who, &desc, shield(f.clone()).into_future(), fmt_val).await;
            invariants::await_outcome(ctx, who, "shield", &f, &r);
            r?;
        }
        Step::Gather {
            of: ts,
            return_exceptions,
        } => {
            let Some(fs) = ctx.futures_of(ts) else {
                return skip(&desc);
            };
            if *return_exceptions {
                let show = |v: &Vec<Result<Val, Error>>| brackets(v.iter().map(fmt_outcome));
                let gathered = gather_return_exceptions(fs.clone()).into_future();
                let r = step(ctx, who, &desc, gathered, show).await;
                invariants::gather_all_outcomes(ctx, who, &fs, &r);
                r?;
            } else {
                let show = |v: &Vec<Val>| brackets(v.iter().map(fmt_val));
                let r = step(ctx, who, &desc, gather(fs.clone()).into_future(), show).await;
                invariants::gather_outcome(ctx, who, &fs, &r);
                r?;
            }
        }
        Step::Wait {
            of: ts,
            return_when: mode,
            timeout: t,
        } => {
            let Some(fs) = ctx.futures_of(ts) else {
                return skip(&desc);
            };
            let when = match mode {
                Mode::FirstCompleted => ReturnWhen::FirstCompleted,
                Mode::FirstException => ReturnWhen::FirstException,
                Mode::AllCompleted => ReturnWhen::AllCompleted,
            };
            let fut = wait(fs.clone())
                .return_when(when)
                .timeout(t.map(Half::secs));
            let show = |(done, pending): &(Vec<Future<Val>>, Vec<Future<Val>>)| {
                format!("done={} pending={}", ctx.names(done), ctx.names(pending))
            };
            let (done, pending) = step(ctx, who, &desc, fut.into_future(), show).await?;
            invariants::wait_partition(ctx, who, &fs, *mode, t.is_some(), &done, &pending);
        }
        Step::WaitFor { of: t, timeout: to } => {
            let Some(f) = ctx.future(*t) else {
                return skip(&desc);
            };
            let start = ctx.now_ns();
            let r = step(
                ctx,
                who,
                &desc,
                wait_for(f.clone(), to.map(Half::secs)),
                fmt_val,
            )
            .await;
            invariants::wait_for_outcome(ctx, who, &f, start, *to, &r);
            r?;
        }
        Step::AsCompleted {
            of: ts,
            timeout: to,
        } => {
            let Some(fs) = ctx.futures_of(ts) else {
                return skip(&desc);
            };
            for next in as_completed(fs).timeout(to.map(Half::secs)) {
                step(ctx, who, "as_completed next", next, fmt_val).await?;
            }
            ctx.emit(who, &format!("{desc} -> None"));
        }
        Step::TaskGroup { spawn: ids, body } => {
            let group = task_group(|tg| async move {
                for &i in ids {
                    spawn(ctx, who, i, |c| tg.create_task(run_task(c, i)))?;
                }
                run_steps(ctx, who, body).await
            });
            return block(ctx, who, &desc, group).await;
        }
        Step::Timeout { delay: d, body } => {
            let scope = timeout(d.map(Half::secs));
            return block(ctx, who, &desc, scope.run(run_steps(ctx, who, body))).await;
        }
        Step::Try {
            body,
            except: handler,
        } => match run_steps(ctx, who, body).await {
            Err(e) if e.is_cancelled() => {
                ctx.emit(who, "caught CancelledError");
                match handler {
                    Handler::Swallow => {}
                    Handler::Reraise => return Err(e),
                    Handler::Return(v) => return Ok(Flow::Return(Some(i64::from(*v)))),
                }
            }
            other => return other,
        },
        Step::Log(_) => ctx.emit(who, &desc),
        Step::Return(v) => return Ok(Flow::Return(Some(i64::from(*v)))),
        Step::Raise(e) => return Err(Error::new(ScenarioError(*e))),
    }
    Ok(Flow::Next)
}

fn brackets(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// A task's body, with its end logged (`end -> value` or `end raised Type`).
fn run_task(ctx: Rc<Ctx>, i: u8) -> Boxed<'static, Val> {
    Box::pin(async move {
        let who = format!("T{i}");
        let body = &ctx.scenario.tasks[usize::from(i)];
        match run_steps(&ctx, &who, body).await {
            Ok(flow) => {
                let v = match flow {
                    Flow::Next => None,
                    Flow::Return(v) => v,
                };
                ctx.emit(&who, &format!("end -> {}", fmt_val(&v)));
                Ok(v)
            }
            Err(e) => {
                ctx.emit(&who, &format!("end raised {}", type_name(&e)));
                Err(e)
            }
        }
    })
}

pub(crate) fn state(f: &Future<Val>) -> String {
    if !f.done() {
        "pending".into()
    } else if f.cancelled() {
        "cancelled".into()
    } else {
        match f.exception() {
            Ok(Some(e)) => format!("exception {}", type_name(&e)),
            _ => format!("result {}", fmt_val(&f.result().unwrap_or(None))),
        }
    }
}

/// How to run a scenario.
pub struct RunOptions {
    /// The seed (for the scheduler and faults).
    pub seed: u64,
    /// A scheduler; `None` is FIFO.
    pub scheduler: Option<Box<dyn Scheduler>>,
    /// Which faults to inject.
    pub faults: FaultConfig,
    /// How much to record in the loop's own trace.
    pub trace: TraceLevel,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: 0,
            scheduler: None,
            faults: FaultConfig::default(),
            trace: TraceLevel::Off,
        }
    }
}

/// How the main task's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It returned or raised (a scenario's own outcome).
    Finished,
    /// Nothing could run any more (tasks waiting on futures nobody sets: a scenario may do that).
    Deadlock,
    /// It hit the step limit: a scenario always ends, so this is a runaway loop in tulipsim.
    Runaway(String),
    /// A Rust panic inside tulipsim, caught by the loop.
    Panic(String),
}

/// A finished run.
pub struct Run {
    /// The canonical trace lines.
    pub lines: Vec<String>,
    /// How the main task's run ended.
    pub ending: Ending,
    /// Invariants broken at the moment a step returned, each with its time and task.
    pub violations: Vec<String>,
    /// The choices the run made, as deviations from FIFO.
    pub schedule: Schedule,
    /// How many choice points it had.
    pub decisions: u64,
    /// Where a replayed schedule stopped being followed, if it did.
    pub divergence: Option<String>,
    /// The loop's own trace, at the level the options asked for.
    pub trace: Trace,
    /// How many references to the scenario's state (held by its coroutines and callbacks)
    /// were still alive after the loop was closed and dropped: 0 unless something leaks.
    pub leaked: usize,
}

/// The step limit of a run: far above what any generated scenario takes.
pub const MAX_STEPS: u64 = 1_000_000;

/// Runs `scenario` on `lp` recycled ([`EventLoop::recycle`]) or, given `None`, on a new
/// loop; gives its canonical trace, and the loop back, closed, for the next run ([`run`]).
///
/// ```
/// use tulipsim_sim::interp::{run_on, RunOptions};
/// let s = tulipsim_sim::scenario::Scenario::from_json(r#"{"tasks": [[{"sleep": 1.5}]]}"#).unwrap();
/// let (first, lp) = run_on(None, &s, RunOptions::default());
/// let (second, lp) = run_on(Some(lp), &s, RunOptions::default());
/// assert_eq!((first.lines, lp.generation()), (second.lines, 1));
/// ```
pub fn run_on(lp: Option<EventLoop>, scenario: &Scenario, opts: RunOptions) -> (Run, EventLoop) {
    let config = LoopConfig::default()
        .seed(opts.seed)
        .trace(opts.trace)
        .faults(opts.faults.clone())
        .max_steps(MAX_STEPS)
        .panic_policy(PanicPolicy::StopLoop);
    let lp = new_or_recycled(lp, config);
    if let Some(s) = opts.scheduler {
        lp.set_boxed_scheduler(s);
    }
    let futures = (0..scenario.futures)
        .map(|_| lp.create_future::<Val>())
        .collect();
    let ctx = Rc::new(Ctx {
        scenario: scenario.clone(),
        lp: lp.handle(),
        log: RefCell::new(Vec::new()),
        futures,
        tasks: RefCell::new(vec![None; scenario.tasks.len()]),
        violations: RefCell::new(Vec::new()),
        early_timeouts: opts.faults.early_timeout_probability() > 0.0,
    });
    let main = lp.create_task(run_task(ctx.clone(), 0));
    ctx.tasks.borrow_mut()[0] = Some(main.clone());
    let mut ending = Ending::Finished;
    match lp.run_until_complete(main) {
        Ok(v) => ctx.emit("main", &format!("-> {}", fmt_val(&v))),
        Err(Error::Deadlock(_)) => {
            ending = Ending::Deadlock;
            ctx.emit("main", "deadlock");
        }
        Err(e @ Error::Limit(_)) => {
            ending = Ending::Runaway(e.to_string());
            ctx.emit("main", "runaway");
        }
        Err(e @ Error::Panic(_)) => {
            ending = Ending::Panic(e.to_string());
            ctx.emit("main", "panic");
        }
        Err(e) => ctx.emit("main", &format!("raised {}", type_name(&e))),
    }
    for (i, f) in ctx.futures.iter().enumerate() {
        ctx.emit(&format!("F{i}"), &state(f));
    }
    for i in 0..scenario.tasks.len() {
        let s = match ctx.task(i as u8) {
            None => "not spawned".to_string(),
            Some(t) => state(&t.as_future()),
        };
        ctx.emit(&format!("T{i}"), &s);
    }
    let lines = ctx.log.borrow().clone();
    let mut violations = ctx.violations.borrow().clone();
    violations.extend(invariants::check_trace(&lines));
    let scheduler = lp.take_scheduler();
    let (schedule, decisions, trace) = (lp.schedule(), lp.decisions(), lp.take_trace());
    // Break the cycle ctx -> tasks -> coroutines -> ctx before the loop frees the rest.
    ctx.tasks.borrow_mut().clear();
    let _ = lp.close();
    let _ = lp.take_reports();
    let run = Run {
        lines,
        ending,
        violations,
        schedule,
        decisions,
        divergence: scheduler.and_then(|s| s.divergence()),
        trace,
        leaked: Rc::strong_count(&ctx) - 1,
    };
    drop(ctx);
    (run, lp)
}

/// Runs `scenario` on tulipsim; gives its canonical trace.
///
/// ```
/// use tulipsim_sim::interp::{run, RunOptions};
/// use tulipsim_sim::scenario::Scenario;
/// let s = Scenario::from_json(r#"{"tasks": [[{"sleep": 1.5}, {"return": 3}]]}"#).unwrap();
/// let r = run(&s, RunOptions::default());
/// assert_eq!(r.lines[0], "1.500 T0 sleep 1.5 -> None");
/// assert_eq!(r.lines[2], "1.500 main -> 3");
/// ```
pub fn run(scenario: &Scenario, opts: RunOptions) -> Run {
    run_on(None, scenario, opts).0
}

// Kept out of `run_on`: the trace names the lines where it makes futures and tasks, which the
// recorded schedule hashes (`tests/schedule_hashes.rs`) include.
fn new_or_recycled(spare: Option<EventLoop>, config: LoopConfig) -> EventLoop {
    match spare {
        Some(spare) => spare.recycle(config),
        None => EventLoop::with_config(config),
    }
}
