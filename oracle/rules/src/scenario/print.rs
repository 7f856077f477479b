//! The printer: the canonical text of a scenario.
//!
//! The boot line first (every key that differs from the default, plus `arch` and `mem`), then
//! one statement per line, `[name = ]function operand...`. GFP masks print as `%pGg` does,
//! SLAB flags by name, `0` for none; sizes, orders and counts in decimal; literal addresses
//! and byte values in `0x` hex.

use std::fmt;

use kmem_vocab::gfp::format_gfp;
use kmem_vocab::slab_flags::format_slab_flags;

use super::ast::{Arg, Op, Operand, Scenario, Stmt};

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Name { name, offset: 0 } => f.write_str(name),
            Operand::Name { name, offset } => write!(f, "{name}{offset:+}"),
            Operand::Lit(v) => write!(f, "{v:#x}"),
            Operand::Null => f.write_str("NULL"),
        }
    }
}

impl fmt::Display for Arg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Operand(o) => o.fmt(f),
            Arg::Num(v) => write!(f, "{v}"),
            Arg::Byte(b) => write!(f, "{b:#04x}"),
            Arg::Gfp(g) => f.write_str(&format_gfp(*g)),
            Arg::SlabFlags(s) => f.write_str(&format_slab_flags(*s)),
            Arg::Word(w) => f.write_str(w),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        for arg in self.args() {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

/// The statement without its position: `[name = ][repeat N ]function operand...`, or
/// `[name = ]walk N kmap kunmap PAGE`.
impl fmt::Display for Stmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.bind {
            write!(f, "{name} = ")?;
        }
        if let (true, Op::Kmap { page }) = (self.walk, &self.op) {
            return write!(f, "walk {} kmap kunmap {page}", self.calls());
        }
        if let Some(n) = self.repeat {
            write!(f, "repeat {n} ")?;
        }
        self.op.fmt(f)
    }
}

/// The whole scenario, one line each, every line ending in a newline.
impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.boot)?;
        for s in &self.stmts {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}
