//! The event loop's public face, mirroring asyncio's `events.py`: the loop (`EventLoop`, and
//! `LoopHandle` to reach it from inside), callback handles, delays, and the running-loop
//! context. The machinery behind it is in `base_events`, as asyncio's is in
//! `base_events.py`.

mod delay;
mod event_loop;
mod handle;
mod loop_handle;
mod running;

pub(crate) use delay::nanos_to_secs;
pub use delay::IntoDelay;
pub use event_loop::EventLoop;
pub(crate) use handle::{CallbackName, HandleInner};
pub use handle::{Handle, TimerHandle};
pub use loop_handle::LoopHandle;
pub(crate) use running::{
    current_or_thread_loop, enter_running, forget_thread_loop, leave_running, running_loop,
    running_loop_or_error, set_thread_loop, with_running,
};
