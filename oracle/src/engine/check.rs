//! The engine checker: runs an engine scenario on an engine and on the reference model side
//! by side, and returns a [`Verdict`] that prints like a kernel scenario's.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use kmem::ReportKind;

use super::api::{Arena, Engine};
use super::contract::Info;
use super::model::{fits, judge_block, Block, Blocks, Judged};
use super::text::{size_text, EngineScenario};
use crate::model::{FailureKind as F, MisuseKind as M};
use crate::run::MAX_ACCESS;
use crate::scenario::{Name, Op, Operand, Stmt};
use crate::verdict::{Failure, Step, Verdict};

/// How to check.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineOptions {
    /// Keep every step's text and value (replay); off when fuzzing.
    pub record_steps: bool,
    /// Keep out the requests of the engine's known bugs (fuzzing past them); off in replay.
    pub avoid_known_bugs: bool,
}

impl EngineOptions {
    /// What replay does: record everything, pass every request.
    pub const REPLAY: EngineOptions = EngineOptions {
        record_steps: true,
        avoid_known_bugs: false,
    };
    /// What fuzzing does: record nothing, go past known bugs.
    pub const FUZZ: EngineOptions = EngineOptions {
        record_steps: false,
        avoid_known_bugs: true,
    };
}

/// Runs `s` on a fresh engine from `make`.
pub fn check_engine(
    s: &EngineScenario,
    make: &dyn Fn(Arena) -> Box<dyn Engine>,
    opts: EngineOptions,
) -> Verdict {
    let mut v = Verdict::default();
    let line = Cell::new(1u32);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut run = Run {
            engine: make(s.arena()),
            blocks: Blocks::default(),
            names: Vec::new(),
            largest: None,
            v: &mut v,
            opts,
            offset: 0,
            region: (0, 0),
            freed: Vec::new(),
            scribbled: false,
        };
        let (start, end) = run.engine.region();
        let shown = s.arena().shown_start();
        run.offset = shown.wrapping_sub(start);
        run.region = (shown, shown.saturating_add(end.saturating_sub(start)));
        run.watch_outside(s.name_at.0);
        for stmt in &s.scenario.stmts {
            line.set(stmt.line);
            run.stmt(stmt);
            run.watch_outside(stmt.line);
        }
        let last = s.scenario.stmts.last().map_or(1, |st| st.line);
        line.set(last.saturating_add(1));
        run.end(last.saturating_add(1));
    }));
    if let Err(p) = result {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        v.failures.push(Failure {
            line: line.get(),
            kind: F::Panic,
            message: format!("the engine {} panicked: {msg}", s.engine),
        });
    }
    v
}

struct Run<'v> {
    engine: Box<dyn Engine>,
    blocks: Blocks,
    /// Each bound name: its value and the block it named when bound.
    names: Vec<(Name, u64, Option<u64>)>,
    /// The largest `allocate` that succeeded: (size, align, line), for the nothing-lost
    /// check (a reallocate that grew in place is no promise about a fresh request).
    largest: Option<(u64, u64, u32)>,
    /// Addresses of blocks freed so far (to tell a double free from an invalid one).
    freed: Vec<u64>,
    v: &'v mut Verdict,
    opts: EngineOptions,
    /// Shown address = engine address + offset.
    offset: u64,
    /// The arena, in shown addresses.
    region: (u64, u64),
    /// Whether a write outside the arena was reported (once a run).
    scribbled: bool,
}

/// What one statement produced, for its step.
#[derive(Default)]
struct Out {
    value: Option<u64>,
    notes: Vec<String>,
}

impl Run<'_> {
    fn info(&self) -> Info {
        self.engine.info()
    }

    fn fail(&mut self, line: u32, kind: F, message: String) {
        self.v.failures.push(Failure {
            line,
            kind,
            message,
        });
    }

    fn eval(&self, o: &Operand) -> (u64, Option<u64>) {
        match o {
            Operand::Name { name, offset } => {
                let (v, id) = self
                    .names
                    .iter()
                    .rev()
                    .find(|(n, _, _)| n == name)
                    .map_or((0, None), |(_, v, id)| (*v, *id));
                let id = id.filter(|_| *offset == 0);
                (v.wrapping_add(*offset as u64), id)
            }
            Operand::Lit(v) => (*v, None),
            Operand::Null => (0, None),
        }
    }

    /// The live block an operand names: by the name's binding, else by address.
    fn resolve(&self, o: &Operand) -> (u64, Option<u64>) {
        let (addr, id) = self.eval(o);
        let id = id
            .filter(|i| self.blocks.live.contains_key(i))
            .filter(|i| self.blocks.live[i].addr == addr)
            .or_else(|| self.blocks.at(addr));
        (addr, id)
    }

    fn bind(&mut self, stmt: &Stmt, value: u64, id: Option<u64>) {
        if let Some(n) = &stmt.bind {
            self.names.retain(|(m, _, _)| m != n);
            self.names.push((n.clone(), value, id));
        }
    }

    /// Fails the line once the engine has changed memory next to its arena (at its `new`,
    /// the engine line; else the statement that did it).
    fn watch_outside(&mut self, line: u32) {
        if self.scribbled {
            return;
        }
        if let Some((addr, n)) = self.engine.outside_writes() {
            self.scribbled = true;
            let at = addr.wrapping_add(self.offset);
            let (lo, hi) = self.region;
            let place = if at < lo {
                format!("{} bytes before the arena", lo - at)
            } else {
                format!("{} bytes past the arena's end", at.saturating_sub(hi))
            };
            let name = self.info().name;
            self.fail(
                line,
                F::Content,
                format!("{name} wrote outside its arena: {n} bytes changed from {at:#x} ({place})"),
            );
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        let out = match &stmt.op {
            Op::Allocate { size, align } => self.allocate(stmt, *size, *align),
            Op::Free { addr } => self.free(stmt, addr),
            Op::Reallocate { addr, size } => self.reallocate(stmt, addr, *size),
            Op::Write { addr, len, byte } => self.access(stmt, addr, *len, Some(*byte)),
            Op::Read { addr, len } => self.access(stmt, addr, *len, None),
            other => Out {
                notes: vec![format!("{} is not an engine statement", other.name())],
                ..Out::default()
            },
        };
        if self.opts.record_steps {
            self.v.steps.push(Step {
                line: stmt.line,
                text: stmt.to_string(),
                value: out.value,
                reports: vec![],
                warnings: out.notes,
                op: u32::try_from(self.v.steps.len() + 1).unwrap_or(u32::MAX),
                read: None,
                silenced: vec![],
            });
        }
    }

    /// Why a request is not put to the engine, if it is not.
    fn refused(&self, size: u64, align: u64) -> Option<String> {
        if !align.is_power_of_two() {
            return Some(format!("ALIGN {align:#x} is not a power of two"));
        }
        let pre = self.info().pre;
        if let Some(why) = pre.refuses(size, align) {
            return Some(why);
        }
        let known = pre.known_bug.filter(|_| self.opts.avoid_known_bugs)?;
        let why = known(size, align)?;
        Some(format!(
            "a known bug of {} (docs/engines.md): {why}",
            self.info().name
        ))
    }

    /// Judges a block the engine returned; records it when it is sound enough to track.
    fn judge_new(&mut self, line: u32, addr: u64, size: u64, align: u64, except: Option<u64>) {
        let name = self.info().name;
        for (k, msg) in judge_block(self.region, &self.blocks, addr, size, align, except) {
            let kind = match k {
                Judged::Outside => F::WrongValue,
                Judged::Misaligned => F::Misaligned,
                Judged::Overlap => F::Overlap,
            };
            self.fail(line, kind, format!("{name} returned {msg}"));
        }
    }

    fn note_largest(&mut self, size: u64, align: u64, line: u32) {
        let key = |s: u64, a: u64| (s.max(a), s);
        let bigger = self
            .largest
            .is_none_or(|(s, a, _)| key(size, align) > key(s, a));
        if bigger {
            self.largest = Some((size, align, line));
        }
    }

    fn allocate(&mut self, stmt: &Stmt, size: u64, align: u64) -> Out {
        if let Some(why) = self.refused(size, align) {
            self.bind(stmt, 0, None);
            return not_passed(why);
        }
        let got = match self.engine.allocate(size, align) {
            Err(why) => {
                self.bind(stmt, 0, None);
                return not_passed(why);
            }
            Ok(g) => g,
        };
        let Some(raw) = got else {
            let info = self.info();
            if let Some(at) = fits(&info, self.region, &self.blocks, size, align) {
                self.fail(
                    stmt.line,
                    F::SpuriousFailure,
                    format!(
                        "{} failed allocate {size} {align} though {at:#x} is free for it (it promises {})",
                        info.name, info.level
                    ),
                );
            }
            self.bind(stmt, 0, None);
            return Out {
                value: Some(0),
                ..Out::default()
            };
        };
        let addr = raw.wrapping_add(self.offset);
        self.judge_new(stmt.line, addr, size, align, None);
        self.note_largest(size, align, stmt.line);
        let id = self.blocks.insert(Block {
            addr,
            size,
            align,
            line: stmt.line,
            writes: vec![],
        });
        self.bind(stmt, addr, Some(id));
        Out {
            value: Some(addr),
            ..Out::default()
        }
    }

    /// Checks that a block still holds what the client wrote into it, at `addr` (where it
    /// is now, in shown addresses) for its first `upto` bytes.
    fn check_bytes(&mut self, line: u32, b: &Block, addr: u64, upto: u64, what: &str) {
        // Each written range on its own: what a block holds may be spread far apart.
        let mut ranges: Vec<(u64, u64)> = b.writes.iter().map(|w| (w.0, w.1)).collect();
        ranges.sort_unstable();
        ranges.dedup();
        for (off, len) in ranges {
            let len = len.min(upto.saturating_sub(off));
            if len == 0 {
                continue;
            }
            let got = self
                .engine
                .read(addr.wrapping_add(off).wrapping_sub(self.offset), len);
            let want = b.expected(off, len);
            let bad = want
                .iter()
                .zip(&got)
                .position(|(w, g)| w.is_some_and(|(w, _)| w != *g));
            if let Some(i) = bad {
                let (w, wline) = want[i].unwrap_or((0, 0));
                let name = self.info().name;
                self.fail(
                    line,
                    F::Content,
                    format!(
                        "{name}: byte {:#x} of the block from line {} reads {:#04x} {what}; line {wline} wrote {w:#04x}",
                        off + i as u64,
                        b.line,
                        got[i]
                    ),
                );
                return;
            }
        }
    }

    fn free(&mut self, stmt: &Stmt, o: &Operand) -> Out {
        let (addr, id) = self.resolve(o);
        if addr == 0 && id.is_none() {
            return not_passed("the block is NULL (its allocation failed)".into());
        }
        let Some(id) = id else {
            let kind = match self.freed.contains(&addr) {
                true => ReportKind::DoubleFree,
                false => ReportKind::InvalidFree,
            };
            self.v.misuse.push((stmt.line, M::Report(kind)));
            return not_passed(format!("{addr:#x} is no live block: the caller's error"));
        };
        let Some(b) = self.blocks.live.remove(&id) else {
            return Out::default();
        };
        self.check_bytes(stmt.line, &b, b.addr, b.size, "when it is freed");
        let accepted = self
            .engine
            .free(b.addr.wrapping_sub(self.offset), b.size, b.align);
        if !accepted {
            let name = self.info().name;
            self.fail(
                stmt.line,
                F::WrongValue,
                format!(
                    "{name} refused to free the live block {:#x}+{:#x}",
                    b.addr, b.size
                ),
            );
        }
        self.freed.push(b.addr);
        Out::default()
    }

    fn reallocate(&mut self, stmt: &Stmt, o: &Operand, size: u64) -> Out {
        let (addr, id) = self.resolve(o);
        let Some(id) = id else {
            if addr != 0 {
                self.v
                    .misuse
                    .push((stmt.line, M::Report(ReportKind::InvalidFree)));
            }
            self.bind(stmt, 0, None);
            return not_passed(format!("{addr:#x} is no live block"));
        };
        let b = self.blocks.live[&id].clone();
        if !self.info().realloc {
            self.bind(stmt, addr, Some(id));
            return not_passed(format!("{} has no reallocate", self.info().name));
        }
        if let Some(why) = self.refused(size, b.align) {
            self.bind(stmt, addr, Some(id));
            return not_passed(why);
        }
        let raw = b.addr.wrapping_sub(self.offset);
        let got = match self.engine.reallocate(raw, b.size, b.align, size) {
            Err(why) => {
                self.bind(stmt, addr, Some(id));
                return not_passed(why);
            }
            Ok(g) => g,
        };
        let Some(new_raw) = got else {
            self.bind(stmt, 0, None);
            return Out {
                value: Some(0),
                ..Out::default()
            };
        };
        let new = new_raw.wrapping_add(self.offset);
        self.judge_new(stmt.line, new, size, b.align, Some(id));
        self.check_bytes(stmt.line, &b, new, size, "after reallocate");
        let keep: Vec<_> = b
            .writes
            .iter()
            .filter(|w| w.0 < size)
            .map(|&(o, l, by, wl)| (o, l.min(size - o), by, wl))
            .collect();
        if let Some(nb) = self.blocks.live.get_mut(&id) {
            nb.addr = new;
            nb.size = size;
            nb.line = stmt.line;
            nb.writes = keep;
        }
        self.bind(stmt, new, Some(id));
        Out {
            value: Some(new),
            ..Out::default()
        }
    }

    fn access(&mut self, stmt: &Stmt, o: &Operand, len: u64, write: Option<u8>) -> Out {
        let (addr, _) = self.eval(o);
        let len = len.min(MAX_ACCESS);
        if len == 0 {
            return Out::default();
        }
        let Some((id, off)) = self.blocks.holding(addr, len) else {
            let kind = match self.freed.contains(&addr) {
                true => M::UseAfterFree,
                false if addr == 0 => return not_passed("NULL".into()),
                false => match self.blocks.holding(addr, 1) {
                    Some(_) => M::OutOfBounds,
                    None => M::WildAccess,
                },
            };
            self.v.misuse.push((stmt.line, kind));
            return not_passed(format!(
                "{addr:#x}+{len:#x} is not inside one live block: the caller's error"
            ));
        };
        let raw = addr.wrapping_sub(self.offset);
        match write {
            Some(byte) => {
                self.engine.write(raw, len, byte);
                if let Some(b) = self.blocks.live.get_mut(&id) {
                    b.writes.push((off, len, byte, stmt.line));
                }
            }
            None => {
                let b = self.blocks.live[&id].clone();
                let got = self.engine.read(raw, len);
                let want = b.expected(off, len);
                if let Some(i) = want
                    .iter()
                    .zip(&got)
                    .position(|(w, g)| w.is_some_and(|(w, _)| w != *g))
                {
                    let (w, wline) = want[i].unwrap_or((0, 0));
                    let name = self.info().name;
                    self.fail(
                        stmt.line,
                        F::Content,
                        format!(
                            "{name}: byte {:#x} of the block from line {} reads {:#04x}; line {wline} wrote {w:#04x}",
                            off + i as u64,
                            b.line,
                            got[i]
                        ),
                    );
                }
            }
        }
        Out::default()
    }

    /// After the last statement: every block still live is freed, then the largest request
    /// that ever succeeded must succeed again (nothing lost). Shown as one step.
    fn end(&mut self, line: u32) {
        let live = std::mem::take(&mut self.blocks.live);
        let n = live.len();
        for b in live.into_values() {
            self.check_bytes(line, &b, b.addr, b.size, "when it is freed at the end");
            if !self
                .engine
                .free(b.addr.wrapping_sub(self.offset), b.size, b.align)
            {
                let name = self.info().name;
                self.fail(
                    line,
                    F::WrongValue,
                    format!(
                        "{name} refused to free the live block {:#x}+{:#x} at the end",
                        b.addr, b.size
                    ),
                );
            }
        }
        let Some((size, align, from)) = self.largest else {
            return;
        };
        let mut text = format!(
            "# end: {n} live blocks freed; then allocate {} {align} (line {from}) again",
            size_text(size)
        );
        let name = self.info().name;
        let value = match self.engine.allocate(size, align) {
            Ok(Some(raw)) => {
                let a = raw.wrapping_add(self.offset);
                self.judge_new(line, a, size, align, None);
                self.engine.free(raw, size, align);
                Some(a)
            }
            Ok(None) => {
                self.fail(
                    line,
                    F::SpuriousFailure,
                    format!(
                        "memory lost: with every block freed, {name} fails allocate {size} {align}, which succeeded at line {from}"
                    ),
                );
                Some(0)
            }
            Err(why) => {
                text.push_str(&format!(" (not passed: {why})"));
                None
            }
        };
        if self.opts.record_steps {
            self.v.steps.push(Step {
                line,
                text,
                value,
                reports: vec![],
                warnings: vec![],
                op: 0,
                read: None,
                silenced: vec![],
            });
        }
    }
}

fn not_passed(why: String) -> Out {
    Out {
        value: None,
        notes: vec![format!("not passed to the engine: {why}")],
    }
}
