//! The SVG exporter: [`Trace::to_svg`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Event, Outcome, Record, Trace};
use crate::events::nanos_to_secs;
use crate::scheduler::EntryKind;

/// Horizontal room for each event after the first at one virtual instant.
const STEP: i64 = 14;
/// The least room for a move of the clock; [`gap`] adds to it.
const GAP_BASE: i64 = 16;
/// Room for each decimal digit of a move of the clock, in nanoseconds.
const GAP_PER_DIGIT: i64 = 8;
/// Height of one lane.
const LANE_H: i64 = 28;
/// Where the first lane starts (below the axis).
const TOP: i64 = 40;
/// Room right of the last event.
const RIGHT: i64 = 40;
/// The least time between two tick labels, in pixels: closer ticks keep only their title.
const LABEL_ROOM: i64 = 64;

const STYLE: &str = "\
text{font-family:sans-serif;font-size:12px;fill:#222}\
.axis line{stroke:#888}.axis text{font-size:10px;fill:#555}\
.axis .grid{stroke:#eee}\
.lane .life{fill:#cfe3ff;stroke:#5b8fd6}.lane .life.pending{fill:#fff3c4;stroke:#c9a227}\
.wait{fill:#fff;stroke:#5b8fd6;stroke-dasharray:3 2}\
.step circle{fill:#1f5fbf}.timer rect{fill:#888}.spawn path{fill:#1f5fbf}\
.spawn-link{stroke:#9bb8e0;stroke-dasharray:2 2}\
.result circle{fill:#2e8b57}.cancelled path{stroke:#d46b08;stroke-width:2.5;fill:none}\
.error path{fill:#c62828}.callback circle{fill:#777}.decision rect{fill:#9c6ade}\
.fault path{fill:#c62828}.fault-line{stroke:#c62828;stroke-dasharray:4 3}";

/// The room between two events whose virtual times differ by `dt_ns` (> 0): it grows with
/// the number of decimal digits of `dt_ns`, so with its logarithm, in integer arithmetic.
fn gap(dt_ns: i64) -> i64 {
    GAP_BASE + GAP_PER_DIGIT * i64::from(dt_ns.max(1).ilog10() + 1)
}

/// One task's lane while it is being drawn.
#[derive(Default)]
struct Lane {
    /// Its row, from 0 (the loop's row is above the first).
    row: i64,
    /// Where its life bar starts, and ends (`None`: the task was still pending at the end).
    start: Option<i64>,
    end: Option<i64>,
    /// The wait in progress: where and when it started, and what it waits on.
    waiting: Option<(i64, i64, String)>,
    /// The spawn link, wait segments and marks, in the order they were drawn.
    segments: Vec<String>,
    marks: Vec<String>,
    /// The title of its life bar.
    life: String,
}

impl Trace {
    /// The trace as a standalone SVG timeline (no scripts, no external styles or fonts): one
    /// horizontal lane per task (a `<g class="lane" data-task="N">` with the task's name), in
    /// spawn order, below a `loop` lane for callbacks, decisions and faults.
    ///
    /// In a task's lane: a bar for its life, from its spawn to its end (yellow if it was still
    /// pending when the trace ended); inside it a dashed segment for each wait (titled with what
    /// it awaited, or `yields`); a dot for each step or wakeup it ran, a small bar for its
    /// sleep's timer, and at its end a green dot (result), a red triangle (exception) or an
    /// orange cross (cancelled). Injected faults are a red diamond on the `loop` lane and a
    /// dashed red line across all lanes. Every mark and segment has a `<title>`, which viewers
    /// show on hover; each mark is a `<g>` placed by `transform="translate(x,y)"` and carries
    /// the event's number in the trace as `data-i`.
    ///
    /// The horizontal axis is event order, scaled by virtual time: events at one virtual
    /// instant sit a fixed step apart, so that their order shows even in a program that never
    /// sleeps, and a move of the clock adds a gap that grows with the logarithm of its length
    /// (a `sleep(3600)` is wider than a `sleep(1)`, but not 3600 times wider). The axis has a
    /// tick, labelled in seconds, at each instant where something happened.
    ///
    /// ```
    /// use tulipsim::{create_task_named, sleep, EventLoop, LoopConfig, TraceLevel};
    /// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    /// lp.run_until_complete(async {
    ///     let t = create_task_named("worker <1>", sleep(1))?;
    ///     t.await
    /// })
    /// .unwrap();
    /// let svg = lp.trace().to_svg();
    /// assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#));
    /// assert!(svg.contains(r#"<g class="lane" data-task="2">"#));
    /// assert!(svg.contains(">worker &lt;1&gt;</text>"));
    /// assert!(svg.contains("<title>awaits sleep"));
    /// assert!(svg.trim_end().ends_with("</svg>"));
    /// ```
    pub fn to_svg(&self) -> String {
        let tasks = self.tasks_in_order();
        let layout = Layout::new(self, &tasks);
        let mut drawing = Drawing::new(&tasks);
        for (i, r) in self.records.iter().enumerate() {
            drawing.event(self, &layout, i, r);
        }
        let mut out = String::new();
        layout.write_frame(&mut out);
        layout.write_axis(&mut out);
        write_loop_lane(&mut out, &drawing.loop_marks);
        for t in &tasks {
            self.write_task_lane(&mut out, &layout, *t, &drawing.lanes[t]);
        }
        out.push_str("</svg>\n");
        out
    }

    /// One task's lane: its label (cut at 40 characters), its life bar, its waits (the last
    /// one open if the trace ends during it) and its marks.
    fn write_task_lane(&self, out: &mut String, layout: &Layout, t: u64, lane: &Lane) {
        let _ = writeln!(out, r#"<g class="lane" data-task="{t}">"#);
        let name = self.task_name(t);
        let shown: String = if name.chars().count() > 40 {
            name.chars().take(39).chain(['…']).collect()
        } else {
            name.clone()
        };
        // A cut name keeps the whole one as its title.
        let title = if shown == name {
            String::new()
        } else {
            format!("<title>{}</title>", xml(&name))
        };
        let _ = writeln!(
            out,
            r#"<text class="label" x="8" y="{}">{title}{}</text>"#,
            mid(lane.row) + 4,
            xml(&shown)
        );
        let start = lane.start.unwrap_or(layout.left);
        let (stop, class, life) = match lane.end {
            Some(x) => (x, "life", lane.life.clone()),
            None => (
                layout.end_x,
                "life pending",
                format!("{}, still pending when the trace ends", lane.life),
            ),
        };
        let _ = writeln!(
            out,
            r#"<rect class="{class}" x="{start}" y="{}" width="{}" height="{}" rx="3"><title>{}</title></rect>"#,
            row_y(lane.row) + 6,
            stop - start,
            LANE_H - 12,
            xml(&life)
        );
        for s in &lane.segments {
            let _ = writeln!(out, "{s}");
        }
        if let Some((from, since, what)) = &lane.waiting {
            let title = format!(
                "{what}, from {} s, still waiting when the trace ends",
                nanos_to_secs(*since)
            );
            let _ = writeln!(
                out,
                "{}",
                wait_rect(*from, layout.end_x, mid(lane.row), &title)
            );
        }
        for m in &lane.marks {
            let _ = writeln!(out, "{m}");
        }
        let _ = writeln!(out, "</g>");
    }
}

/// The top of a lane's row; row -1 is the loop's lane.
fn row_y(row: i64) -> i64 {
    TOP + LANE_H * (row + 1)
}

/// The middle of a lane's row, where its marks sit.
fn mid(row: i64) -> i64 {
    row_y(row) + LANE_H / 2
}

/// Where things go: the x of every event, the ticks of the axis, and the picture's size.
struct Layout {
    /// Where the time axis starts, right of the widest lane label.
    left: i64,
    /// The x of each event, by its index in the trace.
    xs: Vec<i64>,
    /// (x, time) of each instant at which something happened.
    ticks: Vec<(i64, i64)>,
    /// The x of the last event: where pending lives and waits end.
    end_x: i64,
    /// The bottom of the last lane.
    bottom: i64,
    width: i64,
    height: i64,
}

impl Layout {
    fn new(trace: &Trace, tasks: &[u64]) -> Layout {
        let label_w = tasks
            .iter()
            .map(|t| trace.task_name(*t).chars().count().min(40) as i64)
            .max()
            .unwrap_or(0)
            .max(6)
            * 7
            + 16;
        let left = label_w + 16;
        let bottom = row_y(tasks.len() as i64);
        let mut xs = Vec::with_capacity(trace.records.len());
        let mut ticks: Vec<(i64, i64)> = Vec::new();
        let mut x = left;
        for (i, r) in trace.records.iter().enumerate() {
            if i > 0 {
                let prev = trace.records[i - 1].time_ns;
                x += if r.time_ns > prev {
                    gap(r.time_ns - prev)
                } else {
                    STEP
                };
            }
            if ticks.last().is_none_or(|&(_, t)| r.time_ns > t) {
                ticks.push((x, r.time_ns));
            }
            xs.push(x);
        }
        let end_x = xs.last().copied().unwrap_or(left);
        Layout {
            left,
            xs,
            ticks,
            end_x,
            bottom,
            width: end_x + RIGHT,
            height: bottom + 12,
        }
    }

    /// The `<svg>` element, the style sheet and the white background.
    fn write_frame(&self, out: &mut String) {
        let (width, height) = (self.width, self.height);
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
        );
        let _ = writeln!(out, "<style>{STYLE}</style>");
        let _ = writeln!(
            out,
            r##"<rect width="{width}" height="{height}" fill="#fff"/>"##
        );
    }

    /// The axis: a tick per instant, labelled unless too close to the last label, and a grid
    /// line down across the lanes.
    fn write_axis(&self, out: &mut String) {
        let (end_x, bottom) = (self.end_x, self.bottom);
        let _ = writeln!(out, r#"<g class="axis">"#);
        let _ = writeln!(
            out,
            r#"<line x1="{}" y1="{}" x2="{end_x}" y2="{}"/>"#,
            self.left,
            TOP - 8,
            TOP - 8
        );
        let mut last_label: Option<i64> = None;
        for &(x, t) in &self.ticks {
            let secs = nanos_to_secs(t);
            let _ = write!(
                out,
                r#"<line class="tick" x1="{x}" y1="{}" x2="{x}" y2="{}"><title>{secs} s</title></line>"#,
                TOP - 12,
                TOP - 4
            );
            if last_label.is_none_or(|l| x - l >= LABEL_ROOM) {
                last_label = Some(x);
                let _ = write!(
                    out,
                    r#"<text x="{x}" y="{}" text-anchor="middle">{secs} s</text>"#,
                    TOP - 16
                );
            }
            let _ = writeln!(
                out,
                r#"<line class="grid" x1="{x}" y1="{}" x2="{x}" y2="{bottom}"/>"#,
                TOP
            );
        }
        let _ = writeln!(out, "</g>");
    }
}

/// The `loop` lane: callbacks, decisions, faults and notes.
fn write_loop_lane(out: &mut String, loop_marks: &[String]) {
    let _ = writeln!(out, r#"<g class="loop" data-task="loop">"#);
    let _ = writeln!(
        out,
        r#"<text class="label" x="8" y="{}">loop</text>"#,
        mid(-1) + 4
    );
    for m in loop_marks {
        let _ = writeln!(out, "{m}");
    }
    let _ = writeln!(out, "</g>");
}

/// The marks and segments drawn so far, event by event, before any is written out: a lane's
/// life bar is written first but known last.
struct Drawing {
    lanes: BTreeMap<u64, Lane>,
    loop_marks: Vec<String>,
    /// The task whose step ran last, if it has not given up the loop since: a spawn from it
    /// gets a link from its lane.
    running: Option<u64>,
}

impl Drawing {
    fn new(tasks: &[u64]) -> Drawing {
        let mut lanes: BTreeMap<u64, Lane> = BTreeMap::new();
        for (i, t) in tasks.iter().enumerate() {
            lanes.insert(
                *t,
                Lane {
                    row: i as i64,
                    ..Lane::default()
                },
            );
        }
        Drawing {
            lanes,
            loop_marks: Vec::new(),
            running: None,
        }
    }

    /// Draws the `i`th event of `trace`, `r`.
    fn event(&mut self, trace: &Trace, layout: &Layout, i: usize, r: &Record) {
        let x = layout.xs[i];
        let at = format!("at {} s", nanos_to_secs(r.time_ns));
        match &r.event {
            Event::Spawned { task, site } => {
                let name = trace.task_name(*task);
                self.spawned(i, x, &at, *task, &name, site);
            }
            Event::Ran {
                kind: kind @ (EntryKind::Step | EntryKind::Wakeup),
                task: Some(t),
            } => {
                self.running = Some(*t);
                let lane = self.lanes.entry(*t).or_default();
                end_wait(lane, x, r.time_ns, mid);
                lane.marks.push(mark(
                    "step",
                    i,
                    x,
                    mid(lane.row),
                    r#"<circle r="3.5"/>"#,
                    &format!("{} {at}", kind.name()),
                ));
            }
            Event::Ran {
                kind,
                task: Some(t),
            } => {
                self.running = None;
                let lane = self.lanes.entry(*t).or_default();
                lane.marks.push(mark(
                    "timer",
                    i,
                    x,
                    mid(lane.row),
                    r#"<rect x="-1" y="-7" width="2" height="14"/>"#,
                    &format!("{} {at}", kind.name()),
                ));
            }
            Event::Ran { kind, task: None } => {
                self.running = None;
                self.loop_marks.push(mark(
                    "callback",
                    i,
                    x,
                    mid(-1),
                    r#"<circle r="3"/>"#,
                    &format!("{} {at}", kind.name()),
                ));
            }
            Event::Yields { task } | Event::Awaits { task, .. } => {
                self.running = self.running.filter(|r| r != task);
                let what = match &r.event {
                    Event::Awaits { what, .. } => format!("awaits {what}"),
                    _ => "yields".to_string(),
                };
                let lane = self.lanes.entry(*task).or_default();
                end_wait(lane, x, r.time_ns, mid);
                lane.waiting = Some((x, r.time_ns, what));
            }
            Event::Done { task, outcome } => {
                self.running = self.running.filter(|r| r != task);
                let lane = self.lanes.entry(*task).or_default();
                end_wait(lane, x, r.time_ns, mid);
                lane.end_with(i, x, &at, outcome);
            }
            Event::Decision { index, chosen, of } => self.loop_marks.push(mark(
                "decision",
                i,
                x,
                mid(-1),
                r#"<rect x="-1.5" y="-5" width="3" height="10"/>"#,
                &format!("decision {index}: took {chosen} of {of} {at}"),
            )),
            Event::Fault { kind, detail } => {
                let title = format!("fault {}: {detail} {at}", kind.name());
                self.loop_marks.push(format!(
                    r#"<line class="fault-line" x1="{x}" y1="{}" x2="{x}" y2="{}"><title>{}</title></line>"#,
                    row_y(-1),
                    layout.bottom,
                    xml(&title)
                ));
                self.loop_marks.push(mark(
                    "fault",
                    i,
                    x,
                    mid(-1),
                    r#"<path d="M0 -7 L7 0 L0 7 L-7 0 Z"/>"#,
                    &title,
                ));
            }
            Event::Note { text, .. } => self.loop_marks.push(mark(
                "note",
                i,
                x,
                mid(-1),
                r#"<circle r="3"/>"#,
                &format!("note: {text} {at}"),
            )),
        }
    }

    /// A task spawned at `x` (the `i`th event): its life bar starts there, with a link from
    /// the lane of the task that spawned it, if a task did.
    fn spawned(&mut self, i: usize, x: i64, at: &str, task: u64, name: &str, site: &str) {
        let from = self
            .running
            .filter(|r| *r != task)
            .map(|f| self.lanes.get(&f).map_or(0, |l| l.row));
        let lane = self.lanes.entry(task).or_default();
        lane.start = Some(x);
        lane.life = format!("{name}: spawned at {site} {at}");
        if let Some(from) = from {
            lane.segments.push(format!(
                r#"<line class="spawn-link" x1="{x}" y1="{}" x2="{x}" y2="{}"/>"#,
                mid(from),
                mid(lane.row)
            ));
        }
        let y = mid(lane.row);
        lane.marks.push(mark(
            "spawn",
            i,
            x,
            y,
            r#"<path d="M-5 -6 L3 0 L-5 6 Z"/>"#,
            &format!("spawned at {site} {at}"),
        ));
    }
}

impl Lane {
    /// The task ended at `x` (the `i`th event): its life bar ends there, with the mark of its
    /// outcome.
    fn end_with(&mut self, i: usize, x: i64, at: &str, outcome: &Outcome) {
        let y = mid(self.row);
        let (class, shape, how) = match outcome {
            Outcome::Result => ("result", r#"<circle r="4.5"/>"#, "done: result".to_string()),
            Outcome::Exception(e) => (
                "error",
                r#"<path d="M0 -7 L6 5 L-6 5 Z"/>"#,
                format!("done: raised {e}"),
            ),
            Outcome::Cancelled => (
                "cancelled",
                r#"<path d="M-5 -5 L5 5 M-5 5 L5 -5"/>"#,
                "done: cancelled".to_string(),
            ),
        };
        self.end = Some(x);
        let _ = write!(self.life, ", {how} {at}");
        self.marks
            .push(mark(class, i, x, y, shape, &format!("{how} {at}")));
    }
}

/// Ends `lane`'s wait in progress, if any, at `x`.
fn end_wait(lane: &mut Lane, x: i64, time_ns: i64, mid: impl Fn(i64) -> i64) {
    if let Some((from, since, what)) = lane.waiting.take() {
        let title = format!(
            "{what}, from {} s to {} s",
            nanos_to_secs(since),
            nanos_to_secs(time_ns)
        );
        let rect = wait_rect(from, x, mid(lane.row), &title);
        lane.segments.push(rect);
    }
}

/// A wait segment from `from` to `to` on the lane whose middle is `mid`.
fn wait_rect(from: i64, to: i64, mid: i64, title: &str) -> String {
    format!(
        r#"<rect class="wait" x="{from}" y="{}" width="{}" height="8"><title>{}</title></rect>"#,
        mid - 4,
        to - from,
        xml(title)
    )
}

/// A mark: `shape`, drawn around the origin, placed at (`x`, `y`), titled.
fn mark(class: &str, i: usize, x: i64, y: i64, shape: &str, title: &str) -> String {
    format!(
        r#"<g class="{class}" data-i="{i}" transform="translate({x},{y})">{shape}<title>{}</title></g>"#,
        xml(title)
    )
}

/// Text as XML character data or an attribute value: the five special characters become
/// entities, and characters XML 1.0 cannot hold at all (most control characters) become
/// U+FFFD.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{gap, xml};

    #[test]
    fn xml_escapes_the_five_and_drops_what_xml_cannot_hold() {
        assert_eq!(xml(r#"a&b<c>"d'"#), "a&amp;b&lt;c&gt;&quot;d&apos;");
        assert_eq!(xml("bell\u{7}"), "bell\u{fffd}");
    }

    #[test]
    fn gaps_grow_with_the_length_of_a_clock_move() {
        assert!(gap(1) < gap(1_000_000_000));
        assert!(gap(1_000_000_000) < gap(3_600_000_000_000));
        assert_eq!(gap(999), gap(100));
    }
}
