//! The encoder: the fuzzer input a target's generator decodes to a given scenario, so that
//! hand-written scenarios seed the corpora and mutate like any other input.
//!
//! The generator is run forward, one step at a time (the boot line, then each turn of its
//! loop), with a draw source that answers from chosen numbers ([`steer`]); for each step a
//! search over its decisions ([`search`]) finds the numbers that make it write the
//! scenario's next statements, up to renaming ([`rename`]). What a step decides for later
//! (whether the scenario runs memory out, drawn with the boot line) is part of what it
//! writes: the plan that agrees with the scenario (a `repeat` in it or not) is tried
//! first. A step may be written by several draw sequences (a `kfree` of a live object by
//! the well-behaved `kfree`, the same one by a misuse); when a later statement cannot
//! follow, the search backtracks to the next sequence. The bytes are the draws written the
//! way the fuzzer's byte source reads them, so `show` of the bytes is the scenario, with
//! the generator's names.

mod rename;
mod search;
mod steer;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use kmem_vocab::BootConfig;

use super::ast::{Arg, Operand, Scenario, Stmt};
use super::generate::{scenario_from_bytes, GenConfig, Steps};
pub use rename::{same_up_to_renaming, Renaming};
use search::{Budget, Goal, Search, Trial};
use steer::{bytes_of, Drawn, Steer, Then};

/// Why a scenario has no input: the position of the boot line (1:1) or of the statement
/// the generator cannot write, and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    pub line: u32,
    pub col: u32,
    pub why: String,
}

/// How many trials of the generator the search of one statement may take by default (a
/// scenario may take ten times that in all).
pub const BUDGET: u64 = 100_000;

/// How many ways of writing a step are tried before giving up on it.
const ALTERNATIVES: usize = 2;

/// How many draw sequences that boot the scenario's line are looked at for its plans.
const BOOT_ANSWERS: usize = 16;

/// The fuzzer input that `cfg`'s generator decodes to `target` (up to renaming).
pub fn encode(target: &Scenario, cfg: &GenConfig) -> Result<Vec<u8>, EncodeError> {
    encode_with_budget(target, cfg, BUDGET)
}

/// [`encode`], searching each statement with at most `per_statement` trials of the
/// generator (and the whole scenario with ten times that). The result depends on the
/// budget, never on time.
pub fn encode_with_budget(
    target: &Scenario,
    cfg: &GenConfig,
    per_statement: u64,
) -> Result<Vec<u8>, EncodeError> {
    refuse_families(target, cfg)?;
    let mut budget = Budget {
        left: per_statement.saturating_mul(10),
    };
    let mut boot = BootGoal {
        target: &target.boot,
        repeats: target.stmts.iter().any(|s| s.repeat.is_some()),
        cfg,
        numbers: BTreeSet::new(),
        aims: Vec::new(),
    };
    let mut search = Search::new();
    let mut failure: Option<EncodeError> = None;
    // Each plan once (to run memory out or not): other draws that boot the same are the
    // same. The plan that agrees with the scenario first: only it writes a `repeat`.
    let mut plans: Vec<(bool, Vec<Drawn>, Steps)> = Vec::new();
    for _ in 0..BOOT_ANSWERS {
        let Some(drawn) = search.next(&mut boot, &mut budget) else {
            break;
        };
        let Some(steps) = replay_begin(&drawn, cfg) else {
            continue;
        };
        let plan = steps.exhaust_planned();
        if plans.iter().all(|(p, _, _)| *p != plan) {
            plans.push((plan, drawn, steps));
        }
        if plans.len() == 2 {
            break;
        }
    }
    plans.sort_by_key(|(p, _, _)| *p != boot.repeats);
    for (_, drawn, steps) in plans {
        let mut e = Encoder {
            target,
            cfg,
            budget: &mut budget,
            per_statement,
        };
        match e.turns(steps, 0, Renaming::default()) {
            Ok(mut rest) => {
                let mut all = drawn;
                all.append(&mut rest);
                return bytes(target, cfg, &all);
            }
            Err(f) => failure = Some(furthest(failure, f)),
        }
    }
    Err(failure.unwrap_or_else(|| EncodeError {
        line: 1,
        col: 1,
        why: format!("the generator never boots `{}`", target.boot),
    }))
}

/// The bytes of the draws, checked by decoding them.
fn bytes(target: &Scenario, cfg: &GenConfig, drawn: &[Drawn]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    for d in drawn {
        bytes_of(d, &mut out);
    }
    let back = scenario_from_bytes(&out, cfg).scenario;
    if same_up_to_renaming(&back, target) {
        Ok(out)
    } else {
        Err(EncodeError {
            line: 1,
            col: 1,
            why: "the input found decodes to another scenario (an encoder fault)".to_string(),
        })
    }
}

/// A statement of a family the target does not enable is refused at once.
fn refuse_families(target: &Scenario, cfg: &GenConfig) -> Result<(), EncodeError> {
    if let Some(boot) = &cfg.boot {
        if *boot != target.boot {
            return Err(EncodeError {
                line: 1,
                col: 1,
                why: format!("this target always boots `{boot}`"),
            });
        }
    }
    for s in &target.stmts {
        let f = s.op.family();
        if !cfg.families.contains(&f) {
            let names: Vec<&str> = cfg.families.iter().map(|f| f.name()).collect();
            return Err(EncodeError {
                line: s.line,
                col: s.col,
                why: format!(
                    "`{}` is of the {} family, which this target does not call (it calls {})",
                    s.op.name(),
                    f.name(),
                    names.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// The error at the later statement (the search got further there).
fn furthest(a: Option<EncodeError>, b: EncodeError) -> EncodeError {
    match a {
        Some(a) if (a.line, a.col) >= (b.line, b.col) => a,
        _ => b,
    }
}

/// The generator after the boot draws `drawn`.
fn replay_begin<'c>(drawn: &[Drawn], cfg: &'c GenConfig) -> Option<Steps<'c>> {
    let values: Vec<u64> = drawn.iter().map(|d| d.value).collect();
    Steps::begin(&mut Steer::new(&values, Then::Stop), cfg).ok()
}

struct Encoder<'a, 'c> {
    target: &'a Scenario,
    cfg: &'c GenConfig,
    budget: &'a mut Budget,
    per_statement: u64,
}

impl<'c> Encoder<'_, 'c> {
    /// The draws of the turns that write the target's statements from `m` on.
    fn turns(
        &mut self,
        steps: Steps<'c>,
        m: usize,
        renaming: Renaming,
    ) -> Result<Vec<Drawn>, EncodeError> {
        let wanted = &self.target.stmts[m..];
        let done = steps.stmts().len();
        let end = steps.clone().finish().scenario.stmts;
        if end.len() - done == wanted.len() {
            let mut r = renaming.clone();
            if end[done..].iter().zip(wanted).all(|(a, b)| r.take(a, b)) {
                return Ok(Vec::new());
            }
        }
        let Some(next) = wanted.first() else {
            let last = self.target.stmts.last();
            return Err(EncodeError {
                line: last.map_or(1, |s| s.line),
                col: last.map_or(1, |s| s.col),
                why: "the scenario ends with a section open: the generator closes every \
                      section (unlock, enable, exit, kunmap) before it ends"
                    .to_string(),
            });
        };
        if !steps.room() {
            return Err(at(
                next,
                format!(
                    "the generator writes at most {} statements",
                    self.cfg.max_ops
                ),
            ));
        }
        let mut goal = TurnGoal {
            steps: &steps,
            wanted,
            renaming: &renaming,
            numbers: numbers(wanted).into_iter().collect(),
            aims: numbers(&wanted[..1]),
        };
        let mut search = Search::new();
        let mut failure: Option<EncodeError> = None;
        let mut paths = BTreeSet::new();
        let mut turn_budget = Budget {
            left: self.per_statement.min(self.budget.left),
        };
        for _ in 0..ALTERNATIVES {
            turn_budget.left = turn_budget.left.min(self.budget.left);
            let before = turn_budget.left;
            let next = search.next(&mut goal, &mut turn_budget);
            self.budget.left -= before - turn_budget.left;
            let Some(drawn) = next else {
                break;
            };
            // Another answer with the same draws asked (a different number of the same
            // kind) leads to the same place: only a different path is worth backtracking to.
            if !paths.insert(drawn.iter().map(|d| (d.lo, d.hi)).collect::<Vec<_>>()) {
                continue;
            }
            let values: Vec<u64> = drawn.iter().map(|d| d.value).collect();
            let mut after = steps.clone();
            if after.turn(&mut Steer::new(&values, Then::Stop)) != Ok(true) {
                continue;
            }
            let wrote = &after.stmts()[done..];
            let n = wrote.len();
            let mut r = renaming.clone();
            if !wrote.iter().zip(wanted).all(|(a, b)| r.take(a, b)) {
                continue;
            }
            match self.turns(after, m + n, r) {
                Ok(mut rest) => {
                    let mut all = drawn;
                    all.append(&mut rest);
                    return Ok(all);
                }
                Err(f) => failure = Some(furthest(failure, f)),
            }
        }
        if let Some(f) = failure {
            return Err(f);
        }
        let closest = search.closest.and_then(|(_, drawn)| {
            let values: Vec<u64> = drawn.iter().map(|d| d.value).collect();
            let mut after = steps.clone();
            let _ = after.turn(&mut Steer::new(&values, Then::Lowest));
            after.stmts().get(done).map(|s| s.to_string())
        });
        let spent = match turn_budget.left.min(self.budget.left) {
            0 => " within the search's budget",
            _ => "",
        };
        let why = match closest {
            Some(c) => format!(
                "the generator does not write `{next}` here{spent} (the closest it writes: `{c}`)"
            ),
            None => format!("the generator does not write `{next}` here{spent}"),
        };
        Err(at(next, why))
    }
}

fn at(s: &Stmt, why: String) -> EncodeError {
    EncodeError {
        line: s.line,
        col: s.col,
        why,
    }
}

/// The numbers in the next few statements, in order: counts, sizes, orders, bytes, offsets.
fn numbers(stmts: &[Stmt]) -> Vec<u64> {
    let mut n = Vec::new();
    for s in stmts.iter().take(3) {
        n.extend(s.repeat.map(u64::from));
        for a in s.op.args() {
            match a {
                Arg::Num(v) => n.push(v),
                Arg::Byte(b) => n.push(u64::from(b)),
                Arg::Operand(Operand::Name { offset, .. }) => n.push(offset.unsigned_abs()),
                Arg::Operand(Operand::Lit(v)) => n.push(*v),
                _ => {}
            }
        }
    }
    n
}

fn digest(x: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// The boot line's draws, and the plan drawn with it.
struct BootGoal<'a> {
    target: &'a BootConfig,
    /// Whether the scenario has a `repeat` statement.
    repeats: bool,
    cfg: &'a GenConfig,
    numbers: BTreeSet<u64>,
    aims: Vec<u64>,
}

impl Goal for BootGoal<'_> {
    fn trial(&mut self, chosen: &[u64], then: Then<'_>) -> Trial {
        let mut steer = Steer::new(chosen, then);
        let (score, exact, wrote) = match Steps::begin(&mut steer, self.cfg) {
            // The plan to run memory out writes nothing yet, but only it writes a `repeat`
            // later: a plan that agrees with the scenario comes first.
            Ok(s) => (
                2 * boot_likeness(s.boot(), self.target)
                    + i64::from(s.exhaust_planned() == self.repeats),
                *s.boot() == *self.target,
                digest(&(s.boot(), s.exhaust_planned())),
            ),
            Err(_) => (i64::MIN, false, 0),
        };
        Trial {
            drawn: steer.drawn,
            score,
            exact,
            wrote,
        }
    }

    fn numbers(&self) -> &BTreeSet<u64> {
        &self.numbers
    }

    fn aims(&self) -> &[u64] {
        &self.aims
    }
}

fn boot_likeness(a: &BootConfig, b: &BootConfig) -> i64 {
    let same = [
        a.arch == b.arch,
        a.mem == b.mem,
        a.slub_debug == b.slub_debug,
        a.page_poison == b.page_poison,
        a.debug_pagealloc == b.debug_pagealloc,
        a.debug_virtual == b.debug_virtual,
        a.kmalloc_max == b.kmalloc_max,
        a.kernel == b.kernel,
        a.pae == b.pae,
    ];
    same.iter().map(|&s| i64::from(s)).sum()
}

/// A turn's score counts in these units, so that a misuse lowers it less than any part of a
/// statement does.
const SCALE: i64 = 16;

/// One turn of the loop, which should write the next of `wanted`.
struct TurnGoal<'a, 'c> {
    steps: &'a Steps<'c>,
    wanted: &'a [Stmt],
    renaming: &'a Renaming,
    numbers: BTreeSet<u64>,
    aims: Vec<u64>,
}

impl Goal for TurnGoal<'_, '_> {
    fn trial(&mut self, chosen: &[u64], then: Then<'_>) -> Trial {
        let mut steps = self.steps.clone();
        let done = steps.stmts().len();
        let mut steer = Steer::new(chosen, then);
        let went = steps.turn(&mut steer);
        let wrote = &steps.stmts()[done..];
        // The renaming grows only when a turn writes several statements.
        let mut r = std::borrow::Cow::Borrowed(self.renaming);
        // A turn that writes a statement of another shape (another function, a `repeat` for
        // a call, a result bound or not) scores nothing, however close its operands: such
        // branches are all alike, and the search looks at them shallowest first until one
        // writes the shape. One that writes the shape scores how much of it is right.
        let mut score = 0;
        let mut shaped = false;
        let mut exact = went == Ok(true) && !wrote.is_empty();
        for (i, s) in wrote.iter().enumerate() {
            match self.wanted.get(i) {
                Some(w) if r.agrees(s, w) => {
                    score += 100 * SCALE;
                    shaped = true;
                    if i + 1 < wrote.len() {
                        r.to_mut().take(s, w);
                    }
                }
                Some(w) => {
                    if Renaming::same_shape(s, w) {
                        score += r.likeness(s, w) * SCALE;
                        shaped = true;
                    }
                    exact = false;
                    break;
                }
                None => {
                    score -= 100 * SCALE;
                    exact = false;
                    break;
                }
            }
        }
        // Among equals, a well-behaved turn before a misuse.
        if shaped {
            score -= (steps.misuses() - self.steps.misuses()) as i64;
        }
        Trial {
            drawn: steer.drawn,
            score,
            exact,
            wrote: digest(&wrote),
        }
    }

    fn numbers(&self) -> &BTreeSet<u64> {
        &self.numbers
    }

    fn aims(&self) -> &[u64] {
        &self.aims
    }
}
