//! What the generator knows about the scenario it is writing: every result it bound (its
//! handles), which of them are still live, the open atomic sections and kmaps, and a memory
//! budget that keeps allocations from running the machine dry.

use kmem_vocab::{Arch, BootConfig, PAGE_SIZE};

use super::super::ast::{printed_line, Name, Op, Operand, Stmt};
use super::super::kind::Family;
use super::extremes::Limits;
use super::ops::KeptMasks;
use super::{GenConfig, Misuse};

/// The lifetime of a handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    Live,
    /// Freed the way it was allocated: touching or freeing it again is a misuse.
    Freed,
    /// Its state is not known any more (moved by krealloc, freed wrongly): never used again.
    Gone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapHow {
    Kmap,
    Atomic,
    Local,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Kmalloc { size: u64 },
    Slab { cache: usize, size: u32 },
    Page { order: u32 },
}

/// What a handle holds. Views (`PageView`, `AddrView`, `Phys`) are translations of an owning
/// handle `of` and live as long as it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `alloc_pages`: a `struct page` owning `1 << order` pages.
    Pages {
        order: u32,
        high: bool,
    },
    /// `__get_free_pages` and friends: a direct-map address owning `1 << order` pages.
    FreePages {
        order: u32,
    },
    Cache {
        size: u32,
        ctor: bool,
    },
    SlabObj {
        cache: usize,
        size: u32,
    },
    Kmalloc {
        size: u64,
    },
    Vmalloc {
        size: u64,
        low: bool,
    },
    /// A `vmap` of these page handles, one page each.
    Vmap {
        pages: Vec<usize>,
    },
    /// The address of a mapped page (`page` is the page handle).
    Kmap {
        page: usize,
        how: MapHow,
        high: bool,
    },
    Pool {
        kind: PoolKind,
    },
    /// A mempool element: `order` is `Some` for a page pool, whose elements are pages.
    PoolElem {
        pool: usize,
        size: u64,
        order: Option<u32>,
    },
    /// A `struct page` found by translation; `whole` when `of` owns the whole page.
    PageView {
        of: usize,
        high: bool,
        whole: bool,
    },
    /// A direct-map address found by translation, `size` bytes of it usable.
    AddrView {
        of: usize,
        size: u64,
    },
    /// A physical address of `of`, `size` bytes from it usable; `low` when in the direct map.
    Phys {
        of: usize,
        size: u64,
        low: bool,
    },
}

impl Kind {
    /// Whether a call that returns this kind of result allocates memory, and so may return
    /// NULL once memory is scarce.
    pub fn allocates(&self) -> bool {
        matches!(
            self,
            Kind::Pages { .. }
                | Kind::FreePages { .. }
                | Kind::Cache { .. }
                | Kind::SlabObj { .. }
                | Kind::Kmalloc { .. }
                | Kind::Vmalloc { .. }
                | Kind::Vmap { .. }
                | Kind::Pool { .. }
                | Kind::PoolElem { .. }
        )
    }

    /// The prefix of the names bound to this kind of result.
    fn prefix(&self) -> &'static str {
        match self {
            Kind::Pages { .. } | Kind::PageView { .. } => "p",
            Kind::FreePages { .. } | Kind::AddrView { .. } => "a",
            Kind::Cache { .. } => "c",
            Kind::SlabObj { .. } => "obj",
            Kind::Kmalloc { .. } => "k",
            Kind::Vmalloc { .. } | Kind::Vmap { .. } => "v",
            Kind::Kmap { .. } => "m",
            Kind::Pool { .. } => "pool",
            Kind::PoolElem { .. } => "e",
            Kind::Phys { .. } => "phys",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Handle {
    /// The name the result is bound to: its kind's prefix and the number of the statement
    /// (counting from 0) that bound it (`p3`, `a4`: [`Gen::name`]); empty for a result never
    /// bound to a name.
    pub name: Name,
    pub kind: Kind,
    pub life: Life,
    /// Bytes charged to the budget while live.
    pub bytes: u64,
    /// Live counts of what depends on this handle, kept by [`Gen::bind`] and
    /// [`Gen::release`]: mappings (kmap, kmap_atomic, kmap_local_page, vmap) of its pages,
    /// `kmap` mappings alone, slab objects or pool elements out of it, slab pools over it.
    pub pins: u32,
    pub kmaps: u32,
    pub children: u32,
    pub pools: u32,
}

/// What [`Gen::link`] counts on a handle.
#[derive(Clone, Copy)]
enum Count {
    Pins,
    Kmaps,
    Children,
    Pools,
}

/// An open section, closed in LIFO order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    Spin,
    IrqOff,
    Hardirq,
    Bh,
    Preempt,
    /// A `kmap_atomic` or `kmap_local_page` mapping: the Kmap handle.
    Map(usize, MapHow),
}

/// The bytes of `1 << order` pages.
pub fn order_bytes(order: u32) -> u64 {
    1u64.checked_shl(order)
        .map_or(u64::MAX, |n| n.saturating_mul(PAGE_SIZE))
}

/// The most sections open at once.
pub const MAX_CTX: usize = 6;

#[derive(Clone)]
pub struct Gen<'c> {
    pub cfg: &'c GenConfig,
    /// `cfg.families`, one bit each (see [`family_bit`]).
    families: u32,
    pub boot: BootConfig,
    /// i386 with more than 896 MiB: `__GFP_HIGHMEM` allocations give highmem pages.
    pub has_highmem: bool,
    pub stmts: Vec<Stmt>,
    /// Every handle bound so far. Read anywhere in the generator, changed only here (bind,
    /// gone, repeat, release), each change marking the candidate masks stale.
    pub(super) handles: Vec<Handle>,
    /// The handles a candidate set may hold, in handle order: every view (whose liveness
    /// is its owner's) and every other handle while it is live. Candidate scans walk this
    /// rather than every handle ever bound.
    pub(super) scan: Vec<usize>,
    /// The candidate sets each handle of `scan` is in (parallel to it) and their counts,
    /// valid while `fresh` (see `ops::cands`).
    pub(super) kept: KeptMasks,
    pub(super) fresh: bool,
    /// The handles whose masks a change may have changed since they were computed; when
    /// `all_stale`, any may have.
    pub(super) stale: Vec<usize>,
    pub(super) all_stale: bool,
    pub ctx: Vec<Ctx>,
    pub misuse: Vec<(u32, Misuse)>,
    pub live_bytes: u64,
    pub budget: u64,
    /// Set once a statement may have exhausted memory (a `repeat` until NULL, an allocation
    /// of an extreme size): from then on an allocation may return NULL, so its result is
    /// not bound to a handle (only the call is judged).
    pub scarce: bool,
    /// Whether this scenario exhausts memory at some point (drawn once at the start).
    pub exhaust_planned: bool,
    /// How many drains (small repeats once memory is scarce) the scenario made.
    pub drains: u32,
    /// The machine's limits: the largest sizes, the memory, the vmalloc space.
    pub limits: Limits,
    /// A vmalloc or vmap area was freed since the last `vm_unmap_aliases`: its range waits
    /// on the lazy purge list.
    pub vm_lazy: bool,
}

impl<'c> Gen<'c> {
    pub fn new(cfg: &'c GenConfig, boot: BootConfig) -> Self {
        let lowmem = match boot.arch {
            Arch::I386 => boot.mem.min(896 << 20),
            Arch::X86_64 => boot.mem,
        };
        let limits = Limits::new(&boot);
        Gen {
            cfg,
            families: cfg.families.iter().fold(0, |m, &f| m | family_bit(f)),
            has_highmem: boot.arch == Arch::I386 && boot.mem > 896 << 20,
            boot,
            // Room for every statement and handle a scenario usually has.
            stmts: Vec::with_capacity(cfg.max_ops.saturating_add(8).min(256)),
            handles: Vec::with_capacity(cfg.max_ops.min(256)),
            scan: Vec::with_capacity(cfg.max_ops.min(256)),
            kept: KeptMasks::with_capacity(cfg.max_ops.min(256)),
            fresh: false,
            stale: Vec::new(),
            all_stale: true,
            ctx: Vec::new(),
            misuse: Vec::new(),
            live_bytes: 0,
            budget: lowmem / 4,
            scarce: false,
            exhaust_planned: false,
            drains: 0,
            limits,
            vm_lazy: false,
        }
    }

    pub fn on(&self, f: Family) -> bool {
        self.families & family_bit(f) != 0
    }

    /// Whether sleeping is forbidden: a lock, interrupts off, an interrupt, softirqs off,
    /// preemption off or a kmap_atomic is open.
    pub fn atomic(&self) -> bool {
        self.ctx
            .iter()
            .any(|c| !matches!(c, Ctx::Map(_, MapHow::Local)))
    }

    /// Whether an interrupt handler (hardirq) or a bh-disabled section is open:
    /// in_interrupt().
    pub fn in_interrupt(&self) -> bool {
        self.ctx.iter().any(|c| matches!(c, Ctx::Hardirq | Ctx::Bh))
    }

    pub fn fits(&self, bytes: u64) -> bool {
        self.live_bytes.saturating_add(bytes) <= self.budget
    }

    pub fn get(&self, i: usize) -> Option<&Handle> {
        self.handles.get(i)
    }

    pub fn kind(&self, i: usize) -> Option<&Kind> {
        self.handles.get(i).map(|h| &h.kind)
    }

    pub fn name(&self, i: usize) -> Name {
        self.get(i).map(|h| h.name.clone()).unwrap_or_default()
    }

    /// The operand naming handle `i`, `offset` bytes in.
    pub fn at(&self, i: usize, offset: i64) -> Operand {
        Operand::Name {
            name: self.name(i),
            offset,
        }
    }

    pub fn operand(&self, i: usize) -> Operand {
        self.at(i, 0)
    }

    /// The handle that owns `i`: itself, or what a view translates.
    pub fn root(&self, i: usize) -> usize {
        match self.kind(i) {
            Some(Kind::PageView { of, .. } | Kind::AddrView { of, .. } | Kind::Phys { of, .. }) => {
                *of
            }
            _ => i,
        }
    }

    fn life(&self, i: usize) -> Life {
        self.get(i).map_or(Life::Gone, |h| h.life)
    }

    /// The life of what `i` refers to: a view's owner's, a mapping's own and its page's.
    pub fn life_of(&self, i: usize) -> Life {
        let r = self.root(i);
        match self.kind(r) {
            Some(Kind::Kmap { page, .. }) => match (self.life(r), self.life(self.root(*page))) {
                (Life::Live, Life::Live) => Life::Live,
                (Life::Live, _) | (_, Life::Gone) | (Life::Gone, _) => Life::Gone,
                (Life::Freed, _) => Life::Freed,
            },
            _ => self.life(r),
        }
    }

    pub fn alive(&self, i: usize) -> bool {
        self.life_of(i) == Life::Live
    }

    /// For a page handle: whether it may be in highmem, and how many bytes from it belong to
    /// its owner (0 when the page is shared, e.g. a slab page).
    pub fn page_like(&self, i: usize) -> Option<(bool, u64)> {
        match self.kind(i)? {
            Kind::Pages { order, high } => Some((*high, order_bytes(*order))),
            Kind::PoolElem {
                order: Some(order), ..
            } => Some((false, order_bytes(*order))),
            Kind::PageView { high, whole, .. } => Some((*high, if *whole { PAGE_SIZE } else { 0 })),
            _ => None,
        }
    }

    /// For an address handle: how many bytes from it may be touched.
    pub fn addr_size(&self, i: usize) -> Option<u64> {
        Some(match self.kind(i)? {
            Kind::FreePages { order } => order_bytes(*order),
            Kind::SlabObj { size, .. } => u64::from(*size),
            Kind::Kmalloc { size } | Kind::Vmalloc { size, .. } | Kind::AddrView { size, .. } => {
                *size
            }
            Kind::Vmap { pages } => PAGE_SIZE.saturating_mul(u64::try_from(pages.len()).ok()?),
            Kind::Kmap { .. } => PAGE_SIZE,
            Kind::PoolElem {
                size, order: None, ..
            } => *size,
            _ => return None,
        })
    }

    /// Whether the address is in the direct map, where virt_to_phys is valid.
    pub fn is_linear(&self, i: usize) -> bool {
        match self.kind(i) {
            Some(
                Kind::FreePages { .. }
                | Kind::SlabObj { .. }
                | Kind::Kmalloc { .. }
                | Kind::AddrView { .. }
                | Kind::PoolElem { order: None, .. },
            ) => true,
            Some(Kind::Kmap { high, .. }) => !high,
            _ => false,
        }
    }

    /// Whether the address is in the vmalloc area.
    pub fn is_vmalloc_area(&self, i: usize) -> bool {
        matches!(self.kind(i), Some(Kind::Vmalloc { .. } | Kind::Vmap { .. }))
    }

    /// Whether the address owns whole pages from its start (so a translation to its page may
    /// be mapped and touched).
    pub fn owns_whole_page(&self, i: usize) -> bool {
        let owner_has_pages = matches!(
            self.kind(self.root(i)),
            Some(
                Kind::Pages { .. }
                    | Kind::FreePages { .. }
                    | Kind::Vmalloc { .. }
                    | Kind::PoolElem { order: Some(_), .. }
            )
        );
        owner_has_pages && self.addr_size(i).is_some_and(|s| s >= PAGE_SIZE)
    }

    /// Whether page handle `i`'s owner is mapped by a live `kmap`.
    pub fn kmapped(&self, i: usize) -> bool {
        self.get(self.root(i)).is_some_and(|h| h.kmaps > 0)
    }

    /// Whether cache `c` has live objects.
    pub fn cache_has_objects(&self, c: usize) -> bool {
        self.get(c).is_some_and(|h| h.children > 0)
    }

    /// Whether a live slab pool is built over cache `c`.
    pub fn cache_has_pool(&self, c: usize) -> bool {
        self.get(c).is_some_and(|h| h.pools > 0)
    }

    /// Whether cache `c` has live objects or a live pool over it.
    pub fn cache_busy(&self, c: usize) -> bool {
        self.cache_has_objects(c) || self.cache_has_pool(c)
    }

    /// Whether pool `p` has elements out.
    pub fn pool_busy(&self, p: usize) -> bool {
        self.get(p).is_some_and(|h| h.children > 0)
    }

    /// Counts live handle `i` in (`up`) or out of the handles it depends on.
    fn link(&mut self, i: usize, up: bool) {
        match self.kind(i) {
            Some(&Kind::Kmap { page, how, .. }) => {
                let r = self.root(page);
                self.count(r, Count::Pins, up);
                if how == MapHow::Kmap {
                    self.count(r, Count::Kmaps, up);
                }
            }
            Some(Kind::Vmap { pages }) => {
                for k in 0..pages.len() {
                    let page = match self.kind(i) {
                        Some(Kind::Vmap { pages }) => pages.get(k).copied(),
                        _ => None,
                    };
                    if let Some(p) = page {
                        let r = self.root(p);
                        self.count(r, Count::Pins, up);
                    }
                }
            }
            Some(&Kind::SlabObj { cache, .. }) => self.count(cache, Count::Children, up),
            Some(&Kind::PoolElem { pool, .. }) => self.count(pool, Count::Children, up),
            Some(&Kind::Pool {
                kind: PoolKind::Slab { cache, .. },
            }) => self.count(cache, Count::Pools, up),
            _ => {}
        }
    }

    /// Counts one more (`up`) or one fewer of what depends on handle `t`.
    fn count(&mut self, t: usize, count: Count, up: bool) {
        match count {
            // Whether a page is kmapped is asked of its views too (they share its owner's
            // count).
            Count::Kmaps => self.touched_with_dependents(t),
            _ => self.touched(t),
        }
        if let Some(h) = self.handles.get_mut(t) {
            let n = match count {
                Count::Pins => &mut h.pins,
                Count::Kmaps => &mut h.kmaps,
                Count::Children => &mut h.children,
                Count::Pools => &mut h.pools,
            };
            *n = match up {
                true => n.saturating_add(1),
                false => n.saturating_sub(1),
            };
        }
    }

    /// Every handle index for which `pred` holds.
    pub fn find(&self, pred: impl Fn(usize, &Handle) -> bool) -> Vec<usize> {
        self.handles
            .iter()
            .enumerate()
            .filter(|&(i, h)| pred(i, h))
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether `pred` holds for any handle.
    pub fn any(&self, pred: impl Fn(usize, &Handle) -> bool) -> bool {
        self.handles.iter().enumerate().any(|(i, h)| pred(i, h))
    }

    /// Appends a statement; returns its line.
    pub fn emit(&mut self, bind: Option<Name>, op: Op) -> u32 {
        let line = printed_line(self.stmts.len());
        self.stmts.push(Stmt {
            line,
            col: 1,
            bind,
            op,
            repeat: None,
            walk: false,
        });
        line
    }

    /// Appends a statement whose result is bound to a new handle charged `bytes`. Once
    /// memory is scarce, an allocation is a probe: the call is made, its result may be
    /// NULL, and the handle is born gone (never used, never freed).
    pub fn bind(&mut self, op: Op, kind: Kind, bytes: u64) -> usize {
        if kind.allocates() && (self.scarce || !self.fits(bytes)) {
            // An allocation beyond the budget may succeed and hold the memory it took
            // for good: from here on any allocation may fail.
            self.scarce = true;
            self.emit(None, op);
            return self.gone(kind);
        }
        let stmt = self.stmts.len();
        let name = handle_name(kind.prefix(), stmt);
        self.emit(Some(name.clone()), op);
        self.live_bytes = self.live_bytes.saturating_add(bytes);
        self.handles.push(Handle {
            name,
            kind,
            life: Life::Live,
            bytes,
            pins: 0,
            kmaps: 0,
            children: 0,
            pools: 0,
        });
        let i = self.handles.len() - 1;
        self.scan.push(i);
        if !self.all_stale {
            self.kept.push(0);
        }
        self.touched(i);
        self.link(i, true);
        i
    }

    /// A handle that refers to nothing usable: the result of a probe.
    pub fn gone(&mut self, kind: Kind) -> usize {
        self.touched_all();
        self.handles.push(Handle {
            name: Name::default(),
            kind,
            life: Life::Gone,
            bytes: 0,
            pins: 0,
            kmaps: 0,
            children: 0,
            pools: 0,
        });
        self.handles.len() - 1
    }

    /// Appends `repeat n OP`: what the calls return is kept and never used; the objects or
    /// elements it takes from cache or pool `from` keep that busy for good, and the
    /// mappings of page `from` keep it from being freed.
    pub fn repeat(&mut self, n: u32, op: Op, from: Option<usize>) -> u32 {
        let vmap = matches!(op, Op::Vmap { .. });
        let line = self.emit(None, op);
        if let Some(s) = self.stmts.last_mut() {
            s.repeat = Some(n);
        }
        if let Some(c) = from {
            self.touched(c);
        }
        if let Some(h) = from.and_then(|c| self.handles.get_mut(c)) {
            if vmap {
                h.pins = h.pins.saturating_add(1);
            } else {
                h.children = h.children.saturating_add(1);
            }
        }
        line
    }

    /// Marks `i` freed (or gone) and returns its bytes to the budget.
    pub fn release(&mut self, i: usize, life: Life) {
        // What depends on `i` (its views, mappings of its pages, its objects or elements)
        // may change with it.
        self.touched_with_dependents(i);
        let Some(h) = self.handles.get_mut(i) else {
            return;
        };
        let was_live = h.life == Life::Live;
        h.life = life;
        let view = matches!(
            h.kind,
            Kind::PageView { .. } | Kind::AddrView { .. } | Kind::Phys { .. }
        );
        if life != Life::Live && !view {
            if let Ok(k) = self.scan.binary_search(&i) {
                self.scan.remove(k);
                // The kept masks stay parallel to `scan`.
                if !self.all_stale {
                    self.kept.remove(k);
                }
            }
        }
        if was_live {
            self.live_bytes = self.live_bytes.saturating_sub(h.bytes);
            self.link(i, false);
        }
    }

    /// Records a misuse injected at `line`.
    pub fn record(&mut self, line: u32, m: Misuse) {
        self.misuse.push((line, m));
    }
}

/// The bit of family `f` in [`Gen::on`]'s set.
fn family_bit(f: Family) -> u32 {
    1 << (f as u32)
}

/// `prefix` then `n` in decimal: the name of a handle bound by statement `n`.
fn handle_name(prefix: &str, n: usize) -> Name {
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    let mut n = n;
    loop {
        k -= 1;
        if let Some(d) = digits.get_mut(k) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || k == 0 {
            break;
        }
    }
    // Built on the stack and held inline (no allocation) for every name the generator makes.
    let digits = digits.get(k..).unwrap_or_default();
    let mut buf = [0u8; 64];
    let len = prefix.len() + digits.len();
    match buf.get_mut(..len) {
        Some(b) => {
            let (p, d) = b.split_at_mut(prefix.len());
            p.copy_from_slice(prefix.as_bytes());
            d.copy_from_slice(digits);
            let s = std::str::from_utf8(b).unwrap_or_default();
            match s.len() <= Name::INLINE_CAP {
                true => Name::new_inline(s),
                false => Name::new(s),
            }
        }
        None => Name::default(),
    }
}
