//! `kmemfuzz stress`: many seeded random scenarios through the checker in one process, for
//! long runs without a fuzzing engine and for measuring the oracle's cost.
//!
//! Each scenario is made, run and dropped before the next, so memory does not grow with
//! `--iters` or `--time`. `--jobs N` runs N threads, job `j` on seed `SEED + j`; every failing
//! scenario is written to its own file under `--out`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kmem_oracle::{check_with, execute_only, scenario_from_bytes, GenConfig, Generated, Options};

use crate::cli::{OracleMode, StressArgs, Target};
use crate::out::{Fail, Out, Outcome};

pub fn gen_config(target: Target) -> GenConfig {
    match target {
        Target::Buddy => GenConfig::buddy(),
        Target::Slab => GenConfig::slab(),
        Target::Kmalloc => GenConfig::kmalloc(),
        Target::Mempool => GenConfig::mempool(),
        Target::Vmalloc => GenConfig::vmalloc(),
        Target::Kmap => GenConfig::kmap(),
        Target::Kernel => GenConfig::kernel(),
    }
}

/// splitmix64: a seeded byte source, so every run of the same seed sees the same inputs.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Replaces the contents of `out` with the next `n` bytes (reusing its allocation).
    pub fn fill(&mut self, n: usize, out: &mut Vec<u8>) {
        out.clear();
        while out.len() < n {
            let w = self.next_u64().to_le_bytes();
            out.extend_from_slice(&w[..(n - out.len()).min(8)]);
        }
    }

    /// The next input of a stress run: 64 to 1087 bytes.
    pub fn input(&mut self, out: &mut Vec<u8>) {
        let n = 64 + (self.next_u64() % 1024) as usize;
        self.fill(n, out);
    }
}

/// `N ops/s`, right-aligned; `-` when nothing ran or no time passed (never NaN or inf).
fn rate(ops: u64, secs: f64) -> String {
    if ops == 0 || secs <= 0.0 {
        format!("{:>10}", "-")
    } else {
        format!("{:>10.0}", ops as f64 / secs)
    }
}

/// What the jobs have done so far, shared with the progress lines.
#[derive(Default)]
struct Shared {
    scenarios: AtomicU64,
    ops: AtomicU64,
    failing: AtomicU64,
    /// Set when a job could not write a failing scenario: every job stops.
    stop: AtomicBool,
    finished: AtomicUsize,
}

/// One job's totals. Times are the job's own, per phase.
#[derive(Default)]
struct Totals {
    scenarios: u64,
    ops: u64,
    alone_ops: u64,
    decode: Duration,
    alone: Duration,
    check: Duration,
    failing: u64,
    /// The first failing scenario's text and explanation.
    first_failure: Option<String>,
    /// A failing scenario that could not be written.
    error: Option<String>,
}

struct Job<'a> {
    target: Target,
    seed: u64,
    iters: Option<u64>,
    deadline: Option<Instant>,
    oracle: OracleMode,
    out_dir: &'a Path,
    shared: &'a Shared,
}

impl Job<'_> {
    fn run(&self) -> Totals {
        let cfg = gen_config(self.target);
        let mut rng = SplitMix(self.seed);
        let mut t = Totals::default();
        let mut bytes = Vec::with_capacity(1088);
        let make = |z, r: &[(u64, u64)]| -> Box<dyn kmem::PageAllocator> {
            Box::new(kmem::Buddy::new(z, r))
        };
        let opts = Options {
            record_steps: false,
        };
        for index in 0u64.. {
            if self.iters.is_some_and(|n| index >= n)
                || self.deadline.is_some_and(|d| Instant::now() >= d)
                || self.shared.stop.load(Ordering::Relaxed)
            {
                break;
            }
            rng.input(&mut bytes);
            let c = Instant::now();
            let g = scenario_from_bytes(&bytes, &cfg);
            t.decode += c.elapsed();
            let ops = g.scenario.stmts.len() as u64;
            if self.oracle != OracleMode::On {
                let c = Instant::now();
                t.alone_ops += execute_only(&g.scenario) as u64;
                t.alone += c.elapsed();
            }
            if self.oracle != OracleMode::Off {
                let c = Instant::now();
                let v = check_with(&g.scenario, opts, &make);
                t.check += c.elapsed();
                if !v.pass() {
                    self.failed(&mut t, index, &g, &v.explain());
                }
            }
            t.scenarios += 1;
            t.ops += ops;
            self.shared.scenarios.fetch_add(1, Ordering::Relaxed);
            self.shared.ops.fetch_add(ops, Ordering::Relaxed);
        }
        t
    }

    /// Writes a failing scenario to `OUT/TARGET-seed-SEED-N.kmem`: its explanation as
    /// comments, then the scenario (`kmemfuzz replay` runs it as it is).
    fn failed(&self, t: &mut Totals, index: u64, g: &Generated, explain: &str) {
        t.failing += 1;
        self.shared.failing.fetch_add(1, Ordering::Relaxed);
        let head = format!(
            "# kmemfuzz stress --target {} --seed {}: scenario {index} (0 is the first)\n",
            self.target.name(),
            self.seed
        );
        let why: String = explain.lines().map(|l| format!("# {l}\n")).collect();
        let text = format!("{head}{why}{g}");
        if t.first_failure.is_none() {
            t.first_failure = Some(format!(
                "FAILED verdict on this scenario:\n{}{explain}",
                g.scenario
            ));
        }
        let path = self.out_dir.join(format!(
            "{}-seed-{}-{index}.kmem",
            self.target.name(),
            self.seed
        ));
        let written =
            std::fs::create_dir_all(self.out_dir).and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            t.error = Some(format!("cannot write {}: {e}", path.display()));
            self.shared.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// One progress line on stderr.
fn progress(shared: &Shared, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    let n = shared.scenarios.load(Ordering::Relaxed);
    eprintln!(
        "kmemfuzz stress: {secs:.1} s, {n} scenarios ({} /s), {} operations, {} failing",
        rate(n, secs).trim(),
        shared.ops.load(Ordering::Relaxed),
        shared.failing.load(Ordering::Relaxed)
    );
}

pub fn command(a: &StressArgs, out: &mut Out) -> Outcome {
    let jobs = a.jobs.max(1);
    // Without --time the run is --iters long (2000 by default); with it, --iters only caps it.
    let iters = match (a.iters, a.time) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(2000),
    };
    let start = Instant::now();
    let deadline = a.time.map(|s| start + Duration::from_secs_f64(s));
    let out_dir = PathBuf::from(&a.out);
    let shared = Shared::default();
    let every = (a.progress > 0.0).then(|| Duration::from_secs_f64(a.progress));
    let results: Vec<Totals> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs)
            .map(|j| {
                let job = Job {
                    target: a.target,
                    seed: a.seed.wrapping_add(j),
                    iters,
                    deadline,
                    oracle: a.oracle,
                    out_dir: &out_dir,
                    shared: &shared,
                };
                let shared = &shared;
                s.spawn(move || {
                    let t = job.run();
                    shared.finished.fetch_add(1, Ordering::Release);
                    t
                })
            })
            .collect();
        if let Some(every) = every {
            let mut next = start + every;
            while shared.finished.load(Ordering::Acquire) < jobs as usize {
                std::thread::sleep(Duration::from_millis(50).min(every));
                if Instant::now() >= next {
                    progress(&shared, start);
                    next += every;
                }
            }
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let wall = start.elapsed().as_secs_f64();
    if let Some(e) = results.iter().find_map(|t| t.error.clone()) {
        return Err(Fail::Output(e));
    }
    report(a, jobs, iters, wall, &results, out)
}

fn report(
    a: &StressArgs,
    jobs: u64,
    iters: Option<u64>,
    wall: f64,
    results: &[Totals],
    out: &mut Out,
) -> Outcome {
    let sum = |f: fn(&Totals) -> u64| results.iter().map(f).sum::<u64>();
    let secs = |f: fn(&Totals) -> Duration| results.iter().map(f).sum::<Duration>().as_secs_f64();
    let (scenarios, ops, alone_ops, found) = (
        sum(|t| t.scenarios),
        sum(|t| t.ops),
        sum(|t| t.alone_ops),
        sum(|t| t.failing),
    );
    let (target, seed) = (a.target.name(), a.seed);
    let seeds = if jobs == 1 {
        format!("seed {seed}")
    } else {
        format!(
            "seeds {seed}..={} ({jobs} jobs)",
            seed.wrapping_add(jobs - 1)
        )
    };
    out.line(&format!(
        "target {target}, {seeds}: {scenarios} scenarios, {ops} operations"
    ))?;
    let decode = secs(|t| t.decode);
    out.line(&format!(
        "decoding:         {} ops/s  ({ops} ops in {decode:.3} s)",
        rate(ops, decode)
    ))?;
    let alone = secs(|t| t.alone);
    if a.oracle != OracleMode::On {
        out.line(&format!(
            "model alone:      {} ops/s  ({alone_ops} ops in {alone:.3} s)",
            rate(alone_ops, alone)
        ))?;
    }
    if a.oracle != OracleMode::Off {
        let check = secs(|t| t.check);
        out.line(&format!(
            "model + oracle:   {} ops/s  ({ops} ops in {check:.3} s), {found} failing scenarios",
            rate(ops, check)
        ))?;
        // The overhead is the ratio of the two times per operation.
        if a.oracle == OracleMode::Both && alone_ops > 0 && ops > 0 && alone > 0.0 && check > 0.0 {
            let overhead = (check / ops as f64) / (alone / alone_ops as f64);
            out.line(&format!("oracle overhead:  {overhead:.2}x the model alone"))?;
        }
    }
    if jobs > 1 || iters.is_none() {
        out.line(&format!(
            "wall time:        {} scenarios/s  ({scenarios} scenarios in {wall:.3} s)",
            rate(scenarios, wall)
        ))?;
    }
    if let Some(first) = results.iter().find_map(|t| t.first_failure.as_deref()) {
        out.line(first)?;
        out.line(&format!(
            "{found} failing scenarios written to {}/",
            a.out.trim_end_matches('/')
        ))?;
    }
    Ok(if found > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_source_is_the_same_whether_filled_or_grown() {
        let (mut a, mut b) = (SplitMix(7), SplitMix(7));
        let mut v = vec![1, 2, 3];
        a.fill(13, &mut v);
        let words: Vec<u8> = (0..2).flat_map(|_| b.next_u64().to_le_bytes()).collect();
        assert_eq!(v, words[..13]);
    }

    #[test]
    fn a_failing_scenario_is_written_as_a_scenario_that_replays() {
        let dir = std::env::temp_dir().join(format!("kmemfuzz-stress-test-{}", std::process::id()));
        let shared = Shared::default();
        let job = Job {
            target: Target::Buddy,
            seed: 5,
            iters: Some(1),
            deadline: None,
            oracle: OracleMode::On,
            out_dir: &dir,
            shared: &shared,
        };
        let g = scenario_from_bytes(&[7u8; 300], &gen_config(Target::Buddy));
        let mut t = Totals::default();
        job.failed(&mut t, 3, &g, "line 2: something\nline 3: else\n");
        let path = dir.join("buddy-seed-5-3.kmem");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            text.starts_with("# kmemfuzz stress --target buddy --seed 5: scenario 3"),
            "{text}"
        );
        assert!(text.contains("# line 3: else\n"), "{text}");
        let back = kmem_oracle::parse(&text).unwrap();
        assert_eq!(back.to_string(), g.scenario.to_string());
        assert_eq!((t.failing, shared.failing.load(Ordering::Relaxed)), (1, 1));
        assert!(t.first_failure.unwrap().contains("line 2: something"));
        assert!(t.error.is_none());
    }

    #[test]
    fn jobs_stop_at_their_count_and_use_their_own_seeds() {
        let shared = Shared::default();
        let dir = std::env::temp_dir();
        let run = |seed| {
            Job {
                target: Target::Kmap,
                seed,
                iters: Some(4),
                deadline: None,
                oracle: OracleMode::Both,
                out_dir: &dir,
                shared: &shared,
            }
            .run()
        };
        let (a, b, a2) = (run(1), run(2), run(1));
        assert_eq!((a.scenarios, b.scenarios), (4, 4));
        assert_eq!(a.ops, a2.ops);
        // Alone, every statement makes at least one call (a repeat or a walk several).
        assert!(
            a.alone_ops >= a.ops,
            "{} calls for {} statements",
            a.alone_ops,
            a.ops
        );
        assert_eq!(a.alone_ops, a2.alone_ops);
        assert_ne!(a.ops, b.ops, "another seed, other scenarios");
        assert_eq!(shared.scenarios.load(Ordering::Relaxed), 12);
    }
}
