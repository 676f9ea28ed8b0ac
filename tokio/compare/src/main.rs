//! The same tokio test program (tokio/apps' echo and chat scenarios, buggy versions) on three
//! runtimes, one build each (run.sh): how many schedules a second each runs, and how many of
//! them show each bug. tokio's paused clock has no seed: its runs differ only by chance.
//! Each tool gets its own way of making packets late: tulipsim's net-delay fault (30% of packets,
//! up to 500 ms), madsim's send latency (1 to 500 ms), nothing for tokio (it has none).

#[cfg(madsim)]
extern crate madsim_tokio as tokio;

use std::time::{Duration, Instant};

#[path = "../../apps/src/chat.rs"]
#[allow(dead_code, missing_docs)]
mod chat;
#[path = "../../apps/src/echo.rs"]
#[allow(dead_code, missing_docs)]
mod echo;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// True if the echo bug showed: a call got another call's reply.
async fn echo_bug() -> bool {
    echo_wrong_reply(false).await
}

/// The fixed echo client: a control, which must never show the bug.
async fn echo_fixed() -> bool {
    echo_wrong_reply(true).await
}

async fn echo_wrong_reply(fixed: bool) -> bool {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(echo::serve(listener));
    let mut client = echo::Client::connect(addr, fixed).await.unwrap();
    for request in ["first", "second"] {
        if let Ok(reply) = client.call(request).await {
            if reply != request {
                return true;
            }
        }
    }
    false
}

/// True if the chat bug showed: bob never heard alice.
async fn chat_bug() -> bool {
    chat_lost(false).await
}

/// The fixed chat room: a control, which must never lose the message.
async fn chat_fixed() -> bool {
    chat_lost(true).await
}

async fn chat_lost(fixed: bool) -> bool {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(chat::serve(listener, fixed));
    let mut alice = TcpStream::connect(addr).await.unwrap();
    alice.write_all(b"alice\n").await.unwrap();
    let bob = TcpStream::connect(addr).await.unwrap();
    let (bob_rd, mut bob_wr) = tokio::io::split(bob);
    bob_wr.write_all(b"bob\n").await.unwrap();
    alice.write_all(b"hello bob\n").await.unwrap();
    let mut heard = String::new();
    let got = tokio::time::timeout(
        Duration::from_secs(5),
        BufReader::new(bob_rd).read_line(&mut heard),
    )
    .await;
    got.is_err()
}

type Scenario = std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>;

/// Runs `scenario` for seeds `0..n` on this build's runtime; gives how many showed the bug.
fn sweep(n: u64, scenario: fn() -> Scenario) -> u64 {
    (0..n).filter(|&seed| run_one(seed, scenario)).count() as u64
}

#[cfg(not(any(tulipsim, madsim)))]
const RUNTIME: &str = "tokio 1.54, paused clock";
#[cfg(not(any(tulipsim, madsim)))]
fn run_one(_seed: u64, scenario: fn() -> Scenario) -> bool {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(scenario())
}

#[cfg(tulipsim)]
const RUNTIME: &str = "tulipsim-tokio, Random, net-delay fault";
#[cfg(tulipsim)]
fn run_one(seed: u64, scenario: fn() -> Scenario) -> bool {
    use tulipsim::{EventLoop, FaultConfig, LoopConfig};
    let lp = EventLoop::with_config(
        LoopConfig::default()
            .seed(seed)
            .faults(FaultConfig::default().net_delay(0.3, 0.5)),
    );
    lp.set_scheduler(tulipsim::scheduler::Random::new());
    lp.run_until_complete(async move { Ok(scenario().await) })
        .unwrap()
}

#[cfg(madsim)]
const RUNTIME: &str = "madsim 0.2.34, send latency 1-500 ms";
#[cfg(madsim)]
fn run_one(seed: u64, scenario: fn() -> Scenario) -> bool {
    let mut config = madsim::Config::default();
    config.net.send_latency = Duration::from_millis(1)..Duration::from_millis(500);
    let rt = madsim::runtime::Runtime::with_seed_and_config(seed, config);
    rt.block_on(async move {
        let node = madsim::runtime::Handle::current()
            .create_node()
            .ip("10.0.0.1".parse().unwrap())
            .build();
        node.spawn(scenario()).await.unwrap()
    })
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    for (name, scenario) in [
        (
            "echo: a retry reads a late reply",
            (|| Box::pin(echo_bug()) as _) as fn() -> _,
        ),
        (
            "chat: a message lost while joining",
            (|| Box::pin(chat_bug()) as _) as fn() -> _,
        ),
        (
            "control: echo, fixed",
            (|| Box::pin(echo_fixed()) as _) as fn() -> _,
        ),
        (
            "control: chat, fixed",
            (|| Box::pin(chat_fixed()) as _) as fn() -> _,
        ),
    ] {
        let start = Instant::now();
        let found = sweep(n, scenario);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{RUNTIME:<40} | {name:<36} | {n:>5} runs | {:>9.0} runs/s | bug in {found:>4} ({:.1}%)",
            n as f64 / secs,
            100.0 * found as f64 / n as f64
        );
    }
}
