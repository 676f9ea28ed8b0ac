//! Issue #17: the harness never lies. No silent passes, no false alarms, no hangs, readable
//! reports. Each test here failed before its fix.

use std::sync::atomic::{AtomicU64, Ordering};

use tulipsim::harness::Signature;
use tulipsim::{check, create_task, sleep, timeout, Error, FaultConfig, Future, Policy};

// ---- silent passes ----------------------------------------------------------------------

#[test]
fn fifo_with_faults_runs_every_seed() {
    let s = check(|| async {
        let _ = timeout(60).run(sleep(1)).await;
        Ok(())
    })
    .policy(Policy::Fifo)
    .faults(FaultConfig::default().early_timeout(0.5))
    .seeds(0..20)
    .ignore_env()
    .outcome()
    .unwrap();
    assert_eq!(s.runs, 20);
}

#[test]
fn fifo_with_faults_finds_a_bug_only_some_seeds_draw() {
    // Seed 0 may well not draw the early timeout: every seed must run to find it.
    let f = check(|| async {
        timeout(60).run(sleep(1)).await?;
        Ok(())
    })
    .policy(Policy::Fifo)
    .faults(FaultConfig::default().early_timeout(0.05))
    .seeds(0..2000)
    .threads(1)
    .ignore_env()
    .outcome()
    .unwrap_err();
    assert!(f.message.contains("TimeoutError"), "{f}");
}

/// Fails on every other call: a program whose outcome depends on something outside the loop.
static FLAKY_CALLS: AtomicU64 = AtomicU64::new(0);

#[test]
fn a_failure_that_does_not_replay_is_reported_as_not_deterministic() {
    let f = check(|| async {
        let n = FLAKY_CALLS.fetch_add(1, Ordering::SeqCst);
        sleep(1).await?;
        if n % 2 == 1 {
            sleep(2).await?;
            panic!("flaky");
        }
        Ok(())
    })
    .policy(Policy::Random)
    .seeds(0..1)
    .threads(1)
    .ignore_env()
    .outcome()
    .unwrap_err();
    let report = f.to_string();
    assert_eq!(f.signature, Signature::Nondeterminism, "{report}");
    assert!(
        report.contains("this failure is not deterministic"),
        "{report}"
    );
    assert!(report.contains("Likely causes"), "{report}");
    assert!(report.contains("first differ at line"), "{report}");
    assert!(report.contains("flaky"), "{report}");
}

#[test]
fn a_diverged_replay_fails_unless_allowed() {
    let body = || async { sleep(1).await };
    let schedule: tulipsim::scheduler::Schedule = "3:1".parse().unwrap();
    let f = check(body)
        .replay(schedule.clone())
        .ignore_env()
        .outcome()
        .unwrap_err();
    assert_eq!(f.signature, Signature::Diverged);
    assert!(f.to_string().contains("the replay diverged"), "{f}");
    let s = check(body)
        .replay(schedule)
        .allow_diverged_replay(true)
        .ignore_env()
        .outcome()
        .unwrap();
    assert_eq!(s.runs, 1);
}

#[test]
fn an_unretrieved_task_error_fails_the_run_naming_the_task() {
    let body = || async {
        let _worker = tulipsim::create_task_named("worker", async {
            sleep(1).await?;
            Err::<(), _>(Error::msg("disk full"))
        })?;
        sleep(5).await
    };
    let f = check(body).seeds(0..1).ignore_env().outcome().unwrap_err();
    assert!(matches!(f.signature, Signature::Unretrieved(_)), "{f}");
    assert!(f.message.contains("worker"), "{f}");
    assert!(f.message.contains("disk full"), "{f}");
    check(body)
        .seeds(0..1)
        .allow_unretrieved_errors(true)
        .ignore_env()
        .run();
}

#[test]
fn a_drop_that_panics_while_the_loop_closes_is_a_failure_of_that_seed() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                panic!("boom in drop");
            }
        }
    }
    let f = check(|| async {
        let _stuck = create_task(async {
            let bomb = Bomb;
            Future::<()>::new().await?;
            drop(bomb);
            Ok(())
        })?;
        sleep(1).await
    })
    .policy(Policy::Random)
    .seeds(0..4)
    .ignore_env()
    .outcome()
    .unwrap_err();
    assert!(f.message.contains("while the loop closed"), "{f}");
    assert!(f.message.contains("boom in drop"), "{f}");
    assert!(f.replay_command().contains("TULIPSIM_SEED=0"), "{f}");
}
