//! Running memory out, as a client in a loop does: `repeat N` of an allocation until it
//! returns NULL. [`Action::Exhaust`] takes every block of a zone (and, by the zonelist, of
//! every zone below it) down to the watermark its mask must respect, or the whole vmalloc
//! space; [`Action::Drain`] then takes what is left of a cache, a pool's reserve or the last
//! small blocks. From the first of these on, memory is scarce: every allocation may return
//! NULL, so the generator binds none of them (they are probes, judged by the oracle alone).
//!
//! The counts keep a run short: the first repeat takes blocks large enough that the machine
//! holds at most a few thousand, the second takes what the watermarks leave in smaller ones.

use super::super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::gfp::*;
use kmem_vocab::{Arch, MAX_PAGE_ORDER, PAGE_SIZE};

use super::super::super::ast::{Op, MAX_REPEAT};
use super::super::super::kind::Family;
use super::super::choose::{self, chance, one_of, pick};
use super::super::extremes;
use super::super::state::Gen;
use super::{Action, Cand};

/// What a repeat runs out of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    Pages,
    Kmalloc,
    Vmalloc,
    Vmap,
}

/// How many times a vmap that runs the vmalloc space out maps its page.
const VMAP_PAGES: usize = 15;

/// The most calls of the second, smaller-order repeat of an exhaustion (what the watermarks
/// leave is up to about a thousand pages a zone).
const SECOND_REPEAT: u32 = 512;

/// The most calls of a drain, and the most drains a scenario makes.
const DRAIN_CALLS: u64 = 128;
pub const MAX_DRAINS: u32 = 2;

/// log2 of `n`, rounded down (0 for 0).
fn log2(n: u64) -> u32 {
    63u32.saturating_sub(n.max(1).leading_zeros())
}

/// A repeat count: `bytes` in pieces of `piece` bytes, and some to spare (the loop stops at
/// the first NULL anyway).
fn count(bytes: u64, piece: u64) -> u32 {
    let n = bytes / piece.max(1) + 64;
    u32::try_from(n.min(u64::from(MAX_REPEAT))).unwrap_or(MAX_REPEAT)
}

impl Gen<'_> {
    /// Whether exhausting memory is possible now: planned for this scenario and not done.
    pub(super) fn may_exhaust(&self) -> bool {
        self.exhaust_planned
            && !self.scarce
            && (self.on(Family::Pages) || self.on(Family::Kmalloc) || self.on(Family::Vmalloc))
    }

    pub(super) fn act_exhaust(&mut self, u: &mut impl Draw, a: Action) -> Result<()> {
        match a {
            Action::Exhaust => self.exhaust(u),
            Action::Drain => self.drain(u),
            _ => Ok(()),
        }
    }

    /// A mask that selects a zone (and with it the zonelist below it), never sleeping in an
    /// atomic section.
    fn zone_gfp(&self, u: &mut impl Draw) -> Result<Gfp> {
        let x86_64 = self.boot.arch == Arch::X86_64;
        let set: Vec<Gfp> = if self.atomic() {
            vec![
                GFP_ATOMIC,
                GFP_NOWAIT,
                GFP_ATOMIC | __GFP_HIGHMEM,
                GFP_NOWAIT | GFP_DMA,
            ]
        } else {
            vec![
                GFP_KERNEL,
                if self.has_highmem {
                    GFP_HIGHUSER
                } else {
                    GFP_KERNEL | __GFP_NOWARN
                },
                GFP_DMA | GFP_KERNEL,
                if x86_64 { GFP_DMA32 } else { GFP_NOWAIT },
                GFP_ATOMIC,
                GFP_NOWAIT,
                GFP_KERNEL | __GFP_HIGH,
                GFP_HIGHUSER_MOVABLE,
            ]
        };
        Ok(one_of(u, &set)?.unwrap_or(GFP_ATOMIC))
    }

    fn exhaust(&mut self, u: &mut impl Draw) -> Result<()> {
        let atomic = self.atomic();
        let l = self.limits;
        let mut ways = vec![];
        if self.on(Family::Pages) {
            ways.push(Way::Pages);
        }
        // kmalloc runs lowmem out in blocks of at most KMALLOC_MAX_SIZE: only where that
        // takes no more than a couple of thousand calls.
        let lowmem = match self.boot.arch {
            Arch::I386 => (l.totalram * PAGE_SIZE).min(896 << 20),
            Arch::X86_64 => l.totalram * PAGE_SIZE,
        };
        if self.on(Family::Kmalloc) && lowmem / l.kmalloc_max <= 2048 {
            ways.push(Way::Kmalloc);
        }
        // vmalloc takes its pages one by one: it runs out only a small memory. The vmalloc
        // space of a machine with highmem is small (about 120 MiB): vmap of one page many
        // times over runs out of it without taking memory.
        let ram = l.totalram * PAGE_SIZE;
        let vmap_page = self
            .cands(Cand::Pages {
                whole: true,
                low: false,
            })
            .first()
            .copied();
        if self.on(Family::Vmalloc) && !atomic {
            if ram <= extremes::VMALLOC_PAGES_BUDGET {
                ways.push(Way::Vmalloc);
            }
            if self.has_highmem && vmap_page.is_some() {
                ways.push(Way::Vmap);
            }
        }
        let Some(way) = one_of(u, &ways)? else {
            return Ok(());
        };
        let pages = l.totalram;
        match way {
            Way::Pages => {
                let gfp = self.zone_gfp(u)?;
                // At most about 512 blocks of the first order on this machine (MAX_PAGE_ORDER
                // on the largest).
                let lo = log2(pages).saturating_sub(9).min(MAX_PAGE_ORDER);
                let order = u32::try_from(pick(u, u64::from(lo), u64::from(MAX_PAGE_ORDER))?)
                    .unwrap_or(MAX_PAGE_ORDER);
                self.repeat(
                    count(pages, 1 << order),
                    Op::AllocPages { gfp, order },
                    None,
                );
                if order > 0 && chance(u, 70)? {
                    // What the watermarks left, in smaller blocks.
                    let lo = log2(pages).saturating_sub(14).clamp(1, order) - 1;
                    let small =
                        u32::try_from(pick(u, u64::from(lo), u64::from(order - 1))?).unwrap_or(0);
                    let gfp = match chance(u, 70)? {
                        true => gfp,
                        false => self.zone_gfp(u)?,
                    };
                    self.repeat(SECOND_REPEAT, Op::AllocPages { gfp, order: small }, None);
                }
            }
            Way::Kmalloc => {
                // Blocks large enough that lowmem holds at most about a thousand; nothing
                // zeroed (the memory is only held).
                let least = (lowmem / 1024).next_power_of_two();
                let size = [l.kmalloc_max, 1 << 20, 256 << 10, 64 << 10]
                    .into_iter()
                    .filter(|&s| s <= l.kmalloc_max && s >= least)
                    .min()
                    .unwrap_or(l.kmalloc_max);
                let gfp = choose::gfp_object(u, atomic, false)? & !__GFP_ZERO;
                let n = count(lowmem, size);
                self.repeat(n, Op::Kmalloc { size, gfp }, None);
            }
            Way::Vmalloc => {
                let size = (ram / 128).next_power_of_two().max(PAGE_SIZE);
                let n = count(ram, size);
                let op = match chance(u, 67)? {
                    true => Op::Vmalloc { size },
                    false => Op::Vmalloc32 { size },
                };
                self.repeat(n, op, None);
            }
            Way::Vmap => {
                // VMAP_PAGES mappings of one page at a time, each with its guard page.
                let Some(p) = vmap_page else { return Ok(()) };
                let pages = vec![self.operand(p); VMAP_PAGES];
                let n = count(l.vmalloc_space, (VMAP_PAGES as u64 + 1) * PAGE_SIZE);
                self.repeat(n, Op::Vmap { pages }, Some(self.root(p)));
            }
        }
        self.scarce = true;
        Ok(())
    }

    /// After an exhaustion: what is left of a cache's slabs, a pool's reserve, or the last
    /// small blocks, a few hundred calls at most.
    fn drain(&mut self, u: &mut impl Draw) -> Result<()> {
        let atomic = self.atomic();
        let caches = self.cands(Cand::Caches);
        let pools = self.cands(Cand::Pools);
        self.drains += 1;
        let n = u32::try_from(pick(u, 1, DRAIN_CALLS)?).unwrap_or(1);
        match pick(u, 0, 3)? {
            0 if !caches.is_empty() => {
                let c = one_of(u, &caches)?.unwrap_or(0);
                let gfp = choose::gfp_object(u, atomic, false)? & !__GFP_ZERO;
                let op = Op::KmemCacheAlloc {
                    cache: self.operand(c),
                    gfp,
                };
                self.repeat(n, op, Some(c));
            }
            1 if !pools.is_empty() => {
                // A pool's reserve without waiting: Linux would sleep for an element with
                // a blocking mask.
                let p = one_of(u, &pools)?.unwrap_or(0);
                // __GFP_MEMALLOC too: mempool_alloc() masks it with __GFP_NOMEMALLOC, so the
                // pool's reserve, not the allocator's emergency reserve, is what it falls on.
                let gfp = one_of(u, &[GFP_ATOMIC, GFP_NOWAIT, GFP_ATOMIC | __GFP_MEMALLOC])?
                    .unwrap_or(GFP_ATOMIC);
                let op = Op::MempoolAlloc {
                    pool: self.operand(p),
                    gfp,
                };
                self.repeat(n.min(32), op, Some(p));
            }
            2 if self.on(Family::Kmalloc) => {
                let size = choose::kmalloc_size(u)?.min(self.limits.kmalloc_max);
                let gfp = choose::gfp_object(u, atomic, true)? & !__GFP_ZERO;
                self.repeat(n, Op::Kmalloc { size, gfp }, None);
            }
            _ if self.on(Family::Pages) => {
                let gfp = self.zone_gfp(u)?;
                let order = u32::try_from(pick(u, 0, 3)?).unwrap_or(0);
                self.repeat(n, Op::AllocPages { gfp, order }, None);
            }
            _ => {}
        }
        Ok(())
    }
}
