//! The pictures of a trace: `Trace::to_svg` parses as SVG and draws what the run did, and
//! `Trace::to_mermaid` is a sequence diagram whose every line Mermaid can read.

use roxmltree::{Document, Node};
use tulipsim::trace::Event;
use tulipsim::{
    create_task_named, sleep, timeout, Error, EventLoop, FaultConfig, LoopConfig, Trace, TraceLevel,
};

const SVG_NS: &str = "http://www.w3.org/2000/svg";

fn traced(config: LoopConfig) -> EventLoop {
    EventLoop::with_config(config.trace(TraceLevel::Full))
}

/// A parent and three children: `sleeper` sleeps and returns, `failing` raises an error whose
/// text Mermaid and XML both need escaped, `victim` is cancelled while it sleeps.
fn three_children() -> Trace {
    let lp = traced(LoopConfig::default());
    lp.run_until_complete(async {
        let sleeper = create_task_named("sleeper", async {
            sleep(1).await?;
            Ok(1)
        })?;
        let failing = create_task_named("failing", async {
            sleep(0.5).await?;
            Err::<i32, _>(Error::msg("disk full; #1 <&> \"'"))
        })?;
        let victim = create_task_named("victim", async {
            sleep(60).await?;
            Ok(3)
        })?;
        sleep(2).await?;
        victim.cancel();
        assert_eq!(sleeper.await?, 1);
        assert!(failing.await.is_err());
        assert!(victim.await.unwrap_err().is_cancelled());
        Ok(())
    })
    .unwrap();
    lp.trace()
}

/// A run where every timeout fires at once (an injected fault).
fn early_timeout() -> Trace {
    let faults = FaultConfig::default().early_timeout(1.0);
    let lp = traced(LoopConfig::default().seed(1).faults(faults));
    let r = lp.run_until_complete(async {
        let worker = create_task_named("worker", async { timeout(60).run(sleep(1)).await })?;
        worker.await
    });
    assert_eq!(r, Err(Error::timeout()));
    lp.trace()
}

/// Tasks with names that XML and Mermaid must escape, in a program where no time passes.
fn awkward_names() -> Trace {
    let lp = traced(LoopConfig::default());
    lp.run_until_complete(async {
        let a = create_task_named("a;b#c <d> & 'e' \"f\"", async {
            sleep(0).await?;
            sleep(0).await?;
            Ok(())
        })?;
        let b = create_task_named("two\nlines", async {
            sleep(0).await?;
            Err::<(), _>(Error::msg("%% not a comment; # not an entity"))
        })?;
        a.await?;
        assert!(b.await.is_err());
        Ok(())
    })
    .unwrap();
    lp.trace()
}

/// The spawned tasks' ids, in spawn order.
fn spawned(trace: &Trace) -> Vec<u64> {
    trace
        .records()
        .iter()
        .filter_map(|r| match r.event {
            Event::Spawned { task, .. } => Some(task),
            _ => None,
        })
        .collect()
}

fn class_is(n: &Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split(' ').any(|c| c == class))
}

fn title(n: &Node) -> String {
    n.children()
        .find(|c| c.tag_name().name() == "title")
        .and_then(|t| t.text())
        .unwrap_or_default()
        .to_string()
}

/// A mark's position, from its `transform="translate(x,y)"`.
fn position(n: &Node) -> (f64, f64) {
    let t = n.attribute("transform").expect("a mark has a transform");
    let inner = t
        .strip_prefix("translate(")
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a translate: {t}"));
    let (x, y) = inner.split_once(',').expect("translate(x,y)");
    (x.parse().unwrap(), y.parse().unwrap())
}

/// The marks of a lane (or of the whole picture): elements carrying the event's number.
fn marks<'a>(n: Node<'a, 'a>) -> Vec<Node<'a, 'a>> {
    n.descendants()
        .filter(|m| m.attribute("data-i").is_some())
        .collect()
}

/// Checks the SVG's structure against the trace; returns the document's text for more checks.
fn check_svg(trace: &Trace, names: &[&str]) -> String {
    let svg = trace.to_svg();
    assert_eq!(svg, trace.to_svg(), "rendering is deterministic");
    let doc = Document::parse(&svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some(SVG_NS));
    for n in root.descendants().filter(|n| n.is_element()) {
        assert_eq!(n.tag_name().namespace(), Some(SVG_NS), "{n:?}");
        assert!(
            !matches!(n.tag_name().name(), "script" | "image" | "foreignObject"),
            "standalone: {n:?}"
        );
        for a in n.attributes() {
            assert!(
                !a.name().contains("href") && !a.value().contains("url("),
                "no external references: {a:?}"
            );
        }
    }

    let ids = spawned(trace);
    assert_eq!(ids.len(), names.len(), "the program spawns these tasks");
    let lanes: Vec<Node> = root
        .descendants()
        .filter(|n| n.tag_name().name() == "g" && class_is(n, "lane"))
        .collect();
    let lane_ids: Vec<u64> = lanes
        .iter()
        .map(|l| l.attribute("data-task").unwrap().parse().unwrap())
        .collect();
    assert_eq!(lane_ids, ids, "one lane per spawned task, in spawn order");
    for (lane, name) in lanes.iter().zip(names) {
        let label = lane
            .children()
            .find(|c| c.tag_name().name() == "text")
            .expect("a lane has a label");
        assert_eq!(label.text(), Some(*name));
        let life = lane
            .children()
            .find(|c| class_is(c, "life"))
            .expect("a lane has a life bar");
        let start: f64 = life.attribute("x").unwrap().parse().unwrap();
        let width: f64 = life.attribute("width").unwrap().parse().unwrap();
        assert!(width >= 0.0);
        for wait in lane.children().filter(|c| class_is(c, "wait")) {
            let x: f64 = wait.attribute("x").unwrap().parse().unwrap();
            let w: f64 = wait.attribute("width").unwrap().parse().unwrap();
            assert!(
                start <= x && x + w <= start + width,
                "a wait lies inside its task's life"
            );
            assert!(title(&wait).starts_with("awaits ") || title(&wait).starts_with("yields"));
        }
        // In event order, x never goes back.
        let ms = marks(*lane);
        assert!(!ms.is_empty());
        let order: Vec<usize> = ms
            .iter()
            .map(|m| m.attribute("data-i").unwrap().parse().unwrap())
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "marks in event order"
        );
        let xs: Vec<f64> = ms.iter().map(|m| position(m).0).collect();
        assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{name}: {xs:?}");
        assert!(xs[0] >= start, "nothing before the spawn");
    }
    // Across lanes too: every event has its own column, left to right.
    let mut all: Vec<(usize, f64)> = marks(root)
        .iter()
        .map(|m| {
            (
                m.attribute("data-i").unwrap().parse().unwrap(),
                position(m).0,
            )
        })
        .collect();
    all.sort_by_key(|&(i, _)| i);
    assert!(all.windows(2).all(|w| w[0].1 < w[1].1), "{all:?}");
    svg
}

fn lane<'a>(doc: &'a Document<'a>, task: u64) -> Node<'a, 'a> {
    doc.descendants()
        .find(|n| class_is(n, "lane") && n.attribute("data-task") == Some(&task.to_string()))
        .unwrap_or_else(|| panic!("no lane for task {task}"))
}

#[test]
fn svg_draws_a_lane_per_task_with_its_end() {
    let trace = three_children();
    let svg = check_svg(&trace, &["Task-1", "sleeper", "failing", "victim"]);
    let doc = Document::parse(&svg).unwrap();
    let ends = |task: u64, class: &str| -> Vec<String> {
        marks(lane(&doc, task))
            .iter()
            .filter(|m| class_is(m, class))
            .map(title)
            .collect()
    };
    assert_eq!(ends(4, "cancelled"), ["done: cancelled at 2 s"]);
    assert_eq!(ends(3, "error").len(), 1);
    assert!(ends(3, "error")[0].starts_with("done: raised Error: disk full; #1 <&> \"'"));
    assert_eq!(ends(2, "result"), ["done: result at 1 s"]);
    for (task, other) in [
        (2, "cancelled"),
        (2, "error"),
        (3, "cancelled"),
        (4, "error"),
    ] {
        assert!(
            ends(task, other).is_empty(),
            "task {task} has no {other} mark"
        );
    }
    // The victim's wait on its 60 s sleep is cut short at 2 s.
    let waits: Vec<String> = lane(&doc, 4)
        .children()
        .filter(|c| class_is(c, "wait"))
        .map(|w| title(&w))
        .collect();
    assert_eq!(waits, ["awaits sleep, from 0 s to 2 s"]);
    // Steps are marked where they ran; no fault was injected.
    assert_eq!(ends(1, "step").len(), 3);
    assert!(!doc.descendants().any(|n| class_is(&n, "fault")));
    // The axis labels each instant in seconds.
    let labels: Vec<&str> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "g" && class_is(n, "axis"))
        .flat_map(|a| a.children().filter(|c| c.tag_name().name() == "text"))
        .filter_map(|t| t.text())
        .collect();
    assert_eq!(labels, ["0 s", "0.5 s", "1 s", "2 s"]);
}

#[test]
fn svg_marks_injected_faults_on_the_loop_lane() {
    let trace = early_timeout();
    assert!(trace
        .records()
        .iter()
        .any(|r| matches!(r.event, Event::Fault { .. })));
    let svg = check_svg(&trace, &["Task-1", "worker"]);
    let doc = Document::parse(&svg).unwrap();
    let lp = doc
        .descendants()
        .find(|n| class_is(n, "loop"))
        .expect("a loop lane");
    let faults: Vec<String> = lp
        .children()
        .filter(|c| class_is(c, "fault"))
        .map(|f| title(&f))
        .collect();
    assert_eq!(
        faults,
        ["fault early-timeout: a timeout fires at once at 0 s"]
    );
    assert!(lp.children().any(|c| class_is(&c, "fault-line")));
    let worker_end: Vec<String> = marks(lane(&doc, 2))
        .iter()
        .filter(|m| class_is(m, "error"))
        .map(title)
        .collect();
    assert_eq!(worker_end, ["done: raised TimeoutError at 0 s"]);
}

#[test]
fn svg_escapes_names_and_spreads_a_zero_time_program() {
    let trace = awkward_names();
    assert!(trace.records().iter().all(|r| r.time_ns == 0));
    // check_svg parses the names back exactly and finds every event in a column of its own.
    check_svg(&trace, &["Task-1", "a;b#c <d> & 'e' \"f\"", "two\nlines"]);
}

#[test]
fn pending_tasks_and_empty_traces_still_draw() {
    let lp = traced(LoopConfig::default());
    lp.create_task_named("forever", async { sleep(3600).await });
    lp.run_until_complete(sleep(1)).unwrap();
    let svg = check_svg(&lp.trace(), &["forever", "Task-2"]);
    assert!(svg.contains(r#"class="life pending""#), "{svg}");
    assert!(svg.contains("still waiting when the trace ends"), "{svg}");
    let empty = Trace::default().to_svg();
    let doc = Document::parse(&empty).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
}

/// A Mermaid line of one of the forms `to_mermaid` writes, naming only declared participants;
/// its text has no `;` or `#` outside an entity code.
fn check_mermaid_line(line: &str, participants: &[String]) -> Result<(), String> {
    let known = |id: &str| participants.iter().any(|p| p == id);
    let text = if let Some(rest) = line.strip_prefix("participant ") {
        let (id, text) = rest.split_once(" as ").ok_or("participant X as Y")?;
        if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("bad id {id:?}"));
        }
        text
    } else if let Some(rest) = line.strip_prefix("Note over ") {
        let (ids, text) = rest.split_once(": ").ok_or("Note over A: text")?;
        let ids: Vec<&str> = ids.split(',').collect();
        if ids.len() > 2 || !ids.iter().all(|id| known(id)) {
            return Err(format!("bad participants {ids:?}"));
        }
        text
    } else {
        let (head, text) = line.split_once(": ").ok_or("A->>B: text")?;
        let (a, b) = head
            .split_once("-->>")
            .or_else(|| head.split_once("->>"))
            .ok_or("an arrow")?;
        if !known(a) || !known(b) {
            return Err(format!("unknown participant in {head:?}"));
        }
        text
    };
    if text.is_empty() {
        return Err("empty text".into());
    }
    // Every '#' opens an entity code `#59;` / `#lt;`, and every ';' closes one.
    let mut rest = text;
    while let Some(i) = rest.find(['#', ';']) {
        if rest[i..].starts_with(';') {
            return Err(format!("unescaped ';' in {text:?}"));
        }
        let after = &rest[i + 1..];
        let end = after
            .find(';')
            .ok_or(format!("unescaped '#' in {text:?}"))?;
        let code = &after[..end];
        let numeric = !code.is_empty() && code.chars().all(|c| c.is_ascii_digit());
        let named = !code.is_empty() && code.chars().all(|c| c.is_ascii_alphabetic());
        if !(numeric || named) {
            return Err(format!("unescaped '#' in {text:?}"));
        }
        rest = &after[end + 1..];
    }
    if text.replace("<br/>", "").contains(['"', '<', '>']) {
        return Err(format!("unescaped markup in {text:?}"));
    }
    Ok(())
}

/// Checks a diagram's form; returns its participants' ids and labels.
fn check_mermaid(trace: &Trace) -> Vec<(String, String)> {
    let m = trace.to_mermaid();
    assert!(m.starts_with("sequenceDiagram\n"), "{m}");
    assert_eq!(m, trace.to_mermaid(), "rendering is deterministic");
    let participants: Vec<(String, String)> = m
        .lines()
        .filter_map(|l| l.trim().strip_prefix("participant "))
        .map(|p| {
            let (id, label) = p.split_once(" as ").unwrap();
            (id.to_string(), label.to_string())
        })
        .collect();
    let ids: Vec<String> = participants.iter().map(|(id, _)| id.clone()).collect();
    let mut expected = vec!["Loop".to_string()];
    expected.extend(spawned(trace).iter().map(|t| format!("T{t}")));
    assert_eq!(ids, expected, "Loop, then one participant per task");
    for line in m.lines().skip(1) {
        assert!(line.starts_with("    "), "indented: {line:?}");
        if let Err(e) = check_mermaid_line(line.trim(), &ids) {
            panic!("{e}: {line:?}\n{m}");
        }
    }
    participants
}

#[test]
fn mermaid_lines_are_all_of_valid_forms() {
    let labels = |ps: Vec<(String, String)>| ps.into_iter().map(|(_, l)| l).collect::<Vec<_>>();
    let p = check_mermaid(&three_children());
    assert_eq!(
        labels(p),
        ["event loop", "Task-1", "sleeper", "failing", "victim"]
    );
    check_mermaid(&early_timeout());
    let p = check_mermaid(&awkward_names());
    assert_eq!(
        labels(p)[2..],
        [
            "a#59;b#35;c #lt;d#gt; #amp; 'e' #quot;f#quot;",
            "two<br/>lines"
        ]
    );
    let m = early_timeout().to_mermaid();
    assert!(
        m.contains("    Note over Loop: fault early-timeout: a timeout fires at once\n"),
        "{m}"
    );
    assert!(m.contains("    T2-->>Loop: done: raised TimeoutError\n"));
}

#[test]
fn mermaid_points_a_spurious_cancellation_at_its_task() {
    let faults = FaultConfig::default().spurious_cancel(1.0);
    let lp = traced(LoopConfig::default().seed(1).faults(faults));
    assert!(lp.run_until_complete(sleep(1)).unwrap_err().is_cancelled());
    let trace = lp.trace();
    check_mermaid(&trace);
    let m = trace.to_mermaid();
    assert!(
        m.contains(
            "    Note over Loop,T1: fault spurious-cancel: Task-1 cancelled before its step\n"
        ),
        "{m}"
    );
    assert!(m.contains("    T1-->>Loop: done: cancelled\n"), "{m}");
    check_svg(&trace, &["Task-1"]);
}

/// The diagram without line:column in call sites, so that edits elsewhere in this file leave
/// the snapshot alone.
fn without_line_numbers(text: &str) -> String {
    text.lines()
        .map(|l| match l.find(".rs:") {
            Some(i) => {
                let end = l[i + 4..]
                    .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                    .map_or(l.len(), |j| i + 4 + j);
                format!("{}.rs{}", &l[..i], &l[end..])
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn mermaid_of_three_children() {
    insta::assert_snapshot!(without_line_numbers(&three_children().to_mermaid()));
}
