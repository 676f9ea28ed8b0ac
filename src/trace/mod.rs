//! Traces: what a run did, one line per event, with a stable hash.
//!
//! A trace records, at virtual times: tasks spawned, each ready entry that ran (a task's step
//! or wakeup, a callback, a timer), what a task awaits when it suspends, how each task ended,
//! every decision a policy took and every fault injected. Its text form is stable (no
//! addresses, no wall clock, no hash-map order), so the same seed and policy give the same text
//! and the same [`hash`](Trace::hash) on every machine, and it suits
//! `insta::assert_snapshot!`.
//!
//! Besides the text form, a trace renders as JSON lines ([`Trace::to_json_lines`]), as Chrome
//! trace events for Perfetto ([`Trace::to_chrome_json`]), as a Mermaid sequence diagram
//! ([`Trace::to_mermaid`]) and as a standalone SVG timeline ([`Trace::to_svg`]).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::panic::Location;

use crate::events::nanos_to_secs;
use crate::scheduler::{EntryKind, FaultKind};

mod chrome;
mod mermaid;
mod record;
mod svg;

pub use record::note;

/// How much a loop records. Recording costs a little per step; turn it down for speed.
///
/// ```
/// use tulipsim::{EventLoop, LoopConfig, TraceLevel};
/// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
/// lp.run_until_complete(tulipsim::sleep(1)).unwrap();
/// assert!(lp.trace().len() > 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TraceLevel {
    /// Nothing (the default of a plain loop).
    #[default]
    Off,
    /// Decisions and faults only: enough to see and compare schedules.
    Decisions,
    /// Everything (the default of the test harness).
    Full,
}

/// How a task ended, as a trace shows it.
///
/// ```
/// use tulipsim::trace::{Event, Outcome};
/// use tulipsim::{EventLoop, LoopConfig, TraceLevel};
/// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
/// lp.run_until_complete(async { Ok(()) }).unwrap();
/// let ended = lp.trace().records().iter().any(|r| {
///     matches!(r.event, Event::Done { outcome: Outcome::Result, .. })
/// });
/// assert!(ended);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It returned a value.
    Result,
    /// It returned an error: the error's kind and the first line of its text.
    Exception(String),
    /// It ended cancelled.
    Cancelled,
}

/// One event of a [`Trace`].
///
/// ```
/// use tulipsim::trace::Event;
/// use tulipsim::{EventLoop, LoopConfig, TraceLevel};
/// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
/// lp.run_until_complete(async { Ok(()) }).unwrap();
/// let trace = lp.trace();
/// assert!(matches!(trace.records()[0].event, Event::Spawned { task: 1, .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A task was created.
    Spawned {
        /// Its id.
        task: u64,
        /// Where.
        site: std::sync::Arc<str>,
    },
    /// A ready entry ran.
    Ran {
        /// What it was.
        kind: EntryKind,
        /// Its task, for a step or wakeup.
        task: Option<u64>,
    },
    /// A task yielded (`sleep(0)`): its next step is already scheduled.
    Yields {
        /// The task.
        task: u64,
    },
    /// A task suspended, waiting on this.
    Awaits {
        /// The task.
        task: u64,
        /// What it waits on.
        what: std::sync::Arc<str>,
    },
    /// A task ended.
    Done {
        /// The task.
        task: u64,
        /// How.
        outcome: Outcome,
    },
    /// A policy chose candidate `chosen` of `of` at decision `index`.
    Decision {
        /// The decision's number in the run.
        index: u64,
        /// The candidate taken (0 is FIFO).
        chosen: u32,
        /// How many were eligible.
        of: u32,
    },
    /// A fault was injected.
    Fault {
        /// Which.
        kind: FaultKind,
        /// On what.
        detail: String,
    },
    /// The program's own event: [`note`].
    Note {
        /// The task that wrote it, if a task's step was running.
        task: Option<u64>,
        /// What it says.
        text: String,
    },
}

/// A trace event at a virtual time.
///
/// ```
/// use tulipsim::{sleep, EventLoop, LoopConfig, TraceLevel};
/// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
/// lp.run_until_complete(sleep(2)).unwrap();
/// let last = lp.trace().records().last().unwrap().clone();
/// assert_eq!(last.time_ns, 2_000_000_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The virtual time, in nanoseconds.
    pub time_ns: i64,
    /// What happened.
    pub event: Event,
}

/// What a run did: see the [module docs](self).
///
/// ```
/// use tulipsim::{sleep, EventLoop, LoopConfig, TraceLevel};
/// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
/// lp.run_until_complete(sleep(1)).unwrap();
/// let trace = lp.trace();
/// assert!(trace.to_string().contains("Task-1 spawned at"));
/// assert_eq!(trace.hash(), lp.trace().hash());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    records: Vec<Record>,
    names: BTreeMap<u64, String>,
}

impl Trace {
    /// Makes it the empty trace again, keeping its storage.
    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.names.clear();
    }

    pub(crate) fn push(&mut self, time_ns: i64, event: Event) {
        self.records.push(Record { time_ns, event });
    }

    /// Names a task whose name is not the default `Task-<id>` (which is not stored).
    pub(crate) fn name_task(&mut self, task: u64, name: String) {
        self.names.insert(task, name);
    }

    /// The events, in order.
    ///
    /// ```
    /// use tulipsim::{EventLoop, LoopConfig, TraceLevel};
    /// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    /// lp.run_until_complete(async { Ok(()) }).unwrap();
    /// assert!(!lp.trace().records().is_empty());
    /// ```
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// How many events.
    ///
    /// ```
    /// use tulipsim::{EventLoop, LoopConfig, TraceLevel};
    /// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    /// lp.run_until_complete(async { Ok(()) }).unwrap();
    /// let t = lp.trace();
    /// assert_eq!(t.len(), t.records().len());
    /// ```
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True if nothing was recorded.
    ///
    /// ```
    /// assert!(tulipsim::Trace::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn task_name(&self, task: u64) -> String {
        self.names
            .get(&task)
            .cloned()
            .unwrap_or_else(|| format!("Task-{task}"))
    }

    /// One line's text (without the newline).
    fn line(&self, r: &Record) -> String {
        let mut s = format!("{:>12.6} ", nanos_to_secs(r.time_ns));
        let _ = match &r.event {
            Event::Spawned { task, site } => {
                write!(s, "{} spawned at {site}", self.task_name(*task))
            }
            Event::Ran {
                kind,
                task: Some(t),
            } => write!(s, "{} {}", self.task_name(*t), kind.name()),
            Event::Ran { kind, task: None } => write!(s, "{} ran", kind.name()),
            Event::Yields { task } => write!(s, "{} yields", self.task_name(*task)),
            Event::Awaits { task, what } => write!(s, "{} awaits {what}", self.task_name(*task)),
            Event::Done { task, outcome } => match outcome {
                Outcome::Result => write!(s, "{} done: result", self.task_name(*task)),
                Outcome::Exception(e) => write!(s, "{} done: raised {e}", self.task_name(*task)),
                Outcome::Cancelled => write!(s, "{} done: cancelled", self.task_name(*task)),
            },
            Event::Decision { index, chosen, of } => {
                write!(s, "decision {index}: took {chosen} of {of}")
            }
            Event::Fault { kind, detail } => write!(s, "fault {}: {detail}", kind.name()),
            Event::Note {
                task: Some(t),
                text,
            } => write!(s, "{} note: {text}", self.task_name(*t)),
            Event::Note { task: None, text } => write!(s, "note: {text}"),
        };
        s
    }

    /// Line `i` (from 0) of the text form.
    pub(crate) fn line_at(&self, i: usize) -> Option<String> {
        self.records.get(i).map(|r| self.line(r))
    }

    /// The last `n` lines, as the failure report shows them.
    ///
    /// ```
    /// let t = tulipsim::Trace::default();
    /// assert_eq!(t.tail(10), "");
    /// ```
    pub fn tail(&self, n: usize) -> String {
        let skip = self.records.len().saturating_sub(n);
        self.records[skip..]
            .iter()
            .map(|r| self.line(r) + "\n")
            .collect()
    }

    /// A stable 64-bit hash of the text form (FNV-1a): equal for equal traces on every machine
    /// and every Rust version.
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop, LoopConfig, TraceLevel};
    /// let run = || {
    ///     let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    ///     lp.run_until_complete(sleep(1)).unwrap();
    ///     lp.trace().hash()
    /// };
    /// assert_eq!(run(), run()); // deterministic
    /// ```
    pub fn hash(&self) -> u64 {
        let mut h = Fnv::new();
        for r in &self.records {
            h.write(self.line(r).as_bytes());
            h.write(b"\n");
        }
        h.finish()
    }

    /// The first line where two traces differ, as `(line number, ours, theirs)`.
    ///
    /// ```
    /// let t = tulipsim::Trace::default();
    /// assert_eq!(t.first_difference(&t), None);
    /// ```
    pub fn first_difference(&self, other: &Trace) -> Option<(usize, String, String)> {
        let n = self.records.len().max(other.records.len());
        (0..n).find_map(|i| {
            let a = self
                .records
                .get(i)
                .map(|r| self.line(r))
                .unwrap_or_default();
            let b = other
                .records
                .get(i)
                .map(|r| other.line(r))
                .unwrap_or_default();
            (a != b).then_some((i + 1, a, b))
        })
    }

    /// The trace as JSON lines: one object per event, `{"t": seconds, "event": ..., ...}`.
    ///
    /// ```
    /// use tulipsim::{sleep, EventLoop, LoopConfig, TraceLevel};
    /// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    /// lp.run_until_complete(sleep(1)).unwrap();
    /// let json = lp.trace().to_json_lines();
    /// assert!(json.lines().next().unwrap().starts_with(r#"{"t":0,"event":"spawned""#));
    /// ```
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for r in &self.records {
            let t = nanos_to_secs(r.time_ns);
            let _ = write!(out, "{{\"t\":{t},");
            let task = |t: u64| format!("\"task\":{},\"name\":{}", t, json_str(&self.task_name(t)));
            let _ = match &r.event {
                Event::Spawned { task: t, site } => {
                    write!(
                        out,
                        "\"event\":\"spawned\",{},\"site\":{}",
                        task(*t),
                        json_str(site)
                    )
                }
                Event::Ran {
                    kind,
                    task: Some(t),
                } => {
                    write!(out, "\"event\":\"{}\",{}", kind.name(), task(*t))
                }
                Event::Ran { kind, task: None } => write!(out, "\"event\":\"{}\"", kind.name()),
                Event::Yields { task: t } => write!(out, "\"event\":\"yields\",{}", task(*t)),
                Event::Awaits { task: t, what } => {
                    write!(
                        out,
                        "\"event\":\"awaits\",{},\"what\":{}",
                        task(*t),
                        json_str(what)
                    )
                }
                Event::Done { task: t, outcome } => {
                    let (o, e) = match outcome {
                        Outcome::Result => ("result", None),
                        Outcome::Exception(e) => ("exception", Some(e)),
                        Outcome::Cancelled => ("cancelled", None),
                    };
                    let _ = write!(out, "\"event\":\"done\",{},\"outcome\":\"{o}\"", task(*t));
                    match e {
                        Some(e) => write!(out, ",\"error\":{}", json_str(e)),
                        None => Ok(()),
                    }
                }
                Event::Decision { index, chosen, of } => write!(
                    out,
                    "\"event\":\"decision\",\"index\":{index},\"chosen\":{chosen},\"of\":{of}"
                ),
                Event::Fault { kind, detail } => write!(
                    out,
                    "\"event\":\"fault\",\"fault\":\"{}\",\"detail\":{}",
                    kind.name(),
                    json_str(detail)
                ),
                Event::Note { task: t, text } => {
                    let by = t.map(|t| format!(",{}", task(t))).unwrap_or_default();
                    write!(out, "\"event\":\"note\"{by},\"text\":{}", json_str(text))
                }
            };
            out.push_str("}\n");
        }
        out
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.records {
            writeln!(f, "{}", self.line(r))?;
        }
        Ok(())
    }
}

/// A call site as traces print it: a path inside a Cargo registry or an absolute path is cut
/// to the crate-relative part, so traces do not depend on where the code sits on disk.
/// [`site`], shared and remembered per call site: a full trace records one at every spawn.
pub(crate) fn shared_site(loc: &'static Location<'static>) -> std::sync::Arc<str> {
    thread_local! {
        // Keyed by the location's address only to find it again; the text is the location's.
        static SITES: std::cell::RefCell<BTreeMap<usize, std::sync::Arc<str>>> =
            std::cell::RefCell::default();
    }
    let key = loc as *const Location<'static> as usize;
    SITES.with(|sites| {
        if let Some(s) = sites.borrow().get(&key) {
            return s.clone();
        }
        let s: std::sync::Arc<str> = site(loc).into();
        sites.borrow_mut().insert(key, s.clone());
        s
    })
}

pub(crate) fn site(loc: &'static Location<'static>) -> String {
    let file = loc.file();
    let file = match file.rfind("/src/").or_else(|| file.rfind("/tests/")) {
        Some(i) if file.starts_with('/') => &file[i + 1..],
        _ => file,
    };
    format!("{file}:{}:{}", loc.line(), loc.column())
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// FNV-1a, 64 bits: tiny, and fixed forever (unlike `DefaultHasher`).
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}
