//! The engine oracle's reference model: the live blocks, what the client wrote into each,
//! and the rules of the contract levels (disjoint, inside, aligned, bytes kept, fits).
//! It knows nothing of how any engine works; it only keeps what a client could see.

use std::collections::BTreeMap;

use super::contract::{Fit, Info, Level};

/// One live block, in the addresses the checker shows.
#[derive(Clone, Debug)]
pub struct Block {
    pub addr: u64,
    pub size: u64,
    pub align: u64,
    /// The statement that allocated it (or last reallocated it).
    pub line: u32,
    /// What the client wrote, in order: (offset, length, byte, line). A later write wins.
    pub writes: Vec<(u64, u64, u8, u32)>,
}

impl Block {
    /// The bytes the client knows are at `[off, off + len)`: None where it wrote nothing.
    pub fn expected(&self, off: u64, len: u64) -> Vec<Option<(u8, u32)>> {
        let mut out = vec![None; usize::try_from(len).unwrap_or(0)];
        for &(o, l, b, line) in &self.writes {
            let s = o.max(off);
            let e = o.saturating_add(l).min(off.saturating_add(len));
            for i in s..e.max(s) {
                out[(i - off) as usize] = Some((b, line));
            }
        }
        out
    }
}

/// The live blocks of one run, by id.
#[derive(Clone, Debug, Default)]
pub struct Blocks {
    pub live: BTreeMap<u64, Block>,
    next_id: u64,
}

impl Blocks {
    pub fn insert(&mut self, b: Block) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.live.insert(id, b);
        id
    }

    /// The live block that `addr` starts: the newest one with a size, else the newest.
    pub fn at(&self, addr: u64) -> Option<u64> {
        let mut hits = self.live.iter().filter(|(_, b)| b.addr == addr);
        let all: Vec<(u64, bool)> = hits.by_ref().map(|(&i, b)| (i, b.size > 0)).collect();
        all.iter()
            .rev()
            .find(|(_, sized)| *sized)
            .or(all.last())
            .map(|&(i, _)| i)
    }

    /// The live block holding `[addr, addr + len)` whole, with the offset into it.
    pub fn holding(&self, addr: u64, len: u64) -> Option<(u64, u64)> {
        self.live.iter().find_map(|(&i, b)| {
            let end = b.addr.saturating_add(b.size);
            (addr >= b.addr && addr.saturating_add(len) <= end && addr < end)
                .then(|| (i, addr - b.addr))
        })
    }

    /// The first live block (other than `except`) that `[addr, addr + size)` overlaps.
    pub fn overlapping(&self, addr: u64, size: u64, except: Option<u64>) -> Option<&Block> {
        let end = addr.saturating_add(size);
        self.live.iter().find_map(|(&i, b)| {
            let bend = b.addr.saturating_add(b.size);
            (Some(i) != except && size > 0 && b.size > 0 && b.addr < end && addr < bend)
                .then_some(b)
        })
    }
}

/// What the rules say about a returned block, as failure messages (kind, text).
pub fn judge_block(
    region: (u64, u64),
    blocks: &Blocks,
    addr: u64,
    size: u64,
    align: u64,
    except: Option<u64>,
) -> Vec<(Judged, String)> {
    let mut out = vec![];
    let end = addr.checked_add(size);
    let inside = addr >= region.0 && end.is_some_and(|e| e <= region.1) && addr <= region.1;
    if !inside {
        out.push((
            Judged::Outside,
            format!(
                "{addr:#x}+{size:#x}, which is not inside the arena [{:#x}, {:#x})",
                region.0, region.1
            ),
        ));
    }
    if !addr.is_multiple_of(align.max(1)) {
        out.push((
            Judged::Misaligned,
            format!("{addr:#x}, which is not aligned to {align:#x}"),
        ));
    }
    if let Some(b) = blocks.overlapping(addr, size, except) {
        out.push((
            Judged::Overlap,
            format!(
                "{addr:#x}+{size:#x}, which overlaps the live block {:#x}+{:#x} from line {}",
                b.addr, b.size, b.line
            ),
        ));
    }
    out
}

/// Which rule a returned block broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    Outside,
    Misaligned,
    Overlap,
}

/// The bytes a block of `size` at `align` takes under a fit rule (its footprint).
fn footprint(fit: Fit, frame: u64, size: u64, align: u64) -> Option<u64> {
    let unit = frame.max(1);
    let rounded = size.max(1).checked_next_multiple_of(unit)?;
    match fit {
        Fit::AnyRun | Fit::Padded => Some(rounded),
        Fit::Buddy { min_block, .. } => Some(
            rounded
                .checked_next_power_of_two()?
                .max(align)
                .max(min_block),
        ),
    }
}

/// For a complete engine that failed a request: where the fit rule says it fits, if
/// anywhere (the free run or block the engine should have used).
pub fn fits(
    info: &Info,
    region: (u64, u64),
    blocks: &Blocks,
    size: u64,
    align: u64,
) -> Option<u64> {
    let Level::Complete(fit) = info.level else {
        return None;
    };
    // A zero-size request may fail: Rust's allocator APIs leave zero sizes to the caller.
    if size == 0 {
        return None;
    }
    let mut need = footprint(fit, info.frame, size, align)?;
    let need_align = match fit {
        Fit::AnyRun => align.max(1),
        Fit::Padded => {
            if align > info.frame.max(1) {
                need = need.checked_add(align - 1)?;
            }
            1
        }
        Fit::Buddy { max_block, .. } => {
            if need > max_block {
                return None;
            }
            need
        }
    };
    let mut taken: Vec<(u64, u64)> = blocks
        .live
        .values()
        .map(|b| {
            // A zero-size block still takes a unit (a buddy: its minimum block).
            let f = footprint(fit, info.frame, b.size, b.align).unwrap_or(u64::MAX);
            (b.addr, b.addr.saturating_add(f))
        })
        .collect();
    taken.sort_unstable();
    let mut cursor = region.0;
    for (s, e) in taken.into_iter().chain([(region.1, region.1)]) {
        if s > cursor {
            let a = cursor.checked_next_multiple_of(need_align)?;
            if a.checked_add(need)
                .is_some_and(|end| end <= s.min(region.1))
            {
                return Some(a);
            }
        }
        cursor = cursor.max(e);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::contract::Info;

    fn block(addr: u64, size: u64) -> Block {
        Block {
            addr,
            size,
            align: 1,
            line: 2,
            writes: vec![],
        }
    }

    #[test]
    fn overlaps_and_bounds() {
        let mut b = Blocks::default();
        b.insert(block(0x1000, 0x100));
        b.insert(block(0x1200, 0));
        let r = (0x1000, 0x2000);
        assert!(judge_block(r, &b, 0x1100, 0x100, 16, None).is_empty());
        let j = judge_block(r, &b, 0x10f0, 0x20, 0x20, None);
        assert_eq!(j.len(), 2, "{j:?}"); // misaligned and overlapping
        assert_eq!(
            judge_block(r, &b, 0x1f00, 0x200, 1, None)[0].0,
            Judged::Outside
        );
        assert_eq!(
            judge_block(r, &b, u64::MAX, 2, 1, None)[0].0,
            Judged::Outside
        );
        // A zero-size block overlaps nothing and may sit at the end.
        assert!(judge_block(r, &b, 0x2000, 0, 1, None).is_empty());
        assert_eq!(b.at(0x1200), Some(1));
        assert_eq!(b.holding(0x1010, 0x10), Some((0, 0x10)));
        assert_eq!(b.holding(0x10f0, 0x20), None);
    }

    #[test]
    fn any_run_and_buddy_fit_rules() {
        let any = Info::heap("t", Level::Complete(Fit::AnyRun));
        let mut b = Blocks::default();
        b.insert(block(0x1000, 0x10));
        b.insert(block(0x1020, 0x10));
        let r = (0x1000, 0x1040);
        assert_eq!(fits(&any, r, &b, 0x10, 1), Some(0x1010));
        assert_eq!(fits(&any, r, &b, 0x10, 0x20), None);
        assert_eq!(fits(&any, r, &b, 0x11, 1), None);
        assert_eq!(fits(&any, r, &b, u64::MAX, 1), None);
        let buddy = Info::heap(
            "t",
            Level::Complete(Fit::Buddy {
                min_block: 8,
                max_block: 0x40,
            }),
        );
        // 0x1010 is a free 16-byte block; 0x18 bytes need an aligned 32 that is free.
        assert_eq!(fits(&buddy, r, &b, 0x10, 1), Some(0x1010));
        assert_eq!(fits(&buddy, r, &b, 0x18, 1), None);
        assert_eq!(fits(&buddy, r, &Blocks::default(), 0x40, 1), Some(0x1000));
        assert_eq!(fits(&buddy, r, &Blocks::default(), 0x41, 1), None);
        assert_eq!(fits(&Info::heap("s", Level::Safety), r, &b, 1, 1), None);
        // Padded: a 16-byte hole fits 16 bytes, but not 16 at 32 (it needs 16 + 31 free).
        let padded = Info::heap("t", Level::Complete(Fit::Padded)).with_unit(8);
        assert_eq!(fits(&padded, r, &b, 0x10, 8), Some(0x1010));
        assert_eq!(fits(&padded, r, &b, 0x10, 0x20), None);
        assert_eq!(
            fits(&padded, r, &Blocks::default(), 0x10, 0x20),
            Some(0x1000)
        );
    }
}
