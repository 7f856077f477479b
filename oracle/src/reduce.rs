//! Reproducers minimized by meaning: a failing scenario is shrunk statement by statement,
//! then operand by operand, while it keeps failing the same way.
//!
//! "The same way" is the failure [`Signature`]: the set of failure kinds of the verdict and
//! the function of the first failing statement. The steps, repeated until none changes
//! anything:
//! 1. the statements after the first failing one are dropped, if the signature allows;
//! 2. delta debugging over statements (ddmin's complement step: drop chunks of halving
//!    size, down to single statements); a statement that uses a name no remaining statement
//!    binds goes with the one that bound it, so every candidate is a valid scenario;
//! 3. boot options back to their defaults (`slub_debug` letters one at a time);
//! 4. operands: a number that several statements share (an order allocated and freed, a size)
//!    made smaller in all of them at once, then each statement's operands on their own:
//!    smaller sizes and orders, no alignment, fewer GFP and SLAB flags, no constructor,
//!    offsets toward 0, fewer vmap pages ([`simplify`]);
//! 5. names bound but never used lose their binding;
//!
//! and at the end names are shortened: `a15`, `a21`, `p3` become `a`, `a2`, `p` (the
//! generator's letter, numbered from the second name on).
//!
//! Each accepted change makes the scenario strictly smaller or simpler, so reduction ends;
//! a budget of checks bounds it as well. The checker is passed in, so a test can reduce a
//! scenario that fails only on a deliberately broken allocator.

mod simplify;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::scenario::Name;
use crate::{Scenario, Stmt, Verdict};

pub use simplify::{simpler_boots, simpler_ops};

/// How a scenario fails: its failure kinds, and the first failing statement's function
/// (`boot` when the machine did not boot).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature {
    pub kinds: BTreeSet<&'static str>,
    pub function: &'static str,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = self.kinds.iter().copied().collect();
        write!(f, "{} at {}", kinds.join(", "), self.function)
    }
}

/// The signature of a verdict on `s`; `None` when it passes.
pub fn signature(s: &Scenario, v: &Verdict) -> Option<Signature> {
    let first = v.failures.iter().map(|f| f.line).min()?;
    let function = s
        .stmts
        .iter()
        .find(|st| st.line == first)
        .map_or("boot", |st| st.op.name());
    Some(Signature {
        kinds: v.failures.iter().map(|f| f.kind.as_str()).collect(),
        function,
    })
}

/// What [`reduce`] found.
#[derive(Clone, Debug)]
pub struct Reduced {
    /// The reduced scenario, renumbered as printing puts it.
    pub scenario: Scenario,
    pub signature: Signature,
    /// Statements before and after.
    pub before: usize,
    pub after: usize,
    /// Checks run; whether the budget ran out first.
    pub checks: usize,
    pub budget_spent: bool,
}

/// Checks run at most by default: far more than a scenario of the generators' length needs.
pub const DEFAULT_BUDGET: usize = 20_000;

/// Reduces a failing scenario, judging candidates with `check`; `None` when `s` passes.
pub fn reduce(s: &Scenario, check: &dyn Fn(&Scenario) -> Verdict) -> Option<Reduced> {
    reduce_with_budget(s, check, DEFAULT_BUDGET)
}

/// [`reduce`] with at most `budget` checks.
pub fn reduce_with_budget(
    s: &Scenario,
    check: &dyn Fn(&Scenario) -> Verdict,
    budget: usize,
) -> Option<Reduced> {
    let mut cur = s.clone();
    cur.renumber();
    let want = signature(&cur, &check(&cur))?;
    let mut r = Reducer {
        check,
        want,
        checks: 1,
        budget,
    };
    loop {
        let mut changed = r.truncate(&mut cur);
        changed |= r.statements(&mut cur);
        changed |= r.boot(&mut cur);
        changed |= r.shared_numbers(&mut cur);
        changed |= r.operands(&mut cur);
        changed |= r.bindings(&mut cur);
        if !changed || r.spent() {
            break;
        }
    }
    let renamed = short_names(&cur);
    r.accept(&mut cur, renamed);
    Some(Reduced {
        before: s.stmts.len(),
        after: cur.stmts.len(),
        budget_spent: r.spent(),
        checks: r.checks,
        signature: r.want,
        scenario: cur,
    })
}

struct Reducer<'a> {
    check: &'a dyn Fn(&Scenario) -> Verdict,
    want: Signature,
    checks: usize,
    budget: usize,
}

impl Reducer<'_> {
    fn spent(&self) -> bool {
        self.checks >= self.budget
    }

    /// Whether a candidate is a valid scenario that fails the same way.
    fn keeps(&mut self, c: &Scenario) -> bool {
        if self.spent() || !names_bound(c) {
            return false;
        }
        self.checks += 1;
        signature(c, &(self.check)(c)).as_ref() == Some(&self.want)
    }

    /// Step 1: nothing after the first failing statement.
    fn truncate(&mut self, cur: &mut Scenario) -> bool {
        let v = (self.check)(cur);
        self.checks += 1;
        let Some(first) = v.failures.iter().map(|f| f.line).min() else {
            return false;
        };
        let Some(i) = cur.stmts.iter().position(|st| st.line == first) else {
            return false;
        };
        if i + 1 >= cur.stmts.len() {
            return false;
        }
        let c = with_stmts(cur, cur.stmts[..=i].to_vec());
        self.accept(cur, c)
    }

    fn accept(&mut self, cur: &mut Scenario, c: Scenario) -> bool {
        // An unchanged candidate would be accepted for ever.
        if c != *cur && self.keeps(&c) {
            *cur = c;
            true
        } else {
            false
        }
    }

    /// Step 2: ddmin over statements (complements only: each candidate drops one chunk).
    fn statements(&mut self, cur: &mut Scenario) -> bool {
        let mut changed = false;
        let mut n = 2usize;
        while !cur.stmts.is_empty() && !self.spent() {
            let chunk = cur.stmts.len().div_ceil(n);
            let mut dropped = false;
            let mut start = 0;
            while start < cur.stmts.len() {
                let end = (start + chunk).min(cur.stmts.len());
                let c = without(cur, start, end);
                if c.stmts.len() < cur.stmts.len() && self.accept(cur, c) {
                    dropped = true;
                    changed = true;
                } else {
                    start = end;
                }
            }
            if dropped {
                n = n.saturating_sub(1).max(2);
            } else if chunk == 1 {
                break;
            } else {
                n = (n * 2).min(cur.stmts.len());
            }
        }
        changed
    }

    /// Step 3: boot options back to their defaults.
    fn boot(&mut self, cur: &mut Scenario) -> bool {
        let mut changed = false;
        'again: loop {
            for b in simpler_boots(&cur.boot) {
                let mut c = cur.clone();
                c.boot = b;
                if self.accept(cur, c) {
                    changed = true;
                    continue 'again;
                }
            }
            return changed;
        }
    }

    /// Step 4a: a number several statements share, made smaller in all of them at once.
    fn shared_numbers(&mut self, cur: &mut Scenario) -> bool {
        let mut shared: BTreeMap<(simplify::Field, u64), usize> = BTreeMap::new();
        for st in &cur.stmts {
            for f in simplify::fields(&st.op) {
                *shared.entry(f).or_default() += 1;
            }
        }
        let mut changed = false;
        for ((kind, v), count) in shared {
            if count < 2 {
                continue;
            }
            for x in simplify::smaller(kind, v) {
                let mut c = cur.clone();
                for st in &mut c.stmts {
                    for (k, mut num) in simplify::fields_mut(&mut st.op) {
                        if k == kind && num.get() == v {
                            num.set(x);
                        }
                    }
                }
                if self.accept(cur, c) {
                    changed = true;
                    break;
                }
            }
        }
        changed
    }

    /// Step 4b: each statement's operands, one simplification at a time.
    fn operands(&mut self, cur: &mut Scenario) -> bool {
        let mut changed = false;
        for i in 0..cur.stmts.len() {
            'again: loop {
                for op in simpler_ops(&cur.stmts[i].op) {
                    let mut c = cur.clone();
                    c.stmts[i].op = op;
                    if self.accept(cur, c) {
                        changed = true;
                        continue 'again;
                    }
                }
                break;
            }
        }
        changed
    }

    /// Step 5: bindings nothing reads.
    fn bindings(&mut self, cur: &mut Scenario) -> bool {
        let unused: Vec<usize> = (0..cur.stmts.len())
            .filter(|&i| {
                cur.stmts[i]
                    .bind
                    .as_deref()
                    .is_some_and(|n| !read_before_rebound(&cur.stmts[i + 1..], n))
            })
            .collect();
        if unused.is_empty() {
            return false;
        }
        let mut all = cur.clone();
        for &i in &unused {
            all.stmts[i].bind = None;
        }
        if self.accept(cur, all) {
            return true;
        }
        let mut changed = false;
        for i in unused {
            let mut c = cur.clone();
            c.stmts[i].bind = None;
            changed |= self.accept(cur, c);
        }
        changed
    }
}

/// The scenario with its names shortened: each name loses its digits, and the second and
/// later names with the same letters are numbered from 2, in the order they are first bound.
fn short_names(s: &Scenario) -> Scenario {
    let mut map: BTreeMap<Name, Name> = BTreeMap::new();
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for st in &s.stmts {
        let Some(n) = &st.bind else { continue };
        if map.contains_key(n) {
            continue;
        }
        let stem = n.trim_end_matches(|c: char| c.is_ascii_digit());
        let stem = if stem.is_empty() { "x" } else { stem };
        let k = used.entry(stem.to_string()).or_insert(0);
        *k += 1;
        let new = if *k == 1 {
            Name::from(stem)
        } else {
            Name::from(format!("{stem}{k}"))
        };
        map.insert(n.clone(), new);
    }
    // A new name must not be an old name still in use under another meaning.
    let olds: BTreeSet<&Name> = map.keys().collect();
    if map
        .iter()
        .any(|(old, new)| old != new && olds.contains(new))
    {
        return s.clone();
    }
    let mut c = s.clone();
    for st in &mut c.stmts {
        if let Some(n) = &mut st.bind {
            *n = map[n.as_str()].clone();
        }
        for o in simplify::operands_mut(&mut st.op) {
            if let crate::Operand::Name { name, .. } = o {
                if let Some(new) = map.get(name.as_str()) {
                    *name = new.clone();
                }
            }
        }
    }
    c
}

/// Whether `name` is read by `rest` before a statement binds it again.
fn read_before_rebound(rest: &[Stmt], name: &str) -> bool {
    for st in rest {
        if st
            .op
            .operands()
            .iter()
            .any(|o| o.bound_name() == Some(name))
        {
            return true;
        }
        if st.bind.as_deref() == Some(name) {
            return false;
        }
    }
    false
}

/// `s` with `stmts`, renumbered.
fn with_stmts(s: &Scenario, stmts: Vec<Stmt>) -> Scenario {
    let mut c = Scenario {
        boot: s.boot.clone(),
        stmts,
    };
    c.renumber();
    c
}

/// `s` without statements `start..end`, and without every later statement that reads a
/// name only those bound.
fn without(s: &Scenario, start: usize, end: usize) -> Scenario {
    let mut bound: BTreeSet<&str> = BTreeSet::new();
    let mut kept = vec![];
    for (i, st) in s.stmts.iter().enumerate() {
        let dropped = (start..end).contains(&i)
            || st
                .op
                .operands()
                .iter()
                .any(|o| o.bound_name().is_some_and(|n| !bound.contains(n)));
        if dropped {
            continue;
        }
        if let Some(n) = &st.bind {
            bound.insert(n);
        }
        kept.push(st.clone());
    }
    with_stmts(s, kept)
}

/// Whether every name is bound before it is read (what the parser demands).
pub fn names_bound(s: &Scenario) -> bool {
    let mut bound: BTreeSet<&str> = BTreeSet::new();
    for st in &s.stmts {
        if st
            .op
            .operands()
            .iter()
            .any(|o| o.bound_name().is_some_and(|n| !bound.contains(n)))
        {
            return false;
        }
        if let Some(n) = &st.bind {
            bound.insert(n);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::check_scenario;
    use crate::parse;

    #[test]
    fn a_passing_scenario_has_nothing_to_reduce() {
        let s = parse("boot mem=32M\np = alloc_pages GFP_KERNEL 0\n__free_pages p 0\n").unwrap();
        assert!(reduce(&s, &check_scenario).is_none());
    }

    #[test]
    fn names_must_be_bound_before_use_and_dropping_a_binder_drops_its_readers() {
        let s = parse(
            "boot mem=32M\np = kmalloc 64 GFP_KERNEL\nq = kmalloc 8 GFP_KERNEL\nkfree p\nkfree q\n",
        )
        .unwrap();
        assert!(names_bound(&s));
        let c = without(&s, 0, 1);
        assert_eq!(
            c.to_string(),
            "boot arch=i386 mem=32M\nq = kmalloc 8 GFP_KERNEL\nkfree q\n"
        );
        assert_eq!(c.stmts[1].line, crate::scenario::printed_line(1));
        let mut bad = s.clone();
        bad.stmts.remove(0);
        assert!(!names_bound(&bad));
    }

    #[test]
    fn the_signature_is_the_kinds_and_the_first_failing_function() {
        // A check that fails every scenario with a kfree in it, at its first kfree.
        let check = |s: &Scenario| {
            let mut v = Verdict::default();
            for st in s.stmts.iter().filter(|st| st.op.name() == "kfree") {
                v.failures.push(crate::verdict::Failure {
                    line: st.line,
                    kind: crate::model::FailureKind::Content,
                    message: String::new(),
                });
            }
            v
        };
        let s = parse(
            "boot mem=32M slub_debug page_poison=1\n\
             a = kmalloc 100 GFP_KERNEL|__GFP_ZERO\n\
             b = kmalloc 3000 GFP_ATOMIC\n\
             write b+17 40 0x11\n\
             kfree a\n\
             kfree b\n",
        )
        .unwrap();
        let r = reduce(&s, &check).unwrap();
        assert_eq!(r.signature.to_string(), "content at kfree");
        assert_eq!((r.before, r.after), (5, 2));
        assert_eq!(
            r.scenario.to_string(),
            "boot arch=i386 mem=128M\na = kmalloc 1 GFP_KERNEL\nkfree a\n"
        );
        assert!(!r.budget_spent && r.checks > 10, "{}", r.checks);
        // The same input reduces the same way.
        let again = reduce(&s, &check).unwrap();
        assert_eq!(again.scenario, r.scenario);
        assert_eq!(again.checks, r.checks);
    }

    #[test]
    fn the_budget_bounds_the_work() {
        let check = |s: &Scenario| {
            let mut v = Verdict::default();
            if let Some(st) = s.stmts.first() {
                v.failures.push(crate::verdict::Failure {
                    line: st.line,
                    kind: crate::model::FailureKind::Content,
                    message: String::new(),
                });
            }
            v
        };
        let text: String = (0..40)
            .map(|i| format!("p{i} = kmalloc {} GFP_KERNEL\n", 64 + i))
            .collect();
        let s = parse(&format!("boot mem=32M\n{text}")).unwrap();
        let r = reduce_with_budget(&s, &check, 5).unwrap();
        assert!(r.budget_spent);
        assert!(r.checks <= 6, "{}", r.checks);
    }
}
