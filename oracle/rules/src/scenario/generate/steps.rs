//! The generator one turn at a time, for the encoder: it starts the generator (the boot line),
//! copies it before a turn, runs the turn with draws of its own and reads what came out.

use arbitrary::Result;
use kmem_vocab::BootConfig;

use super::super::ast::Stmt;
use super::{begin, finish, room, turn, Draw, Gen, GenConfig, Generated};

/// A generator between two turns of its loop.
#[derive(Clone)]
pub struct Steps<'c>(Gen<'c>);

impl<'c> Steps<'c> {
    /// The draws before the first statement: the boot line and whether memory runs out.
    pub fn begin(u: &mut impl Draw, cfg: &'c GenConfig) -> Result<Self> {
        begin(u, cfg).map(Steps)
    }

    /// One turn: a misuse or a well-behaved operation (false when none is possible).
    pub fn turn(&mut self, u: &mut impl Draw) -> Result<bool> {
        turn(&mut self.0, u)
    }

    /// Whether the generator would make another statement.
    pub fn room(&self) -> bool {
        room(&self.0)
    }

    pub fn boot(&self) -> &BootConfig {
        &self.0.boot
    }

    /// The statements so far.
    pub fn stmts(&self) -> &[Stmt] {
        &self.0.stmts
    }

    /// Whether the scenario is to run memory out (a `repeat` until NULL) at some point: drawn
    /// before the first statement, which does not show it.
    pub fn exhaust_planned(&self) -> bool {
        self.0.exhaust_planned
    }

    /// How many misuses were injected so far.
    pub fn misuses(&self) -> usize {
        self.0.misuse.len()
    }

    /// The scenario when the input ends here: the open sections closed.
    pub fn finish(self) -> Generated {
        finish(self.0)
    }
}
