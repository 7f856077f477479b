//! The operands of a call: the syntax of each kind of operand (how the parser reads it, how
//! the printer prints it, how usage messages name it) and the reading of one call's operands
//! left to right. The table of functions (`kind.rs`) names a syntax for every operand.

use std::collections::BTreeSet;

use kmem_vocab::gfp::{parse_gfp, Gfp};
use kmem_vocab::slab_flags::{parse_slab_flags, SlabFlags};

use super::ast::{Arg, Operand};
use super::kind::OpKind;
use super::lex::{self, shown, Tok};
use super::suggest;

/// An error inside one line: the column and the message.
pub(super) type LineError = (u32, Message);

/// An error's text, and the misspelt name whose nearest known name it will show.
#[derive(Debug)]
pub(super) struct Message {
    pub text: String,
    pub hint: Option<suggest::Hint>,
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message { text, hint: None }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        text.to_string().into()
    }
}

/// How one kind of operand is written: read from text, printed, and named in usage.
pub(super) trait Syntax {
    /// The operand's value in [`super::Op`].
    type Value;

    /// Reads the operand from the call's next token(s).
    fn read(args: &mut Args<'_, '_>) -> Result<Self::Value, LineError>;

    /// The operand as text shows it (one [`Arg`], none, or several).
    fn print<'v>(value: &'v Self::Value, out: &mut Vec<Arg<'v>>);

    /// The operand in a usage message: the field's name in capitals (`GFP`, `ORDER`).
    fn usage(field: &str) -> String {
        field.to_uppercase()
    }
}

/// An address, a page, a cache or a pool: `name`, `name+N`, `name-N`, a literal or `NULL`;
/// a name must be bound before it is used.
pub(super) struct Pointer;

impl Syntax for Pointer {
    type Value = Operand;
    fn read(args: &mut Args<'_, '_>) -> Result<Operand, LineError> {
        let col = args.peek().map_or(args.func.col, |t| t.col);
        let op = args.next_with(lex::operand)?;
        if let Operand::Name { name, .. } = &op {
            if !args.bound.contains(name) {
                return Err((
                    col,
                    format!("'{}' is used before it is bound", shown(name)).into(),
                ));
            }
        }
        Ok(op)
    }
    fn print<'v>(value: &'v Operand, out: &mut Vec<Arg<'v>>) {
        out.push(Arg::Operand(value));
    }
}

/// A plain 32-bit number (an order, a count), decimal or hex.
pub(super) struct Number;

impl Syntax for Number {
    type Value = u32;
    fn read(args: &mut Args<'_, '_>) -> Result<u32, LineError> {
        args.next_with(lex::number_u32)
    }
    fn print<'v>(value: &'v u32, out: &mut Vec<Arg<'v>>) {
        out.push(Arg::Num(u64::from(*value)));
    }
}

/// A size: a number with an optional `K`, `M` or `G` suffix.
pub(super) struct Size;

impl Syntax for Size {
    type Value = u64;
    fn read(args: &mut Args<'_, '_>) -> Result<u64, LineError> {
        args.next_with(lex::size)
    }
    fn print<'v>(value: &'v u64, out: &mut Vec<Arg<'v>>) {
        out.push(Arg::Num(*value));
    }
}

/// A size that Linux takes as an unsigned int.
pub(super) struct Size32;

impl Syntax for Size32 {
    type Value = u32;
    fn read(args: &mut Args<'_, '_>) -> Result<u32, LineError> {
        args.next_with(lex::size_u32)
    }
    fn print<'v>(value: &'v u32, out: &mut Vec<Arg<'v>>) {
        out.push(Arg::Num(u64::from(*value)));
    }
}

/// A byte value (printed in hex).
pub(super) struct Byte;

impl Syntax for Byte {
    type Value = u8;
    fn read(args: &mut Args<'_, '_>) -> Result<u8, LineError> {
        args.next_with(lex::byte)
    }
    fn print<'v>(value: &'v u8, out: &mut Vec<Arg<'v>>) {
        out.push(Arg::Byte(*value));
    }
}

/// A byte value that may be left out, as the last operand (`[CTOR]` in usage).
pub(super) struct OptionalByte;

impl Syntax for OptionalByte {
    type Value = Option<u8>;
    fn read(args: &mut Args<'_, '_>) -> Result<Option<u8>, LineError> {
        match args.has_more() {
            true => Byte::read(args).map(Some),
            false => Ok(None),
        }
    }
    fn print<'v>(value: &'v Option<u8>, out: &mut Vec<Arg<'v>>) {
        out.extend(value.map(Arg::Byte));
    }
    fn usage(field: &str) -> String {
        format!("[{}]", field.to_uppercase())
    }
}

/// A GFP mask: flag names joined by `|` (`GFP_KERNEL|__GFP_ZERO`), or a number.
pub(super) struct GfpMask;

impl Syntax for GfpMask {
    type Value = Gfp;
    fn read(args: &mut Args<'_, '_>) -> Result<Gfp, LineError> {
        args.next_with(|s| {
            lex::check_flag_numbers(s)?;
            parse_gfp(s).map_err(|e| Message {
                text: e.to_string(),
                hint: Some(suggest::Hint::Gfp(s.into())),
            })
        })
    }
    fn print<'v>(value: &'v Gfp, out: &mut Vec<Arg<'v>>) {
        out.push(Arg::Gfp(*value));
    }
}

/// SLAB flags: names joined by `|` (`SLAB_POISON|SLAB_RED_ZONE`), or a number.
pub(super) struct SlabFlagSet;

impl Syntax for SlabFlagSet {
    type Value = SlabFlags;
    fn read(args: &mut Args<'_, '_>) -> Result<SlabFlags, LineError> {
        args.next_with(|s| {
            lex::check_flag_numbers(s)?;
            parse_slab_flags(s).map_err(|e| Message {
                text: e.to_string(),
                hint: Some(suggest::Hint::SlabFlags(s.into())),
            })
        })
    }
    fn print<'v>(value: &'v SlabFlags, out: &mut Vec<Arg<'v>>) {
        out.push(Arg::SlabFlags(*value));
    }
}

/// A cache's name, a bare word of `[A-Za-z0-9_.-]`.
pub(super) struct CacheName;

impl Syntax for CacheName {
    type Value = String;
    fn read(args: &mut Args<'_, '_>) -> Result<String, LineError> {
        args.next_with(|s| -> Result<String, Message> {
            if lex::is_cache_name(s) {
                Ok(s.to_string())
            } else {
                Err(format!("bad cache name '{}' (names are [A-Za-z0-9_.-]+)", shown(s)).into())
            }
        })
    }
    fn print<'v>(value: &'v String, out: &mut Vec<Arg<'v>>) {
        out.push(Arg::Word(value));
    }
}

/// `COUNT PAGE...`: a count, then exactly that many page operands (vmap's array).
pub(super) struct PageList;

impl Syntax for PageList {
    type Value = Vec<Operand>;
    fn read(args: &mut Args<'_, '_>) -> Result<Vec<Operand>, LineError> {
        let count_tok = args.peek();
        let count = args.next_with(lex::number)?;
        let mut pages = Vec::new();
        while args.has_more() {
            pages.push(Pointer::read(args)?);
        }
        if u64::try_from(pages.len()).ok() != Some(count) {
            let col = count_tok.map_or(args.func.col, |t| t.col);
            return Err((
                col,
                format!(
                    "{} COUNT is {count} but {} pages follow",
                    args.kind,
                    pages.len()
                )
                .into(),
            ));
        }
        Ok(pages)
    }
    fn print<'v>(value: &'v Vec<Operand>, out: &mut Vec<Arg<'v>>) {
        let count = u64::try_from(value.len()).unwrap_or(u64::MAX);
        out.push(Arg::Num(count));
        out.extend(value.iter().map(Arg::Operand));
    }
    fn usage(_field: &str) -> String {
        "COUNT PAGE...".to_string()
    }
}

/// The operands of one call, consumed left to right.
pub(super) struct Args<'t, 'a> {
    kind: OpKind,
    func: Tok<'a>,
    toks: &'t [Tok<'a>],
    next: usize,
    bound: &'t BTreeSet<super::ast::Name>,
}

impl<'t, 'a> Args<'t, 'a> {
    /// The operand tokens `toks` of a call of `kind` written at `func`; `bound` holds the
    /// names bound so far.
    pub(super) fn new(
        kind: OpKind,
        func: Tok<'a>,
        toks: &'t [Tok<'a>],
        bound: &'t BTreeSet<super::ast::Name>,
    ) -> Self {
        Args {
            kind,
            func,
            toks,
            next: 0,
            bound,
        }
    }

    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.next).copied()
    }

    fn has_more(&self) -> bool {
        self.next < self.toks.len()
    }

    fn arity_message(&self) -> String {
        let usage = self.kind.usage();
        if usage.is_empty() {
            format!("{} takes no operands", self.kind)
        } else {
            format!(
                "{} takes {usage}, got {} operands",
                self.kind,
                self.toks.len()
            )
        }
    }

    /// The next operand token, converted; too few operands is an error at the function.
    fn next_with<T, E: Into<Message>>(
        &mut self,
        f: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, LineError> {
        let Some(tok) = self.peek() else {
            return Err((self.func.col, self.arity_message().into()));
        };
        self.next = self.next.saturating_add(1);
        f(tok.text).map_err(|m| (tok.col, m.into()))
    }

    /// Too many operands is an error at the first extra one.
    pub(super) fn done(&self) -> Result<(), LineError> {
        match self.peek() {
            None => Ok(()),
            Some(extra) => Err((extra.col, self.arity_message().into())),
        }
    }
}
