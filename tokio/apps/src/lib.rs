//! Two small tokio programs, written against tokio's API as any service is, each with a bug
//! that a plain `#[tokio::test(start_paused = true)]` run does not show and tulipsim finds
//! (`tests/`): the same code runs on real tokio in a normal build and on tulipsim under
//! `--cfg tulipsim`.
//!
//! - [`echo`]: a line echo service and a client that times out and retries; the retry reads
//!   the late reply to its first attempt (a timeout race).
//! - [`chat`]: a chat room; a member who joins while someone speaks misses the message (a
//!   lost message).
#![forbid(unsafe_code)]

pub mod chat;
pub mod echo;
