//! Fault injection: each fault kind, the separate fault stream, fault plans.

use crate::common;

use std::cell::RefCell;
use std::rc::Rc;

use common::lp;
use tulipsim::scheduler::{FaultPlan, Portfolio, Random, Replay, Scheduler};
use tulipsim::{
    buggify, create_task, sleep, Error, EventLoop, FaultConfig, LoopConfig, PanicPolicy,
};

#[test]
fn timer_jitter_fires_timers_late_never_early() {
    let mut late = 0;
    for seed in 0..50 {
        let lp = lp(seed, FaultConfig::default().timer_jitter(0.5, 0.25));
        let fired = Rc::new(RefCell::new(Vec::new()));
        for deadline in [1.0, 2.0, 3.0] {
            let (f, h) = (fired.clone(), lp.handle());
            lp.call_later(deadline, move || f.borrow_mut().push((deadline, h.time())));
        }
        lp.run_until_complete(sleep(10)).unwrap();
        for &(deadline, at) in fired.borrow().iter() {
            assert!(
                at >= deadline && at <= deadline + 0.25,
                "seed {seed}: due {deadline}, fired {at}"
            );
            if at > deadline {
                late += 1;
            }
        }
    }
    assert!(late > 0, "some timers were delayed");
}

/// Jitter models a sleeper waking late; a timeout's deadline is what the code under test is
/// tested against, and only the early-timeout fault moves it. Before, `wait_for`'s and
/// `timeout()`'s timers were jittered too, so turning jitter on made an injected early timeout
/// fire late and hid the very bugs it was meant to find.
#[test]
fn timer_jitter_delays_sleepers_but_never_a_timeout_deadline() {
    for seed in 0..30 {
        let lp = lp(seed, FaultConfig::default().timer_jitter(1.0, 5.0));
        let (wait_for_at, timeout_at, slept) = lp
            .run_until_complete(async {
                let h = tulipsim::get_running_loop()?;
                let t0 = h.time();
                let r = tulipsim::wait_for(sleep(100), 2.0).await;
                assert!(matches!(r, Err(Error::Timeout(_))));
                let wait_for_at = h.time() - t0;
                let t1 = h.time();
                let r = tulipsim::timeout(3.0).run(sleep(100)).await;
                assert!(matches!(r, Err(Error::Timeout(_))));
                let timeout_at = h.time() - t1;
                let t2 = h.time();
                sleep(1).await?;
                Ok((wait_for_at, timeout_at, h.time() - t2))
            })
            .unwrap();
        assert_eq!(wait_for_at, 2.0, "seed {seed}: wait_for's deadline moved");
        assert_eq!(timeout_at, 3.0, "seed {seed}: timeout()'s deadline moved");
        assert!(
            slept > 1.0,
            "seed {seed}: jitter at p=1 delays every sleeper"
        );
    }
}

#[test]
fn a_spurious_cancellation_lands_at_an_await_and_can_be_caught() {
    let lp = lp(1, FaultConfig::default().spurious_cancel(1.0));
    let r = lp.run_until_complete(async {
        let mut caught = 0;
        for _ in 0..3 {
            if let Err(Error::Cancelled(c)) = sleep(1).await {
                assert_eq!(c.message(), Some("spurious cancellation (injected fault)"));
                caught += 1;
            }
        }
        Ok(caught)
    });
    // Cancelled before its first step, the main task never ran: that is the first fault.
    assert!(r.unwrap_err().is_cancelled());
    assert!(lp
        .trace()
        .to_string()
        .contains("fault spurious-cancel: Task-1 cancelled before its step"));
}

#[test]
fn buggify_enables_each_site_once_per_run() {
    let mut enabled_runs = 0;
    for seed in 0..40 {
        let lp = lp(seed, FaultConfig::default().buggify(0.5, 1.0));
        let fired = lp
            .run_until_complete(async {
                let mut fired = vec![];
                for _ in 0..4 {
                    fired.push(buggify()); // one call site: enabled or not for the whole run
                }
                Ok(fired)
            })
            .unwrap();
        assert!(
            fired.iter().all(|&f| f == fired[0]),
            "seed {seed}: {fired:?}"
        );
        enabled_runs += fired[0] as u32;
    }
    assert!(
        enabled_runs > 5 && enabled_runs < 35,
        "about half the runs enable it: {enabled_runs}"
    );
}

/// A program whose schedule has many decisions.
async fn busy() -> Result<(), Error> {
    let mut tasks = vec![];
    for i in 0..6u32 {
        tasks.push(create_task(async move {
            for _ in 0..i {
                sleep(0).await?;
            }
            Ok(())
        })?);
    }
    for t in tasks {
        t.await?;
    }
    Ok(())
}

fn random_schedule(seed: u64, faults: FaultConfig) -> tulipsim::scheduler::Schedule {
    let lp = lp(seed, faults);
    lp.set_scheduler(Random::new());
    lp.run_until_complete(busy()).unwrap();
    lp.schedule()
}

#[test]
fn turning_faults_on_does_not_reshuffle_the_schedule() {
    for seed in 0..20 {
        // The fault is asked at every step but (almost surely) never fires.
        let with = random_schedule(seed, FaultConfig::default().spurious_cancel(1e-12));
        let without = random_schedule(seed, FaultConfig::default());
        assert!(!without.is_fifo());
        assert_eq!(with, without, "seed {seed}");
    }
}

#[test]
fn a_fault_plan_replays_the_faults_of_a_seeded_run() {
    let faults = FaultConfig::default()
        .timer_jitter(0.3, 1.0)
        .spurious_cancel(0.05);
    let program = || async {
        let mut out = vec![];
        for i in 0..5 {
            let r = sleep(1).await;
            out.push((i, r.is_ok()));
        }
        Ok(out)
    };
    for seed in 0..20 {
        let original = lp(seed, faults.clone());
        let first = original.run_until_complete(program());
        let fired = original.fired_faults();
        // The same plan (and seed, which gives the jitter amounts): the same faults again.
        let replay = lp(seed, faults.clone());
        replay.set_scheduler(Replay::new(Default::default()).with_faults(fired.clone()));
        let second = replay.run_until_complete(program());
        assert_eq!(replay.fired_faults(), fired, "seed {seed}");
        assert_eq!(first.is_ok(), second.is_ok(), "seed {seed}");
        assert_eq!(original.time(), replay.time(), "seed {seed}");
    }
    let _: FaultPlan = "1,2".parse().unwrap();
}

#[test]
fn replay_says_where_a_run_diverges() {
    let lp = EventLoop::new();
    lp.set_scheduler(Replay::new("1000:1".parse().unwrap()));
    lp.run_until_complete(busy()).unwrap();
    let replay = lp.take_scheduler().unwrap();
    let d = replay.divergence().unwrap();
    assert!(d.contains("the schedule deviates at decision 1000"), "{d}");
}

#[test]
fn the_portfolio_picks_its_member_by_seed() {
    let mut p = Portfolio::default();
    let members = p.members();
    for seed in 0..12u64 {
        p.begin_run(seed);
        assert_eq!(p.current(), members[(seed % members.len() as u64) as usize]);
    }
}

#[test]
fn a_panic_under_faults_is_still_reported_with_its_seed() {
    let config = LoopConfig::default()
        .seed(77)
        .faults(FaultConfig::all(0.1))
        .panic_policy(PanicPolicy::StopLoop);
    let lp = EventLoop::with_config(config);
    let r: Result<(), Error> = lp.run_until_complete(async {
        sleep(1).await.ok();
        panic!("boom")
    });
    assert!(r.unwrap_err().to_string().ends_with("[seed 77]"));
}

#[test]
fn traces_export_as_json_lines() {
    let lp = lp(3, FaultConfig::default());
    lp.set_scheduler(Random::new());
    lp.run_until_complete(busy()).unwrap();
    let json = lp.trace().to_json_lines();
    assert!(json.lines().count() > 10);
    for line in json.lines() {
        assert!(line.starts_with("{\"t\":") && line.ends_with('}'), "{line}");
    }
    assert!(json.contains("\"event\":\"decision\""));
}

/// The code under test's random numbers come from the seed, on a stream of their own.
mod user_random {
    use tulipsim::{random_range, random_u64, sleep, EventLoop, LoopConfig};

    fn draws(seed: u64, n: usize) -> Vec<u64> {
        let lp = EventLoop::with_config(LoopConfig::default().seed(seed));
        lp.run_until_complete(async move { (0..n).map(|_| random_u64()).collect() })
            .unwrap()
    }

    #[test]
    fn a_seed_gives_the_same_numbers_and_another_seed_others() {
        assert_eq!(draws(3, 20), draws(3, 20));
        assert_ne!(draws(3, 20), draws(4, 20));
    }

    #[test]
    fn drawing_does_not_move_the_schedule() {
        // The same seed and policy make the same decisions whether or not the program draws.
        let schedule = |draw: bool, seed: u64| {
            let lp = EventLoop::with_config(LoopConfig::default().seed(seed));
            lp.set_scheduler(tulipsim::scheduler::Random::new());
            lp.run_until_complete(async move {
                let t = tulipsim::create_task(async move {
                    if draw {
                        random_u64()?;
                    }
                    sleep(0).await
                })?;
                let u = tulipsim::create_task(sleep(0))?;
                sleep(0).await?;
                t.await?;
                u.await
            })
            .unwrap();
            lp.schedule().to_string()
        };
        let with: Vec<String> = (0..20).map(|s| schedule(true, s)).collect();
        let without: Vec<String> = (0..20).map(|s| schedule(false, s)).collect();
        assert_eq!(with, without);
        assert!(
            with.iter().any(|s| !s.is_empty()),
            "no seed deviated: {with:?}"
        );
    }

    #[test]
    fn random_range_stays_in_range_and_reaches_both_ends() {
        let lp = EventLoop::with_config(LoopConfig::default().seed(1));
        let xs: Vec<u64> = lp
            .run_until_complete(async { (0..2000).map(|_| random_range(10..14)).collect() })
            .unwrap();
        assert!(xs.iter().all(|x| (10..14).contains(x)));
        for v in 10..14 {
            let share = xs.iter().filter(|&&x| x == v).count() as f64 / 2000.0;
            assert!((share - 0.25).abs() < 0.05, "{v}: {share}");
        }
    }

    #[test]
    fn misuse_is_an_error_not_a_panic() {
        assert!(random_u64().is_err(), "outside a loop");
        let lp = EventLoop::new();
        let r = lp.run_until_complete(async { random_range(5..5) });
        assert!(r.unwrap_err().to_string().contains("empty"));
    }
}

/// The program's own random numbers go through the decision point: the `Bytes` policy (a
/// fuzzer's input) supplies them; without bytes left, or under any other policy, they are the
/// seed's user stream, unchanged.
#[test]
fn fuzzer_bytes_drive_the_programs_random_numbers() {
    use tulipsim::scheduler::Bytes;
    let draw = |scheduler: Option<Bytes>| {
        let lp = EventLoop::with_config(LoopConfig::default().seed(9));
        if let Some(s) = scheduler {
            lp.set_scheduler(s);
        }
        lp.run_until_complete(async { Ok((tulipsim::random_u64()?, tulipsim::random_u64()?)) })
            .unwrap()
    };
    let plain = draw(None);
    assert_eq!(
        draw(Some(Bytes::new(vec![]))),
        plain,
        "no bytes: the seed's stream"
    );
    let bytes = [7, 0, 0, 0, 0, 0, 0, 0, 1];
    let (first, second) = draw(Some(Bytes::new(bytes.to_vec())));
    assert_eq!(first, 7);
    assert_eq!(second, 1, "the last byte, zero-padded");
    let lp = EventLoop::with_config(LoopConfig::default().seed(9));
    lp.set_scheduler(Random::new());
    let under_random = lp
        .run_until_complete(async { Ok((tulipsim::random_u64()?, tulipsim::random_u64()?)) })
        .unwrap();
    assert_eq!(
        under_random, plain,
        "other policies leave the user stream alone"
    );
}
