//! The search over the generator's decisions for one step (the boot line, or one turn of
//! its loop): which numbers make it write what the scenario says.
//!
//! A node is a list of chosen numbers, the first draws of the step. Its children answer the
//! next draw the step makes: every answer of a choice (a branch, a list: a range of fewer
//! than [`SMALL`] answers; a `chance` or a longer list: a narrow range, sampled and split
//! where the answer changes kind), or, of a wide range (a size, an offset), the numbers the
//! target statement holds, with the range's ends. Children that write the same and ask for
//! the same draws after, answered with the target's own numbers ([`Then::Aim`]), are one
//! branch (a weighted list's many answers for one operation, an order drawn from 0 to 31
//! that is always 0); a range's two ends are kept apart all the same.
//!
//! A child is scored by runs of the rest of the step: the aimed one, the lowest, the
//! highest, and [`ROLLS`] down branches a seed picks ([`Then::Roll`]), so that a function
//! decided by a later choice (a `repeat` of kmalloc behind the choice of what runs memory
//! out, `vmalloc_32` behind the choice of variant) shows at the choice that leads to it.
//! The goal scores a run by its statement's shape first: a run that writes another
//! function, a `repeat` for a call or a result for none scores nothing; one of the right
//! shape scores its operands in their order. Every run that writes the target is an answer.
//!
//! Nodes are expanded from two queues in turn: closest first (the branch of the right
//! shape, refined operand by operand), and shallowest first (every branch of a decision
//! before any deeper one: a statement whose operands come from a branch higher up, a
//! misuse rather than the well-behaved call, is reached without spending the budget on a
//! branch that writes its function but never its operands). The order of the walk depends
//! on the trials alone, so the answer depends on the budget, never on time.

use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, BinaryHeap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use super::steer::{mix, Drawn, Then};

/// How a trial of the step went.
pub struct Trial {
    /// Every draw the step made.
    pub drawn: Vec<Drawn>,
    /// How close the result came to the target (higher is closer).
    pub score: i64,
    /// Whether the result is the target.
    pub exact: bool,
    /// A digest of what the step wrote (and of what it decided for later steps).
    pub wrote: u64,
}

/// One step of the generator, run with chosen numbers.
pub trait Goal {
    /// Runs the step answering the draws with `chosen`, then as `then` says.
    fn trial(&mut self, chosen: &[u64], then: Then) -> Trial;
    /// The numbers the target holds, for the wide ranges.
    fn numbers(&self) -> &BTreeSet<u64>;
    /// The numbers of the next target statement in its order, for [`Then::Aim`].
    fn aims(&self) -> &[u64];
}

/// The most trials every search of one scenario may make together.
pub struct Budget {
    pub left: u64,
}

/// A node of the walk: the chosen numbers and the range of the next draw its aimed trial
/// made after them.
struct Node {
    chosen: Vec<u64>,
    next: Option<(u64, u64)>,
    expanded: bool,
}

/// A node to expand: its chosen numbers and the range of its next draw.
type Open = (Vec<u64>, Option<(u64, u64)>);

/// A child, tried: its value, its kind, its best score.
struct Child {
    value: u64,
    score: i64,
    next: Option<(u64, u64)>,
}

/// The search of one step: its answers come one at a time, closest first.
pub struct Search {
    /// Every node made, by its number.
    nodes: Vec<Node>,
    /// The nodes to walk closest first; among equals, shallowest first (every branch of a
    /// decision is looked at before any goes deeper), then in the order they were made.
    best: BinaryHeap<(i64, Reverse<usize>, Reverse<usize>)>,
    /// The same nodes shallowest first, then closest: taken turn about with `best`, so
    /// that a branch that writes the statement's function but cannot write the statement
    /// (its operands come from another branch higher up) does not hold the walk.
    broad: BinaryHeap<(Reverse<usize>, i64, Reverse<usize>)>,
    turn: u64,
    found: VecDeque<Vec<Drawn>>,
    answered: HashSet<Vec<Drawn>>,
    /// The trial closest to the target that was not it: what the error shows.
    pub closest: Option<(i64, Vec<Drawn>)>,
    started: bool,
}

impl Search {
    pub fn new() -> Self {
        Search {
            nodes: Vec::new(),
            best: BinaryHeap::new(),
            broad: BinaryHeap::new(),
            turn: 0,
            found: VecDeque::new(),
            answered: HashSet::new(),
            closest: None,
            started: false,
        }
    }

    /// The draws of the next answer (one not given before), or `None` when the search (or
    /// the budget) is spent.
    pub fn next(&mut self, goal: &mut impl Goal, budget: &mut Budget) -> Option<Vec<Drawn>> {
        if !self.started {
            self.started = true;
            let (aim, _) = self.probe(goal, budget, &[]);
            let next = aim.drawn.first().map(|d| (d.lo, d.hi));
            let score = self.score(goal, budget, &[], aim);
            self.push(score, Vec::new(), next);
        }
        loop {
            if let Some(d) = self.found.pop_front() {
                return Some(d);
            }
            if budget.left == 0 {
                return None;
            }
            let node = self.pop()?;
            self.expand(goal, budget, node);
        }
    }

    /// Tries the answers of the node's next draw and queues the distinct ones.
    fn expand(&mut self, goal: &mut impl Goal, budget: &mut Budget, (chosen, next): Open) {
        let Some((lo, hi)) = next else {
            return;
        };
        let mut values = candidates(lo, hi, goal.numbers());
        // The ends first, so that a middle answer of the same kind as an end is one with it.
        values.sort_by_key(|&v| v != lo && v != hi);
        let mut kinds: Vec<(u64, u64)> = Vec::new();
        let mut children: Vec<Child> = Vec::new();
        let mut c = chosen.clone();
        let mut try_value = |me: &mut Self, budget: &mut Budget, value: u64, kinds: &mut Vec<_>| {
            if budget.left == 0 || kinds.iter().any(|&(v, _)| v == value) {
                return;
            }
            c.push(value);
            let (aim, kind) = me.probe(goal, budget, &c);
            let end = value == lo || value == hi;
            let same = kinds
                .iter()
                .any(|&(v, k)| k == kind && !(end && (v == lo || v == hi)));
            kinds.push((value, kind));
            if !same {
                let next = aim.drawn.get(c.len()).map(|d| (d.lo, d.hi));
                let score = me.score(goal, budget, &c, aim);
                children.push(Child { value, score, next });
            }
            c.pop();
        };
        for v in values {
            try_value(self, budget, v, &mut kinds);
        }
        // A narrow range of a few kinds of answer (a `chance`, a weighted list): find where
        // one kind ends and the next begins between the samples.
        if hi - lo <= NARROW {
            let mut splits = Vec::new();
            let mut sorted = kinds.clone();
            sorted.sort_unstable();
            for w in sorted.windows(2) {
                if w[0].1 != w[1].1 {
                    splits.push((w[0], w[1]));
                }
            }
            while let Some(((a, ka), (b, kb))) = splits.pop() {
                if b <= a + 1 || ka == kb || budget.left == 0 {
                    continue;
                }
                let m = a + (b - a) / 2;
                try_value(self, budget, m, &mut kinds);
                let Some(&(_, km)) = kinds.iter().find(|&&(v, _)| v == m) else {
                    continue;
                };
                splits.push(((m, km), (b, kb)));
                splits.push(((a, ka), (m, km)));
            }
        }
        children.sort_by_key(|ch| ch.value);
        for ch in children {
            let mut c = chosen.clone();
            c.push(ch.value);
            self.push(ch.score, c, ch.next);
        }
    }

    fn push(&mut self, score: i64, chosen: Vec<u64>, next: Option<(u64, u64)>) {
        let id = self.nodes.len();
        let depth = chosen.len();
        self.nodes.push(Node {
            chosen,
            next,
            expanded: false,
        });
        self.best.push((score, Reverse(depth), Reverse(id)));
        self.broad.push((Reverse(depth), score, Reverse(id)));
    }

    /// The next node to expand, from `best` and `broad` in turn.
    fn pop(&mut self) -> Option<Open> {
        loop {
            self.turn += 1;
            let id = match self.turn % 2 {
                0 => self.broad.pop().map(|k| k.2 .0),
                _ => self.best.pop().map(|k| k.2 .0),
            };
            // When one queue is spent, so is the other: they hold the same nodes.
            let id = id?;
            let node = &mut self.nodes[id];
            if !node.expanded {
                node.expanded = true;
                return Some((std::mem::take(&mut node.chosen), node.next));
            }
        }
    }

    /// The aimed trial of `chosen` and its kind: what it wrote and the draws it asked for
    /// after `chosen`.
    fn probe(&mut self, goal: &mut impl Goal, budget: &mut Budget, chosen: &[u64]) -> (Trial, u64) {
        budget.left = budget.left.saturating_sub(1);
        let aims = goal.aims().to_vec();
        let aim = goal.trial(chosen, Then::Aim(&aims));
        let mut h = DefaultHasher::new();
        aim.wrote.hash(&mut h);
        for d in aim.drawn.iter().skip(chosen.len()) {
            (d.lo, d.hi).hash(&mut h);
        }
        (aim, h.finish())
    }

    /// The best score of `chosen`'s trials: the aimed one, the lowest, the highest and
    /// [`ROLLS`] down random branches. Keeps those that are exact.
    fn score(
        &mut self,
        goal: &mut impl Goal,
        budget: &mut Budget,
        chosen: &[u64],
        aim: Trial,
    ) -> i64 {
        budget.left = budget.left.saturating_sub(2 + ROLLS);
        let aims = goal.aims().to_vec();
        // The seed is the chosen numbers mixed by a function of this crate (not the
        // standard hasher, whose algorithm may change): the same scenario gives the same
        // bytes with any toolchain.
        let seed = chosen.iter().fold(chosen.len() as u64, |h, &v| mix(h, v));
        let mut trials = vec![
            aim,
            goal.trial(chosen, Then::Lowest),
            goal.trial(chosen, Then::Highest),
        ];
        trials.extend(
            (0..ROLLS).map(|i| goal.trial(chosen, Then::Roll(&aims, seed.wrapping_add(i)))),
        );
        let mut score = i64::MIN;
        for t in trials {
            score = score.max(t.score);
            if t.exact {
                if self.answered.insert(t.drawn.clone()) {
                    self.found.push_back(t.drawn);
                }
            } else if self.closest.as_ref().is_none_or(|(s, _)| t.score > *s) {
                self.closest = Some((t.score, t.drawn));
            }
        }
        score
    }
}

/// How many runs down random branches score a node, besides the three fixed ones.
const ROLLS: u64 = 6;

/// Ranges up to this width are tried whole.
const SMALL: u64 = 32;
/// Ranges up to this width are sampled, and searched between samples.
const NARROW: u64 = 256;
/// How many evenly spaced samples of a narrow range.
const SAMPLES: u64 = 16;

/// The numbers first tried for a draw in `lo..=hi`: all of a small range; else its ends,
/// evenly spaced samples (of a narrow range), and the numbers of the target statement with
/// their neighbours, page counts and powers of two.
fn candidates(lo: u64, hi: u64, numbers: &BTreeSet<u64>) -> Vec<u64> {
    let width = hi - lo;
    if width < SMALL {
        return (lo..=hi).collect();
    }
    let mut c = BTreeSet::from([lo, lo + 1, hi - 1, hi]);
    if width <= NARROW {
        c.extend((1..SAMPLES).map(|i| lo + width * i / SAMPLES));
    }
    for &n in numbers {
        let near = [
            n.saturating_sub(1),
            n,
            n.saturating_add(1),
            n / 4096,
            n.div_ceil(4096),
            u64::from(n.trailing_zeros()),
        ];
        c.extend(near.into_iter().filter(|v| (lo..=hi).contains(v)));
    }
    c.into_iter().collect()
}
