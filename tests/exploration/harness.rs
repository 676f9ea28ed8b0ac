//! The test harness: seeds, policies, failure reports, replay, minimisation, determinism.

use std::cell::Cell;
use std::process::Command;
use std::rc::Rc;

use tulipsim::scheduler::Schedule;
use tulipsim::{check, create_task, exhaustive, gather, sleep, Error, Policy};

/// The lost update of the exploration issue.
pub(crate) async fn lost_update() -> Result<(), Error> {
    assert_eq!(bump_twice().await?, 2, "an update was lost");
    Ok(())
}

/// Two tasks each read a counter, yield, and write it back plus one: the count they leave (1
/// when an interleaving loses an update).
pub(crate) async fn bump_twice() -> Result<u32, Error> {
    let counter = Rc::new(Cell::new(0));
    let bump = |c: Rc<Cell<u32>>| async move {
        let v = c.get();
        sleep(0).await?;
        c.set(v + 1);
        Ok(())
    };
    let a = create_task(bump(counter.clone()))?;
    sleep(0).await?;
    let b = create_task(bump(counter.clone()))?;
    gather(vec![a, b]).await?;
    Ok(counter.get())
}

#[test]
fn fifo_never_fails_the_lost_update() {
    check(lost_update).policy(Policy::Fifo).ignore_env().run();
}

/// Runs in a child process only (ignored in a normal run, where it would check nothing): the
/// parent test below runs it with `--ignored` and the replay command's environment, as a user
/// pasting the command would.
#[test]
#[ignore = "run by a_failure_prints_a_replay_command_that_fails_the_same_way"]
fn replay_child() {
    assert!(
        std::env::var_os("TULIPSIM_HARNESS_CHILD").is_some(),
        "replay_child runs only as its parent test's child"
    );
    check(lost_update).run();
}

#[test]
fn a_failure_prints_a_replay_command_that_fails_the_same_way() {
    let failure = check(lost_update)
        .policy(Policy::Random)
        .seeds(0..200)
        .ignore_env()
        .outcome()
        .unwrap_err();
    let report = failure.to_string();
    assert!(report.contains("an update was lost"), "{report}");
    assert!(failure.best_schedule().len() <= failure.schedule.len());
    assert!(!failure.best_schedule().is_empty());
    let command = failure.replay_command();
    assert!(
        command.contains("cargo test --test exploration"),
        "{command}"
    );
    // Run what the command runs: this test binary, the named test, with its environment.
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.env("TULIPSIM_HARNESS_CHILD", "1");
    for var in command
        .split_whitespace()
        .filter(|w| w.starts_with("TULIPSIM_"))
    {
        let (k, v) = var.split_once('=').unwrap();
        child.env(k, v.trim_matches('\''));
    }
    child.args([
        "harness::replay_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    let out = child.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the replay must fail");
    assert!(stderr.contains("an update was lost"), "{stderr}");
    assert!(
        stderr.contains(&format!("schedule: '{}'", failure.best_schedule())),
        "{stderr}"
    );
}

#[test]
fn the_replay_builder_reproduces_the_failure_and_its_trace() {
    let failure = check(lost_update)
        .policy(Policy::Random)
        .seeds(0..200)
        .ignore_env()
        .outcome()
        .unwrap_err();
    let again = check(lost_update)
        .seed(failure.seed)
        .replay(failure.schedule.clone())
        .ignore_env()
        .outcome()
        .unwrap_err();
    assert_eq!(again.signature, failure.signature);
    assert_eq!(again.schedule, failure.schedule);
    // Identical but for line 1: the main task's spawn site is each check's own call site.
    assert_eq!(again.trace.records()[1..], failure.trace.records()[1..]);
    assert_eq!(again.trace.len(), failure.trace.len());
}

#[test]
fn random_finds_the_lost_update_in_the_share_enumeration_predicts() {
    let e = exhaustive(lost_update).run();
    assert!(e.complete && e.failing > 0);
    let p = e.failure_probability;
    let n = 2000u64;
    let failing = (0..n)
        .filter(|&seed| {
            check(lost_update)
                .policy(Policy::Random)
                .seed(seed)
                .minimize(false)
                .ignore_env()
                .outcome()
                .is_err()
        })
        .count() as f64;
    let expected = p * n as f64;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (failing - expected).abs() <= 3.0 * sigma,
        "measured {failing} failures in {n} runs, expected {expected:.1} ± {:.1} (p = {p})",
        3.0 * sigma
    );
}

#[test]
fn delay_bounding_finds_the_lost_update_with_one_delay() {
    let failure = check(lost_update)
        .policy(Policy::DelayBounding(2))
        .ignore_env()
        .outcome()
        .unwrap_err();
    assert_eq!(failure.schedule.len(), 1, "{failure}");
    assert_eq!(failure.policy, "delay-bounding");
}

#[test]
fn every_policy_but_fifo_finds_the_lost_update_within_100_seeds() {
    for policy in [
        "random",
        "chaos",
        "pct1",
        "pct2",
        "pct3",
        "delay1",
        "delay2",
        "portfolio",
    ] {
        let p: Policy = policy.parse().unwrap();
        let found = check(lost_update)
            .policy(p)
            .seeds(0..100)
            .minimize(false)
            .ignore_env()
            .outcome();
        assert!(found.is_err(), "{policy} did not find the lost update");
    }
}

/// A busy program: tasks, timers, gathers, a shared log that depends on the order.
async fn busy() -> Result<(), Error> {
    let log = Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let log = log.clone();
        tasks.push(create_task(async move {
            for j in 0..3u64 {
                sleep(((i * 7 + j * 3) % 5) as f64 * 0.1).await?;
                log.borrow_mut().push(i * 10 + j);
                if (i + j) % 3 == 0 {
                    sleep(0).await?;
                }
            }
            Ok(i)
        })?);
    }
    let results = gather(tasks).await?;
    assert_eq!(results.len(), 8);
    assert_eq!(log.borrow().len(), 24);
    Ok(())
}

#[test]
fn one_thousand_seeds_twice_give_identical_traces() {
    let s = check(busy)
        .policy(Policy::Random)
        .seeds(0..1000)
        .determinism_check(true)
        .ignore_env()
        .outcome()
        .unwrap();
    assert_eq!(s.runs, 2000);
    assert!(s.decisions > 0);
}

#[test]
fn nondeterminism_is_reported_with_the_first_difference() {
    // A program that reads something outside the simulation: a global counter that differs
    // between the two runs of a seed.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let f = check(|| async {
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        sleep(n as f64).await
    })
    .policy(Policy::Random)
    .seeds(0..1)
    .threads(1)
    .determinism_check(true)
    .ignore_env()
    .outcome()
    .unwrap_err();
    assert!(
        f.message.contains("the same seed gave two different runs"),
        "{}",
        f.message
    );
    assert!(f.message.contains("trace line"), "{}", f.message);
}

#[test]
fn shards_split_the_seeds_disjointly() {
    let total: u64 = (0..3)
        .map(|i| {
            check(busy)
                .policy(Policy::Random)
                .seeds(0..30)
                .shard(i, 3)
                .ignore_env()
                .outcome()
                .unwrap()
                .runs
        })
        .sum();
    assert_eq!(total, 30);
}

#[test]
fn schedules_round_trip_through_their_text() {
    let s = Schedule::from_deviations(vec![(0, 2), (5, 1), (19, 3)]);
    assert_eq!(s.to_string().parse::<Schedule>().unwrap(), s);
}

#[test]
fn a_bad_environment_is_a_clear_error() {
    assert!("pct-x"
        .parse::<Policy>()
        .unwrap_err()
        .contains("not a policy"));
    assert!("1:x"
        .parse::<Schedule>()
        .unwrap_err()
        .to_string()
        .contains("not a schedule"));
}

/// A lost update between `n` workers, `n` drawn from the seed: the FIFO run's length, which
/// warms PCT, differs from seed to seed.
async fn seeded_lost_update() -> Result<(), Error> {
    let n = tulipsim::random_range(2..12)?;
    let counter = Rc::new(Cell::new(0u64));
    let mut workers = Vec::new();
    for _ in 0..n {
        let c = counter.clone();
        workers.push(create_task(async move {
            let seen = c.get();
            sleep(0).await?;
            c.set(seen + 1);
            Ok(())
        })?);
    }
    for w in workers {
        w.await?;
    }
    if counter.get() != n {
        return Err(Error::msg(format!("{} of {n} increments", counter.get())));
    }
    Ok(())
}

#[test]
fn a_seed_fails_under_pct_alone_exactly_when_it_fails_in_a_sweep() {
    let sweep = check(seeded_lost_update)
        .policy(Policy::Pct(2))
        .seeds(0..60)
        .ignore_env()
        .survey()
        .unwrap();
    assert!(
        !sweep.failing_seeds.is_empty() && sweep.failing_seeds.len() < 60,
        "{:?}",
        sweep.failing_seeds
    );
    for seed in 1..60 {
        let alone = check(seeded_lost_update)
            .policy(Policy::Pct(2))
            .seeds(seed..seed + 1)
            .ignore_env()
            .survey()
            .unwrap();
        assert_eq!(
            alone.failing_seeds.is_empty(),
            !sweep.failing_seeds.contains(&seed),
            "seed {seed}: the warm-up must not depend on where the range starts"
        );
    }
}
