//! The parser: text in the `.kmem` format (docs/scenario.md) into a [`Scenario`], line by
//! line: the boot line, and statements `[name =] function operand...` whose operands are read
//! as the table of functions says (`kind.rs`, `operand.rs`).

use std::collections::BTreeSet;
use std::fmt;

use kmem_vocab::BootConfig;

use super::ast::{Name, Op, Scenario, Stmt, MAX_REPEAT};
use super::kind::OpKind;
use super::lex::{self, shown, Tok};
use super::operand::{Args, LineError, Message};
use super::suggest::Hint;

/// Why a text is not a scenario, and where: `line` and `col` are 1-based and point at the
/// offending token (columns count characters).
/// A misspelt name's nearest known name is looked for only when the error is shown
/// ([`ParseError::text`], `Display`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: u32,
    pub col: u32,
    /// The message without the hint.
    pub message: String,
    /// The misspelt name whose nearest known name the full text shows.
    pub hint: Option<Hint>,
}

impl ParseError {
    /// The message as a person reads it: with ` (did you mean NAME?)` or where the names
    /// are listed, for a misspelt name.
    pub fn text(&self) -> String {
        match &self.hint {
            Some(h) => format!("{}{h}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)?;
        match &self.hint {
            Some(h) => write!(f, "{h}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole scenario. Without a `boot` line the machine boots with the defaults.
pub fn parse(text: &str) -> Result<Scenario, ParseError> {
    let mut p = Parser::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1);
        let toks = lex::tokenize(line);
        if toks.is_empty() {
            continue;
        }
        let stmt = p.statement(&toks).map_err(|(col, m)| ParseError {
            line: line_no,
            col,
            message: m.text,
            hint: m.hint,
        })?;
        if let Some((bind, op, col, (repeat, walk))) = stmt {
            p.scenario.stmts.push(Stmt {
                line: line_no,
                col,
                bind,
                op,
                repeat,
                walk,
            });
        }
    }
    Ok(p.scenario)
}

#[derive(Default)]
struct Parser {
    scenario: Scenario,
    seen_boot: bool,
    bound: BTreeSet<Name>,
}

impl Parser {
    /// One non-empty line: `Ok(None)` for the boot line, else the statement's parts: the
    /// name bound, the call, the first column, and the repeat count with whether it is a walk.
    #[allow(clippy::type_complexity)]
    fn statement(
        &mut self,
        toks: &[Tok<'_>],
    ) -> Result<Option<(Option<Name>, Op, u32, (Option<u32>, bool))>, LineError> {
        let (bind, call) = match toks {
            [name, eq, call @ ..] if eq.text == "=" => {
                if !lex::is_name(name.text) {
                    return Err((
                        name.col,
                        format!(
                            "bad name '{}' (names are [a-z_][a-z0-9_]*)",
                            shown(name.text)
                        )
                        .into(),
                    ));
                }
                if call.is_empty() {
                    return Err((eq.col, "expected a function after '='".into()));
                }
                (Some(*name), call)
            }
            _ => (None, toks),
        };
        let (repeat, call) = match call {
            [kw, rest @ ..] if kw.text == "repeat" => {
                let Some((count, rest)) = rest.split_first() else {
                    return Err((kw.col, "repeat takes a count and a function".into()));
                };
                (Some(repeat_count(count)?), rest)
            }
            _ => (None, call),
        };
        // `walk N kmap kunmap PAGE` is read as `repeat N kmap PAGE`, marked a walk.
        let mut walk = false;
        let kmap_call: Vec<Tok<'_>>;
        let (repeat, call) = match (repeat, call) {
            (None, [kw, rest @ ..]) if kw.text == "walk" => {
                let [count, kmap, kunmap, page @ ..] = rest else {
                    return Err((kw.col, WALK_USAGE.into()));
                };
                for (t, want) in [(kmap, "kmap"), (kunmap, "kunmap")] {
                    if t.text != want {
                        return Err((t.col, WALK_USAGE.into()));
                    }
                }
                walk = true;
                kmap_call = std::iter::once(*kmap).chain(page.iter().copied()).collect();
                (Some(repeat_count(count)?), &kmap_call[..])
            }
            _ => (repeat, call),
        };
        let Some((func, operands)) = call.split_first() else {
            return Err((
                toks.first().map_or(1, |t| t.col),
                "expected a function".into(),
            ));
        };
        let first_col = toks.first().map_or(func.col, |t| t.col);
        if func.text == "boot" {
            if repeat.is_some() {
                return Err((func.col, "the boot line cannot be repeated".into()));
            }
            if let Some(name) = bind {
                return Err((name.col, "the boot line cannot be bound to a name".into()));
            }
            if self.seen_boot || !self.scenario.stmts.is_empty() {
                return Err((func.col, "boot must be the first statement".into()));
            }
            self.scenario.boot = boot(operands, func.col)?;
            self.seen_boot = true;
            return Ok(None);
        }
        let Some(kind) = OpKind::from_name(func.text) else {
            let text = format!("unknown function '{}'", shown(func.text));
            let message = match operands.first() {
                Some(t) if OpKind::from_name(t.text).is_some() => {
                    format!("{text} (missing '='?)").into()
                }
                _ => Message {
                    text,
                    hint: Some(Hint::Function(func.text.into())),
                },
            };
            return Err((func.col, message));
        };
        if repeat.is_some() && !Stmt::can_repeat(kind) {
            return Err((
                func.col,
                format!("{kind} cannot be repeated: repeat takes a function that returns a page or an address, and stops at the first NULL").into(),
            ));
        }
        let mut args = Args::new(kind, *func, operands, &self.bound);
        let op = kind.read(&mut args)?;
        args.done()?;
        let bind = bind.map(|t| Name::from(t.text));
        if let Some(name) = &bind {
            self.bound.insert(name.clone());
        }
        Ok(Some((bind, op, first_col, (repeat, walk))))
    }
}

const WALK_USAGE: &str = "walk takes a count, then kmap kunmap, then a page";

/// The count of `repeat N`: 1 to [`MAX_REPEAT`].
fn repeat_count(t: &Tok<'_>) -> Result<u32, LineError> {
    match lex::number(t.text) {
        Ok(n) if (1..=u64::from(MAX_REPEAT)).contains(&n) => Ok(n as u32),
        Ok(_) => Err((
            t.col,
            format!(
                "repeat count {} is out of range (1 to {MAX_REPEAT})",
                shown(t.text)
            )
            .into(),
        )),
        Err(m) => Err((t.col, m.into())),
    }
}

/// The boot line's words: each `key=value` or a bare `key`.
fn boot(words: &[Tok<'_>], boot_col: u32) -> Result<BootConfig, LineError> {
    fn key_of<'a>(t: &Tok<'a>) -> &'a str {
        t.text.split_once('=').map_or(t.text, |(k, _)| k)
    }
    BootConfig::parse_words(words.iter().map(|t| t.text)).map_err(|e| {
        // The word that failed on its own, else the last word that set the key.
        let failing = words.iter().find(|t| {
            let (k, v) = t
                .text
                .split_once('=')
                .map_or((t.text, None), |(k, v)| (k, Some(v)));
            k == e.key && BootConfig::default().set(k, v).is_err()
        });
        let col = failing
            .or_else(|| words.iter().rev().find(|t| key_of(t) == e.key))
            .map_or(boot_col, |t| t.col);
        let hint = Some(Hint::BootKey(e.key.clone()));
        let text = format!("boot: {e}");
        (col, Message { text, hint })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ast::Operand;
    use crate::scenario::kind::OP_NAMES;
    use kmem_vocab::gfp::{__GFP_ZERO, GFP_KERNEL};
    use kmem_vocab::slab_flags::{SLAB_POISON, SLAB_RED_ZONE};

    /// One line of every function, each name bound before use.
    const EVERY_FORM: &str = "\
boot arch=i386 mem=160M slub_debug page_poison=1
p = alloc_pages GFP_KERNEL 0
__free_pages p 0
a = __get_free_pages GFP_KERNEL|__GFP_ZERO 2
b = __get_free_page GFP_ATOMIC
z = get_zeroed_page GFP_KERNEL
free_pages a 2
free_page b
x = page_address p
q = virt_to_page z+16
ph = page_to_phys q
ph2 = virt_to_phys z
y = phys_to_virt ph2
c = kmem_cache_create my_cache.v-1 100 8 SLAB_POISON|SLAB_RED_ZONE
d = kmem_cache_create ctor_cache 64 0 0 0x6b
o = kmem_cache_alloc c GFP_KERNEL
o2 = kmem_cache_zalloc c GFP_ATOMIC
kmem_cache_free c o
kmem_cache_shrink c
n = validate_slab_cache c
kmem_cache_destroy d
k = kmalloc 1K GFP_KERNEL
k2 = kzalloc 0x40 GFP_ATOMIC
k3 = krealloc k 4096 GFP_KERNEL
s = ksize k3
kfree k3
v = vmalloc 2M
v2 = vzalloc 8192
v3 = vmalloc_32 4096
v4 = __vmalloc_node 20K 64K GFP_KERNEL|__GFP_ZERO
vfree v
vm = vmap 2 p q
vunmap vm
pg = vmalloc_to_page v2+4096
t = is_vmalloc_addr v2
vm_unmap_aliases
m = kmap p
kunmap p
ma = kmap_atomic p
kunmap_atomic ma
ml = kmap_local_page p
kunmap_local ml
pk = mempool_create_kmalloc_pool 4 128
ps = mempool_create_slab_pool 2 c
pp = mempool_create_page_pool 1 0
e = mempool_alloc pk GFP_KERNEL
mempool_free e pk
mempool_destroy pp
spin_lock
spin_unlock
local_irq_disable
local_irq_enable
irq_enter
irq_exit
local_bh_disable
local_bh_enable
preempt_disable
preempt_enable
write k2+8 16 0xaa
read k2-8 24
nothing = spin_lock
write 0xc0001000 1 0
read NULL 1
g = allocate 24 8
g2 = reallocate g 100
free g2
";

    #[test]
    fn every_function_form_parses() {
        let s = parse(EVERY_FORM).unwrap();
        assert_eq!(s.boot.mem, 160 << 20);
        assert!(s.boot.page_poison);
        let mut seen: Vec<&str> = s.stmts.iter().map(|s| s.op.name()).collect();
        seen.sort_unstable();
        seen.dedup();
        let mut all = OP_NAMES.to_vec();
        all.sort_unstable();
        assert_eq!(seen, all, "EVERY_FORM must use every function");

        // The statement on the line that starts with `start`.
        let stmt = |start: &str| {
            let i = EVERY_FORM
                .lines()
                .position(|l| l.starts_with(start))
                .unwrap();
            s.stmts.iter().find(|s| s.line as usize == i + 1).unwrap()
        };
        let by_line = |start: &str| &stmt(start).op;
        assert_eq!(
            by_line("p = alloc"),
            &Op::AllocPages {
                gfp: GFP_KERNEL,
                order: 0
            }
        );
        assert_eq!(
            by_line("a = __get"),
            &Op::GetFreePages {
                gfp: GFP_KERNEL | __GFP_ZERO,
                order: 2
            }
        );
        assert_eq!(
            by_line("q = virt"),
            &Op::VirtToPage {
                addr: Operand::Name {
                    name: "z".into(),
                    offset: 16
                }
            }
        );
        assert_eq!(
            by_line("c = kmem"),
            &Op::KmemCacheCreate {
                name: "my_cache.v-1".into(),
                size: 100,
                align: 8,
                flags: SLAB_POISON | SLAB_RED_ZONE,
                ctor: None,
            }
        );
        assert_eq!(
            by_line("d = kmem"),
            &Op::KmemCacheCreate {
                name: "ctor_cache".into(),
                size: 64,
                align: 0,
                flags: 0,
                ctor: Some(0x6b),
            }
        );
        assert_eq!(
            by_line("k = kmalloc"),
            &Op::Kmalloc {
                size: 1024,
                gfp: GFP_KERNEL
            }
        );
        assert_eq!(by_line("v = vmalloc"), &Op::Vmalloc { size: 2 << 20 });
        assert_eq!(
            by_line("vm = vmap"),
            &Op::Vmap {
                pages: vec![Operand::name("p"), Operand::name("q")]
            }
        );
        assert_eq!(
            by_line("pk = "),
            &Op::MempoolCreateKmallocPool { min: 4, size: 128 }
        );
        assert_eq!(
            by_line("e = mempool"),
            &Op::MempoolAlloc {
                pool: Operand::name("pk"),
                gfp: GFP_KERNEL
            }
        );
        assert_eq!(
            by_line("write k2"),
            &Op::Write {
                addr: Operand::Name {
                    name: "k2".into(),
                    offset: 8
                },
                len: 16,
                byte: 0xaa
            }
        );
        assert_eq!(
            by_line("read k2"),
            &Op::Read {
                addr: Operand::Name {
                    name: "k2".into(),
                    offset: -8
                },
                len: 24
            }
        );
        let bound = stmt("nothing =");
        assert_eq!(bound.bind.as_deref(), Some("nothing"));
        assert_eq!(bound.op, Op::SpinLock);
        assert_eq!(
            by_line("write 0xc"),
            &Op::Write {
                addr: Operand::Lit(0xc000_1000),
                len: 1,
                byte: 0
            }
        );
        assert_eq!(
            by_line("read NULL"),
            &Op::Read {
                addr: Operand::Null,
                len: 1
            }
        );
        assert_eq!(
            by_line("__free_pages"),
            &Op::FreePagesPage {
                page: Operand::name("p"),
                order: 0
            }
        );
    }

    #[test]
    fn comments_blank_lines_tabs_and_positions() {
        let s =
            parse("# a comment\n\n\t  p = alloc_pages\tGFP_KERNEL 0 # trailing\r\n  kfree NULL\n")
                .unwrap();
        assert_eq!(s.boot, BootConfig::default());
        assert_eq!(s.stmts.len(), 2);
        assert_eq!((s.stmts[0].line, s.stmts[0].col), (3, 4));
        assert_eq!((s.stmts[1].line, s.stmts[1].col), (4, 3));
        assert!(parse("").unwrap().stmts.is_empty());
        // Rebinding is allowed; order > MAX_PAGE_ORDER is the kernel's business.
        let s = parse("p = alloc_pages 0 11\np = alloc_pages 0 0\n__free_pages p 12").unwrap();
        assert_eq!(s.stmts.len(), 3);
    }

    /// (text, line, col, part of the message)
    const ERRORS: &[(&str, u32, u32, &str)] = &[
        ("frobnicate 1", 1, 1, "unknown function 'frobnicate'"),
        ("\n  p kmalloc 8 GFP_KERNEL", 2, 3, "missing '='"),
        ("kmalloc 8", 1, 1, "kmalloc takes SIZE GFP, got 1 operands"),
        ("kmalloc 8 GFP_KERNEL 9", 1, 22, "takes SIZE GFP"),
        ("spin_lock now", 1, 11, "spin_lock takes no operands"),
        ("kfree p", 1, 7, "'p' is used before it is bound"),
        (
            "p = kmalloc 8 0\nkfree p\nkfree q+8",
            3,
            7,
            "'q' is used before",
        ),
        ("p = kfree p", 1, 11, "used before it is bound"),
        ("kmalloc 12Q GFP_KERNEL", 1, 9, "bad size '12Q'"),
        ("alloc_pages GFP_KERNEL 0x", 1, 24, "bad number"),
        ("alloc_pages GFP_KERNEL 4294967296", 1, 24, "out of range"),
        ("write NULL 1 256", 1, 14, "out of range for a byte"),
        ("kmalloc 99999999999999999999 0", 1, 9, "too large"),
        ("kmalloc 8 GFP_BOGUS", 1, 11, "unknown GFP flag"),
        (
            "kmalloc 8 GFP_KERNL",
            1,
            11,
            "unknown GFP flag 'GFP_KERNL' (did you mean GFP_KERNEL?)",
        ),
        (
            "kmaloc 8 0",
            1,
            1,
            "unknown function 'kmaloc' (did you mean kmalloc?)",
        ),
        (
            "kmem_cache_create a 8 0 SLAB_RED_ZONES",
            1,
            25,
            "(did you mean SLAB_RED_ZONE?)",
        ),
        ("boot slab_debug=FZ", 1, 6, "(did you mean slub_debug?)"),
        ("kmalloc 8 GFP_KERNEL|", 1, 11, "empty GFP flag"),
        ("kmalloc 8 GFP_KERNEL|0x+1", 1, 11, "bad number"),
        ("kmem_cache_create a/b 8 0 0", 1, 19, "bad cache name"),
        (
            "kmem_cache_create a 8 0 SLAB_NOPE",
            1,
            25,
            "unknown SLAB flag",
        ),
        ("Px = kmalloc 8 0", 1, 1, "bad name 'Px'"),
        ("p =", 1, 3, "expected a function after '='"),
        ("kfree P", 1, 7, "expected an operand"),
        ("kfree p+", 1, 7, "bad offset"),
        (
            "p = alloc_pages 0 0\nvmap 3 p p",
            2,
            6,
            "vmap COUNT is 3 but 2 pages follow",
        ),
        (
            "kfree NULL\nboot mem=64M",
            2,
            1,
            "boot must be the first statement",
        ),
        (
            "boot mem=64M\nboot mem=64M",
            2,
            1,
            "boot must be the first statement",
        ),
        ("b = boot mem=64M", 1, 1, "cannot be bound"),
        ("boot arch=i386 mem=8M", 1, 16, "below the 16M minimum"),
        ("boot arch=arm", 1, 6, "unknown architecture"),
        ("boot mem=64M frob=1", 1, 14, "unknown boot option"),
        ("  boot mem=5G", 1, 8, "above the 4G maximum"),
        ("é = kmalloc 8 0", 1, 1, "bad name"),
        ("kfree é", 1, 7, "expected an operand"),
        ("repeat", 1, 1, "repeat takes a count and a function"),
        (
            "n = repeat 0 kmalloc 8 0",
            1,
            12,
            "out of range (1 to 1048576)",
        ),
        ("repeat 1048577 kmalloc 8 0", 1, 8, "out of range"),
        ("repeat x kmalloc 8 0", 1, 8, "bad number 'x'"),
        ("repeat 4", 1, 1, "expected a function"),
        ("repeat 4 kfree NULL", 1, 10, "kfree cannot be repeated"),
        ("repeat 2 boot mem=64M", 1, 10, "cannot be repeated"),
        ("repeat 2 kmalloc 8", 1, 10, "kmalloc takes SIZE GFP"),
        ("walk 4 kmap", 1, 1, "walk takes a count, then kmap kunmap"),
        (
            "walk 4 kmap kfree NULL",
            1,
            13,
            "walk takes a count, then kmap kunmap",
        ),
        ("walk 0 kmap kunmap NULL", 1, 6, "out of range"),
        ("walk 4 kmap kunmap", 1, 8, "kmap takes PAGE"),
        (
            "walk 4 kmap kunmap q",
            1,
            20,
            "'q' is used before it is bound",
        ),
    ];

    #[test]
    fn walk_parses_prints_and_steps_one_struct_page_per_call() {
        let text = "p = alloc_pages GFP_HIGHUSER 10
n = walk 1024 kmap kunmap p+32
";
        let s = parse(text).unwrap();
        let w = &s.stmts[1];
        assert!(w.walk && !s.stmts[0].walk);
        assert_eq!(
            (w.calls(), w.returns()),
            (1024, crate::scenario::Ret::Value)
        );
        assert_eq!(w.to_string(), "n = walk 1024 kmap kunmap p+32");
        let again = parse(&s.to_string()).unwrap();
        assert_eq!((again.stmts[1].walk, &again.stmts[1].op), (true, &w.op));
        let page = |offset| Operand::Name {
            name: "p".into(),
            offset,
        };
        let (op, then) = w.call(2, 32);
        assert_eq!(*op, Op::Kmap { page: page(96) });
        assert_eq!(then, Some(Op::Kunmap { page: page(96) }));
        assert_eq!(s.stmts[0].call(2, 32).1, None);
        // By number from the first page: what the call's operand evaluates to, wrapping at
        // the word size as an operand's value does.
        let mut env = crate::outcome::Env::default();
        env.bind("p", 0xffff_ffc0);
        let first = w.walk_first(|o| env.eval(o, true)).unwrap();
        assert_eq!(first, 0xffff_ffe0);
        assert_eq!(env.eval(&page(96), true), (first + 2 * 32) & 0xffff_ffff);
        assert_eq!(s.stmts[0].walk_first(|_| 1), None);
        // `walk` is still a name one may bind.
        assert!(parse("walk = kmalloc 8 GFP_KERNEL\nkfree walk\n").is_ok());
    }

    #[test]
    fn repeat_parses_prints_and_binds_a_count() {
        let text = "n = repeat 4096 alloc_pages GFP_KERNEL 10\nrepeat 3 vmalloc 1G\nkfree n\n";
        let s = parse(text).unwrap();
        assert_eq!(s.stmts[0].repeat, Some(4096));
        assert_eq!(s.stmts[0].bind.as_deref(), Some("n"));
        assert_eq!(
            s.stmts[0].op,
            Op::AllocPages {
                gfp: GFP_KERNEL,
                order: 10
            }
        );
        assert_eq!(s.stmts[0].returns(), crate::scenario::Ret::Value);
        assert_eq!(s.stmts[1].calls(), 3);
        assert_eq!(s.stmts[2].repeat, None);
        assert_eq!(
            s.stmts[0].to_string(),
            "n = repeat 4096 alloc_pages GFP_KERNEL 10"
        );
        assert_eq!(s.stmts[1].to_string(), "repeat 3 vmalloc 1073741824");
        // `repeat` is still a name one may bind.
        let s = parse("repeat = kmalloc 8 GFP_KERNEL\nkfree repeat\n").unwrap();
        assert_eq!(s.stmts[0].repeat, None);
        assert_eq!(s.stmts[1].op.operands(), vec![&Operand::name("repeat")]);
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        for &(text, line, col, msg) in ERRORS {
            let e = parse(text).expect_err(text);
            assert_eq!((e.line, e.col), (line, col), "{text:?}: {e}");
            assert!(e.text().contains(msg), "{text:?}: {e}");
            assert_eq!(e.to_string(), format!("{line}:{col}: {}", e.text()));
        }
    }

    #[test]
    fn long_tokens_are_shortened_in_messages() {
        let text = format!("kmalloc {} 0", "9".repeat(10_000));
        let e = parse(&text).unwrap_err();
        assert!(e.text().len() < 200, "{}", e.text());
    }
}
