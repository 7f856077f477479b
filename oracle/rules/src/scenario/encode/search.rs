//! A best-first search over the generator's draws for one step (the boot line, or one turn
//! of its loop): which numbers make it write what the scenario says.
//!
//! A node is a list of chosen numbers, the first draws of the step; its trials run the step
//! with them and then the lowest, the highest, or the target's own numbers for every later
//! draw: each is a complete answer, and the closest of the three scores the node.
//! A node is expanded at its first draw past the chosen ones: every number of a small range,
//! or, of a wide one, its ends and the numbers the target statement holds (and their
//! neighbours, page counts and powers of two). Nodes come out by how close their trial came
//! to the target, deepest first among equals, after every node of the first few draws. Children whose trial wrote the same thing and
//! asked for the same draws after are one (except a range's two ends, kept apart because
//! a `chance` answers differently at each while writing the same).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use super::steer::{is_choice, Drawn, Then};

/// How a trial of the step went.
pub struct Trial {
    /// Every draw the step made.
    pub drawn: Vec<Drawn>,
    /// For each draw, how many aimed numbers were used after it ([`Then::Aim`]).
    pub aimed_after: Vec<usize>,
    /// How close the result came to the target (higher is closer).
    pub score: i64,
    /// Whether the result is the target.
    pub exact: bool,
    /// A digest of what the step wrote.
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

/// The first draws of a step choose what it does (a misuse or not, which operation): their
/// nodes are all expanded before any other, since the lowest answers after them say little
/// about what they lead to.
const BROAD: usize = 3;

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Node {
    early: bool,
    score: i64,
    /// Shallower first among equals.
    depth: std::cmp::Reverse<usize>,
    /// Earlier nodes first among equals.
    order: std::cmp::Reverse<u64>,
    drawn: Vec<Drawn>,
}

/// The search of one step: its answers come one at a time, best first.
pub struct Search {
    queue: BinaryHeap<Node>,
    found: VecDeque<Vec<Drawn>>,
    answered: HashSet<Vec<Drawn>>,
    seen: HashSet<(u64, u64)>,
    made: u64,
    /// The trial closest to the target that was not it: what the error shows.
    pub closest: Option<(i64, Vec<Drawn>)>,
    started: bool,
}

impl Search {
    pub fn new() -> Self {
        Search {
            queue: BinaryHeap::new(),
            found: VecDeque::new(),
            answered: HashSet::new(),
            seen: HashSet::new(),
            made: 0,
            closest: None,
            started: false,
        }
    }

    /// The draws of the next answer (one not given before), or `None` when the search (or
    /// the budget) is spent.
    pub fn next(&mut self, goal: &mut impl Goal, budget: &mut Budget) -> Option<Vec<Drawn>> {
        if !self.started {
            self.started = true;
            self.visit(goal, budget, &[], 0, [0, 0]);
        }
        loop {
            if let Some(d) = self.found.pop_front() {
                return Some(d);
            }
            let node = self.queue.pop()?;
            let depth = node.depth.0;
            let Some(next) = node.drawn.get(depth).copied() else {
                continue;
            };
            let chosen: Vec<u64> = node.drawn[..depth].iter().map(|d| d.value).collect();
            let mut kinds = BTreeMap::new();
            // The ends first, so that a middle answer of the same kind as an end is not
            // queued again.
            let mut values = candidates(next.lo, next.hi, goal.numbers());
            values.sort_by_key(|&v| v != next.lo && v != next.hi);
            for value in values {
                self.child(goal, budget, &chosen, next, value, &mut kinds);
            }
            // A range of a few kinds of answer (a `chance`, a branch, a list): find where
            // one kind ends and the next begins between the samples.
            let spans: Vec<(u64, u64)> = kinds
                .keys()
                .copied()
                .zip(kinds.keys().skip(1).copied())
                .collect();
            if next.hi - next.lo <= NARROW {
                for (a, b) in spans {
                    self.split(goal, budget, &chosen, next, (a, b), &mut kinds);
                }
            }
            if budget.left == 0 {
                return self.found.pop_front();
            }
        }
    }

    /// Finds every change of kind between `a` and `b` by halving.
    fn split(
        &mut self,
        goal: &mut impl Goal,
        budget: &mut Budget,
        chosen: &[u64],
        next: Drawn,
        (a, b): (u64, u64),
        kinds: &mut BTreeMap<u64, u64>,
    ) {
        if b <= a + 1 || kinds.get(&a) == kinds.get(&b) || budget.left == 0 {
            return;
        }
        let m = a + (b - a) / 2;
        self.child(goal, budget, chosen, next, m, kinds);
        self.split(goal, budget, chosen, next, (a, m), kinds);
        self.split(goal, budget, chosen, next, (m, b), kinds);
    }

    /// Visits the child answering `value` to the draw `next`, and notes its kind.
    fn child(
        &mut self,
        goal: &mut impl Goal,
        budget: &mut Budget,
        chosen: &[u64],
        next: Drawn,
        value: u64,
        kinds: &mut BTreeMap<u64, u64>,
    ) {
        if budget.left == 0 || kinds.contains_key(&value) {
            return;
        }
        let mut c = chosen.to_vec();
        c.push(value);
        let end = value == next.lo || value == next.hi;
        let ends = [next.lo.wrapping_add(1), next.hi.wrapping_add(1)];
        let tag = if end { value.wrapping_add(1) } else { 0 };
        let kind = self.visit(goal, budget, &c, tag, ends);
        kinds.insert(value, kind);
    }

    /// Runs the trials of `chosen` and queues the node unless one of its kind was; `tag`
    /// keeps a range's ends apart. Returns its kind: what it wrote and the draws it asked for
    /// after.
    fn visit(
        &mut self,
        goal: &mut impl Goal,
        budget: &mut Budget,
        chosen: &[u64],
        tag: u64,
        ends: [u64; 2],
    ) -> u64 {
        budget.left = budget.left.saturating_sub(3);
        let low = goal.trial(chosen, Then::Lowest);
        let high = goal.trial(chosen, Then::Highest);
        let aims = goal.aims().to_vec();
        let aim = goal.trial(chosen, Then::Aim(&aims));
        let depth = chosen.len();
        let choices = self.choices(goal, budget, &aim, depth, &aims);
        let mut score = i64::MIN;
        for other in [&low, &high, &aim].into_iter().chain(&choices) {
            score = score.max(other.score);
            if other.exact {
                if self.answered.insert(other.drawn.clone()) {
                    self.found.push_back(other.drawn.clone());
                }
            } else if self.closest.as_ref().is_none_or(|(s, _)| other.score > *s) {
                self.closest = Some((other.score, other.drawn.clone()));
            }
        }
        let t = Trial {
            score,
            wrote: low.wrote ^ high.wrote.rotate_left(1) ^ aim.wrote.rotate_left(2),
            ..low
        };
        let mut h = DefaultHasher::new();
        t.wrote.hash(&mut h);
        depth.hash(&mut h);
        for d in t.drawn.iter().skip(depth) {
            (d.lo, d.hi).hash(&mut h);
        }
        let kind = h.finish();
        let like_an_end = tag == 0 && ends.iter().any(|&e| self.seen.contains(&(kind, e)));
        if like_an_end || !self.seen.insert((kind, tag)) {
            return kind;
        }
        self.made += 1;
        self.queue.push(Node {
            early: depth < BROAD,
            score: t.score,
            depth: std::cmp::Reverse(depth),
            order: std::cmp::Reverse(self.made),
            drawn: t.drawn,
        });
        kind
    }
}

impl Search {
    /// The aimed run answers the first choice after the chosen numbers with its lowest;
    /// these runs answer it every other way ([`SAMPLES`] of them for a choice of [`SMALL`]
    /// ways or more), and aim again after: a number behind a branch is reached without
    /// expanding the branch first.
    fn choices(
        &mut self,
        goal: &mut impl Goal,
        budget: &mut Budget,
        aim: &Trial,
        depth: usize,
        aims: &[u64],
    ) -> Vec<Trial> {
        let Some(pos) = (depth..aim.drawn.len()).find(|&i| {
            let d = aim.drawn[i];
            is_choice(d.lo, d.hi) && (d.lo, d.hi) != (0, 99)
        }) else {
            return Vec::new();
        };
        let d = aim.drawn[pos];
        let used = pos.checked_sub(1).map_or(0, |p| aim.aimed_after[p]);
        let rest = aims.get(used..).unwrap_or(&[]);
        let prefix: Vec<u64> = aim.drawn[..pos].iter().map(|d| d.value).collect();
        let width = d.hi - d.lo;
        let values: Vec<u64> = match width < SMALL {
            true => (d.lo + 1..=d.hi).collect(),
            false => (1..=SAMPLES).map(|i| d.lo + width * i / SAMPLES).collect(),
        };
        let mut out = Vec::new();
        for v in values {
            budget.left = budget.left.saturating_sub(1);
            let mut c = prefix.clone();
            c.push(v);
            out.push(goal.trial(&c, Then::Aim(rest)));
        }
        out
    }
}

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
