//! A run drawn two ways. The program is the reference text's "Chain coroutines" example
//! (`print_sum` awaits `compute(1, 2)`, which sleeps one second), run as a task beside a
//! `watchdog` task that is cancelled while it sleeps. The loop records a full trace
//! (`TraceLevel::Full`), which the example renders with `Trace::to_mermaid` or `Trace::to_svg`.
//!
//! `compute` is a coroutine awaited directly, not a task, so it runs inside `print_sum`'s lane:
//! the picture shows three tasks (the main one, `print_sum`, `watchdog`).
//!
//! - `cargo run --example timeline` prints the Mermaid sequence diagram on standard output
//!   (paste it into a ```` ```mermaid ```` block of a Markdown file);
//! - `cargo run --example timeline -- out.svg` writes the SVG timeline to `out.svg` instead
//!   (open it in a browser; hover a mark or a wait for its details).
//!
//! The program's own line, `1 + 2 = 3`, goes to standard error, so that standard output is
//! the diagram alone.

use tulipsim::{create_task_named, sleep, Error, EventLoop, LoopConfig, TraceLevel};

async fn compute(x: i32, y: i32) -> Result<i32, Error> {
    sleep(1.0).await?;
    Ok(x + y)
}

async fn print_sum(x: i32, y: i32) -> Result<(), Error> {
    let result = compute(x, y).await?;
    eprintln!("{x} + {y} = {result}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    lp.run_until_complete(async {
        let watchdog = create_task_named("watchdog", async {
            sleep(60).await?;
            Ok(())
        })?;
        let sum = create_task_named("print_sum", print_sum(1, 2))?;
        sum.await?;
        watchdog.cancel();
        match watchdog.await {
            Err(e) if e.is_cancelled() => Ok(()),
            other => panic!("the watchdog should end cancelled, not {other:?}"),
        }
    })?;
    assert_eq!(lp.time(), 1.0);
    let trace = lp.trace();
    match std::env::args_os().nth(1) {
        Some(path) => {
            std::fs::write(&path, trace.to_svg())?;
            eprintln!("wrote {} ({} events)", path.to_string_lossy(), trace.len());
        }
        None => print!("{}", trace.to_mermaid()),
    }
    Ok(())
}
