//! The Mermaid exporter: [`Trace::to_mermaid`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Event, Outcome, Trace};
use crate::events::nanos_to_secs;
use crate::scheduler::{EntryKind, FaultKind};

impl Trace {
    /// The trace as a Mermaid sequence diagram (`sequenceDiagram`), which GitHub, GitLab and
    /// most Markdown viewers draw from a ```` ```mermaid ```` block.
    ///
    /// Participants: `Loop` (the event loop: callbacks, timers, decisions, faults), then one
    /// per task in spawn order, `T<id>` shown with the task's name. Lines, in trace order:
    ///
    /// - `Note over Loop,…: t = 1.5 s` at the start and whenever the virtual clock moves;
    /// - `A->>T3: spawn at <site>` when a task is created, from the task whose step was running
    ///   (or from `Loop`, for a task created outside any step);
    /// - `Loop->>T3: step` / `Loop->>T3: wakeup from <what>` when the task runs;
    /// - `Loop-->>T3: timer` for a ready entry that belongs to a task but does not run it (its
    ///   sleep's timer), `Loop->>Loop: callback` for one that belongs to no task;
    /// - `Note over T3: awaits <what>` / `Note over T3: yields` when the task suspends;
    /// - `T3-->>Loop: done: result` / `done: raised <error>` / `done: cancelled` when it ends;
    /// - `Note over Loop: decision …` and `Note over Loop: fault …` (a spurious cancellation's
    ///   note spans the `Loop` and the cancelled task).
    ///
    /// Text is escaped with Mermaid's entity codes (`#59;` for `;`, `#35;` for `#`, `#lt;`,
    /// `#gt;`, `#quot;`, `#amp;`), and newlines become `<br/>`, so no task name or error text
    /// can break the diagram.
    ///
    /// ```
    /// use tulipsim::{create_task_named, sleep, EventLoop, LoopConfig, TraceLevel};
    /// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    /// lp.run_until_complete(async {
    ///     let t = create_task_named("worker", sleep(1))?;
    ///     t.await
    /// })
    /// .unwrap();
    /// let diagram = lp.trace().to_mermaid();
    /// assert!(diagram.starts_with("sequenceDiagram\n"));
    /// assert!(diagram.contains("participant T2 as worker\n"));
    /// assert!(diagram.contains("T1->>T2: spawn at "));
    /// assert!(diagram.contains("Note over T2: awaits sleep\n"));
    /// assert!(diagram.contains("Note over Loop,T2: t = 1 s\n"));
    /// assert!(diagram.contains("T2-->>Loop: done: result\n"));
    /// ```
    pub fn to_mermaid(&self) -> String {
        let tasks = self.tasks_in_order();
        let last = tasks.last().map(|t| format!("Loop,T{t}"));
        let all = last.as_deref().unwrap_or("Loop");
        let mut out = String::from("sequenceDiagram\n    participant Loop as event loop\n");
        for t in &tasks {
            let _ = writeln!(
                out,
                "    participant T{t} as {}",
                escape(&self.task_name(*t))
            );
        }
        // The task whose step is running, what each suspended task awaits.
        let mut running: Option<u64> = None;
        let mut awaiting: BTreeMap<u64, String> = BTreeMap::new();
        let mut now: Option<i64> = None;
        for r in &self.records {
            if now != Some(r.time_ns) {
                now = Some(r.time_ns);
                let t = nanos_to_secs(r.time_ns);
                let _ = writeln!(out, "    Note over {all}: t = {t} s");
            }
            let line = match &r.event {
                Event::Spawned { task, site } => {
                    let from = running.filter(|r| r != task);
                    let from = from.map_or("Loop".to_string(), |t| format!("T{t}"));
                    format!("{from}->>T{task}: spawn at {}", escape(site))
                }
                Event::Ran {
                    kind: kind @ (EntryKind::Step | EntryKind::Wakeup),
                    task: Some(t),
                } => {
                    running = Some(*t);
                    match awaiting.remove(t) {
                        Some(what) if *kind == EntryKind::Wakeup => {
                            format!("Loop->>T{t}: wakeup from {}", escape(&what))
                        }
                        _ => format!("Loop->>T{t}: {}", kind.name()),
                    }
                }
                Event::Ran {
                    kind,
                    task: Some(t),
                } => {
                    running = None;
                    format!("Loop-->>T{t}: {}", kind.name())
                }
                Event::Ran { kind, task: None } => {
                    running = None;
                    format!("Loop->>Loop: {}", kind.name())
                }
                Event::Yields { task } => {
                    running = running.filter(|r| r != task);
                    awaiting.remove(task);
                    format!("Note over T{task}: yields")
                }
                Event::Awaits { task, what } => {
                    running = running.filter(|r| r != task);
                    awaiting.insert(*task, what.to_string());
                    format!("Note over T{task}: awaits {}", escape(what))
                }
                Event::Done { task, outcome } => {
                    running = running.filter(|r| r != task);
                    awaiting.remove(task);
                    let how = match outcome {
                        Outcome::Result => "done: result".to_string(),
                        Outcome::Exception(e) => format!("done: raised {}", escape(e)),
                        Outcome::Cancelled => "done: cancelled".to_string(),
                    };
                    format!("T{task}-->>Loop: {how}")
                }
                Event::Decision { index, chosen, of } => {
                    format!("Note over Loop: decision {index}: took {chosen} of {of}")
                }
                Event::Fault { kind, detail } => {
                    let over = match kind {
                        FaultKind::SpuriousCancel => self.cancelled_by(detail, &tasks),
                        _ => None,
                    };
                    let over = over.map_or("Loop".to_string(), |t| format!("Loop,T{t}"));
                    format!(
                        "Note over {over}: fault {}: {}",
                        kind.name(),
                        escape(detail)
                    )
                }
                Event::Note { task, text } => {
                    let over = task.map_or("Loop".to_string(), |t| format!("T{t}"));
                    format!("Note over {over}: {}", escape(text))
                }
            };
            out.push_str("    ");
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Every task the trace mentions: the spawned ones in spawn order, then any others in the
    /// order they first appear.
    pub(super) fn tasks_in_order(&self) -> Vec<u64> {
        let mut seen = std::collections::BTreeSet::new();
        let mut spawned = Vec::new();
        let mut others = Vec::new();
        for r in &self.records {
            if let Event::Spawned { task, .. } = &r.event {
                if seen.insert(*task) {
                    spawned.push(*task);
                }
            }
        }
        for r in &self.records {
            let task = match &r.event {
                Event::Ran { task, .. } => *task,
                Event::Yields { task } | Event::Awaits { task, .. } | Event::Done { task, .. } => {
                    Some(*task)
                }
                _ => None,
            };
            if let Some(t) = task {
                if seen.insert(t) {
                    others.push(t);
                }
            }
        }
        spawned.extend(others);
        spawned
    }

    /// The task a spurious-cancellation fault names (its detail is `"<name> cancelled before
    /// its step"`), if exactly one task has that name.
    pub(super) fn cancelled_by(&self, detail: &str, tasks: &[u64]) -> Option<u64> {
        let name = detail.strip_suffix(" cancelled before its step")?;
        let mut named = tasks.iter().filter(|t| self.task_name(**t) == name);
        match (named.next(), named.next()) {
            (Some(t), None) => Some(*t),
            _ => None,
        }
    }
}

/// Text as a Mermaid message, note or participant label can hold it: `;` would end the
/// statement, `#` starts an entity code, a newline ends the line, and `<`, `>`, `"`, `&` are
/// read as markup; all become entity codes (or `<br/>` for a newline).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ';' => out.push_str("#59;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '"' => out.push_str("#quot;"),
            '&' => out.push_str("#amp;"),
            '\n' => out.push_str("<br/>"),
            '\r' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_leaves_no_statement_or_comment_breaks() {
        assert_eq!(escape("a;b#c"), "a#59;b#35;c");
        assert_eq!(escape("x<y>\"&"), "x#lt;y#gt;#quot;#amp;");
        assert_eq!(escape("one\r\ntwo\tthree"), "one<br/>two three");
    }
}
