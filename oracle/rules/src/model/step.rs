//! The model's judgement of one statement, given what the machine did: the dispatch of the
//! statement to its family's rules, in the order the families need. The rules themselves are
//! in the family modules (pages, translate, context, highmem, vmalloc, slab, kmalloc,
//! mempool, access).
//!
//! The protocol of one statement ([`Model::judge`]):
//! 1. before anything: the taint a previous statement left for this one, and what kmalloc
//!    and mempool must read before the statement's page events change it;
//! 2. the families judged before the page events: pages (whose traffic is the statement
//!    itself), translate, context, highmem, the vmalloc queries and the client's accesses;
//! 3. the page events of every other family, observed by the page rules;
//! 4. the families judged after them: slab, kmalloc and mempool (new slabs arrive as
//!    events), the slabs and large kmalloc blocks whose pages went back, then vmalloc
//!    (whose pages arrive as events).

use super::context::CtxModel;
use super::facts::{Facts, MAX_ORDER};
use super::highmem::{HighmemModel, How};
use super::pages::PageModel;
use super::slab::SlabModel;
use super::slab_oom::SlabOomModel;
use super::vmalloc::VmallocModel;
use super::warn_alloc::WarnAllocModel;
use super::Judgement;
use crate::outcome::{Env, Outcome};
use crate::scenario::{Family, Op, Operand};

#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) pages: PageModel,
    pub(crate) ctx: CtxModel,
    pub(crate) vmalloc: VmallocModel,
    pub(crate) highmem: HighmemModel,
    pub(crate) slab: SlabModel,
    pub(crate) warn_alloc: WarnAllocModel,
    pub(crate) slab_oom: SlabOomModel,
    /// Set once a misuse has made the kernel's state unpredictable (docs/design.md, "Taint").
    pub(crate) tainted: bool,
}

impl Model {
    pub fn new(facts: Facts, cfg: kmem_vocab::BootConfig) -> Model {
        Model {
            highmem: HighmemModel::new(&facts),
            vmalloc: VmallocModel::default(),
            slab: SlabModel::new(&facts, &cfg),
            pages: PageModel::new(facts, cfg),
            ctx: CtxModel::default(),
            warn_alloc: WarnAllocModel::default(),
            slab_oom: SlabOomModel::default(),
            tainted: false,
        }
    }

    pub(super) fn facts(&self) -> &Facts {
        &self.pages.facts
    }

    /// Whether the machine is 32-bit.
    pub(super) fn i386(&self) -> bool {
        self.facts().arch == kmem_vocab::Arch::I386
    }

    /// The value of an operand in `env`, on this machine's word size (the closure borrows
    /// `env` only, so the families can borrow the model's parts mutably beside it).
    pub(super) fn evaluator<'e>(&self, env: &'e Env) -> impl Fn(&Operand) -> u64 + 'e {
        let i386 = self.i386();
        move |o| env.eval(o, i386)
    }

    /// Step 1 of the protocol for any statement: the taint a previous statement left for
    /// this one, and nothing kept yet of what this one's page events change.
    fn begin(&mut self) {
        if std::mem::take(&mut self.slab.taint_next) | std::mem::take(&mut self.vmalloc.taint_next)
        {
            self.tainted = true;
        }
        self.slab.kmalloc.stash = None;
        self.slab.mempool.page_gone = None;
    }

    /// Steps 1 and 2 of the protocol: the families judged before the page events.
    fn step(&mut self, j: &mut Judgement, line: u32, op: &Op, env: &Env, out: &Outcome) {
        self.begin();
        self.kmalloc_before_events(op, env);
        self.mempool_before_events(op, env);
        match op.family() {
            Family::Pages => self.pages_op(j, line, op, env, out),
            Family::Translate => self.translate_op(j, op, env, out),
            Family::Context => self.context_op(j, op),
            Family::Highmem => self.highmem_op(j, op, env, out),
            Family::Vmalloc => self.vmalloc_query(j, op, env, out),
            Family::Access => self.access_op(j, op, env, out),
            // An engine scenario's statements never reach the kernel model (the command
            // refuses them in a kernel scenario).
            Family::Slab | Family::Kmalloc | Family::Mempool | Family::Engine => {}
        }
    }

    /// Judges one statement in one call: what it did on the machine (`out`) and the page
    /// allocator traffic it caused (`events`, the mm_page_alloc / mm_page_free tracepoints in
    /// order). The checker knows nothing else of the model's protocol.
    pub fn judge(
        &mut self,
        line: u32,
        op: &Op,
        env: &Env,
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) -> Judgement {
        let mut j = Judgement::default();
        self.judge_into(&mut j, line, op, env, out, events);
        j
    }

    /// [`Model::judge`] into `j` (which the caller has emptied), so that a caller judging
    /// many calls keeps one judgement's buffers.
    pub fn judge_into(
        &mut self,
        j: &mut Judgement,
        line: u32,
        op: &Op,
        env: &Env,
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) {
        j.warn_alloc = super::warn_alloc::expect(op, out);
        j.slab_oom = super::slab_oom::expect_slab_oom(op, j.warn_alloc);
        self.step(j, line, op, env, out);
        // The page family's own traffic is judged by `step`; every other family's arrives
        // here as events (a slab growing, a vmalloc area's pages, a mempool's reserve).
        if op.family() != crate::scenario::Family::Pages {
            self.pages.observe_all(j, line, events);
        }
        self.settle(j, line, op, env, out, events);
    }

    /// [`Model::judge_into`] for one call of a `walk` (docs/scenario-extensions.md): `kmap
    /// PAGE` or `kunmap PAGE` with PAGE a number, judged without building the statement. A
    /// call that moved pages (none does on a correct kernel) takes the whole protocol.
    pub fn judge_walk_call(
        &mut self,
        j: &mut Judgement,
        line: u32,
        call: WalkCall,
        events: &[kmem_vocab::PageEvent],
    ) {
        if !events.is_empty() {
            let (op, out) = call.statement();
            return self.judge_into(j, line, &op, &Env::default(), &out, events);
        }
        // The protocol's steps for a highmem statement with no page events: the highmem
        // rules, then any slab traffic a previous statement left (no slab rule looks at a
        // kmap).
        self.begin();
        match call {
            WalkCall::Kmap { page, value } => {
                let out = Outcome {
                    value: Some(value),
                    ..Default::default()
                };
                self.kmap(j, How::Kmap, page, &out);
            }
            WalkCall::Kunmap { page } => self.highmem.kunmap(j, &self.pages.facts, page),
        }
        if !self.slab.traffic.is_quiet() {
            self.slab_events(j, &call.statement().0, events);
        }
    }

    /// What /proc/buddyinfo must show now, zone by zone, when the model knows every free page
    /// exactly (None once it does not).
    pub fn expected_buddyinfo(&self) -> Option<Vec<[u64; (MAX_ORDER + 1) as usize]>> {
        self.pages.exact.then(|| self.pages.expected_buddyinfo())
    }

    /// Whether the run is tainted: after a misuse whose effect cannot be predicted, only a
    /// panic is judged (docs/design.md, "Taint").
    pub fn tainted(&self) -> bool {
        self.tainted
    }

    /// Whether the run is tainted or will be from the next statement on (a slab misuse whose
    /// effect shows only later): where the replay says taint began.
    pub fn tainted_or_pending(&self) -> bool {
        self.tainted || self.slab.taint_next || self.vmalloc.taint_next
    }

    /// Taints the run: the kernel printed a report the model allowed but could not pin down,
    /// so its state is no longer predicted.
    pub fn taint(&mut self) {
        self.tainted = true;
    }

    /// The name of zone `zi` as /proc/buddyinfo prints it.
    pub fn zone_name(&self, zi: usize) -> &'static str {
        self.facts().zones[zi].kind.name()
    }

    /// Step 4 of the protocol: the families judged once the page allocator traffic the
    /// statement caused has been observed.
    fn settle(
        &mut self,
        j: &mut Judgement,
        line: u32,
        op: &Op,
        env: &Env,
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) {
        let family = op.family();
        match family {
            Family::Slab => self.slab_op(j, op, env, out),
            Family::Kmalloc => self.kmalloc_op(j, op, env, out),
            Family::Mempool => self.mempool_op(j, op, env, out, events),
            _ => {}
        }
        self.slab_events(j, op, events);
        if family == Family::Vmalloc {
            self.vmalloc_op(j, line, op, env, out, events);
        }
    }
}

/// One call of a `walk`: the kmap of a page (and what it returned) or the kunmap after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkCall {
    Kmap { page: u64, value: u64 },
    Kunmap { page: u64 },
}

impl WalkCall {
    /// The statement this call is, and what it did.
    pub fn statement(self) -> (Op, Outcome) {
        match self {
            WalkCall::Kmap { page, value } => (
                Op::Kmap {
                    page: Operand::Lit(page),
                },
                Outcome {
                    value: Some(value),
                    ..Default::default()
                },
            ),
            WalkCall::Kunmap { page } => (
                Op::Kunmap {
                    page: Operand::Lit(page),
                },
                Outcome::default(),
            ),
        }
    }
}
