//! The same workloads, written once against tokio's API, on real tokio (a current_thread
//! runtime with the clock paused, what `#[tokio::test(start_paused = true)]` gives) and on
//! tulipsim-tokio (`RUSTFLAGS="--cfg tulipsim"`: the same source on tulipsim's loop, FIFO).
//! `run.sh` builds both and prints them side by side.
//!
//! `tulipsim-tokio-bench [REPS [NAME]]`: NAME runs only the workloads whose name starts with
//! it, for `valgrind --tool=callgrind` (see run.sh's instruction table).
//!
//! Prints one line per workload: `name|unit|units per second (median)|checksum|units`. The
//! checksums must agree between the two builds, so a side that did less work cannot look
//! faster.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A fresh runtime for one repetition.
fn runtime() -> tokio::runtime::Runtime {
    #[cfg(not(tulipsim))]
    {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    }
    #[cfg(tulipsim)]
    {
        tokio::runtime::Builder::new_current_thread()
            .seed(1)
            .build()
            .unwrap()
    }
}

/// Runs `work` as a spawned task (so every step runs inside the runtime on both sides).
fn run<F>(work: F) -> u64
where
    F: std::future::Future<Output = u64> + Send + 'static,
{
    runtime().block_on(async move { tokio::spawn(work).await.unwrap() })
}

async fn spawn_join(n: u64) -> u64 {
    let mut all = Vec::with_capacity(n as usize);
    for i in 0..n {
        all.push(tokio::spawn(async move { i }));
    }
    let mut sum = 0;
    for h in all {
        sum += h.await.unwrap();
    }
    sum
}

async fn yield_storm(tasks: u64, yields: u64) -> u64 {
    let mut all = Vec::with_capacity(tasks as usize);
    for _ in 0..tasks {
        all.push(tokio::spawn(async move {
            for _ in 0..yields {
                tokio::task::yield_now().await;
            }
            yields
        }));
    }
    let mut sum = 0;
    for h in all {
        sum += h.await.unwrap();
    }
    sum
}

/// W3's durations: a fixed xorshift stream of microseconds below 10 s.
fn durations(n: u64) -> impl Iterator<Item = u64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 10_000_000
    })
}

async fn sleepers(n: u64) -> u64 {
    let mut all = Vec::with_capacity(n as usize);
    for us in durations(n) {
        all.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_micros(us)).await;
            us
        }));
    }
    let mut sum = 0;
    for h in all {
        sum += h.await.unwrap();
    }
    sum
}

/// 1,000 tasks × `calls` sequential `timeout(1 s, sleep(s))`, half timing out.
async fn timeouts(tasks: u64, calls: u64) -> u64 {
    let mut all = Vec::with_capacity(tasks as usize);
    for t in 0..tasks {
        all.push(tokio::spawn(async move {
            let mut timed_out = 0;
            for i in 0..calls {
                let ms = if (t + i) % 2 == 0 { 500 } else { 2_000 };
                let r = tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::time::sleep(Duration::from_millis(ms)),
                )
                .await;
                timed_out += r.is_err() as u64;
            }
            timed_out
        }));
    }
    let mut sum = 0;
    for h in all {
        sum += h.await.unwrap();
    }
    sum
}

/// One connection to an echo server over the runtime's TCP, `n` 8-byte round trips.
async fn tcp_echo(n: u64) -> u64 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 8];
        while s.read_exact(&mut buf).await.is_ok() {
            s.write_all(&buf).await.unwrap();
        }
    });
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.set_nodelay(true).unwrap();
    let mut sum = 0;
    let mut buf = [0u8; 8];
    for i in 0..n {
        c.write_all(&i.to_le_bytes()).await.unwrap();
        c.read_exact(&mut buf).await.unwrap();
        sum += u64::from_le_bytes(buf);
    }
    drop(c);
    server.await.unwrap();
    sum
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    // A second argument runs only the workloads whose name starts with it (for callgrind).
    let only = std::env::args().nth(2);
    type Work = fn() -> u64;
    let rows: [(&str, &str, u64, Work); 5] = [
        ("spawn-join 100k", "tasks", 100_000, || {
            run(spawn_join(100_000))
        }),
        ("yield storm 1k×1k", "task steps", 1_000_000, || {
            run(yield_storm(1_000, 1_000))
        }),
        ("sleepers 100k", "timers", 100_000, || {
            run(sleepers(100_000))
        }),
        ("timeouts 1k×100", "timeout calls", 100_000, || {
            run(timeouts(1_000, 100))
        }),
        ("TCP echo 20k", "round trips", 20_000, || {
            run(tcp_echo(20_000))
        }),
    ];
    for (name, unit, units, work) in rows {
        if only.as_ref().is_some_and(|o| !name.starts_with(o.as_str())) {
            continue;
        }
        let mut secs = Vec::new();
        let mut sum = 0;
        for _ in 0..reps {
            let started = Instant::now();
            sum = work();
            secs.push(started.elapsed().as_secs_f64());
        }
        secs.sort_by(f64::total_cmp);
        let median = secs[secs.len() / 2];
        println!("{name}|{unit}|{:.0}|{sum}|{units}", units as f64 / median);
    }
}
