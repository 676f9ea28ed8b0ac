//! What a simulation offers beyond tokio's API (not in tokio): drive the simulated world from
//! a test. Code that uses it is test code; it compiles only under `--cfg tulipsim`.
//!
//! Everything of tulipsim itself is there too: `tulipsim::streams::network()` for links,
//! partitions and unresponsive hosts, `tulipsim::random_u64` for seeded randomness, the
//! harness for seeds, policies and faults.

/// Sends a simulated Ctrl-C to every task waiting in [`signal::ctrl_c`](crate::signal::ctrl_c).
///
/// See [`signal::ctrl_c`](crate::signal::ctrl_c) for an example.
pub fn ctrl_c() {
    crate::signal::send_ctrl_c()
}
