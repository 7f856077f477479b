//! Which kinds of misuse can be injected now: the injectors draw from lists (inject.rs), and
//! a kind can be injected when its list is not empty. Asked before every injection, so the
//! answers here come from the kept candidate sets without building the lists; a test holds
//! them equal to the lists' emptiness.

use super::super::kind::Family;
use super::choose::Few;
use super::ops::{Cand, WHOLE_PAGES};
use super::state::{Ctx, Gen, Kind, MAX_CTX};
use super::Misuse;

/// The kinds of misuse that can be injected now, in the order of [`Misuse::ALL`].
pub type Applicable = Few<Misuse, { Misuse::ALL.len() }>;

impl Gen<'_> {
    /// The misuse kinds that can be injected now.
    pub fn applicable(&self) -> Applicable {
        let mut a = Applicable::new(Misuse::DoubleFree);
        for &m in Misuse::ALL {
            if self.can(m) {
                a.push(m);
            }
        }
        a
    }

    /// Whether misuse `m` can be injected now.
    pub(super) fn can(&self, m: Misuse) -> bool {
        let atomic = self.atomic();
        match m {
            Misuse::DoubleFree => self.any(|_, h| self.freed_again(h, atomic)),
            Misuse::WrongOrder => self.has(Cand::PagesToFree) || self.has(Cand::FreePagesToFree),
            Misuse::UseAfterFree => {
                self.on(Family::Access) && self.any(|i, h| self.touchable_after_free(i, h))
            }
            Misuse::WildFree => {
                self.on(Family::Kmalloc)
                    || self.on(Family::Pages)
                    || (self.on(Family::Vmalloc) && !atomic)
                    || (self.on(Family::Slab) && self.has(Cand::Caches))
            }
            Misuse::InteriorFree => {
                self.members(Cand::Kmallocs.bit() | Cand::Objs.bit())
                    .any(|i| self.addr_size(i).is_some_and(|s| s >= 2))
                    || (!atomic && self.has(Cand::VmallocsToFree))
            }
            Misuse::OutOfBounds => self.on(Family::Access) && self.has(Cand::Access),
            Misuse::SleepInAtomic => {
                let room = self.ctx.len() < MAX_CTX;
                self.may_sleep_now()
                    && (atomic
                        || (room && self.on(Family::Context))
                        || (room && self.on(Family::Highmem) && self.has(WHOLE_PAGES)))
            }
            // Without a vmalloc or kmap address to hand, a user-space address will do.
            Misuse::WrongTranslation => self.on(Family::Translate),
            Misuse::WrongCache => self.members(Cand::Objs.bit()).any(|o| {
                let Some(&Kind::SlabObj { cache, .. }) = self.kind(o) else {
                    return false;
                };
                self.members(Cand::Caches.bit()).any(|c| c != cache)
            }),
            Misuse::DestroyWithLive => {
                !atomic
                    && (self
                        .members(Cand::Caches.bit())
                        .any(|c| self.cache_has_objects(c) && !self.cache_has_pool(c))
                        || self.members(Cand::Pools.bit()).any(|p| self.pool_busy(p)))
            }
            Misuse::KmapUnbalanced => {
                let maps = self
                    .ctx
                    .iter()
                    .filter(|c| matches!(c, Ctx::Map(..)))
                    .count();
                self.on(Family::Highmem)
                    && (maps >= 2
                        || (!atomic && self.summary().unkmapped_page)
                        || (self.ctx.len().saturating_add(2) <= MAX_CTX && self.has(WHOLE_PAGES)))
            }
            Misuse::ContextImbalance => self.on(Family::Context) && self.ctx.is_empty(),
        }
    }

    /// Whether a sleeping call is possible now (the sleepers of inject.rs).
    fn may_sleep_now(&self) -> bool {
        let page = self.on(Family::Pages) || self.on(Family::Vmalloc);
        self.on(Family::Kmalloc)
            || (page && self.fits(kmem_vocab::PAGE_SIZE))
            || self.on(Family::Slab)
            || self.has(Cand::Pools)
            || (self.on(Family::Highmem) && self.summary().unkmapped_page)
    }

    /// Whether misuse `m` can be injected now, from the lists the injectors draw from.
    #[cfg(test)]
    pub(super) fn can_by_lists(&self, m: Misuse) -> bool {
        match m {
            Misuse::DoubleFree => !self.double_free_cands().is_empty(),
            Misuse::WrongOrder => !self.wrong_order_cands().is_empty(),
            Misuse::UseAfterFree => !self.use_after_free_cands().is_empty(),
            Misuse::WildFree => !self.freers().is_empty(),
            Misuse::InteriorFree => !self.interior_cands().is_empty(),
            Misuse::OutOfBounds => !self.out_of_bounds_cands().is_empty(),
            Misuse::SleepInAtomic => {
                let (ctxs, pages) = self.atomic_openers();
                !self.sleepers().is_empty()
                    && (self.atomic() || !ctxs.is_empty() || !pages.is_empty())
            }
            // Without a vmalloc or kmap address to hand, a user-space address will do.
            Misuse::WrongTranslation => self.on(Family::Translate),
            Misuse::WrongCache => !self.wrong_cache_cands().is_empty(),
            Misuse::DestroyWithLive => !self.destroy_with_live_cands().is_empty(),
            Misuse::KmapUnbalanced => {
                self.on(Family::Highmem)
                    && (!self.buried_maps().is_empty()
                        || !self.unmapped_pages().is_empty()
                        || (self.ctx.len().saturating_add(2) <= MAX_CTX
                            && self.has(Cand::Pages {
                                whole: true,
                                low: false,
                            })))
            }
            Misuse::ContextImbalance => self.on(Family::Context) && self.ctx.is_empty(),
        }
    }
}
