//! The `TULIPSIM_*` environment variables (listed in the [harness docs](super)): read into a
//! [`Check`] before it runs, unless [`Check::ignore_env`]. A value that does not parse is a
//! configuration error.

use std::future::Future as StdFuture;
use std::ops::Range;
use std::time::Duration;

use super::Check;
use crate::exceptions::Error;

impl<F, Fut, T> Check<F>
where
    F: Fn() -> Fut + Sync,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    pub(super) fn apply_env(&mut self) -> Result<(), String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if let Some(p) = var("TULIPSIM_POLICY") {
            self.policy = p.parse().map_err(|e| format!("TULIPSIM_POLICY={p}: {e}"))?;
        }
        if let Some(n) = var("TULIPSIM_SEEDS") {
            self.seeds = parse_seeds(&n).filter(|r| r.start < r.end).ok_or_else(|| {
                format!("TULIPSIM_SEEDS={n}: expected a count N > 0 or a range A..B with A < B")
            })?;
        }
        if let Some(s) = var("TULIPSIM_SEED") {
            let seed: u64 = s
                .trim()
                .parse()
                .map_err(|_| format!("TULIPSIM_SEED={s}: not a number"))?;
            self.seeds = seed..seed.saturating_add(1);
        }
        // Set but empty is a schedule too: the one with no deviation (a replay command can
        // say `TULIPSIM_REPLAY=''`).
        if let Ok(r) = std::env::var("TULIPSIM_REPLAY") {
            // `@FILE`: a schedule too long for a command line, as a failure report wrote it.
            let text = match r.trim().strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| format!("TULIPSIM_REPLAY=@{path}: cannot read the file: {e}"))?,
                None => r.clone(),
            };
            self.replay = Some(
                text.trim()
                    .parse()
                    .map_err(|e| format!("TULIPSIM_REPLAY={r}: {e}"))?,
            );
        }
        if let Some(w) = var("TULIPSIM_WATCHDOG") {
            let secs: f64 = w
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| format!("TULIPSIM_WATCHDOG={w}: expected seconds (0 for off)"))?;
            self.run.watchdog = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
        }
        if let Some(d) = var("TULIPSIM_ALLOW_DIVERGED_REPLAY") {
            self.allow_diverged = parse_flag("TULIPSIM_ALLOW_DIVERGED_REPLAY", &d)?;
        }
        if let Some(d) = var("TULIPSIM_DETERMINISM") {
            self.determinism = parse_flag("TULIPSIM_DETERMINISM", &d)?;
        }
        if let Some(sh) = var("TULIPSIM_SHARD") {
            let (i, n) = sh
                .split_once('/')
                .and_then(|(i, n)| {
                    Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
                })
                .filter(|(i, n)| *n > 0 && i < n)
                .ok_or_else(|| format!("TULIPSIM_SHARD={sh}: expected i/n with i < n"))?;
            self.shard = Some((i, n));
        }
        Ok(())
    }
}

/// A yes/no variable: `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`.
fn parse_flag(name: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{name}={value}: expected 1 or 0 (true/false, yes/no, on/off)"
        )),
    }
}

fn parse_seeds(s: &str) -> Option<Range<u64>> {
    let s = s.trim();
    match s.split_once("..") {
        Some((a, b)) => Some(a.trim().parse().ok()?..b.trim().parse().ok()?),
        None => Some(0..s.parse().ok()?),
    }
}
