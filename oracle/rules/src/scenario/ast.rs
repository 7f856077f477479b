//! The scenario's syntax tree: a boot configuration and a list of statements, each a call of
//! one kernel function with its operands in Linux's order.

use kmem_vocab::gfp::Gfp;
use kmem_vocab::slab_flags::SlabFlags;
use kmem_vocab::BootConfig;

pub use super::kind::Op;
use super::kind::{Family, OpKind, Ret};

/// A name bound to a result (`p`, `cache2`): short, so held inline without an allocation.
pub type Name = smol_str::SmolStr;

/// An operand that is an address, a page, a cache or a pool.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operand {
    /// `p`, `p+16`, `p-8`: the value bound to `name`, plus `offset` bytes.
    Name { name: Name, offset: i64 },
    /// `0xd0000000`.
    Lit(u64),
    /// `NULL`.
    Null,
}

impl Operand {
    /// `name` with no offset.
    pub fn name(name: impl Into<Name>) -> Operand {
        Operand::Name {
            name: name.into(),
            offset: 0,
        }
    }

    /// The bound name this operand refers to, if any.
    pub fn bound_name(&self) -> Option<&str> {
        match self {
            Operand::Name { name, .. } => Some(name),
            Operand::Lit(_) | Operand::Null => None,
        }
    }
}

/// One operand of a call, as text shows it (see [`Op::args`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    /// An address, page, cache or pool.
    Operand(&'a Operand),
    /// A plain number: a size, an order, a count (printed in decimal).
    Num(u64),
    /// A byte value (printed in hex).
    Byte(u8),
    Gfp(Gfp),
    SlabFlags(SlabFlags),
    /// A bare word, such as a cache's name.
    Word(&'a str),
}

impl Op {
    /// The kernel function's name, as written in text.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    pub fn family(&self) -> Family {
        self.kind().family()
    }

    pub fn returns(&self) -> Ret {
        self.kind().returns()
    }

    /// The operands that are addresses, pages, caches or pools, in text order.
    pub fn operands(&self) -> Vec<&Operand> {
        self.args()
            .into_iter()
            .filter_map(|a| match a {
                Arg::Operand(o) => Some(o),
                _ => None,
            })
            .collect()
    }
}

/// The most calls one `repeat` statement may make.
pub const MAX_REPEAT: u32 = 1 << 20;

/// One statement: `[bind =] [repeat N] function operand...`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stmt {
    /// 1-based source line.
    pub line: u32,
    /// 1-based column (in characters) of the statement's first token.
    pub col: u32,
    /// The name bound to the result, if any.
    pub bind: Option<Name>,
    pub op: Op,
    /// `repeat N`: the client calls the function up to N times (1 to [`MAX_REPEAT`]),
    /// stopping after the first call that returns NULL, and keeps what the others returned
    /// (docs/scenario-extensions.md). Only functions that return a page or an address
    /// repeat ([`Stmt::can_repeat`]).
    pub repeat: Option<u32>,
    /// `walk N kmap kunmap PAGE`: the client's loop over N consecutive pages from PAGE,
    /// each kmapped then kunmapped (docs/scenario-extensions.md). `op` is the kmap of the
    /// first page and `repeat` holds N.
    pub walk: bool,
}

impl Stmt {
    /// What a name bound to this statement holds: a repeat's value is the number of calls
    /// that returned something other than NULL.
    pub fn returns(&self) -> Ret {
        match self.repeat {
            Some(_) => Ret::Value,
            None => self.op.returns(),
        }
    }

    /// How many calls the statement makes at most.
    pub fn calls(&self) -> u32 {
        self.repeat.unwrap_or(1)
    }

    /// The `i`th call of the statement (from 0) and, for a walk, the kunmap that follows it
    /// when the kmap did not return NULL: each call of a walk takes the next `struct page`,
    /// `struct_page` bytes further on.
    pub fn call(&self, i: u32, struct_page: u64) -> (std::borrow::Cow<'_, Op>, Option<Op>) {
        use std::borrow::Cow;
        if !self.walk {
            return (Cow::Borrowed(&self.op), None);
        }
        let Op::Kmap { page } = &self.op else {
            return (Cow::Borrowed(&self.op), None);
        };
        let step = u64::from(i).wrapping_mul(struct_page);
        let page = match page {
            Operand::Name { name, offset } => Operand::Name {
                name: name.clone(),
                offset: offset.wrapping_add(step as i64),
            },
            Operand::Lit(v) => Operand::Lit(v.wrapping_add(step)),
            Operand::Null => Operand::Null,
        };
        (
            Cow::Owned(Op::Kmap { page: page.clone() }),
            Some(Op::Kunmap { page }),
        )
    }

    /// A walk's first page, evaluated once by `eval`; None for any other statement. Call
    /// `i` of the walk ([`Stmt::call`]) takes the page `i` struct pages further on, its
    /// operand's value `first + i * struct_page` on the machine's word size.
    pub fn walk_first(&self, eval: impl FnOnce(&Operand) -> u64) -> Option<u64> {
        match &self.op {
            Op::Kmap { page } if self.walk => Some(eval(page)),
            _ => None,
        }
    }

    /// Whether a function may be repeated: it returns a page or an address, so that NULL
    /// can end the loop.
    pub fn can_repeat(kind: OpKind) -> bool {
        matches!(kind.returns(), Ret::Page | Ret::Addr)
    }
}

/// A whole scenario: how the machine boots, then the statements in order.
///
/// Equality is exact, source positions included. Printing puts the boot line on line 1 and
/// statement `i` on line `i + 2`, each at column 1, so `parse(&s.to_string()) == Ok(s)` holds
/// for every scenario whose positions are those ([`Scenario::renumber`] sets them) and whose
/// names are bound before use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scenario {
    pub boot: BootConfig,
    pub stmts: Vec<Stmt>,
}

impl Scenario {
    /// Sets every statement's position to where printing puts it: line `i + 2`, column 1.
    pub fn renumber(&mut self) {
        for (i, s) in self.stmts.iter_mut().enumerate() {
            s.line = printed_line(i);
            s.col = 1;
        }
    }
}

/// The line on which the printer puts statement `index` (the boot line is line 1).
pub fn printed_line(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX).saturating_add(2)
}
