//! The Chrome trace-event exporter: [`Trace::to_chrome_json`].

use std::collections::BTreeMap;

use super::{json_str, Event, Outcome, Trace};
use crate::events::nanos_to_secs;

impl Trace {
    /// The trace in Chrome's trace-event format (a JSON array), which Perfetto
    /// (<https://ui.perfetto.dev>) and `chrome://tracing` open as a timeline: one lane per task,
    /// a slice for each task's life and for each wait inside it (named by what it awaits),
    /// a mark for each step it ran; callbacks, timers, decisions and faults on a `loop` lane.
    ///
    /// Timestamps are virtual microseconds, except that events at one virtual instant are
    /// spread 1 µs apart so that their order shows; each event's `args.t` is its exact virtual
    /// time in seconds.
    ///
    /// ```
    /// use tulipsim::{create_task, sleep, EventLoop, LoopConfig, TraceLevel};
    /// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    /// lp.run_until_complete(async {
    ///     let t = create_task(sleep(1))?;
    ///     t.await
    /// })
    /// .unwrap();
    /// let json = lp.trace().to_chrome_json();
    /// assert!(json.starts_with('[') && json.trim_end().ends_with(']'));
    /// assert!(json.contains(r#""name":"thread_name""#));
    /// assert!(json.contains(r#""name":"Task-2""#));
    /// ```
    pub fn to_chrome_json(&self) -> String {
        let mut out = Chrome::default();
        out.thread(0, "loop");
        // Per task: is its life slice open, is a wait slice open inside it.
        let mut open: BTreeMap<u64, (bool, bool)> = BTreeMap::new();
        let mut last_us: Option<i64> = None;
        for r in &self.records {
            let us = r.time_ns.div_euclid(1000);
            let ts = last_us.map_or(us, |last| us.max(last + 1));
            last_us = Some(ts);
            let t = nanos_to_secs(r.time_ns);
            let mark = |out: &mut Chrome, tid: u64, name: &str| {
                out.event("i", tid, ts, name, t, r#""s":"t","#)
            };
            match &r.event {
                Event::Spawned { task, site } => {
                    out.thread(*task, &self.task_name(*task));
                    open.insert(*task, (true, false));
                    out.event("B", *task, ts, &self.task_name(*task), t, "");
                    mark(&mut out, *task, &format!("spawned at {site}"));
                }
                Event::Ran {
                    kind,
                    task: Some(id),
                } => {
                    if std::mem::take(&mut open.entry(*id).or_default().1) {
                        out.event("E", *id, ts, "", t, "");
                    }
                    mark(&mut out, *id, kind.name());
                }
                Event::Ran { kind, task: None } => mark(&mut out, 0, kind.name()),
                Event::Yields { task } => mark(&mut out, *task, "yields"),
                Event::Awaits { task, what } => {
                    if !std::mem::replace(&mut open.entry(*task).or_default().1, true) {
                        out.event("B", *task, ts, &format!("await {what}"), t, "");
                    }
                }
                Event::Done { task, outcome } => {
                    let (life, waiting) = open.remove(task).unwrap_or_default();
                    if waiting {
                        out.event("E", *task, ts, "", t, "");
                    }
                    let how = match outcome {
                        Outcome::Result => "done: result".to_string(),
                        Outcome::Exception(e) => format!("done: raised {e}"),
                        Outcome::Cancelled => "done: cancelled".to_string(),
                    };
                    mark(&mut out, *task, &how);
                    if life {
                        out.event("E", *task, ts, "", t, "");
                    }
                }
                Event::Decision { index, chosen, of } => mark(
                    &mut out,
                    0,
                    &format!("decision {index}: took {chosen} of {of}"),
                ),
                Event::Fault { kind, detail } => {
                    let name = format!("fault {}: {detail}", kind.name());
                    out.event("i", 0, ts, &name, t, r#""s":"g","#)
                }
                Event::Note { task, text } => {
                    mark(&mut out, task.unwrap_or(0), &format!("note: {text}"))
                }
            }
        }
        // Tasks still pending when the trace ends: close their slices there.
        let end = last_us.unwrap_or(0);
        let t_end = self
            .records
            .last()
            .map_or(0.0, |r| nanos_to_secs(r.time_ns));
        for (id, (life, waiting)) in open {
            for close in [waiting, life] {
                if close {
                    out.event("E", id, end, "", t_end, "");
                }
            }
        }
        out.finish()
    }
}

/// Chrome trace events being written, one JSON object per line.
#[derive(Default)]
struct Chrome {
    events: Vec<String>,
}

impl Chrome {
    fn thread(&mut self, tid: u64, name: &str) {
        self.events.push(format!(
            r#"{{"ph":"M","pid":1,"tid":{tid},"name":"thread_name","args":{{"name":{}}}}}"#,
            json_str(name)
        ));
    }

    fn event(&mut self, ph: &str, tid: u64, ts: i64, name: &str, t: f64, extra: &str) {
        self.events.push(format!(
            r#"{{"ph":"{ph}","pid":1,"tid":{tid},"ts":{ts},"name":{},{extra}"args":{{"t":{t}}}}}"#,
            json_str(name)
        ));
    }

    fn finish(self) -> String {
        format!("[\n{}\n]\n", self.events.join(",\n"))
    }
}
