//! The generator's runs really reach the extremes on the machine (in the style of wasmtime's
//! `table_ops_eventually_gcs`): within a bounded number of ordinary seeded inputs of the
//! buddy and vmalloc targets, every zonelist runs dry on both architectures, an allocation
//! falls back along every edge of the zonelist, the min watermark and lowmem_reserve each
//! refuse a zone that still has a free block, and vmalloc fails for want of address space
//! while memory is left; of the kmap target, kmap walks wrap the pkmap scan often enough that
//! slot 0, once used and kunmapped, is flushed and given to another page (the second wrap);
//! and of the buddy target on i386 with PAE and more than 4 GiB, page_to_phys() of a page
//! above 4 GiB. Every one of those runs must also pass the checker.

mod common;

use std::collections::BTreeSet;

use kmem::gfp::*;
use kmem::zone::highest_zoneidx;
use kmem::Machine;
use kmem_oracle::run::{execute, Env};
use kmem_oracle::{check, scenario_from_bytes, GenConfig, Op, Scenario};

/// What the runs reached.
#[derive(Debug, Default)]
struct Seen {
    /// Zonelists (by their top zone) an allocation found dry.
    dry: BTreeSet<&'static str>,
    /// (top of the zonelist, zone the block came from) for every allocation below its top.
    fallback: BTreeSet<(&'static str, &'static str)>,
    /// Zones a failed allocation skipped although they had a free block of its order: below
    /// the min watermark alone, or only because of lowmem_reserve.
    watermark: BTreeSet<&'static str>,
    reserve: BTreeSet<&'static str>,
    /// vmalloc failed with more than twice the memory it asked for still free.
    vmalloc_no_room: bool,
    /// The pages (struct page pointers) kmap() gave pkmap slot 0 (PKMAP_BASE) in the
    /// current run, and the most of them in any one run.
    slot0: BTreeSet<u64>,
    slot0_pages: usize,
    /// page_to_phys() returned a physical address at or above 4 GiB.
    phys_above_4g: bool,
}

/// The page allocator call `op` is, as (mask, order), if it is one.
fn page_call(op: &Op) -> Option<(Gfp, u32)> {
    match *op {
        Op::AllocPages { gfp, order } => Some((gfp, order)),
        Op::GetFreePages { gfp, order } => Some((gfp & !__GFP_HIGHMEM, order)),
        Op::GetFreePage { gfp } | Op::GetZeroedPage { gfp } => Some((gfp & !__GFP_HIGHMEM, 0)),
        _ => None,
    }
}

impl Seen {
    /// Looks at one call of `op` that returned `v` (the machine as it is after the call);
    /// `page` is the value of its page operand, if it has one.
    fn call(&mut self, m: &mut Machine, op: &Op, v: u64, page: u64) {
        let l = m.layout();
        if matches!(op, Op::Kmap { .. }) && l.arch == kmem::Arch::I386 && v == l.pkmap_base {
            self.slot0.insert(page);
            self.slot0_pages = self.slot0_pages.max(self.slot0.len());
        }
        if matches!(op, Op::PageToPhys { .. }) && v >= 1 << 32 {
            self.phys_above_4g = true;
        }
        if let Some((gfp, order)) = page_call(op) {
            self.page_call(m, op, gfp, order, v);
        }
        if let Op::Vmalloc { size } | Op::Vzalloc { size } = *op {
            let a = m.page_allocator();
            let free: u64 = (0..a.zones().len()).map(|z| a.free_pages(z)).sum();
            if v == 0 && size > 0 && free > 2 * size.div_ceil(4096) + 1024 {
                self.vmalloc_no_room = true;
            }
        }
    }

    fn page_call(&mut self, m: &mut Machine, op: &Op, gfp: Gfp, order: u32, v: u64) {
        let zones = m.page_allocator().zones().to_vec();
        let top = highest_zoneidx(&zones, gfp);
        if v != 0 {
            let pfn = match op {
                Op::AllocPages { .. } => m.page_to_phys(v) >> 12,
                _ => (v - m.layout().page_offset) >> 12,
            };
            if let Some(z) = zones.iter().position(|z| z.span.contains(pfn)) {
                if z < top {
                    self.fallback.insert((zones[top].name(), zones[z].name()));
                }
            }
            return;
        }
        if order > kmem::MAX_PAGE_ORDER {
            return;
        }
        self.dry.insert(zones[top].name());
        let a = m.page_allocator();
        for (zi, z) in zones.iter().enumerate().take(top + 1) {
            let has_block = (order..=kmem::MAX_PAGE_ORDER).any(|o| a.nr_free(zi, o) > 0);
            if !has_block {
                continue;
            }
            // __zone_watermark_ok() of the slow path: __GFP_HIGH takes half of min, a mask
            // that cannot reclaim a quarter of the rest.
            let mut min = z.wmark_min as i64;
            if gfp & __GFP_HIGH != 0 {
                min -= min / 2;
                if gfp & __GFP_DIRECT_RECLAIM == 0 {
                    min -= min / 4;
                }
            }
            let free = a.free_pages(zi) as i64 - (1i64 << order) + 1;
            let reserve = z.lowmem_reserve.get(top).copied().unwrap_or(0) as i64;
            if free <= min {
                self.watermark.insert(z.name());
            } else if free <= min + reserve {
                self.reserve.insert(z.name());
            }
        }
    }

    /// Runs `s` on a fresh machine, calling by call as the checker does.
    fn run(&mut self, s: &Scenario) {
        let Ok(mut m) = Machine::boot(&s.boot) else {
            return;
        };
        m.log_mut().set_keep_lines(false);
        let mut env = Env::default();
        self.slot0.clear();
        let i386 = s.boot.arch == kmem::Arch::I386;
        for st in &s.stmts {
            let (mut value, mut done) = (0, 0);
            let struct_page = m.layout().struct_page_size;
            for i in 0..st.calls() {
                let (op, then) = st.call(i, struct_page);
                let out = execute(&mut m, &env, &op);
                value = out.value.unwrap_or(0);
                let page = match &*op {
                    Op::Kmap { page } | Op::PageToPhys { page } => env.eval(page, i386),
                    _ => 0,
                };
                self.call(&mut m, &op, value, page);
                if st.repeat.is_some() && value == 0 {
                    break;
                }
                done += 1;
                if let Some(op) = then {
                    execute(&mut m, &env, &op);
                }
            }
            m.take_reports();
            m.take_warnings();
            if let Some(name) = &st.bind {
                env.bind(name, if st.repeat.is_some() { done } else { value });
            }
        }
    }
}

/// Runs up to `n` seeded inputs of `cfg` until `done` holds; returns what was seen and how
/// many inputs it took. Every scenario must pass the checker too.
fn runs(cfg: &GenConfig, seed: u64, n: usize, done: impl Fn(&Seen) -> bool) -> (Seen, usize) {
    let mut seen = Seen::default();
    for (i, bytes) in common::inputs(seed, n).iter().enumerate() {
        let g = scenario_from_bytes(bytes, cfg);
        let v = check(&g.scenario);
        assert!(v.pass(), "input {i}: verdict fail\n{}{}", v.explain(), g);
        seen.run(&g.scenario);
        if done(&seen) {
            return (seen, i + 1);
        }
    }
    (seen, n)
}

fn set<const N: usize>(xs: [&'static str; N]) -> BTreeSet<&'static str> {
    xs.into_iter().collect()
}

#[test]
fn every_zonelist_runs_dry_and_every_fallback_with_its_watermark_is_taken() {
    for (words, zones, edges) in [
        (
            &["arch=i386", "mem=1G"][..],
            set(["DMA", "Normal", "HighMem"]),
            vec![("HighMem", "Normal"), ("HighMem", "DMA"), ("Normal", "DMA")],
        ),
        (
            // DMA's lowmem_reserve against the zones above it (their memory / 256) is
            // larger than DMA itself from about 3G on: nothing falls back to DMA here ...
            &["arch=x86_64", "mem=8G"][..],
            set(["DMA", "DMA32", "Normal"]),
            vec![("Normal", "DMA32")],
        ),
        (
            // ... and on a smaller machine DMA32 does.
            &["arch=x86_64", "mem=2G"][..],
            set(["DMA", "DMA32"]),
            vec![("DMA32", "DMA")],
        ),
    ] {
        let mut cfg = GenConfig::buddy();
        cfg.boot = kmem::BootConfig::parse_words(words.iter().copied()).ok();
        let edges: BTreeSet<_> = edges.into_iter().collect();
        // lowmem_reserve can only refuse a zone below the top of the zonelist.
        let below_top: BTreeSet<_> = edges.iter().map(|e| e.1).collect();
        // The rarest is DMA32 running dry on the 8G machine (911 inputs at this seed).
        let (seen, took) = runs(&cfg, 21, 1200, |s| {
            zones.is_subset(&s.dry)
                && edges.is_subset(&s.fallback)
                && zones.is_subset(&s.watermark)
                && below_top.is_subset(&s.reserve)
        });
        assert!(
            zones.is_subset(&seen.dry)
                && edges.is_subset(&seen.fallback)
                && zones.is_subset(&seen.watermark)
                && below_top.is_subset(&seen.reserve),
            "{words:?} after {took} inputs: {seen:?}"
        );
    }
}

#[test]
fn vmalloc_fails_for_want_of_address_space() {
    let mut cfg = GenConfig::vmalloc();
    cfg.boot = kmem::BootConfig::parse_words(["arch=i386", "mem=2G"]).ok();
    let (seen, took) = runs(&cfg, 22, 100, |s| s.vmalloc_no_room);
    assert!(seen.vmalloc_no_room, "after {took} inputs: {seen:?}");
}

#[test]
fn kmap_walks_flush_pkmap_slot_0_and_give_it_to_another_page() {
    // Slot 0 is first taken at the first wrap of the pkmap scan and, once kunmapped, freed
    // by the flush of the next: another page then gets it. Without PAE that takes two walks
    // over two 1024-page blocks (LAST_PKMAP 1024), with PAE one (LAST_PKMAP 512).
    for words in [
        &["arch=i386", "mem=1G"][..],
        &["arch=i386", "mem=2G", "pae=1"][..],
    ] {
        let mut cfg = GenConfig::kmap();
        cfg.boot = kmem::BootConfig::parse_words(words.iter().copied()).ok();
        let (seen, took) = runs(&cfg, 5, 60, |s| s.slot0_pages >= 2);
        assert!(
            seen.slot0_pages >= 2,
            "{words:?} after {took} inputs: slot 0 went to {} page(s) at most",
            seen.slot0_pages
        );
    }
}

#[test]
fn page_to_phys_reaches_a_page_above_4g_under_pae() {
    let mut cfg = GenConfig::buddy();
    cfg.boot = kmem::BootConfig::parse_words(["arch=i386", "mem=8G", "pae=1"]).ok();
    let (seen, took) = runs(&cfg, 9, 60, |s| s.phys_above_4g);
    assert!(
        seen.phys_above_4g,
        "after {took} inputs: no page_to_phys above 4 GiB"
    );
}
