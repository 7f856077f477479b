//! The page rules' free-run index and /proc/buddyinfo checked against their definition: a
//! walk over the zone's reservations and live blocks.

use super::*;

/// /proc/buddyinfo by a walk over the reservations and live blocks.
fn buddyinfo_by_walk(p: &PageModel) -> Vec<[u64; (MAX_ORDER + 1) as usize]> {
    (0..p.facts.zones.len())
        .map(|zi| {
            let mut nr = [0u64; (MAX_ORDER + 1) as usize];
            let mut cur = p.facts.zones[zi].start;
            for (s, e) in p.busy(zi) {
                let mut c = cur;
                while c < s {
                    let mut o = MAX_ORDER;
                    while o > 0 && (!c.is_multiple_of(1 << o) || c + (1 << o) > s) {
                        o -= 1;
                    }
                    nr[o as usize] += 1;
                    c += 1 << o;
                }
                cur = cur.max(e);
            }
            nr
        })
        .collect()
}

/// The free-run index answers what the walk over every live block answers, through
/// client allocations, other allocators' page events and frees, on machines with several
/// zones and boot reservations.
#[test]
fn free_runs_agree_with_the_walk() {
    for boot in ["mem=24M", "mem=1G", "arch=x86_64 mem=5G"] {
        let cfg = BootConfig::parse_words(boot.split(' ')).unwrap();
        let mut p = PageModel::new(Facts::new(&cfg), cfg);
        let mut live: Vec<(u64, u32)> = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let max = p.facts.max_pfn;
        for step in 0..3000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut j = Judgement::default();
            if !x.is_multiple_of(3) || live.is_empty() {
                let order = ((x >> 8) % 11) as u32;
                let pfn = ((x >> 16) % max) & !((1u64 << order) - 1);
                if p.overlapping(pfn, 1 << order).is_some()
                    || p.facts.any_reserved(pfn, pfn + (1 << order))
                    || p.facts.zone_index(pfn).is_none()
                    || p.facts.zone_index(pfn) != p.facts.zone_index(pfn + (1 << order) - 1)
                {
                    continue;
                }
                let ev = kmem_vocab::PageEvent::Alloc { pfn, order };
                p.observe(&mut j, step, &ev);
                live.push((pfn, order));
            } else {
                let (pfn, order) = live.swap_remove((x >> 8) as usize % live.len());
                p.observe(&mut j, step, &kmem_vocab::PageEvent::Free { pfn, order });
            }
            assert!(
                j.failures.is_empty(),
                "{boot} step {step}: {:?}",
                j.failures
            );
            for zi in 0..p.facts.zones.len() {
                for order in 0..=MAX_ORDER {
                    assert_eq!(
                        p.has_free_block(zi, order),
                        p.has_free_block_by_walk(zi, order),
                        "{boot} step {step} zone {zi} order {order}"
                    );
                }
            }
            assert_eq!(
                p.expected_buddyinfo(),
                buddyinfo_by_walk(&p),
                "{boot} step {step}"
            );
        }
    }
}

/// Two sequences of intervals, each in order of their starts, as one in that order.
struct Merged<A: Iterator<Item = (u64, u64)>, B: Iterator<Item = (u64, u64)>> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A: Iterator<Item = (u64, u64)>, B: Iterator<Item = (u64, u64)>> Iterator for Merged<A, B> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if y < x => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

impl PageModel {
    /// The zone's reserved ranges and live blocks as [start, end) pfn intervals in order of
    /// their starts, closed by an empty interval at the zone's end. Both lists are already
    /// ordered (the boot rule's reservations by start, the blocks by head), so they are
    /// merged as they go: nothing is collected or sorted.
    fn busy(&self, zi: usize) -> impl Iterator<Item = (u64, u64)> + '_ {
        let z = &self.facts.zones[zi];
        let reserved = self
            .reserved
            .iter()
            .map(|&(s, e)| (s.max(z.start), e.min(z.end)))
            .filter(|r| r.0 < r.1);
        let blocks = self.blocks.spans(z.start, z.end);
        Merged {
            a: reserved.peekable(),
            b: blocks.peekable(),
        }
        .chain(std::iter::once((z.end, z.end)))
    }

    /// The same answer by a walk over the zone's reservations and live blocks (what the
    /// free-run index must always agree with).
    fn has_free_block_by_walk(&self, zi: usize, order: u32) -> bool {
        let z = &self.facts.zones[zi];
        let size = 1u64 << order;
        let mut cur = z.start;
        for (s, e) in self.busy(zi) {
            let c = cur.next_multiple_of(size);
            if c + size <= s {
                return true;
            }
            cur = cur.max(e);
        }
        false
    }
}

/// A statement's page events judged as runs give what judging them one by one gives: the
/// same failures and expected reports, and the same blocks, free pages, use-after-free
/// pages, poison and counts afterwards; also when a run holds a page that is not free, not
/// held, held with another order or held by the client.
#[test]
fn runs_of_page_events_are_judged_as_the_events_one_by_one() {
    use kmem_vocab::PageEvent::{Alloc, Free};
    for boot in ["mem=24M", "mem=1G page_poison=1", "arch=x86_64 mem=5G"] {
        let cfg = BootConfig::parse_words(boot.split(' ')).unwrap();
        let mut by_run = PageModel::new(Facts::new(&cfg), cfg.clone());
        let mut by_event = by_run.clone();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let max = by_run.facts.max_pfn;
        for step in 0..300u32 {
            // A statement: a few runs of single pages taken or given back near one place,
            // with now and then a block of a higher order, a write to a free page, or a
            // block the client holds.
            let base = next(max);
            let mut events = vec![];
            for _ in 0..1 + next(4) {
                let s = base + next(64);
                let n = 1 + next(40);
                let alloc = next(3) != 0;
                for p in (s..s + n).take_while(|&p| p < max) {
                    events.push(match alloc {
                        true => Alloc { pfn: p, order: 0 },
                        false => Free { pfn: p, order: 0 },
                    });
                }
                if next(8) == 0 {
                    let order = next(4) as u32;
                    let pfn = (base + next(64)) & !((1 << order) - 1);
                    events.push(if alloc {
                        Alloc { pfn, order }
                    } else {
                        Free { pfn, order }
                    });
                }
            }
            if next(10) == 0 {
                let pfn = base + next(64);
                for p in [&mut by_run, &mut by_event] {
                    p.wrote(pfn << PAGE_SHIFT, 8, 0x11);
                    if let Some(b) = p.blocks.get_mut(pfn) {
                        b.client = true;
                    }
                }
            }
            let (mut a, mut b) = (Judgement::default(), Judgement::default());
            by_run.observe_all(&mut a, step, &events);
            for ev in &events {
                by_event.observe(&mut b, step, ev);
            }
            assert_eq!(
                (&a.failures, &a.expect, &a.misuse, &a.allow),
                (&b.failures, &b.expect, &b.misuse, &b.allow),
                "{boot} step {step}"
            );
            assert_eq!(
                format!("{:?}", by_run.blocks),
                format!("{:?}", by_event.blocks),
                "{boot} step {step}"
            );
            assert_eq!(by_run.used, by_event.used, "{boot} step {step}");
            assert_eq!(
                by_run.expected_buddyinfo(),
                by_event.expected_buddyinfo(),
                "{boot} step {step}"
            );
            for p in base.saturating_sub(64)..(base + 128).min(max) {
                assert_eq!(
                    (
                        by_run.freed.contains(p),
                        by_run.zeroed.contains(p),
                        by_run.shadow.page_is(p, PAGE_POISON)
                    ),
                    (
                        by_event.freed.contains(p),
                        by_event.zeroed.contains(p),
                        by_event.shadow.page_is(p, PAGE_POISON)
                    ),
                    "{boot} step {step} pfn {p:#x}"
                );
            }
        }
    }
}

/// below_floor() by its definition, page by page.
fn below_floor_by_page(
    p: &PageModel,
    gfp: Gfp,
    pfns: &[u64],
    later: &[u64],
) -> Option<(u64, usize, i64, i64)> {
    if !p.exact {
        return None;
    }
    let highest = p.facts.highest_zone(gfp);
    pfns.iter().find_map(|&pfn| {
        let zi = p.facts.zone_index(pfn)?;
        let floor = p.floor(zi, highest, gfp)?;
        let after = later
            .iter()
            .filter(|&&q| p.facts.zone_index(q) == Some(zi))
            .count() as i64;
        let left = p.zone_free(zi) as i64 + after;
        (left < floor).then_some((pfn, zi, left, floor))
    })
}

/// The zone-at-a-time below_floor() answers what its page-by-page definition answers, as
/// every free page of a two-zone machine is taken, with masks of several floors.
#[test]
fn below_floor_agrees_with_its_page_by_page_definition() {
    let cfg = BootConfig::parse_words(["mem=24M"]).unwrap();
    let mut p = PageModel::new(Facts::new(&cfg), cfg);
    let gfps = [
        GFP_KERNEL,
        GFP_ATOMIC,
        GFP_NOWAIT,
        GFP_DMA,
        GFP_KERNEL | __GFP_MEMALLOC,
    ];
    let mut taken: Vec<u64> = Vec::new();
    let mut below = 0;
    for pfn in 0..p.facts.max_pfn {
        if p.facts.zone_index(pfn).is_none()
            || p.facts.any_reserved(pfn, pfn + 1)
            || p.overlapping(pfn, 1).is_some()
        {
            continue;
        }
        let mut j = Judgement::default();
        p.observe(&mut j, 1, &kmem_vocab::PageEvent::Alloc { pfn, order: 0 });
        taken.push(pfn);
        if !taken.len().is_multiple_of(61) {
            continue;
        }
        // The last pages taken as the statement's, some before them as taken later, in
        // both roles and across the zones.
        let n = taken.len();
        let (before, recent) = taken.split_at(n - n.min(150));
        let tail = &before[before.len() - before.len().min(90)..];
        for gfp in gfps {
            for (pfns, later) in [(recent, &[][..]), (recent, tail), (tail, recent)] {
                let got = p.below_floor(gfp, pfns, later.iter().map(|&q| (q, 1)));
                assert_eq!(got, below_floor_by_page(&p, gfp, pfns, later));
                below += usize::from(got.is_some());
            }
        }
    }
    assert!(below > 0, "no zone ever went below a floor");
}
