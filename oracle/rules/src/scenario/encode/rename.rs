//! Statements compared up to renaming: the generator names its results after the statement
//! that made them (`k3`, `p7`) and its caches `cacheN`; a hand-written scenario may call them
//! anything. Two scenarios are the same up to renaming when one becomes the other by a
//! one-to-one renaming of bound names and of cache names.

use std::collections::BTreeMap;

use super::super::ast::{Arg, Operand, Scenario, Stmt};

/// A one-to-one map of one scenario's names to another's, built statement by statement.
#[derive(Clone, Debug, Default)]
pub struct Renaming {
    names: OneToOne,
    words: OneToOne,
}

#[derive(Clone, Debug, Default)]
struct OneToOne {
    there: BTreeMap<String, String>,
    back: BTreeMap<String, String>,
}

impl OneToOne {
    /// Whether `ours` is known to stand for `theirs`.
    fn same(&self, ours: &str, theirs: &str) -> bool {
        self.there.get(ours).is_some_and(|t| t == theirs)
    }

    /// Makes `ours` stand for `theirs` from now on (a name bound again forgets its old
    /// partner).
    fn bind(&mut self, ours: &str, theirs: &str) {
        if let Some(old) = self.there.insert(ours.to_string(), theirs.to_string()) {
            self.back.remove(&old);
        }
        if let Some(old) = self.back.insert(theirs.to_string(), ours.to_string()) {
            if old != ours {
                self.there.remove(&old);
            }
        }
    }

    /// Whether the names are partners, or could become partners (neither has one yet).
    fn could_meet(&self, ours: &str, theirs: &str) -> bool {
        self.same(ours, theirs)
            || !(self.there.contains_key(ours) || self.back.contains_key(theirs))
    }

    /// Makes the names partners if they could be.
    fn meet(&mut self, ours: &str, theirs: &str) {
        if !self.same(ours, theirs) && self.could_meet(ours, theirs) {
            self.bind(ours, theirs);
        }
    }
}

impl Renaming {
    /// Whether `theirs` is `ours` renamed; if so the renaming grows by what `ours` binds
    /// and the cache names it meets first.
    pub fn take(&mut self, ours: &Stmt, theirs: &Stmt) -> bool {
        if !self.agrees(ours, theirs) {
            return false;
        }
        for (x, y) in ours.op.args().iter().zip(&theirs.op.args()) {
            if let (Arg::Word(x), Arg::Word(y)) = (x, y) {
                self.words.meet(x, y);
            }
        }
        if let (Some(x), Some(y)) = (&ours.bind, &theirs.bind) {
            self.names.bind(x, y);
        }
        true
    }

    /// Whether `theirs` is `ours` renamed, without changing the renaming.
    pub fn agrees(&self, ours: &Stmt, theirs: &Stmt) -> bool {
        if ours.op.name() != theirs.op.name()
            || (ours.repeat, ours.walk) != (theirs.repeat, theirs.walk)
            || ours.bind.is_some() != theirs.bind.is_some()
        {
            return false;
        }
        let (a, b) = (ours.op.args(), theirs.op.args());
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| self.arg(x, y))
    }

    /// How many of the statements' parts agree (the function, the result's shape, then the
    /// operands in their order up to the first that differs, which counts by how near it
    /// is), without changing the renaming. The generator draws the operands in their order:
    /// an operand after a wrong one says little (the numbers it was aimed with may have
    /// gone to the wrong one).
    pub fn likeness(&self, ours: &Stmt, theirs: &Stmt) -> i64 {
        let mut n = 0;
        if ours.op.name() == theirs.op.name() {
            n += 30;
        }
        if (ours.repeat, ours.walk) == (theirs.repeat, theirs.walk) {
            n += 3;
        }
        if ours.bind.is_some() == theirs.bind.is_some() {
            n += 3;
        }
        for (x, y) in ours.op.args().iter().zip(&theirs.op.args()) {
            if self.arg(x, y) {
                n += 10;
                continue;
            }
            n += match (x, y) {
                (Arg::Num(a), Arg::Num(b)) => near(*a, *b),
                (Arg::Byte(a), Arg::Byte(b)) => near(u64::from(*a), u64::from(*b)),
                (
                    Arg::Operand(Operand::Name { name: a, offset: i }),
                    Arg::Operand(Operand::Name { name: b, offset: j }),
                ) if self.names.same(a, b) => 4 + near(i.unsigned_abs(), j.unsigned_abs()),
                _ => 0,
            };
            break;
        }
        n
    }

    /// Whether the statements are of one shape: the same function, both repeated or not,
    /// both binding a result or not.
    pub fn same_shape(ours: &Stmt, theirs: &Stmt) -> bool {
        ours.op.name() == theirs.op.name()
            && ours.repeat.is_some() == theirs.repeat.is_some()
            && ours.bind.is_some() == theirs.bind.is_some()
    }

    fn arg(&self, ours: &Arg<'_>, theirs: &Arg<'_>) -> bool {
        match (ours, theirs) {
            (Arg::Operand(x), Arg::Operand(y)) => self.operand(x, y),
            (Arg::Word(x), Arg::Word(y)) => self.words.could_meet(x, y),
            (x, y) => x == y,
        }
    }

    fn operand(&self, ours: &Operand, theirs: &Operand) -> bool {
        match (ours, theirs) {
            (Operand::Name { name: x, offset: i }, Operand::Name { name: y, offset: j }) => {
                i == j && self.names.same(x, y)
            }
            (x, y) => x == y,
        }
    }
}

/// How near two different numbers are, 0 to 3, by their bit lengths: a search that must
/// find a number goes toward it (but a number hit weighs more than any near miss).
const NEAR: i64 = 0;

fn near(a: u64, b: u64) -> i64 {
    let bits = |x: u64| i64::from(u64::BITS - x.leading_zeros());
    (NEAR - (bits(a) - bits(b)).abs()).max(0)
}

/// Whether `theirs` is `ours` up to renaming: the same boot line and the same statements.
pub fn same_up_to_renaming(ours: &Scenario, theirs: &Scenario) -> bool {
    let mut r = Renaming::default();
    ours.boot == theirs.boot
        && ours.stmts.len() == theirs.stmts.len()
        && ours
            .stmts
            .iter()
            .zip(&theirs.stmts)
            .all(|(a, b)| r.take(a, b))
}
