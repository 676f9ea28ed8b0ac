//! `select!`: tokio's own, with the start branch chosen by the simulation's seed.
//!
//! Without `biased;`, tokio's `select!` polls its branches starting at a random one, drawn
//! from a thread-local generator seeded differently in every process: a run could not be
//! replayed. Here the branches are parsed, and the expansion is one tokio `select! { biased;
//! .. }` per rotation of the branch list; the rotation that runs is drawn from the running
//! loop's seeded stream (`tulipsim::random_range`). Polling from branch `k` and wrapping around
//! is exactly what tokio's random start does, so the semantics are unchanged; only the choice
//! is deterministic. `biased;` passes straight through.

/// Waits on several branches and runs the first that completes (tokio's `select!`).
///
/// Grammar and semantics are tokio's: `pattern = future, if precondition => handler`, an
/// optional `else` branch, `biased;` for in-order polling. Without `biased;` the first branch
/// polled is a seeded choice: the same seed gives the same choices; other seeds explore the
/// others.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
///     tokio::spawn(async move { tx.send(7).await.unwrap() });
///     let got = tokio::select! {
///         Some(v) = rx.recv() => v,
///         _ = tokio::time::sleep(Duration::from_secs(1)) => 0,
///     };
///     assert_eq!(got, 7);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($rest:tt)*) => {
        $crate::__private::tokio::select! { biased; $($rest)* }
    };
    ($($rest:tt)*) => {
        $crate::__select_parse!(@parse [] $($rest)*)
    };
}

/// Parses `select!`'s branches into `{ pattern = future, if precondition => handler }`, an
/// expression handler in braces (tokio's parser wants a block or a bare expression, and a
/// forwarded expression fragment is neither).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    (@parse [$($b:tt)*] else => $e:expr $(,)?) => {
        $crate::__select_rotate!(@start [$($b)*] [else => $e])
    };
    (@parse [$($b:tt)*]) => {
        $crate::__select_rotate!(@start [$($b)*] [])
    };
    (@parse [$($b:tt)*] $p:pat = $f:expr, if $c:expr => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($b)* { $p = $f, if $c => $h }] $($rest)*)
    };
    (@parse [$($b:tt)*] $p:pat = $f:expr, if $c:expr => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($b)* { $p = $f, if $c => $h }] $($rest)*)
    };
    (@parse [$($b:tt)*] $p:pat = $f:expr, if $c:expr => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($b)* { $p = $f, if $c => { $h } }] $($rest)*)
    };
    (@parse [$($b:tt)*] $p:pat = $f:expr, if $c:expr => $h:expr) => {
        $crate::__select_parse!(@parse [$($b)* { $p = $f, if $c => { $h } }])
    };
    (@parse [$($b:tt)*] $p:pat = $f:expr => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($b)* { $p = $f, if true => $h }] $($rest)*)
    };
    (@parse [$($b:tt)*] $p:pat = $f:expr => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($b)* { $p = $f, if true => $h }] $($rest)*)
    };
    (@parse [$($b:tt)*] $p:pat = $f:expr => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($b)* { $p = $f, if true => { $h } }] $($rest)*)
    };
    (@parse [$($b:tt)*] $p:pat = $f:expr => $h:expr) => {
        $crate::__select_parse!(@parse [$($b)* { $p = $f, if true => { $h } }])
    };
}

/// One biased `select!` per rotation of the branches; the seed picks which runs.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_rotate {
    (@start [$($b:tt)*] $else:tt) => {{
        let __tulipsim_start = $crate::__private::select_start(0u32 $(+ $crate::__select_one!($b))*);
        $crate::__select_rotate!(@rot __tulipsim_start; 0u32; [$($b)*]; [$($b)*]; $else)
    }};
    (@rot $start:ident; $k:expr; []; $cur:tt; $else:tt) => {
        ::core::unreachable!("select!: no rotation for the chosen start")
    };
    (@rot $start:ident; $k:expr; [$_count:tt $($count:tt)*]; [$first:tt $($rest:tt)*]; $else:tt) => {
        if $start == $k {
            $crate::__select_emit!([$first $($rest)*] $else)
        } else {
            $crate::__select_rotate!(@rot $start; $k + 1u32; [$($count)*]; [$($rest)* $first]; $else)
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_one {
    ($b:tt) => {
        1u32
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_emit {
    ([$({ $($branch:tt)* })*] [$($else:tt)*]) => {
        $crate::__private::tokio::select! { biased; $($($branch)* ,)* $($else)* }
    };
}
