//! The decision point and the policies: determinism, replay, the causal rule, each policy.

use crate::common;

use std::cell::Cell;
use std::rc::Rc;

use common::Log;
use tulipsim::scheduler::{
    Bytes, ChoicePoint, Delay, Fifo, Pct, Portfolio, Random, Replay, Schedule, Scheduler,
};
use tulipsim::{create_task, gather, sleep, Error, EventLoop, Future, LoopConfig, TraceLevel};

/// The lost update: two tasks each read a counter, yield, and write it back plus one; the
/// second is created one step after the first. Returns the final count (2 unless an update was
/// lost).
async fn lost_update() -> Result<u32, Error> {
    let counter = Rc::new(Cell::new(0));
    let worker = |c: Rc<Cell<u32>>| async move {
        let v = c.get();
        sleep(0).await?;
        c.set(v + 1);
        Ok(())
    };
    let a = create_task(worker(counter.clone()))?;
    sleep(0).await?;
    let b = create_task(worker(counter.clone()))?;
    gather(vec![a, b]).await?;
    Ok(counter.get())
}

/// Runs `lost_update` under `scheduler` with `seed`: (count, schedule, trace hash, scheduler).
fn run_lost_update(
    scheduler: Box<dyn Scheduler>,
    seed: u64,
) -> (u32, Schedule, u64, Box<dyn Scheduler>) {
    let lp = EventLoop::with_config(LoopConfig::default().seed(seed).trace(TraceLevel::Full));
    lp.set_boxed_scheduler(scheduler);
    let n = lp.run_until_complete(lost_update()).unwrap();
    let sched = lp.take_scheduler().unwrap();
    (n, lp.schedule(), lp.trace().hash(), sched)
}

#[test]
fn fifo_never_loses_the_update() {
    let (n, schedule, _, _) = run_lost_update(Box::new(Fifo), 0);
    assert_eq!(n, 2);
    assert!(schedule.is_fifo());
}

#[test]
fn random_finds_the_lost_update_and_replay_reproduces_it() {
    let mut failing = None;
    for seed in 0..100 {
        let (n, schedule, hash, _) = run_lost_update(Box::new(Random::new()), seed);
        if n != 2 {
            failing = Some((seed, schedule, hash));
            break;
        }
    }
    let (seed, schedule, hash) = failing.expect("Random finds the lost update within 100 seeds");
    assert!(!schedule.is_fifo());
    let (n, replayed, replay_hash, sched) =
        run_lost_update(Box::new(Replay::new(schedule.clone())), seed);
    assert_eq!(n, 1, "the replay loses the update too");
    assert_eq!(replayed, schedule);
    // The decision lines are the same; the replay's trace equals the original's.
    assert_eq!(replay_hash, hash);
    let _ = sched;
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    for seed in 0..50 {
        let a = run_lost_update(Box::new(Random::new()), seed);
        let b = run_lost_update(Box::new(Random::new()), seed);
        assert_eq!((a.0, &a.1, a.2), (b.0, &b.1, b.2), "seed {seed}");
    }
}

#[test]
fn bytes_with_empty_input_is_fifo() {
    let (_, fifo_schedule, fifo_hash, _) = run_lost_update(Box::new(Fifo), 9);
    let (_, schedule, hash, _) = run_lost_update(Box::new(Bytes::new(vec![])), 9);
    assert_eq!(schedule, fifo_schedule);
    assert_eq!(hash, fifo_hash);
}

#[test]
fn bytes_steer_the_schedule() {
    let (n, schedule, _, _) = run_lost_update(Box::new(Bytes::new(vec![0, 0, 1, 1, 1, 1])), 0);
    assert!(!schedule.is_fifo());
    assert!(n == 1 || n == 2);
}

/// A correct program that relies on asyncio's FIFO promise: one future's done-callbacks run in
/// registration order. No policy but chaos may break it.
fn done_callback_order(scheduler: Box<dyn Scheduler>, seed: u64) -> Vec<String> {
    let lp = EventLoop::with_config(LoopConfig::default().seed(seed));
    lp.set_boxed_scheduler(scheduler);
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let f: Future<()> = Future::new();
        for name in ["first", "second", "third"] {
            let l = l.clone();
            f.add_done_callback(move |_: &Future<()>| l.push(name));
        }
        let noise = create_task(async {
            for _ in 0..3 {
                sleep(0).await?;
            }
            Ok(())
        })?;
        sleep(0).await?;
        f.set_result(())?;
        sleep(0).await?;
        sleep(0).await?;
        noise.await
    })
    .unwrap();
    log.lines()
}

#[test]
fn only_chaos_reorders_one_futures_done_callbacks() {
    let policies: Vec<fn() -> Box<dyn Scheduler>> = vec![
        || Box::new(Random::new()),
        || Box::new(Pct::new(2)),
        || Box::new(Delay::new(2)),
        || Box::new(Portfolio::default()),
    ];
    for make in &policies {
        for seed in 0..200 {
            assert_eq!(
                done_callback_order(make(), seed),
                ["first", "second", "third"],
                "seed {seed}"
            );
        }
    }
    let broken = (0..200).any(|seed| {
        done_callback_order(Box::new(Random::chaos()), seed) != ["first", "second", "third"]
    });
    assert!(broken, "chaos reorders them for some seed");
}

/// Schedules a callback from inside its first decision; always takes the oldest candidate.
struct Meddler {
    log: Log,
    meddled: bool,
}

impl Scheduler for Meddler {
    fn name(&self) -> String {
        "meddler".into()
    }

    fn choose(&mut self, _: &ChoicePoint<'_>) -> usize {
        if !self.meddled {
            self.meddled = true;
            let log = self.log.clone();
            tulipsim::get_running_loop()
                .unwrap()
                .call_soon(move || log.push("callback scheduled by the policy"));
        }
        0
    }
}

#[test]
fn a_policy_that_schedules_while_it_decides_sees_it_run_after_the_choice() {
    let log = Log::new();
    let lp = EventLoop::new();
    lp.set_scheduler(Meddler {
        log: log.clone(),
        meddled: false,
    });
    let l = log.clone();
    lp.run_until_complete(async move {
        for name in ["a", "b", "c"] {
            let l = l.clone();
            create_task(async move {
                sleep(0).await?;
                l.push(name);
                Ok(())
            })?;
        }
        sleep(0.1).await
    })
    .unwrap();
    // Worked by hand: `a` yields first (the causal rule lets only the oldest of the three
    // first steps run), so the first decision is between `b`'s first step and `a`'s second.
    // The callback the policy schedules there goes behind the queue it saw, before the steps
    // that run after the choice schedule theirs.
    assert_eq!(
        log.lines(),
        ["a", "callback scheduled by the policy", "b", "c"]
    );
}
