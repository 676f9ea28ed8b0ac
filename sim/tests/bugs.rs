//! The planted bugs ship because FIFO passes them; exploration finds them; the controls never
//! fail. `cargo run --release -p tulipsim-sim --bin bug-bench` measures how fast each policy
//! finds each bug (docs/bug-finding.md).

use tulipsim::{check, exhaustive, Policy};
use tulipsim_sim::bugs;

#[test]
fn every_program_passes_under_fifo() {
    for p in bugs::all() {
        let r = check(p.body).policy(Policy::Fifo).ignore_env().outcome();
        assert!(r.is_ok(), "{} fails under FIFO: {}", p.name, r.unwrap_err());
    }
}

#[test]
fn every_bug_has_failing_schedules_and_no_control_has() {
    for p in bugs::all() {
        let e = exhaustive(p.body).limit(200_000).run();
        assert!(
            e.complete,
            "{}: {} schedules and counting",
            p.name, e.schedules
        );
        if p.bug {
            assert!(e.failing > 0, "{}: no schedule fails", p.name);
            assert!(e.failure_probability > 0.0 && e.failure_probability < 1.0);
        } else {
            assert_eq!(
                e.failing, 0,
                "{}: {} of {} schedules fail",
                p.name, e.failing, e.schedules
            );
        }
    }
}

#[test]
fn the_default_portfolio_finds_every_bug_within_1000_seeds() {
    for p in bugs::all().into_iter().filter(|p| p.bug) {
        let r = check(p.body)
            .policy(Policy::Portfolio)
            .seeds(0..1000)
            .minimize(false)
            .ignore_env()
            .outcome();
        let failure = r.expect_err(p.name);
        assert!(failure.seed < 1000, "{}", p.name);
    }
}

#[test]
fn controls_pass_every_seed_of_every_causal_policy() {
    for p in bugs::all().into_iter().filter(|p| !p.bug) {
        for policy in [
            Policy::Random,
            Policy::Pct(1),
            Policy::Pct(2),
            Policy::Pct(3),
            Policy::Delay(2),
            Policy::Portfolio,
        ] {
            let name = policy.name();
            let r = check(p.body)
                .policy(policy)
                .seeds(0..500)
                .ignore_env()
                .outcome();
            assert!(
                r.is_ok(),
                "{} failed under {name}: {}",
                p.name,
                r.unwrap_err()
            );
        }
    }
}
