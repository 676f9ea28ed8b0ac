//! # tulipsim-tokio: your tokio code, unchanged, under tulipsim
//!
//! Put this crate in place of tokio, changing only `Cargo.toml`:
//!
//! ```toml
//! [dependencies]
//! tokio = { package = "tulipsim-tokio", version = "0.1", features = ["full"] }
//! ```
//!
//! Built normally, it **is** tokio (`pub use tokio::*`): the production build and its behaviour
//! are untouched. Built with `RUSTFLAGS="--cfg tulipsim"`, the runtime-dependent parts of tokio
//! run on tulipsim's event loop, virtual clock and simulated network:
//!
//! - [`task`](mod@task): `spawn`, `spawn_local`, `JoinHandle`, `AbortHandle`, `JoinSet`,
//!   `LocalSet`, `yield_now`, `spawn_blocking` and `block_in_place` (run on the simulation
//!   thread), with tokio's cancellation semantics (aborting drops the future);
//! - [`time`](mod@time): `sleep`, `timeout`, `interval`, a virtual `Instant`, `advance`;
//! - [`net`](mod@net): `TcpListener`, `TcpStream` over the simulated network, `lookup_host`;
//! - [`runtime`](mod@runtime), [`signal`](mod@signal), `select!` (its branch order is a
//!   seeded choice), `#[tokio::main]`, and `#[tokio::test]`, which runs the test body under
//!   tulipsim's `check` harness over many seeds, with a replay command on failure.
//!
//! `sync`, `io`, `join!`, `try_join!`, `pin!` and `task_local!` are tokio's own: they only use
//! wakers. `fs`, `process` and real sockets do not exist in the simulation: naming them is a
//! compile error. The switch, what is simulated and every difference from real tokio are in
//! `docs/tokio.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(tulipsim))]
pub use tokio::*;

#[cfg(tulipsim)]
mod local;
#[cfg(tulipsim)]
pub mod net;
#[cfg(tulipsim)]
mod on_loop;
#[cfg(tulipsim)]
pub mod runtime;
#[cfg(tulipsim)]
mod select;
#[cfg(tulipsim)]
pub mod signal;
#[cfg(tulipsim)]
pub mod sim;
#[cfg(tulipsim)]
pub mod task;
#[cfg(tulipsim)]
pub mod time;

#[cfg(tulipsim)]
pub use task::spawn;
#[cfg(tulipsim)]
pub use tokio::{io, join, pin, sync, task_local, try_join};
#[cfg(tulipsim)]
pub use tulipsim_tokio_macros::{main, test};

/// What the macros expand to; not a public API.
#[cfg(tulipsim)]
#[doc(hidden)]
pub mod __private;
