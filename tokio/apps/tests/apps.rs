//! The two programs' scenarios, on real tokio (a normal build) and on tulipsim (`--cfg
//! tulipsim`). On real tokio, with its paused clock, both buggy programs pass; on tulipsim the
//! harness finds both bugs over seeds, and the fixed programs pass.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tulipsim_tokio_apps::{chat, echo};

/// Two calls on one client: each gets its own reply, or (when every retry was late) an
/// error; never another call's reply.
async fn echo_scenario(fixed: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(echo::serve(listener));
    let mut client = echo::Client::connect(addr, fixed).await.unwrap();
    for request in ["first", "second"] {
        match client.call(request).await {
            Ok(reply) => assert_eq!(reply, request, "a reply answered the wrong call"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
        }
    }
}

/// Bob joins while Alice is in the room; Alice speaks once Bob's name is sent: Bob must hear it.
async fn chat_scenario(fixed: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(chat::serve(listener, fixed));
    let mut alice = TcpStream::connect(addr).await.unwrap();
    alice.write_all(b"alice\n").await.unwrap();
    let bob = TcpStream::connect(addr).await.unwrap();
    let (bob_rd, mut bob_wr) = bob.into_split();
    bob_wr.write_all(b"bob\n").await.unwrap();
    alice.write_all(b"hello bob\n").await.unwrap();
    let mut heard = String::new();
    let got = tokio::time::timeout(
        Duration::from_secs(5),
        BufReader::new(bob_rd).read_line(&mut heard),
    )
    .await;
    assert!(got.is_ok(), "bob never heard alice: the message was lost");
    assert_eq!(heard, "alice: hello bob\n");
}

#[cfg(not(tulipsim))]
mod on_real_tokio {
    //! tokio's paused clock runs each scenario once, in one order: the bugs stay hidden.

    #[tokio::test(start_paused = true)]
    async fn the_echo_retry_bug_passes_unseen() {
        super::echo_scenario(false).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_lost_chat_message_passes_unseen() {
        super::chat_scenario(false).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_fixed_programs_pass() {
        super::echo_scenario(true).await;
        super::chat_scenario(true).await;
    }
}

#[cfg(tulipsim)]
mod on_tulipsim {
    use std::future::Future;

    use tulipsim::{check, Failure, FaultConfig, Policy};

    /// 200 seeds of `scenario` under Random with `faults`: the first failure, if any.
    fn explore<Fut: Future<Output = ()> + 'static>(
        scenario: fn() -> Fut,
        faults: FaultConfig,
    ) -> Result<(), Box<Failure>> {
        check(move || async move {
            scenario().await;
            Ok(())
        })
        .faults(faults)
        .policy(Policy::Random)
        .seeds(0..200)
        .ignore_env()
        .outcome()
        .map(drop)
    }

    fn buggy_echo() -> impl Future<Output = ()> {
        super::echo_scenario(false)
    }

    fn buggy_chat() -> impl Future<Output = ()> {
        super::chat_scenario(false)
    }

    async fn fixed_programs() {
        super::echo_scenario(true).await;
        super::chat_scenario(true).await;
    }

    fn fixed_echo() -> impl Future<Output = ()> {
        super::echo_scenario(true)
    }

    #[test]
    fn the_echo_retry_bug_is_found_with_early_timeouts_and_replays() {
        let faults = FaultConfig::default().early_timeout(0.2);
        let failure = explore(buggy_echo, faults.clone()).unwrap_err();
        let report = failure.to_string();
        assert!(
            report.contains("a reply answered the wrong call"),
            "{report}"
        );
        // The replay command runs the failing seed again, and it fails the same way.
        let (seed, schedule) = (failure.seed, failure.best_schedule().clone());
        let again = check(|| async {
            buggy_echo().await;
            Ok(())
        })
        .faults(faults)
        .seed(seed)
        .replay(schedule)
        .ignore_env()
        .outcome();
        assert!(again.is_err(), "seed {seed} replays its failure");
    }

    #[test]
    fn the_echo_retry_bug_is_found_with_late_packets() {
        let failure = explore(buggy_echo, FaultConfig::default().net_delay(0.3, 0.5)).unwrap_err();
        let report = failure.to_string();
        assert!(
            report.contains("a reply answered the wrong call"),
            "{report}"
        );
    }

    #[test]
    fn the_lost_chat_message_is_found_with_late_packets() {
        let failure = explore(buggy_chat, FaultConfig::default().net_delay(0.3, 0.5)).unwrap_err();
        let report = failure.to_string();
        assert!(report.contains("the message was lost"), "{report}");
    }

    #[test]
    fn the_fixed_programs_pass_every_seed_and_fault() {
        explore(fixed_programs, FaultConfig::default().net_delay(0.3, 0.5)).unwrap();
        // Early timeouts too: the fixed client may give up (every retry late), never misread.
        let faults = FaultConfig::default()
            .early_timeout(0.2)
            .net_delay(0.3, 0.5);
        explore(fixed_echo, faults).unwrap();
    }
}
