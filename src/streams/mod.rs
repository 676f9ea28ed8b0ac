//! asyncio's streams (`streams.py`) on a simulated network: [`open_connection`],
//! [`start_server`], [`StreamReader`], [`StreamWriter`], [`Server`].
//!
//! Nothing touches a real socket. Every event loop has its own network ([`network()`],
//! [`Network::of`]): hosts are names, servers listen at `(host, port)`, and each pair of hosts
//! is joined by a link with a latency and a bandwidth. Bytes take virtual time to cross it,
//! and a writer that outpaces the wire or a slow reader is held back by asyncio's flow control
//! (`drain()`), so the timing of a networked program is part of the simulation and as
//! deterministic as the rest. The model is in the docs of [`network`](mod@network) and
//! [`transport`].
//!
//! The readers and writers are CPython 3.11's, ported line by line, with its errors:
//! [`Error::IncompleteRead`](crate::Error::IncompleteRead),
//! [`Error::LimitOverrun`](crate::Error::LimitOverrun),
//! [`Error::ConnectionRefused`](crate::Error::ConnectionRefused),
//! [`Error::ConnectionReset`](crate::Error::ConnectionReset). `docs/semantics.md` lists where
//! they differ.
//!
//! ```
//! use tulipsim::streams::{open_connection, start_server};
//! use tulipsim::EventLoop;
//!
//! let lp = EventLoop::new();
//! let reply = lp.run_until_complete(async {
//!     let server = start_server(|reader, writer| async move {
//!         let name = reader.readline().await?;
//!         writer.write([b"hello, ", &name[..]].concat())?;
//!         writer.drain().await?;
//!         writer.close();
//!         writer.wait_closed().await
//!     }, "server", 8888).await?;
//!
//!     let (reader, writer) = open_connection("server", 8888).await?; // one round trip: 2 ms
//!     writer.write(b"world\n")?;
//!     let reply = reader.readline().await?; // there and back again: 2 ms more
//!     writer.close();
//!     server.close();
//!     server.wait_closed().await?;
//!     Ok(reply)
//! });
//! assert_eq!(reply.unwrap(), b"hello, world\n");
//! assert!(lp.time() >= 0.004);
//! ```

mod faults;
mod hosts;
pub mod network;
pub mod reader;
pub mod server;
pub mod transport;
mod wire;
pub mod writer;

pub use network::{network, Address, Link, Network};
pub use reader::StreamReader;
pub use server::{open_connection, start_server, OpenConnection, Server, StartServer};
pub use transport::Transport;
pub use writer::StreamWriter;
