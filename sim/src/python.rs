//! Writes a [`Scenario`] as a CPython 3.11 asyncio program that prints the canonical trace.
//!
//! The program imports `vloop` (`sim/python/vloop.py`, asyncio's own `BaseEventLoop` on a
//! virtual clock) and defines `run()`, which returns the trace lines. Run by hand it prints them:
//! `PYTHONPATH=sim/python python3 program.py`. [`Worker`] runs many programs in one `python3`
//! process, so a differential run does not pay Python's start-up per scenario.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::Deserialize;

use crate::scenario::{Half, Handler, Scenario, Step, Target};

/// The virtual-time loop's source, embedded so the CLI works outside the repository.
pub const VLOOP: &str = include_str!("../python/vloop.py");
const WORKER: &str = include_str!("../python/worker.py");

const PRELUDE: &str = r#"import asyncio
import vloop

LOG = []
F = []
T = []
loop = None


def emit(who, what):
    LOG.append(f"{loop.time():.3f} {who} {what}")


def note(e):
    """Remembers whether `e` is or carries a RecursionError (CPython's own failure mode)."""
    seen, stack = set(), [e]
    while stack:
        x = stack.pop()
        if x is None or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, RecursionError):
            vloop.RECURSED = True
        stack.extend(getattr(x, "exceptions", ()))
        stack += [x.__cause__, x.__context__]


def tname(e):
    return type(e).__name__


def fmt(v):
    return "None" if v is None else str(v)


def fmt_outcome(v):
    return tname(v) if isinstance(v, BaseException) else fmt(v)


def fmt_list(vs):
    return "[" + ", ".join(fmt_outcome(v) for v in vs) + "]"


def name_of(f):
    for i, g in enumerate(F):
        if g is f:
            return f"F{i}"
    for i, t in enumerate(T):
        if t is f:
            return f"T{i}"
    return "?"


def names(fs):
    ns = sorted((name_of(f) for f in fs), key=lambda n: (n[0], int(n[1:]) if n[1:].isdigit() else 1 << 32))
    return "[" + ", ".join(ns) + "]"


def fmt_wait(r):
    done, pending = r
    return f"done={names(done)} pending={names(pending)}"


async def step(who, desc, aw, show=fmt):
    try:
        v = await aw
    except BaseException as e:
        note(e)
        emit(who, f"{desc} -> raised {tname(e)}")
        raise
    emit(who, f"{desc} -> {show(v)}")
    return v


async def now(f):
    return f()


def state(f):
    if not f.done():
        return "pending"
    if f.cancelled():
        return "cancelled"
    e = f.exception()
    if e is not None:
        return f"exception {tname(e)}"
    return f"result {fmt(f.result())}"
"#;

/// The Python program for `scenario`.
pub fn emit(scenario: &Scenario) -> String {
    let mut out = String::from(PRELUDE);
    for (i, body) in scenario.tasks.iter().enumerate() {
        let _ = write!(
            out,
            "\n\nasync def body_T{i}():\n    who = \"T{i}\"\n    pass\n"
        );
        Emitter {
            scenario,
            out: &mut out,
        }
        .steps(body, 1);
        let _ = write!(
            out,
            r#"

async def task_T{i}():
    try:
        v = await body_T{i}()
    except BaseException as e:
        note(e)
        emit("T{i}", f"end raised {{tname(e)}}")
        raise
    emit("T{i}", f"end -> {{fmt(v)}}")
    return v
"#
        );
    }
    let _ = write!(
        out,
        r#"

def run():
    global loop
    LOG.clear()
    loop = vloop.new_loop()
    F[:] = [loop.create_future() for _ in range({futures})]
    T[:] = [None] * {tasks}
    T[0] = loop.create_task(task_T0())
    try:
        v = loop.run_until_complete(T[0])
        emit("main", f"-> {{fmt(v)}}")
    except vloop.Deadlock:
        emit("main", "deadlock")
    except BaseException as e:
        note(e)
        emit("main", f"raised {{tname(e)}}")
    for i, f in enumerate(F):
        emit(f"F{{i}}", state(f))
    for i, t in enumerate(T):
        emit(f"T{{i}}", "not spawned" if t is None else state(t))
    return list(LOG)


if __name__ == "__main__":
    print("\n".join(run()))
"#,
        futures = scenario.futures,
        tasks = scenario.tasks.len(),
    );
    out
}

struct Emitter<'a> {
    scenario: &'a Scenario,
    out: &'a mut String,
}

fn py_str(s: &str) -> String {
    // Descriptions are ASCII without quotes or backslashes; assert it rather than escape.
    debug_assert!(s.bytes().all(|b| b.is_ascii_graphic() || b == b' ') && !s.contains(['"', '\\']));
    format!("\"{s}\"")
}

fn py_opt(h: Option<Half>) -> String {
    h.map_or("None".to_string(), |h| format!("{:?}", h.secs()))
}

impl Emitter<'_> {
    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn steps(&mut self, steps: &[Step], depth: usize) {
        for s in steps {
            self.step(s, depth);
        }
    }

    /// The Python expression for a target, or `None` if it is out of range.
    fn target(&self, t: Target) -> Option<String> {
        self.scenario.in_range(t).then(|| match t {
            Target::Future(i) => format!("F[{i}]"),
            Target::Task(i) => format!("T[{i}]"),
        })
    }

    /// Emits `if <some task in ts is unspawned>: skip / else:` and gives the depth of the
    /// else-branch, or `None` if a target is out of range (the step always skips).
    fn guard(&mut self, ts: &[Target], desc: &str, depth: usize) -> Option<(Vec<String>, usize)> {
        let exprs: Option<Vec<String>> = ts.iter().map(|t| self.target(*t)).collect();
        let Some(exprs) = exprs else {
            self.line(
                depth,
                &format!("emit(who, {})", py_str(&format!("{desc} -> skip"))),
            );
            return None;
        };
        let tasks: Vec<&String> = exprs.iter().filter(|e| e.starts_with('T')).collect();
        if tasks.is_empty() {
            return Some((exprs, depth));
        }
        let conds: Vec<String> = tasks.iter().map(|e| format!("{e} is None")).collect();
        self.line(depth, &format!("if {}:", conds.join(" or ")));
        self.line(
            depth + 1,
            &format!("emit(who, {})", py_str(&format!("{desc} -> skip"))),
        );
        self.line(depth, "else:");
        Some((exprs, depth + 1))
    }

    fn step(&mut self, s: &Step, depth: usize) {
        let desc = s.desc();
        let d = py_str(&desc);
        match s {
            Step::Sleep(h) => self.line(
                depth,
                &format!("await step(who, {d}, asyncio.sleep({:?}))", h.secs()),
            ),
            Step::Await(t) => {
                if let Some((e, depth)) = self.guard(&[*t], &desc, depth) {
                    self.line(depth, &format!("await step(who, {d}, {})", e[0]));
                }
            }
            Step::SetResult {
                future: i,
                value: v,
            } => {
                if let Some((e, depth)) = self.guard(&[Target::Future(*i)], &desc, depth) {
                    let call = format!("now(lambda: {}.set_result({v}))", e[0]);
                    self.line(depth, &format!("await step(who, {d}, {call})"));
                }
            }
            Step::SetException {
                future: i,
                exception: exc,
            } => {
                if let Some((e, depth)) = self.guard(&[Target::Future(*i)], &desc, depth) {
                    let call = format!("now(lambda: {}.set_exception({}()))", e[0], exc.name());
                    self.line(depth, &format!("await step(who, {d}, {call})"));
                }
            }
            Step::Cancel { target: t, msg } => {
                if let Some((e, depth)) = self.guard(&[*t], &desc, depth) {
                    let arg = if *msg { "msg='msg'" } else { "" };
                    let what = format!("f\"{desc} -> {{{}.cancel({arg})}}\"", e[0]);
                    self.line(depth, &format!("emit(who, {what})"));
                }
            }
            Step::Spawn(i) => self.spawn(*i, "asyncio", depth),
            Step::Shield(t) => {
                if let Some((e, depth)) = self.guard(&[*t], &desc, depth) {
                    self.line(
                        depth,
                        &format!("await step(who, {d}, asyncio.shield({}))", e[0]),
                    );
                }
            }
            Step::Gather {
                of: ts,
                return_exceptions: ret,
            } => {
                if let Some((e, depth)) = self.guard(ts, &desc, depth) {
                    let mut args = e.join(", ");
                    if *ret {
                        args.push_str(if e.is_empty() { "" } else { ", " });
                        args.push_str("return_exceptions=True");
                    }
                    let call = format!("asyncio.gather({args})");
                    self.line(depth, &format!("await step(who, {d}, {call}, fmt_list)"));
                }
            }
            Step::Wait {
                of: ts,
                return_when: mode,
                timeout: to,
            } => {
                if let Some((e, depth)) = self.guard(ts, &desc, depth) {
                    let call = format!(
                        "asyncio.wait([{}], timeout={}, return_when={})",
                        e.join(", "),
                        py_opt(*to),
                        mode.python()
                    );
                    self.line(depth, &format!("await step(who, {d}, {call}, fmt_wait)"));
                }
            }
            Step::WaitFor { of: t, timeout: to } => {
                if let Some((e, depth)) = self.guard(&[*t], &desc, depth) {
                    let call = format!("asyncio.wait_for({}, {})", e[0], py_opt(*to));
                    self.line(depth, &format!("await step(who, {d}, {call})"));
                }
            }
            Step::AsCompleted {
                of: ts,
                timeout: to,
            } => {
                if let Some((e, depth)) = self.guard(ts, &desc, depth) {
                    let call = format!(
                        "asyncio.as_completed([{}], timeout={})",
                        e.join(", "),
                        py_opt(*to)
                    );
                    self.line(depth, &format!("for nxt in {call}:"));
                    self.line(depth + 1, "await step(who, \"as_completed next\", nxt)");
                    self.line(
                        depth,
                        &format!("emit(who, {})", py_str(&format!("{desc} -> None"))),
                    );
                }
            }
            Step::TaskGroup { spawn: ids, body } => {
                self.block(&desc, "asyncio.TaskGroup() as tg", depth, |me, depth| {
                    for &i in ids {
                        me.spawn(i, "tg", depth);
                    }
                    me.steps(body, depth);
                });
            }
            Step::Timeout { delay: to, body } => {
                let ctx = format!("asyncio.timeout({})", py_opt(*to));
                self.block(&desc, &ctx, depth, |me, depth| me.steps(body, depth));
            }
            Step::Try {
                body,
                except: handler,
            } => {
                self.line(depth, "try:");
                self.line(depth + 1, "pass");
                self.steps(body, depth + 1);
                self.line(depth, "except asyncio.CancelledError:");
                self.line(depth + 1, "emit(who, \"caught CancelledError\")");
                match handler {
                    Handler::Swallow => {}
                    Handler::Reraise => self.line(depth + 1, "raise"),
                    Handler::Return(v) => self.line(depth + 1, &format!("return {v}")),
                }
            }
            Step::Log(_) => self.line(depth, &format!("emit(who, {d})")),
            Step::Return(v) => self.line(depth, &format!("return {v}")),
            Step::Raise(e) => self.line(depth, &format!("raise {}()", e.name())),
        }
    }

    /// `async with <ctx>:` around `body`, logging like a step: `-> None` when the block runs
    /// off its end (the `else:` clause, skipped by `return`), `-> raised Type` otherwise.
    fn block(&mut self, desc: &str, ctx: &str, depth: usize, body: impl FnOnce(&mut Self, usize)) {
        self.line(depth, "try:");
        self.line(depth + 1, &format!("async with {ctx}:"));
        self.line(depth + 2, "pass");
        body(self, depth + 2);
        self.line(depth, "except BaseException as e:");
        self.line(depth + 1, "note(e)");
        self.line(
            depth + 1,
            &format!("emit(who, f\"{desc} -> raised {{tname(e)}}\")"),
        );
        self.line(depth + 1, "raise");
        self.line(depth, "else:");
        self.line(
            depth + 1,
            &format!("emit(who, {})", py_str(&format!("{desc} -> None"))),
        );
    }

    fn spawn(&mut self, i: u8, creator: &str, depth: usize) {
        let desc = format!("spawn T{i}");
        if !self.scenario.spawnable(i) {
            self.line(
                depth,
                &format!("emit(who, {})", py_str(&format!("{desc} -> skip"))),
            );
            return;
        }
        self.line(depth, &format!("if T[{i}] is not None:"));
        self.line(
            depth + 1,
            &format!("emit(who, {})", py_str(&format!("{desc} -> skip"))),
        );
        self.line(depth, "else:");
        self.line(
            depth + 1,
            &format!("T[{i}] = {creator}.create_task(task_T{i}())"),
        );
        self.line(
            depth + 1,
            &format!("emit(who, {})", py_str(&format!("{desc} -> None"))),
        );
    }
}

/// Which of CPython's two asyncio implementations runs a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// The C accelerator `_asyncio` (CPython's default).
    C,
    /// The pure-Python `_PyFuture` and `_PyTask`.
    Pure,
}

/// Why CPython could not give a trace.
#[derive(Debug)]
pub enum PythonError {
    /// `python3` could not be started or talked to.
    Io(std::io::Error),
    /// The program raised outside the scenario's own events (a bug in the emitter or vloop);
    /// the Python traceback.
    Program(String),
}

impl std::fmt::Display for PythonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PythonError::Io(e) => write!(f, "could not run python3: {e}"),
            PythonError::Program(tb) => write!(f, "the Python program failed:\n{tb}"),
        }
    }
}

impl std::error::Error for PythonError {}

impl From<std::io::Error> for PythonError {
    fn from(e: std::io::Error) -> Self {
        PythonError::Io(e)
    }
}

/// The Python the oracle runs: `$TULIPSIM_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("TULIPSIM_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Whether that Python exists and is CPython 3.11 or newer (the oracle's version).
pub fn available() -> bool {
    let check =
        "import sys; print(sys.implementation.name == 'cpython' and sys.version_info >= (3, 11))";
    Command::new(python())
        .args(["-c", check])
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"True"))
}

/// A `python3` process that runs emitted programs, one per request.
///
/// The protocol is one JSON object per line each way: `{"program", "pure"}` in, `{"lines"}`
/// (the trace) or `{"error"}` (a traceback) out.
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    /// Starts `python3` (or `$TULIPSIM_PYTHON`).
    pub fn start() -> Result<Worker, PythonError> {
        let mut child = Command::new(python())
            .arg("-u")
            .arg("-c")
            .arg(WORKER)
            .env("TULIPSIM_VLOOP_SOURCE", VLOOP)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(Worker {
            child,
            stdin,
            stdout,
        })
    }

    /// Runs `program` (from [`emit`]) as `oracle` says and gives its trace.
    pub fn run(&mut self, program: &str, oracle: &Oracle) -> Result<PythonTrace, PythonError> {
        let deviations: Vec<&str> = oracle.deviations.iter().map(|d| d.name()).collect();
        let request = serde_json::json!({
            "program": program,
            "pure": oracle.implementation == Implementation::Pure,
            "deviations": deviations,
        });
        writeln!(self.stdin, "{request}")?;
        self.stdin.flush()?;
        let mut reply = String::new();
        if self.stdout.read_line(&mut reply)? == 0 {
            return Err(PythonError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "python3 exited",
            )));
        }
        let reply: Reply = serde_json::from_str(&reply)
            .map_err(|e| PythonError::Program(format!("unreadable reply {reply:?}: {e}")))?;
        match reply {
            Reply::Error { error } => Err(PythonError::Program(error)),
            Reply::Trace(trace) => Ok(trace),
        }
    }

    /// Runs `scenario` as `oracle` says and gives its trace.
    pub fn trace(
        &mut self,
        scenario: &Scenario,
        oracle: &Oracle,
    ) -> Result<PythonTrace, PythonError> {
        self.run(&emit(scenario), oracle)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Reply {
    Error { error: String },
    Trace(PythonTrace),
}

/// What CPython printed.
#[derive(Clone, Debug, Deserialize)]
pub struct PythonTrace {
    /// The canonical trace.
    pub lines: Vec<String>,
    /// The type names of the exceptions the loop's exception handler received: errors raised
    /// inside callbacks, which asyncio logs and otherwise ignores.
    pub handler_exceptions: Vec<String>,
    /// Whether CPython hit a `RecursionError` anywhere: in a callback, or inside a task
    /// (where it may surface wrapped, in an `ExceptionGroup` or as another error's cause).
    #[serde(default)]
    pub recursed: bool,
}

/// How CPython runs a program: which implementation, with which of tulipsim's deliberate
/// differences patched in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Oracle {
    /// C or pure-Python Future and Task.
    pub implementation: Implementation,
    /// Patches that make asyncio behave as tulipsim does where it differs on purpose.
    pub deviations: Vec<Deviation>,
}

impl Oracle {
    /// CPython as it is: the C implementation, no patches.
    pub fn cpython() -> Oracle {
        Oracle {
            implementation: Implementation::C,
            deviations: Vec::new(),
        }
    }
}

/// A deliberate difference between tulipsim and CPython 3.11 (each is written down in
/// `docs/semantics.md`) that `vloop.py` can patch into asyncio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Deviation {
    /// `wait_for` does not swallow the caller's cancellation when the inner awaitable is
    /// already done (bpo-42130).
    WaitForKeepsCancellation,
}

impl Deviation {
    /// Every deviation.
    pub const ALL: [Deviation; 1] = [Deviation::WaitForKeepsCancellation];

    /// Its name in `vloop.DEVIATIONS`.
    pub fn name(self) -> &'static str {
        match self {
            Deviation::WaitForKeepsCancellation => "wait_for_keeps_cancellation",
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
