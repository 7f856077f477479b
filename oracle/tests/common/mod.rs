//! What the bounded-run tests share (each test crate uses part of it).
#![allow(dead_code)]

use kmem_oracle::{check_with_seams, scenario_from_bytes, GenConfig, Options};
use rand::{Rng, SeedableRng};

/// A fixed byte source (xorshift64): the same `n` inputs of 256 to 2303 bytes on every run.
pub fn inputs(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| (0..(256 + next() % 2048)).map(|_| next() as u8).collect())
        .collect()
}

/// A boot with every SLUB debug option on every cache (slub_debug=FZPU).
pub fn full_slub_debug() -> kmem::BootConfig {
    kmem::BootConfig {
        slub_debug: Some(kmem::SlubDebug {
            consistency: true,
            red_zone: true,
            poison: true,
            store_user: true,
        }),
        ..Default::default()
    }
}

/// Runs `n` seeded scenarios of `cfg` on the real kernel model: every verdict must pass, and
/// every misuse kind in `kinds` must have been judged in at least one of them.
pub fn misuse_heavy(cfg: &GenConfig, seed: u64, n: usize, kinds: &[&str]) {
    misuse_heavy_on(&kmem::KmemSeams, cfg, seed, n, kinds)
}

/// [`misuse_heavy`] on a machine whose seams `seams` builds.
pub fn misuse_heavy_on(
    seams: &dyn kmem::Seams,
    cfg: &GenConfig,
    seed: u64,
    n: usize,
    kinds: &[&str],
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let make =
        |z, r: &[(u64, u64)]| -> Box<dyn kmem::PageAllocator> { Box::new(kmem::Buddy::new(z, r)) };
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..n {
        let bytes: Vec<u8> = (0..rng.gen_range(64..2048)).map(|_| rng.gen()).collect();
        let g = scenario_from_bytes(&bytes, cfg);
        let v = check_with_seams(
            &g.scenario,
            Options {
                record_steps: false,
            },
            &make,
            seams,
        );
        assert!(
            v.pass(),
            "scenario {i} failed:\n{}{}",
            v.explain(),
            g.scenario
        );
        seen.extend(v.misuse.iter().map(|(_, k)| k.as_str()));
    }
    for k in kinds {
        assert!(
            seen.contains(k),
            "no generated scenario had a {k} misuse judged; seen: {seen:?}"
        );
    }
}

/// One call judged by [`judge_run`]'s caller: the machine after the call, the model, the
/// statement's index (jiffies), the statement, the names bound so far, what the call did.
pub type JudgeCall<'a> = &'a mut dyn FnMut(
    &mut kmem::Machine,
    &mut kmem_oracle::model::Model,
    u64,
    &kmem_oracle::Stmt,
    &kmem_oracle::outcome::Env,
    &kmem_oracle::outcome::Outcome,
) -> Vec<String>;

/// Runs the scenario `text` on the machine beside the model as the checker does (a
/// `repeat` makes each call in turn until one returns NULL; names are bound to what it
/// binds), with `judge` judging each call; the failures it returns, in order.
pub fn judge_run(text: &str, judge: JudgeCall<'_>) -> Vec<String> {
    use kmem_oracle::model::{facts::Facts, Model};
    use kmem_oracle::{outcome::Env, run::execute, Ret};
    let s = kmem_oracle::parse(text).expect("scenario parses");
    let mut m = kmem::Machine::boot(&s.boot).expect("boots");
    m.record_page_events(true);
    let mut model = Model::new(Facts::new(&s.boot), s.boot.clone());
    model.set_vmap_fit(m.vmalloc_fit());
    let mut env = Env::default();
    let mut failures = vec![];
    for (index, stmt) in (1u64..).zip(&s.stmts) {
        m.set_caller(index);
        let mut done = 0u64;
        let mut value = 0;
        for _ in 0..stmt.calls() {
            let out = execute(&mut m, &env, &stmt.op);
            failures.extend(judge(&mut m, &mut model, index, stmt, &env, &out));
            value = out.value.unwrap_or(0);
            if stmt.repeat.is_some() && value == 0 {
                break;
            }
            done += 1;
        }
        if let Some(name) = &stmt.bind {
            let v = match stmt.repeat {
                Some(_) => done,
                None if stmt.returns() != Ret::Nothing => value,
                None => 0,
            };
            env.bind(name, v);
        }
    }
    failures
}

/// The `warning` failures of the scenario `text`, as `line: message`, with one kind of the
/// machine's counted prints judged call by call: `printed(machine, line, value)` takes the
/// call's count (changed as a test wants), `judge` judges it beside the call's judgement.
pub fn warning_failures(
    text: &str,
    printed: &dyn Fn(&mut kmem::Machine, u32, u64) -> u32,
    judge: &dyn Fn(&mut kmem_oracle::model::Model, &mut kmem_oracle::model::Judgement, u64, u32),
) -> Vec<String> {
    judge_run(text, &mut |m, model, index, stmt, env, out| {
        let n = printed(m, stmt.line, out.value.unwrap_or(0));
        m.take_reports();
        m.take_warnings();
        let events = m.take_page_events();
        let mut j = model.judge(stmt.line, &stmt.op, env, out, &events);
        judge(model, &mut j, index, n);
        j.failures
            .iter()
            .filter(|f| f.0 == kmem_oracle::model::FailureKind::Warning)
            .map(|(_, msg)| format!("{}: {msg}", stmt.line))
            .collect()
    })
}
