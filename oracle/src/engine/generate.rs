//! The engine generator: any byte string decodes to an engine scenario for a given engine,
//! one that reaches zero, huge, unaligned and over-aligned requests, frees and reallocates
//! what it allocated, and writes and reads inside live blocks (heap and frame engines).
//!
//! Names say where a value came from: `b4` is the block statement 4 allocated; a
//! `reallocate` rebinds the name it resizes.

use arbitrary::{Arbitrary, Unstructured};

use super::contract::{Info, Kind};
use super::text::EngineScenario;
use crate::scenario::{Name, Op, Operand, Scenario, Stmt};

/// How many statements a generated scenario has at most.
pub const MAX_OPS: usize = 48;

/// A live block as the generator believes it is (it cannot know whether an allocation
/// failed; the checker skips statements on a NULL name).
#[derive(Clone, Debug)]
struct Live {
    name: Name,
    size: u64,
}

struct Gen<'a> {
    info: &'a Info,
    arena: u64,
    stmts: Vec<Stmt>,
    live: Vec<Live>,
}

/// The arenas an engine is run on: a few sizes within its limits, frame multiples.
pub fn arenas(info: &Info) -> Vec<u64> {
    let f = info.frame.max(1);
    let mut v: Vec<u64> = [
        info.min_arena,
        16 << 10,
        64 << 10,
        96 << 10,
        256 << 10,
        info.max_arena,
    ]
    .into_iter()
    .map(|a| a.clamp(info.min_arena, info.max_arena) / f * f)
    .filter(|&a| a >= info.min_arena)
    .collect();
    v.sort_unstable();
    v.dedup();
    if v.is_empty() {
        v.push(info.min_arena);
    }
    v
}

/// Where an arena of `len` bytes is put and how long it ends up: most at their aligned place
/// and listed size; the rest a few units past it (a byte, a word, a cache line, almost a page,
/// in multiples of [`Info::offset_unit`]: a heap from a `static [u8; N]`, frames that start
/// after a kernel image) or a few units shorter. The offset stays below the arena's size
/// rounded up to a power of two, the length at or above the engine's smallest arena.
fn shape(u: &mut Unstructured<'_>, info: &Info, len: u64) -> arbitrary::Result<(u64, u64)> {
    let unit = info.offset_unit();
    let k = *u.choose(&[0u64, 0, 0, 0, 1, 3, 8, 24, 40, 4095])?;
    let t = *u.choose(&[0u64, 0, 0, 1, 8, 24])?;
    let short = len.saturating_sub(t.saturating_mul(unit));
    let len = if short >= info.min_arena { short } else { len };
    let offset = k.saturating_mul(unit);
    let offset = if offset < len.max(1).next_power_of_two() {
        offset
    } else {
        0
    };
    Ok((len, offset))
}

/// The sizes that stand at the edges: what no arena holds and what no `Layout` allows.
fn huge(arena: u64) -> [u64; 8] {
    [
        arena + 1,
        arena.saturating_mul(2),
        1 << 32,
        (isize::MAX as u64) & !0xfff,
        isize::MAX as u64,
        1 << 63,
        u64::MAX - 7,
        u64::MAX,
    ]
}

impl Gen<'_> {
    fn push(&mut self, bind: Option<Name>, op: Op) {
        self.stmts.push(Stmt {
            line: 0,
            col: 1,
            bind,
            op,
            repeat: None,
            walk: false,
        });
    }

    fn size(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<u64> {
        let f = self.info.frame.max(1);
        let a = self.arena;
        Ok(match u.int_in_range(0..=9u8)? {
            0 => 0,
            1 | 2 => u.int_in_range(1..=64)?,
            3 => u.int_in_range(1..=1024)?,
            4 => u.int_in_range(1..=(a / 8).max(1))?,
            5 => u.int_in_range((a / 4).max(1)..=a)?,
            6 => {
                let k = u.int_in_range(1..=(a / f).max(1))?;
                let d = u.int_in_range(0..=2u64)?;
                (k * f + d).saturating_sub(1)
            }
            7 => *u.choose(&huge(a))?,
            8 => u64::arbitrary(u)?,
            _ => a,
        })
    }

    fn align(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<u64> {
        let over = self.arena.next_power_of_two();
        Ok(match u.int_in_range(0..=7u8)? {
            0 | 1 => 1 << u.int_in_range(0..=4u32)?,
            2 | 3 => 1 << u.int_in_range(0..=12u32)?,
            // Over-aligned: above the frame, the arena, the address space.
            4 => 1 << u.int_in_range(12..=22u32)?,
            5 => *u.choose(&[over, over * 2, 1 << 40, 1 << 62, 1 << 63])?,
            // Not a power of two: never passed, but it must not matter.
            6 => *u.choose(&[0, 3, 24, 0x1001, u64::MAX])?,
            _ => 8,
        })
    }

    fn pick(&self, u: &mut Unstructured<'_>, sized: bool) -> arbitrary::Result<Option<usize>> {
        let c: Vec<usize> = (0..self.live.len())
            .filter(|&i| !sized || (self.live[i].size > 0 && self.live[i].size <= self.arena))
            .collect();
        if c.is_empty() {
            return Ok(None);
        }
        Ok(Some(*u.choose(&c)?))
    }

    fn step(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
        let touch = self.info.kind != Kind::Range;
        match u.int_in_range(0..=9u8)? {
            0..=3 => {
                let (size, align) = (self.size(u)?, self.align(u)?);
                let name = Name::from(format!("b{}", self.stmts.len()));
                self.push(Some(name.clone()), Op::Allocate { size, align });
                self.live.push(Live { name, size });
            }
            4 | 5 => {
                if let Some(i) = self.pick(u, false)? {
                    let l = self.live.remove(i);
                    self.push(
                        None,
                        Op::Free {
                            addr: Operand::name(l.name),
                        },
                    );
                }
            }
            6 | 7 if touch => {
                if let Some(i) = self.pick(u, true)? {
                    let l = self.live[i].clone();
                    let off = u.int_in_range(0..=l.size - 1)?;
                    let len = u.int_in_range(1..=(l.size - off).min(1 << 16))?;
                    let addr = Operand::Name {
                        name: l.name,
                        offset: off as i64,
                    };
                    let op = match u.ratio(2, 3)? {
                        true => Op::Write {
                            addr,
                            len,
                            byte: u8::arbitrary(u)?,
                        },
                        false => Op::Read { addr, len },
                    };
                    self.push(None, op);
                }
            }
            8 if self.info.realloc => {
                if let Some(i) = self.pick(u, false)? {
                    let size = self.size(u)?;
                    let name = self.live[i].name.clone();
                    self.push(
                        Some(name.clone()),
                        Op::Reallocate {
                            addr: Operand::name(name),
                            size,
                        },
                    );
                    self.live[i].size = size;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Decodes bytes into a scenario for the engine `info` describes. Running out of bytes ends
/// it early; what was built so far is kept.
pub fn generate_engine(u: &mut Unstructured<'_>, info: &Info) -> EngineScenario {
    let choices = arenas(info);
    let listed = u.choose(&choices).copied().unwrap_or(choices[0]);
    let (arena, offset) = shape(u, info, listed).unwrap_or((listed, 0));
    let mut g = Gen {
        info,
        arena,
        stmts: vec![],
        live: vec![],
    };
    while g.stmts.len() < MAX_OPS && !u.is_empty() {
        if g.step(u).is_err() {
            break;
        }
    }
    // Free what is left, in an order the bytes pick (the checker frees anything missed).
    while !g.live.is_empty() {
        let i = u.choose_index(g.live.len()).unwrap_or(0);
        let l = g.live.remove(i);
        g.push(
            None,
            Op::Free {
                addr: Operand::name(l.name),
            },
        );
    }
    let mut scenario = Scenario {
        stmts: g.stmts,
        ..Scenario::default()
    };
    scenario.renumber();
    let mut s = EngineScenario::new(info.name, arena, scenario);
    s.offset = offset;
    s
}

/// The scenario these bytes decode to for this engine.
pub fn engine_scenario_from_bytes(data: &[u8], info: &Info) -> EngineScenario {
    generate_engine(&mut Unstructured::new(data), info)
}
