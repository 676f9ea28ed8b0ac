//! tulipsim measured against the tools a Rust user would otherwise reach for, in the same run:
//! tokio's current-thread runtime with paused time (speed and memory, `cargo run --release -p
//! tulipsim-bench`) and shuttle (bug-finding, `cargo run --release -p tulipsim-bench --bin
//! vs-shuttle`). See `docs/performance.md` and `docs/bug-finding.md`.

pub mod shuttle_bugs;
pub mod workloads;
