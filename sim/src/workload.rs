//! Workloads for property tests: trees of tasks with random sleeps, results, errors and
//! catches, run under a random schedule with random faults.
//!
//! A [`Node`] is a task: it spawns its children, sleeps or yields through its acts, awaits its
//! children (a `gather` with `return_exceptions`), then returns a value or raises. When a
//! `CancelledError` reaches one of its awaits it lets it escape, returns a value, or swallows it
//! and carries on, as its [`Catch`] says. An [`Env`] is how the run is scheduled: a policy, a
//! seed and the faults. The property tests (`sim/tests/properties.rs`) build a program from
//! nodes, run it in an env with [`Env::run`], and check what asyncio promises.
//!
//! ```
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//! use tulipsim_sim::workload::{node, Env, Node};
//!
//! let mut runner = TestRunner::deterministic();
//! let n: Node = node().new_tree(&mut runner).unwrap().current();
//! let run = Env::fifo().run(move || {
//!     let n = n.clone();
//!     async move { n.spawn("n")?.await }
//! });
//! assert!(run.lp.time() >= 0.0);
//! ```

use std::cell::RefCell;
use std::future::Future as StdFuture;
use std::pin::Pin;
use std::rc::Rc;

use proptest::prelude::*;
use tulipsim::scheduler::FaultKind;
use tulipsim::trace::Event;
use tulipsim::{
    create_task_named, gather_return_exceptions, sleep, wait, Error, EventLoop, LoopConfig, Policy,
    Task, TraceLevel,
};

use crate::explore::Faults;
use crate::scenario::Half;

/// What a node does before it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// `await asyncio.sleep(d)`.
    Sleep(Half),
    /// `await asyncio.sleep(0)`: a bare yield.
    Yield,
}

/// How a node ends if nothing cancels it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// `return v`.
    Return(i8),
    /// `raise`: an error whose text names the task, so a test can tell whose it is.
    Raise,
}

/// What a node does with a `CancelledError` that reaches one of its awaits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Catch {
    /// Let it escape: the task ends cancelled.
    Propagate,
    /// `except CancelledError: return v`.
    Return(i8),
    /// `except CancelledError: pass`, then go on with the next act.
    Resume,
}

/// A task of a workload: see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Sleeps and yields, in order.
    pub acts: Vec<Act>,
    /// Tasks it spawns first and awaits after its acts.
    pub children: Vec<Node>,
    /// How it ends.
    pub end: End,
    /// What it does with a cancellation.
    pub catch: Catch,
}

/// What the tasks of a run did, in the order they did it.
#[derive(Clone, Debug, Default)]
pub struct Record {
    events: Rc<RefCell<Vec<(i64, String, Happened)>>>,
}

/// One entry of a [`Record`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    /// The task's coroutine started.
    Started,
    /// It caught a `CancelledError`.
    Caught,
    /// Its coroutine returned (`Ok`) or raised (`Err`, the error's text).
    Finished(Result<i64, String>),
}

impl Record {
    fn push(&self, task: &str, what: Happened) {
        let now = tulipsim::get_running_loop().map_or(0, |lp| lp.time_ns());
        self.events.borrow_mut().push((now, task.to_string(), what));
    }

    /// Every entry: (virtual nanoseconds, task name, what happened).
    pub fn events(&self) -> Vec<(i64, String, Happened)> {
        self.events.borrow().clone()
    }

    /// The tasks whose coroutine finished, in the order they finished.
    pub fn finish_order(&self) -> Vec<String> {
        let events = self.events.borrow();
        events
            .iter()
            .filter(|(_, _, h)| matches!(h, Happened::Finished(_)))
            .map(|(_, t, _)| t.clone())
            .collect()
    }

    /// When `task`'s coroutine finished, in virtual nanoseconds.
    pub fn finished_at(&self, task: &str) -> Option<i64> {
        let events = self.events.borrow();
        events
            .iter()
            .find(|(_, t, h)| t == task && matches!(h, Happened::Finished(_)))
            .map(|(at, _, _)| *at)
    }

    /// Whether `task` caught a cancellation.
    pub fn caught(&self, task: &str) -> bool {
        self.events
            .borrow()
            .iter()
            .any(|(_, t, h)| t == task && *h == Happened::Caught)
    }
}

/// A node's coroutine.
pub type Body = Pin<Box<dyn StdFuture<Output = Result<i64, Error>>>>;

impl Node {
    /// A leaf that sleeps `d` seconds and returns `v`, letting a cancellation escape.
    ///
    /// ```
    /// use tulipsim_sim::workload::{Env, Node};
    /// let n = Node::sleeper(2, 7);
    /// let run = Env::fifo().run(move || {
    ///     let n = n.clone();
    ///     async move { n.spawn("n")?.await }
    /// });
    /// assert_eq!(run.result, Ok(7));
    /// assert_eq!(run.lp.time(), 1.0);
    /// ```
    pub fn sleeper(halves: u8, v: i8) -> Node {
        Node {
            acts: vec![Act::Sleep(Half(halves))],
            children: Vec::new(),
            end: End::Return(v),
            catch: Catch::Propagate,
        }
    }

    /// The error a node named `name` raises.
    pub fn error_text(name: &str) -> String {
        format!("{name} failed")
    }

    /// Whether this node awaits only leaf awaitables (no children), so that a cancellation
    /// always reaches it as a `CancelledError` at its current await.
    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// Creates the node as a task named `name` (its children are `name.0`, `name.1`, ...),
    /// recording nothing.
    pub fn spawn(&self, name: &str) -> Result<Task<i64>, Error> {
        self.spawn_recorded(name, &Record::default())
    }

    /// Creates the node as a task named `name`, recording what it and its children do.
    pub fn spawn_recorded(&self, name: &str, record: &Record) -> Result<Task<i64>, Error> {
        create_task_named(name, self.coroutine(name, record))
    }

    /// The node's coroutine, for a task named `name` (to spawn it some other way: in a task
    /// group, say).
    pub fn coroutine(&self, name: &str, record: &Record) -> Body {
        self.clone().body(name.to_string(), record.clone())
    }

    fn body(self, name: String, record: Record) -> Body {
        Box::pin(async move {
            record.push(&name, Happened::Started);
            let finish = |r: Result<i64, Error>| {
                let text = r.as_ref().map(|v| *v).map_err(|e| e.to_string());
                record.push(&name, Happened::Finished(text));
                r
            };
            let mut kids = Vec::with_capacity(self.children.len());
            for (i, child) in self.children.iter().enumerate() {
                kids.push(child.spawn_recorded(&format!("{name}.{i}"), &record)?);
            }
            let kids = (!kids.is_empty()).then_some(kids);
            let awaits = self.acts.len() + usize::from(kids.is_some());
            let mut kids = kids;
            for i in 0..awaits {
                let r = match self.acts.get(i) {
                    Some(Act::Sleep(d)) => sleep(d.secs()).await,
                    Some(Act::Yield) => sleep(0).await,
                    None => match kids.take() {
                        Some(k) => gather_return_exceptions(k).await.map(|_| ()),
                        None => Ok(()),
                    },
                };
                match r {
                    Ok(()) => {}
                    Err(e) if e.is_cancelled() => match self.catch {
                        Catch::Propagate => return finish(Err(e)),
                        Catch::Return(v) => {
                            record.push(&name, Happened::Caught);
                            return finish(Ok(i64::from(v)));
                        }
                        Catch::Resume => record.push(&name, Happened::Caught),
                    },
                    Err(e) => return finish(Err(e)),
                }
            }
            finish(match self.end {
                End::Return(v) => Ok(i64::from(v)),
                End::Raise => Err(Error::msg(Node::error_text(&name))),
            })
        })
    }
}

/// How a property's program is scheduled: a policy, a seed, and faults.
#[derive(Clone, Debug)]
pub struct Env {
    /// The scheduling policy.
    pub policy: Policy,
    /// The seed.
    pub seed: u64,
    /// The faults.
    pub faults: Faults,
}

/// A finished run of a property's program.
pub struct Run<T> {
    /// What the main coroutine returned.
    pub result: Result<T, Error>,
    /// The loop, still open: the test can inspect futures, then close it.
    pub lp: EventLoop,
    /// The loop's trace (decisions and faults).
    pub trace: tulipsim::Trace,
}

impl<T> Run<T> {
    /// Runs the loop until every one of `tasks` is done (each try may itself be cancelled by an
    /// injected fault, so it tries again), or until nothing can run. Gives whether all are done.
    pub fn settle(&self, tasks: &[Task<i64>]) -> bool {
        for _ in 0..1_000 {
            let pending: Vec<Task<i64>> = tasks.iter().filter(|t| !t.done()).cloned().collect();
            if pending.is_empty() {
                return true;
            }
            let r = self
                .lp
                .run_until_complete(async move { wait(pending).await.map(|_| ()) });
            if let Err(Error::Deadlock(_) | Error::Limit(_) | Error::Panic(_)) = r {
                break; // nothing can finish them; a cancelled try is simply tried again
            }
        }
        tasks.iter().all(|t| t.done())
    }

    /// Whether the task named `name` was cancelled by an injected fault.
    pub fn spuriously_cancelled(&self, name: &str) -> bool {
        let detail = format!("{name} cancelled before its step");
        self.faults(FaultKind::SpuriousCancel).any(|d| d == detail)
    }

    /// Whether any fault of `kind` was injected.
    pub fn injected(&self, kind: FaultKind) -> bool {
        self.faults(kind).next().is_some()
    }

    fn faults(&self, wanted: FaultKind) -> impl Iterator<Item = &str> {
        self.trace
            .records()
            .iter()
            .filter_map(move |r| match &r.event {
                Event::Fault { kind, detail } if *kind == wanted => Some(detail.as_str()),
                _ => None,
            })
    }
}

impl Env {
    /// FIFO, seed 0, no faults: asyncio's own order.
    pub fn fifo() -> Env {
        Env {
            policy: Policy::Fifo,
            seed: 0,
            faults: Faults::default(),
        }
    }

    /// Runs `main` (a function making the program's main coroutine) in this env. Learning
    /// policies are warmed from one FIFO run of the same program first, as `check` does: so
    /// `main` is called twice, and whatever the first call's program stored belongs to a
    /// closed loop (reset it when `main` is called).
    pub fn run<T: 'static, Fut>(&self, main: impl Fn() -> Fut) -> Run<T>
    where
        Fut: StdFuture<Output = Result<T, Error>> + 'static,
    {
        let config = || {
            LoopConfig::default()
                .seed(self.seed)
                .faults(self.faults.config())
                .max_steps(crate::interp::MAX_STEPS)
                .trace(TraceLevel::Decisions)
        };
        // No faults and the loop's default seed: the env's faults are not drawn here, so there
        // is one FIFO run to learn from, whichever seed `check`'s path asks for.
        let calibration = tulipsim::harness::warm_up_length(&self.policy, false, |_| {
            let lp =
                EventLoop::with_config(LoopConfig::default().max_steps(crate::interp::MAX_STEPS));
            let _ = lp.run_until_complete(main());
            let decisions = lp.decisions();
            let _ = lp.close();
            let _ = lp.take_reports();
            decisions
        });
        let lp = EventLoop::with_config(config());
        if !matches!(self.policy, Policy::Fifo) {
            lp.set_boxed_scheduler(self.policy.warmed_scheduler(calibration));
        }
        let result = lp.run_until_complete(main());
        let trace = lp.trace();
        Run { result, lp, trace }
    }
}

fn half() -> impl Strategy<Value = Half> {
    prop_oneof![2 => Just(Half(0)), 3 => Just(Half(1)), 2 => Just(Half(2)), 1 => Just(Half(3))]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![3 => half().prop_map(Act::Sleep), 1 => Just(Act::Yield)]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![3 => (0i8..=9).prop_map(End::Return), 1 => Just(End::Raise)]
}

fn catch() -> impl Strategy<Value = Catch> {
    prop_oneof![
        3 => Just(Catch::Propagate),
        1 => (0i8..=9).prop_map(Catch::Return),
        1 => Just(Catch::Resume)
    ]
}

/// A leaf: acts and an end, no children.
pub fn leaf() -> impl Strategy<Value = Node> {
    (prop::collection::vec(act(), 0..=3), end(), catch()).prop_map(|(acts, end, catch)| Node {
        acts,
        children: Vec::new(),
        end,
        catch,
    })
}

/// A tree of up to three levels; shrinks toward fewer acts and children.
pub fn node() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(2, 8, 3, |inner| {
        (
            prop::collection::vec(act(), 0..=3),
            prop::collection::vec(inner, 0..=3),
            end(),
            catch(),
        )
            .prop_map(|(acts, children, end, catch)| Node {
                acts,
                children,
                end,
                catch,
            })
    })
}

/// An env: FIFO, Random or PCT (depth 1 to 3), any seed, and each fault off or on at a small
/// probability. Shrinks toward FIFO and no faults.
///
/// `TULIPSIM_ENV` narrows it, for sweeps that report each kind apart: `fifo`, `random` or `pct`
/// fix the policy (faults still vary); `faults` turns every fault on (at 5% or 20%).
pub fn env() -> BoxedStrategy<Env> {
    let only = std::env::var("TULIPSIM_ENV").unwrap_or_default();
    let policy = match only.as_str() {
        "fifo" => Just(Policy::Fifo).boxed(),
        "random" => Just(Policy::Random).boxed(),
        "pct" => (1u32..=3).prop_map(Policy::Pct).boxed(),
        _ => prop_oneof![
            Just(Policy::Fifo),
            Just(Policy::Random),
            (1u32..=3).prop_map(Policy::Pct),
        ]
        .boxed(),
    };
    let p = move || {
        if only == "faults" {
            prop_oneof![Just(0.05), Just(0.2)].boxed()
        } else {
            prop_oneof![3 => Just(0.0), 1 => Just(0.05), 1 => Just(0.2)].boxed()
        }
    };
    (policy, any::<u64>(), p(), p(), p())
        .prop_map(|(policy, seed, e, j, s)| Env {
            policy,
            seed,
            faults: Faults {
                early_timeout: e,
                timer_jitter: j,
                spurious_cancel: s,
            },
        })
        .boxed()
}

/// [`env()`] without spurious cancellations (for properties about who cancels what).
pub fn env_without_spurious_cancels() -> impl Strategy<Value = Env> {
    env().prop_map(|mut e| {
        e.faults.spurious_cancel = 0.0;
        e
    })
}
