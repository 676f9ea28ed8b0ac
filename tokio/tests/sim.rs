//! The shim under `--cfg tulipsim`: tokio's API on tulipsim's loop.
#![cfg(tulipsim)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipsim::{EventLoop, LoopConfig, Policy};
use tulipsim_tokio as tokio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout, Instant};

fn run<T: 'static>(f: impl std::future::Future<Output = T> + 'static) -> T {
    EventLoop::new()
        .run_until_complete(async move { Ok(f.await) })
        .unwrap()
}

#[test]
fn aborting_drops_the_future_at_its_next_scheduling_point() {
    struct Flag(Arc<AtomicUsize>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    run(async move {
        let flag = Flag(d.clone());
        let h = tokio::spawn(async move {
            let _flag = flag;
            sleep(Duration::from_secs(100)).await;
        });
        sleep(Duration::from_secs(1)).await;
        h.abort();
        assert_eq!(
            d.load(Ordering::SeqCst),
            0,
            "not dropped before its next scheduling point"
        );
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(d.load(Ordering::SeqCst), 1);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

/// An aborted task's timer is cancelled with its future: waiting for nothing afterwards is a
/// deadlock at once, where a stale timer would first carry the clock to 100 s.
#[test]
fn an_aborted_timer_does_not_move_the_clock() {
    let lp = EventLoop::new();
    let err = lp
        .run_until_complete(async {
            let h = tokio::spawn(sleep(Duration::from_secs(100)));
            tokio::task::yield_now().await;
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled());
            std::future::pending::<()>().await;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, tulipsim::Error::Deadlock(_)), "{err}");
    assert_eq!(lp.time(), 0.0);
}

#[test]
fn a_panicking_task_fails_the_run_with_its_spawn_site() {
    let lp = EventLoop::new();
    let err = lp
        .run_until_complete(async {
            let h = tokio::spawn(async { panic!("boom in a tokio task") });
            let _ = h.await;
            Ok(())
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("boom in a tokio task"), "{text}");
    assert!(
        text.contains("tests/sim.rs"),
        "names where the task was spawned: {text}"
    );
}

#[test]
fn join_set_joins_in_finishing_order_and_aborts_on_drop() {
    run(async {
        let mut set = tokio::task::JoinSet::new();
        for secs in [5u64, 1, 3] {
            set.spawn(async move {
                sleep(Duration::from_secs(secs)).await;
                secs
            });
        }
        let mut got = Vec::new();
        while let Some(r) = set.join_next().await {
            got.push(r.unwrap());
        }
        assert_eq!(got, [1, 3, 5]);
        let mut set = tokio::task::JoinSet::new();
        let abort = set.spawn(std::future::pending::<()>());
        drop(set);
        tokio::task::yield_now().await;
        assert!(abort.is_finished());
    });
}

#[test]
fn timeout_fires_at_its_deadline_exactly_even_with_jitter() {
    let faults = tulipsim::FaultConfig::default().timer_jitter(1.0, 10.0);
    for seed in 0..20 {
        let lp = EventLoop::with_config(LoopConfig::default().seed(seed).faults(faults.clone()));
        let (at, slept) = lp
            .run_until_complete(async {
                let start = Instant::now();
                let r = timeout(Duration::from_secs(2), std::future::pending::<()>()).await;
                assert!(r.is_err());
                let at = start.elapsed();
                let s = Instant::now();
                sleep(Duration::from_secs(1)).await;
                Ok((at, s.elapsed()))
            })
            .unwrap();
        assert_eq!(
            at,
            Duration::from_secs(2),
            "seed {seed}: a deadline is never jittered"
        );
        assert!(
            slept > Duration::from_secs(1),
            "seed {seed}: a sleeper always is, here"
        );
    }
}

#[test]
fn the_early_timeout_fault_reaches_tokio_timeouts() {
    let faults = tulipsim::FaultConfig::default().early_timeout(1.0);
    let lp = EventLoop::with_config(LoopConfig::default().faults(faults));
    let r = lp
        .run_until_complete(async {
            let slow = timeout(Duration::from_secs(10), sleep(Duration::from_secs(1))).await;
            Ok(slow)
        })
        .unwrap();
    assert!(r.is_err());
    assert_eq!(lp.time(), 0.0);
    assert_eq!(
        lp.fired_faults().queries(),
        [0],
        "the first fault query fired"
    );
}

#[test]
fn tcp_echo_with_half_close() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        tokio::spawn(async move {
            let (mut s, peer) = listener.accept().await.unwrap();
            assert_eq!(peer.ip().to_string(), "127.0.0.1");
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.unwrap(); // until the client's shutdown
            s.write_all(&all).await.unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"hello ").await.unwrap();
        c.write_all(b"world").await.unwrap();
        c.shutdown().await.unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"hello world");
    });
}

#[test]
fn writing_after_shutdown_is_a_broken_pipe() {
    run(async {
        let _listener = TcpListener::bind("127.0.0.1:9").await.unwrap();
        let mut c = TcpStream::connect("127.0.0.1:9").await.unwrap();
        c.shutdown().await.unwrap();
        let err = c.write_all(b"late").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    });
}

#[test]
fn a_dropped_stream_closes_and_the_peer_reads_eof() {
    run(async {
        let listener = TcpListener::bind("server:80").await.unwrap();
        let c = TcpStream::connect("server:80").await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        drop(c);
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn select_branch_order_is_seeded_and_covers_every_branch() {
    let first = |seed: u64| {
        let lp = EventLoop::with_config(LoopConfig::default().seed(seed));
        lp.run_until_complete(async {
            let won = tokio::select! {
                _ = std::future::ready(()) => 0,
                _ = std::future::ready(()) => 1,
                _ = std::future::ready(()) => 2,
            };
            Ok(won)
        })
        .unwrap()
    };
    let seen: std::collections::BTreeSet<u32> = (0..40).map(first).collect();
    assert_eq!(seen.len(), 3, "every branch wins under some seed");
    for seed in 0..10 {
        assert_eq!(first(seed), first(seed), "a seed replays its choice");
    }
}

#[test]
fn select_supports_preconditions_patterns_and_else() {
    run(async {
        let mut n = 0;
        let v = tokio::select! {
            Some(x) = async { None::<u32> } => x,
            x = async { 5u32 }, if n > 0 => x,
            else => { n += 1; 99 }
        };
        assert_eq!((v, n), (99, 1));
    });
}

#[test]
fn interval_ticks_on_the_virtual_clock() {
    run(async {
        let start = Instant::now();
        let mut i = tokio::time::interval(Duration::from_millis(100));
        let mut ticks = Vec::new();
        for _ in 0..4 {
            ticks.push(i.tick().await - start);
        }
        assert_eq!(ticks, [0, 100, 200, 300].map(Duration::from_millis));
    });
}

#[test]
fn runtime_block_on_drives_a_borrowing_future_and_reports_deadlock() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut v = Vec::new();
    rt.block_on(async {
        let h = tokio::spawn(async {
            sleep(Duration::from_secs(1)).await;
            3
        });
        v.push(h.await.unwrap());
    });
    assert_eq!(v, [3]);
    let stuck = std::panic::catch_unwind(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
            let _ = rx.await;
        })
    });
    let msg = stuck.unwrap_err();
    let msg = msg.downcast_ref::<String>().unwrap();
    assert!(msg.to_lowercase().contains("deadlock"), "{msg}");
}

#[test]
fn ctrl_c_completes_only_when_the_test_sends_it() {
    run(async {
        let h = tokio::spawn(tokio::signal::ctrl_c());
        sleep(Duration::from_secs(5)).await;
        assert!(!h.is_finished());
        tokio::sim::ctrl_c();
        h.await.unwrap().unwrap();
    });
}

#[test]
fn the_check_harness_finds_a_lost_update_between_tokio_tasks_and_replays_it() {
    let failure = tulipsim::check(|| async {
        let counter = Arc::new(Mutex::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..2 {
            let c = counter.clone();
            set.spawn(async move {
                let v = *c.lock().unwrap();
                tokio::task::yield_now().await;
                *c.lock().unwrap() = v + 1;
            });
        }
        while set.join_next().await.is_some() {}
        assert_eq!(*counter.lock().unwrap(), 2, "an update was lost");
        Ok(())
    })
    .policy(Policy::Random)
    .seeds(0..50)
    .ignore_env()
    .outcome()
    .unwrap_err();
    assert!(failure.to_string().contains("an update was lost"));
    assert!(failure.replay_command().contains("TULIPSIM_SEED="));
}

#[tokio::test(crate = "tulipsim_tokio")]
async fn the_test_attribute_runs_the_body_under_the_harness() {
    let start = Instant::now();
    sleep(Duration::from_secs(3)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(tulipsim::get_running_loop().unwrap().seed().is_some());
}

#[tokio::test(crate = "tulipsim_tokio", flavor = "multi_thread", worker_threads = 2)]
async fn the_test_attribute_takes_results() -> Result<(), std::io::Error> {
    tokio::task::spawn_blocking(|| ()).await?;
    Ok(())
}

/// tokio's futures and handles are `Send` (spawned futures hold them; `async_trait` and
/// `Box<dyn Future + Send>` demand it): the shim's must be too, or code written for tokio
/// would not compile against it.
#[test]
fn the_shims_futures_and_handles_are_send() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send(&TcpListener::bind("127.0.0.1:0"));
    send(&TcpStream::connect("127.0.0.1:1"));
    send(&tokio::net::lookup_host("db:1"));
    send(&sleep(Duration::from_secs(1)));
    send(&timeout(Duration::from_secs(1), async {}));
    send(&tokio::time::interval(Duration::from_secs(1)).tick());
    send(&tokio::time::advance(Duration::from_secs(1)));
    send(&tokio::signal::ctrl_c());
    send(&tokio::task::yield_now());
    send_sync::<TcpListener>();
    send_sync::<TcpStream>();
    send_sync::<tokio::net::tcp::OwnedReadHalf>();
    send_sync::<tokio::net::tcp::OwnedWriteHalf>();
    send_sync::<tokio::time::Sleep>();
    send_sync::<tokio::task::JoinHandle<u32>>();
    send_sync::<tokio::task::AbortHandle>();
    send_sync::<tokio::task::JoinError>();
    send_sync::<tokio::task::JoinSet<u32>>();
    send_sync::<tokio::runtime::Runtime>();
    send_sync::<tokio::runtime::Handle>();
    let listener_accept = |l: &'static TcpListener| l.accept();
    let _ = listener_accept;
    fn accept_is_send(l: &TcpListener) {
        send(&l.accept());
    }
    let _ = accept_is_send;
}

/// tokio's `watch` spreads its waiters over 8 `Notify`s, picked with tokio's thread-local
/// random generator (seeded differently in every process) when tokio's `rt` or `macros`
/// feature is on: which of several `changed()` waiters runs first is not the seed's to decide.
/// docs/tokio.md says so; the harness's determinism check (each seed run twice, traces
/// compared) is what catches it. If this test fails, tokio changed, and so must the docs.
#[test]
fn watch_wakes_its_waiters_in_an_unseeded_order_and_the_determinism_check_says_so() {
    let outcome = tulipsim::check(|| async {
        let (tx, rx) = tokio::sync::watch::channel(0u32);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let mut rx = rx.clone();
            set.spawn(async move {
                rx.changed().await.unwrap();
            });
        }
        tokio::task::yield_now().await;
        tx.send(1).unwrap();
        while set.join_next().await.is_some() {}
        Ok(())
    })
    .policy(Policy::Random)
    .seeds(0..40)
    .determinism_check(true)
    .ignore_env()
    .outcome();
    let failure = outcome.expect_err("the wake order differed between two runs of a seed");
    assert!(
        failure.to_string().to_lowercase().contains("determinis"),
        "{failure}"
    );
}

#[test]
fn the_main_attribute_runs_the_body_on_a_fresh_runtime() {
    #[tokio::main(crate = "tulipsim_tokio", flavor = "current_thread")]
    async fn main_like() -> Duration {
        let start = Instant::now();
        let h = tokio::spawn(sleep(Duration::from_secs(42)));
        h.await.unwrap();
        start.elapsed()
    }
    assert_eq!(main_like(), Duration::from_secs(42));
    assert_eq!(
        main_like(),
        Duration::from_secs(42),
        "each call gets a fresh runtime"
    );
}

/// A simulation whose tasks still hold sockets, timers and pending connects when its loop
/// closes ends quietly: tokio drops a runtime's tasks at shutdown without a word.
#[test]
fn closing_a_loop_with_live_tokio_resources_reports_nothing() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        let listener = TcpListener::bind("127.0.0.1:5000").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _held = listener.accept().await;
            sleep(Duration::from_secs(3600)).await;
        });
        tokio::spawn(async move {
            let _stream = TcpStream::connect(addr).await;
            std::future::pending::<()>().await;
        });
        tokio::spawn(TcpStream::connect("127.0.0.1:5001"));
        sleep(Duration::from_millis(1)).await;
        Ok(())
    })
    .unwrap();
    lp.close().unwrap();
    let reports: Vec<String> = lp
        .take_reports()
        .iter()
        .map(|r| r.message().to_string())
        .collect();
    assert!(reports.is_empty(), "{reports:?}");
}

/// A closed loop frees everything: the tasks' futures are dropped, and with them every socket,
/// timer and pending connect they held; nothing stays in the shim's thread-local table.
#[test]
fn a_closed_loop_leaves_no_simulated_resource_behind() {
    std::thread::spawn(|| {
        let lp = EventLoop::new();
        lp.run_until_complete(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                let _keep = s;
                sleep(Duration::from_secs(3600)).await;
            });
            let c = TcpStream::connect(addr).await.unwrap();
            tokio::spawn(async move {
                let _c = c;
                let _t = timeout(Duration::from_secs(60), std::future::pending::<()>()).await;
            });
            sleep(Duration::from_millis(5)).await;
            assert!(tokio::__private::live_resources() > 0);
            Ok(())
        })
        .unwrap();
        lp.close().unwrap();
        drop(lp);
        assert_eq!(tokio::__private::live_resources(), 0);
    })
    .join()
    .unwrap();
}

/// tokio's `select!` grammar, in the forms real code uses: blocks without commas, `break` out
/// of a loop, or-patterns, `biased;`, `else` with a block, a lone branch.
#[test]
fn select_accepts_tokios_grammar() {
    run(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<u32>>(4);
        for v in [Some(1), Some(2), None] {
            tx.send(v).await.unwrap();
        }
        let mut got = Vec::new();
        loop {
            tokio::select! {
                msg = rx.recv() => {
                    match msg.flatten() {
                        Some(v) => got.push(v),
                        None => break,
                    }
                }
                _ = sleep(Duration::from_secs(10)) => { panic!("timed out") }
            }
        }
        assert_eq!(got, [1, 2]);
        let lone = tokio::select! { v = async { 3 } => v };
        assert_eq!(lone, 3);
        let biased = tokio::select! {
            biased;
            v = async { 1 } => v,
            v = async { 2 } => v,
        };
        assert_eq!(biased, 1);
        let or = tokio::select! {
            1 | 2 = async { 2 } => "small",
            else => { "other" }
        };
        assert_eq!(or, "small");
    });
}

/// `select!`'s start branch is a decision like the others: a fuzzer's bytes choose it.
#[test]
fn fuzzer_bytes_choose_selects_first_branch() {
    for want in 0..3u8 {
        let lp = EventLoop::new();
        lp.set_scheduler(tulipsim::scheduler::Bytes::new(vec![
            want, 0, 0, 0, 0, 0, 0, 0,
        ]));
        let won = lp
            .run_until_complete(async {
                Ok(tokio::select! {
                    _ = std::future::ready(()) => 0u8,
                    _ = std::future::ready(()) => 1,
                    _ = std::future::ready(()) => 2,
                })
            })
            .unwrap();
        assert_eq!(won, want);
    }
}
