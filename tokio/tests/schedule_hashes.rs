//! Refactoring guard for the shim: a digest of the trace, schedule and fault record that a
//! fixed set of tokio programs gives under every built-in policy, with and without faults,
//! compared with `schedule_hashes.txt`. A change meant to make the shim cheaper, not to change
//! what it does, must leave every line as it is: a recorded replay of a tokio program must
//! replay the same run after it. A change meant to change behaviour re-records the file with
//! `TULIPSIM_BLESS=1 RUSTFLAGS="--cfg tulipsim" cargo test -p tulipsim-tokio --test
//! schedule_hashes` and says why in its commit.
#![cfg(tulipsim)]

use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipsim::{EventLoop, FaultConfig, LoopConfig, Policy, TraceLevel};
use tulipsim_tokio as tokio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep, timeout};

/// FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A trace without spawn sites: moving code inside the shim is not a change of behaviour.
fn without_sites(trace: &impl std::fmt::Display) -> String {
    let mut out = String::new();
    for line in trace.to_string().lines() {
        out.push_str(line.split(" spawned at ").next().unwrap_or(line));
        out.push('\n');
    }
    out
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Spawned tasks joined in order and through a `JoinSet`, one aborted.
async fn spawn_and_join() -> String {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for i in 0..6u64 {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            log.lock().unwrap().push(i);
            tokio::task::yield_now().await;
            log.lock().unwrap().push(10 + i);
            i * i
        }));
    }
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    let mut set = tokio::task::JoinSet::new();
    for i in 0..4u64 {
        set.spawn(async move {
            sleep(ms(i * 3 % 7)).await;
            i
        });
    }
    let stuck = set.spawn(std::future::pending::<u64>());
    let mut order = Vec::new();
    while let Some(r) = set.join_next().await {
        order.push(r.map_err(|e| e.is_cancelled()));
        if order.len() == 4 {
            stuck.abort();
        }
    }
    format!("{sum} {:?} {order:?}", log.lock().unwrap())
}

/// Sleepers and timeouts racing, some timing out.
async fn timers() -> String {
    let mut handles = Vec::new();
    for t in 0..5u64 {
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..4u64 {
                let d = (t * 7 + i * 13) % 10;
                out.push(timeout(ms(5), sleep(ms(d))).await.is_ok());
            }
            let mut iv = tokio::time::interval(ms(3));
            for _ in 0..3 {
                iv.tick().await;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.push(h.await.unwrap());
    }
    format!("{all:?} at {:?}", tokio::time::Instant::now())
}

/// Channels and `Notify` (tokio's own, woken through wakers), and `select!`.
async fn channels() -> String {
    let (tx, mut rx) = mpsc::channel::<u64>(2);
    let notify = Arc::new(Notify::new());
    for p in 0..3u64 {
        let tx = tx.clone();
        let notify = notify.clone();
        tokio::spawn(async move {
            for i in 0..3 {
                tx.send(p * 10 + i).await.unwrap();
                tokio::task::yield_now().await;
            }
            notify.notify_one();
        });
    }
    drop(tx);
    let mut got = Vec::new();
    let mut notified = 0;
    loop {
        tokio::select! {
            v = rx.recv() => match v {
                Some(v) => got.push(v),
                None => break,
            },
            _ = notify.notified() => notified += 1,
        }
    }
    format!("{got:?} {notified}")
}

/// A TCP echo between two clients and a server, on the simulated network.
async fn tcp() -> String {
    let listener = TcpListener::bind("server:7").await.unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 16];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let mut clients = Vec::new();
    for c in 0..2u8 {
        clients.push(tokio::spawn(async move {
            let Ok(mut s) = TcpStream::connect("server:7").await else {
                return Err("connect".to_string());
            };
            let msg = [b'a' + c; 20];
            s.write_all(&msg).await.map_err(|e| e.to_string())?;
            let mut back = [0u8; 20];
            let r = timeout(ms(2_000), s.read_exact(&mut back)).await;
            Ok(format!("{r:?}"))
        }));
    }
    let mut out = Vec::new();
    for c in clients {
        out.push(c.await.unwrap());
    }
    format!("{out:?}")
}

fn faults() -> FaultConfig {
    FaultConfig::default()
        .early_timeout(0.1)
        .timer_jitter(0.2, 1.0)
        .net_delay(0.3, 0.5)
        .net_reset(0.05)
}

fn digest<F, Fut>(name: &str, program: F, out: &mut String)
where
    F: Fn() -> Fut,
    Fut: Future<Output = String> + 'static,
{
    for policy in [
        Policy::Fifo,
        Policy::Random,
        Policy::Chaos,
        Policy::Pct(3),
        Policy::Delay(2),
        Policy::Portfolio,
    ] {
        let mut all = String::new();
        for seed in 0..6u64 {
            for with_faults in [false, true] {
                let mut config = LoopConfig::default()
                    .seed(seed)
                    .trace(TraceLevel::Full)
                    .max_steps(1_000_000);
                if with_faults {
                    config = config.faults(faults());
                }
                let lp = EventLoop::with_config(config);
                lp.set_boxed_scheduler(policy.scheduler());
                let fut = program();
                let result = lp.run_until_complete(async move { Ok(fut.await) });
                writeln!(
                    all,
                    "{seed} {with_faults} {result:?} {} {} {}\n{}",
                    lp.schedule(),
                    lp.fired_faults(),
                    lp.decisions(),
                    without_sites(&lp.trace())
                )
                .unwrap();
                let _ = lp.close();
            }
        }
        writeln!(out, "{name:14} {:10}: {:016x}", policy.name(), fnv(&all)).unwrap();
    }
}

#[test]
fn the_shims_schedules_are_unchanged() {
    let mut out = String::new();
    digest("spawn_and_join", spawn_and_join, &mut out);
    digest("timers", timers, &mut out);
    digest("channels", channels, &mut out);
    digest("tcp", tcp, &mut out);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schedule_hashes.txt");
    if std::env::var_os("TULIPSIM_BLESS").is_some() {
        std::fs::write(path, &out).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        recorded == out,
        "the shim's schedules changed (re-record with TULIPSIM_BLESS=1 only if that is \
         intended):\n--- recorded\n{recorded}\n--- now\n{out}"
    );
}
