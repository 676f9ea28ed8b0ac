//! Catching panics at the step boundary, with the location the panic hook saw.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
    /// While set, caught panics are not printed: the harness reports them itself.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The type name of the done-callback running now (still set if it panicked).
    static CALLBACK: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// A done-callback named `name` starts.
pub(crate) fn enter_callback(name: &'static str) {
    CALLBACK.with(|c| c.set(Some(name)));
}

/// The done-callback returned.
pub(crate) fn leave_callback() {
    CALLBACK.with(|c| c.set(None));
}

/// The done-callback that panicked, if one did (taken).
pub(crate) fn take_callback() -> Option<&'static str> {
    CALLBACK.with(|c| c.take())
}

/// Runs `f` with panics on this thread recorded but not printed.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            QUIET.with(|q| q.set(self.0));
        }
    }
    install_hook();
    let _restore = Restore(QUIET.with(|q| q.replace(true)));
    f()
}

static HOOK: Once = Once::new();

/// Chains a panic hook that remembers where the last panic on this thread happened, so that a
/// caught panic can say where it came from. The previous hook still runs (and prints).
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let loc = info.location().map(|l| l.to_string());
            LAST_LOCATION.with(|l| *l.borrow_mut() = loc);
            if !QUIET.with(|q| q.get()) {
                previous(info)
            }
        }));
    });
}

/// A caught panic: its message and, when the hook saw it, its location.
pub(crate) struct Caught {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
}

pub(crate) fn last_location() -> Option<String> {
    LAST_LOCATION.with(|l| l.borrow_mut().take())
}

/// Runs `f`, turning a panic into [`Caught`].
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Ok(r),
        Err(payload) => Err(Caught {
            message: payload_message(&*payload),
            location: LAST_LOCATION.with(|l| l.borrow_mut().take()),
        }),
    }
}

pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}
