//! The generator: any byte string decodes to a meaningful scenario.
//!
//! The generator keeps a list of what each statement returned (pages with their order,
//! addresses with their size, caches, pools, mappings) and refers to earlier results by
//! picking from that list, so a scenario frees, touches and translates what it allocated.
//! Names say what they hold and where they came from: `p3` is the page returned by statement
//! 3 (counting from 0), `a4` an address from the page allocator, `c5` a cache, `obj6` a slab
//! object, `k7` a kmalloc object, `v8` a vmalloc or vmap area, `m9` a kmap address, `pool10`
//! a mempool, `e11` a mempool element, `phys12` a physical address.
//!
//! By default the client is well behaved: in-bounds accesses to live memory, frees with the
//! right order and cache, balanced sections, GFP_ATOMIC inside atomic sections. With
//! probability `misuse_percent` per operation it instead injects one [`Misuse`] that the
//! scenario so far allows, and records it.

mod applicable;
mod boot;
mod choose;
pub mod extremes;
mod inject;
mod input;
mod misuse;
mod ops;
mod stale;
mod state;
mod steps;

use std::fmt;

use arbitrary::Unstructured;

use super::ast::Scenario;
use super::kind::Family;
use state::Gen;

pub use choose::Draw;
pub use input::{
    BuddyInput, KernelInput, KmallocInput, KmapInput, MempoolInput, SlabInput, VmallocInput,
};
pub use misuse::Misuse;
pub use steps::Steps;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenConfig {
    /// The families whose functions may be called.
    pub families: Vec<Family>,
    /// The chance, in percent, that an operation is a deliberate misuse.
    pub misuse_percent: u8,
    /// How many operations to generate at most; sections still open at the end are then
    /// closed, which may add a few statements.
    pub max_ops: usize,
    /// The chance, in percent, of booting x86_64 rather than i386.
    pub x86_64_percent: u8,
    /// Whether to turn on random debug options (slub_debug, page_poison, ...).
    pub debug_options: bool,
    /// A fixed boot configuration instead of a generated one.
    pub boot: Option<kmem_vocab::BootConfig>,
    /// The chance, in percent, that a scenario runs memory out (a `repeat` until NULL) at
    /// some point; from then on its allocations are probes.
    pub exhaust_percent: u8,
}

impl GenConfig {
    /// A configuration with these families and the default rates.
    pub fn new(families: &[Family]) -> Self {
        GenConfig {
            families: families.to_vec(),
            misuse_percent: 5,
            max_ops: 64,
            x86_64_percent: 15,
            debug_options: true,
            boot: None,
            exhaust_percent: 6,
        }
    }

    /// The buddy allocator: pages, translation, context, access.
    pub fn buddy() -> Self {
        use Family::*;
        GenConfig::new(&[Pages, Translate, Context, Access])
    }

    pub fn slab() -> Self {
        use Family::*;
        GenConfig::new(&[Slab, Translate, Context, Access])
    }

    pub fn kmalloc() -> Self {
        use Family::*;
        GenConfig::new(&[Kmalloc, Translate, Context, Access])
    }

    /// Mempools, with slab caches to build slab pools on.
    pub fn mempool() -> Self {
        use Family::*;
        GenConfig::new(&[Mempool, Slab, Translate, Context, Access])
    }

    /// vmalloc, with pages to vmap.
    pub fn vmalloc() -> Self {
        use Family::*;
        GenConfig::new(&[Vmalloc, Pages, Translate, Context, Access])
    }

    /// Highmem mappings, with pages to map.
    pub fn kmap() -> Self {
        use Family::*;
        GenConfig::new(&[Highmem, Pages, Translate, Context, Access])
    }

    /// Every family.
    pub fn kernel() -> Self {
        GenConfig::new(&Family::ALL)
    }

    /// Every kernel fuzz target's configuration, by the target's name.
    pub fn targets() -> Vec<(&'static str, GenConfig)> {
        vec![
            ("buddy", GenConfig::buddy()),
            ("slab", GenConfig::slab()),
            ("kmalloc", GenConfig::kmalloc()),
            ("mempool", GenConfig::mempool()),
            ("vmalloc", GenConfig::vmalloc()),
            ("kmap", GenConfig::kmap()),
            ("kernel", GenConfig::kernel()),
        ]
    }
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig::kernel()
    }
}

/// A generated scenario and the misuse injected into it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generated {
    pub scenario: Scenario,
    /// Each misuse injected, in order.
    pub misuse: Vec<Misuse>,
    /// The line of each misuse in `misuse` (parallel to it): the statement that misbehaves.
    pub misuse_lines: Vec<u32>,
}

impl Generated {
    /// (line, misuse) pairs.
    pub fn misuse_at(&self) -> impl Iterator<Item = (u32, Misuse)> + '_ {
        self.misuse_lines
            .iter()
            .copied()
            .zip(self.misuse.iter().copied())
    }
}

/// The scenario text, then one `# misuse: LINE KIND` comment per injected misuse, so that the
/// whole is still a scenario.
impl fmt::Display for Generated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.scenario.fmt(f)?;
        for (line, m) in self.misuse_at() {
            writeln!(f, "# misuse: line {line}: {m}")?;
        }
        Ok(())
    }
}

/// Generates a scenario from the fuzzer's bytes. Running out of bytes ends the scenario early
/// (what was built so far is returned), so in practice this never fails.
pub fn generate(u: &mut Unstructured<'_>, cfg: &GenConfig) -> arbitrary::Result<Generated> {
    let all = u.len();
    let mut b = choose::Bytes {
        rest: u.peek_bytes(all).unwrap_or_default(),
    };
    let generated = begin(&mut b, cfg).map(|mut g| {
        // An error only means the bytes ran out: keep what was built.
        let _ = run(&mut g, &mut b);
        finish(g)
    });
    // What was drawn is taken from `u`, as if drawn from it.
    u.bytes(all.saturating_sub(b.rest.len()))?;
    generated
}

/// The boot line and whether memory will run out: the draws before the first statement.
fn begin<'c>(u: &mut impl Draw, cfg: &'c GenConfig) -> arbitrary::Result<Gen<'c>> {
    let boot = boot::boot(u, cfg).unwrap_or_default();
    let mut g = Gen::new(cfg, boot);
    g.exhaust_planned = cfg.exhaust_percent > 0 && choose::chance(u, cfg.exhaust_percent)?;
    Ok(g)
}

/// Closes the sections still open and hands the scenario over.
fn finish(mut g: Gen<'_>) -> Generated {
    while g.close_top().is_some() {}
    let (misuse_lines, misuse) = g.misuse.iter().copied().unzip();
    Generated {
        scenario: Scenario {
            boot: g.boot,
            stmts: g.stmts,
        },
        misuse,
        misuse_lines,
    }
}

fn run(g: &mut Gen<'_>, u: &mut impl Draw) -> arbitrary::Result<()> {
    while room(g) && !u.is_empty() {
        if !turn(g, u)? {
            break;
        }
    }
    Ok(())
}

/// Whether the scenario has room for another statement.
fn room(g: &Gen<'_>) -> bool {
    g.stmts.len().saturating_add(g.ctx.len()) < g.cfg.max_ops
}

/// One turn of the generator: a misuse now and then, else a well-behaved operation. False
/// when no operation is possible (the scenario ends).
fn turn(g: &mut Gen<'_>, u: &mut impl Draw) -> arbitrary::Result<bool> {
    let room = g.stmts.len().saturating_add(g.ctx.len()).saturating_add(3) <= g.cfg.max_ops;
    if room && g.cfg.misuse_percent > 0 && choose::chance(u, g.cfg.misuse_percent)? {
        g.refresh();
        if let Some(m) = choose::one_of(u, g.applicable().as_slice())? {
            if g.inject(u, m)? {
                return Ok(true);
            }
        }
    }
    let Some(a) = g.choose_action(u)? else {
        return Ok(false);
    };
    g.act(u, a)?;
    Ok(true)
}

/// The scenario these bytes decode to.
pub fn scenario_from_bytes(data: &[u8], cfg: &GenConfig) -> Generated {
    generate(&mut Unstructured::new(data), cfg).unwrap_or_default()
}
