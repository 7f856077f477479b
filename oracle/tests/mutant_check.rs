//! The fast check that mutation testing runs against every mutant of `core/` (scripts/mutants):
//! the seeded in-process checker over every fuzz target, and the whole corpus (regressions and
//! seeds). A mutant survives only if every verdict still passes and every regression still
//! shows what its reviewed replay snapshot (tests/snapshots/regressions__*.snap) shows: each
//! statement's value, and the kernel's warnings and reports line by line, none missing and
//! none added.
//!
//! The buddy target's scenarios also run, one in four, on kmem's buddy reached through the
//! free-block seam (`Buddy::with_factory`), which other mechanisms plug into.
//!
//! Two families of fixed scenarios reach what seeded ones seldom do: every zone drained to its
//! watermark on machines of many sizes, and probes one address either side of the layout's
//! edges.
//!
//! It is also an ordinary test: `cargo test --workspace` runs it with a small count. The
//! number of generated scenarios per target comes from `KMEMFUZZ_MUTANT_SCENARIOS` (default
//! 24; scripts/mutants sets more), the same seeds on every run.

use kmem_oracle::{check, check_with, parse, scenario_from_bytes, GenConfig, Options, Scenario};

/// Every fuzz target's generator configuration (the scenario_parser target checks no kernel).
fn targets() -> Vec<(&'static str, GenConfig)> {
    GenConfig::targets()
}

fn scenarios_per_target() -> usize {
    std::env::var("KMEMFUZZ_MUTANT_SCENARIOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// splitmix64 bytes: input `i` of a target is the same on every run.
fn input(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend((z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn judge(what: &str, s: &Scenario) {
    judge_on(what, s, &|z, r| Box::new(kmem::Buddy::new(z, r)));
}

/// The same check on kmem's buddy reached through the free-block seam, as another
/// mechanism plugs in (`Buddy::with_factory`), so the seam's own code runs too.
fn judge_boxed(what: &str, s: &Scenario) {
    judge_on(what, s, &|z, r| {
        Box::new(kmem::Buddy::with_factory(z, r, &|span, runs| {
            Box::new(kmem::FreeAreas::new(span, runs))
        }))
    });
}

fn judge_on(what: &str, s: &Scenario, make: kmem_oracle::checker::AllocatorFactory<'_>) {
    let v = check_with(
        s,
        Options {
            record_steps: false,
        },
        make,
    );
    assert!(v.pass(), "{what}: verdict fail\n{}{s}", v.explain());
}

fn corpus_dir(sub: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(sub)
}

fn files(sub: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(corpus_dir(sub))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

#[test]
fn every_regression_passes() {
    let regs: Vec<_> = files("regressions")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "kmem"))
        .collect();
    assert!(regs.len() > 10, "corpus/regressions/ not found");
    for p in regs {
        let text = std::fs::read_to_string(&p).expect("read a regression");
        let s = parse(&text).unwrap_or_else(|e| panic!("{}:{e}", p.display()));
        let v = check(&s);
        assert!(v.pass(), "{}: verdict fail\n{}", p.display(), v.explain());
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let i386 = s.boot.arch == kmem::Arch::I386;
        if let Err(e) = same_output(&shown_lines(&v, i386), &snapshot(name)) {
            panic!("{}: the replay differs from its snapshot: {e}", p.display());
        }
    }
}

/// The replay snapshot of a regression (tests/regressions.rs writes and reviews them), without
/// insta's header and the boot line.
fn snapshot(name: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/snapshots")
        .join(format!("regressions__{name}.snap"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (see tests/regressions.rs)", path.display()));
    text.lines()
        .skip_while(|l| *l != "---")
        .skip(1)
        .skip_while(|l| *l != "---")
        .skip(2)
        .map(str::to_owned)
        .collect()
}

/// The lines of the replay text (src/render.rs) that come from the machine: every statement
/// with its value, the bytes a read returned, its warnings, and its reports with their kinds.
fn shown_lines(v: &kmem_oracle::Verdict, i386: bool) -> Vec<String> {
    let mut out = vec![];
    for st in &v.steps {
        let mut head = format!("{:>4}: {}", st.line, st.text);
        if let Some(x) = st.value {
            head.push_str(&format!("  -> {x:#x}"));
        }
        out.push(head);
        if let Some(r) = &st.read {
            let shown = kmem_oracle::ReadBytes::SHOWN;
            out.extend(r.hex_dump(i386, shown).iter().map(|l| format!("      {l}")));
        }
        for w in &st.warnings {
            out.extend(w.lines().map(|l| format!("      {l}")));
        }
        for r in &st.reports {
            out.push(format!("      [{}]", r.kind));
            out.extend(r.text.lines().map(|l| format!("      {l}")));
        }
        // A run of one silenced report shows as its kind and kmemfuzz's line about it.
        let mut last = None;
        for q in &st.silenced {
            if last != Some(q) {
                out.push(format!("      [{}]", q.kind));
            }
            last = Some(q);
        }
    }
    out
}

/// Whether the replay text `have` (a snapshot) shows exactly the lines `want`, in order,
/// besides the lines only kmemfuzz adds (src/render.rs): its own `kmemfuzz:` notes, the
/// misuse, taint and verdict lines.
fn same_output(want: &[String], have: &[String]) -> Result<(), String> {
    let mut want = want.iter().peekable();
    for h in have {
        match want.peek() {
            Some(w) if w.trim_end() == h.trim_end() => {
                want.next();
            }
            _ if kmemfuzz_only(h) => {}
            Some(w) => return Err(format!("it shows\n{w}\nwhere the snapshot has\n{h}")),
            None => return Err(format!("it ends where the snapshot has\n{h}")),
        }
    }
    match want.next() {
        Some(w) => Err(format!("it shows\n{w}\nafter the snapshot's end")),
        None => Ok(()),
    }
}

/// A line of the replay text that kmemfuzz writes itself, not the machine.
fn kmemfuzz_only(l: &str) -> bool {
    if ["misuse: ", "tainted: ", "verdict: ", "  line "]
        .iter()
        .any(|p| l.starts_with(p))
    {
        return true;
    }
    l.strip_prefix("      ")
        .is_some_and(|rest| rest.starts_with("kmemfuzz: "))
}

#[test]
fn every_seed_passes() {
    for (name, cfg) in targets() {
        let seeds = files(name);
        assert!(!seeds.is_empty(), "corpus/{name}/ has no seeds");
        for p in seeds {
            let bytes = std::fs::read(&p).expect("read a seed");
            judge(
                &p.display().to_string(),
                &scenario_from_bytes(&bytes, &cfg).scenario,
            );
        }
    }
}

#[test]
fn seeded_scenarios_of_every_target_pass() {
    let n = scenarios_per_target();
    for (t, (name, cfg)) in targets().into_iter().enumerate() {
        let mut heavy = cfg.clone();
        heavy.misuse_percent = 40;
        for i in 0..n {
            let seed = ((t as u64) << 32) | i as u64;
            let len = 256 + (seed.wrapping_mul(2654435761) % 2048) as usize;
            let bytes = input(seed, len);
            // One scenario in three is misuse-heavy, so the report paths are exercised too.
            let c = if i % 3 == 2 { &heavy } else { &cfg };
            let s = scenario_from_bytes(&bytes, c).scenario;
            judge(&format!("{name} scenario {i}"), &s);
            if name == "buddy" && i % 4 == 0 {
                judge_boxed(&format!("{name} scenario {i} through the seam"), &s);
            }
        }
    }
}

/// The zone policy at its boundaries, on machines of many sizes (some off the generator's
/// list, and odd ones: the watermarks' rounding depends on the exact size): for each zone
/// mask, blocks of every order from MAX_PAGE_ORDER down to 0 until each returns NULL, so
/// every zone the mask may use ends at the watermark it must respect (min_free_kbytes, each
/// zone's share, HighMem's own minimum, the __GFP_HIGH discounts, lowmem_reserve). The rules
/// judge every call exactly, so a watermark a page off or another fallback order fails here
/// on the machines where it shows; then slabs past the watermark, which GFP_ATOMIC may
/// still take. Seeded scenarios reach these boundaries only now and then.
#[test]
fn every_zone_drains_to_its_watermark() {
    const BOOTS: [&str; 16] = [
        "arch=i386 mem=16M",
        "arch=i386 mem=23M",
        "arch=i386 mem=100M",
        "arch=i386 mem=333M",
        "arch=i386 mem=896M",
        "arch=i386 mem=1G",
        "arch=i386 mem=1100M",
        "arch=i386 mem=1500M",
        "arch=i386 mem=2G",
        "arch=i386 mem=4G",
        "arch=i386 mem=5G pae=1",
        "arch=x86_64 mem=16M",
        "arch=x86_64 mem=1G",
        "arch=x86_64 mem=3001M",
        "arch=x86_64 mem=5G",
        "arch=x86_64 mem=8G",
    ];
    const MASKS: [&str; 7] = [
        "GFP_KERNEL",
        "GFP_HIGHUSER",
        "GFP_KERNEL|GFP_DMA",
        "GFP_KERNEL|GFP_DMA32",
        "GFP_ATOMIC",
        "GFP_NOWAIT|__GFP_HIGHMEM",
        "GFP_KERNEL|__GFP_HIGH",
    ];
    let drain = |mask: &str| {
        (0..=10)
            .rev()
            .map(|order| format!("repeat 1048576 alloc_pages {mask} {order}\n"))
            .collect::<String>()
    };
    for boot in BOOTS {
        for mask in MASKS {
            judge_text(&format!("boot {boot}\n{}", drain(mask)));
        }
        // Slabs past GFP_KERNEL's watermark: GFP_ATOMIC's new slabs may still dip below it
        // (the caller's __GFP_HIGH reaches the slab's page allocation), a __GFP_NOWARN
        // kmalloc's too.
        judge_text(&format!(
            "boot {boot}\nc = kmem_cache_create drain 4096 0 0\nk = kmalloc 4096 GFP_KERNEL\n{}\
             repeat 1048576 kmem_cache_alloc c GFP_ATOMIC\n\
             repeat 1048576 kmalloc 4096 GFP_ATOMIC|__GFP_NOWARN\n",
            drain("GFP_KERNEL")
        ));
        // A sleeping __GFP_HIGH cache allocation past it: new_slab()'s first try at the
        // cache's order (3) goes without reclaim but with __GFP_NOMEMALLOC, so it earns
        // __GFP_HIGH's half of the min watermark and not the non-blocking quarter more.
        judge_text(&format!(
            "boot {boot}\nc = kmem_cache_create drain 4096 0 0\n{}\
             repeat 1048576 kmem_cache_alloc c GFP_KERNEL|__GFP_HIGH\n",
            drain("GFP_KERNEL")
        ));
    }
}

/// The layout's edges, on each kernel profile: every address on either side of the direct
/// map's, the vmalloc area's and the pkmap area's bounds, asked of is_vmalloc_addr() and then
/// of virt_to_phys() or vmalloc_to_page() (whose DEBUG_VIRTUAL checks BUG at the first wrong
/// side, so each probe is a scenario of its own), and the struct pages at the ends of lowmem
/// and of memory through the translations and kmaps. The checker compares the machine's areas
/// with its own at boot; these probe the machine's tests against them, one address off.
#[test]
fn every_layout_edge_is_judged() {
    const BOOTS: [&str; 6] = [
        "arch=i386",
        "arch=i386 mem=700M",
        "arch=i386 mem=4G",
        "arch=i386 mem=8G pae=1",
        "arch=i386 mem=1G kernel=2.6",
        "arch=x86_64 mem=1G",
    ];
    for boot in BOOTS {
        let words = boot.split(' ').collect::<Vec<_>>();
        let cfg = kmem::BootConfig::parse_words(words.iter().copied()).expect("a boot line");
        let l = kmem::layout::Layout::new(&cfg);
        let pkmap_end = l.pkmap_base + l.last_pkmap * kmem::PAGE_SIZE;
        let mut edges = vec![l.page_offset, l.high_memory, l.vmalloc_start, l.vmalloc_end];
        if l.last_pkmap != 0 {
            edges.extend([l.pkmap_base, pkmap_end]);
        }
        for edge in edges {
            for addr in [edge - 1, edge] {
                for (debug, probe) in [
                    (1, "virt_to_phys"),
                    (1, "vmalloc_to_page"),
                    (0, "virt_to_phys"),
                ] {
                    let text = format!(
                        "boot {boot} debug_virtual={debug}\nis_vmalloc_addr {addr:#x}\n{probe} {addr:#x}\n"
                    );
                    judge_text(&text);
                }
            }
        }
        // The struct pages on either side of lowmem's end and of the last page: a pointer
        // one past mem_map's last entry is no page.
        for pfn in [l.max_low_pfn - 1, l.max_low_pfn, l.max_pfn - 1, l.max_pfn] {
            let page = l.mem_map + pfn * l.struct_page_size;
            for probe in ["page_address", "page_to_phys", "kmap", "kmap_atomic"] {
                judge_text(&format!("boot {boot}\n{probe} {page:#x}\n"));
            }
        }
    }
}

/// Parses and checks a scenario's text; the verdict must pass.
fn judge_text(text: &str) {
    let s = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let v = check(&s);
    assert!(v.pass(), "verdict fail\n{}{text}", v.explain());
}
