//! What SLUB debugging must report, predicted: check_object()'s verdicts on red zones,
//! poison, padding and the free pointer (mm/slub.c, 6.6), and init_object()'s rewriting of
//! them. The bytes the client wrote into checked areas are kept per slot (`Slot::dirty`).

use std::collections::{BTreeMap, BTreeSet};

use kmem_vocab::slab_flags::*;
use kmem_vocab::ReportKind;

use super::SlabModel;
use crate::model::mempool::MempoolModel;
use crate::model::Judgement;

pub(crate) const POISON_INUSE: u8 = 0x5a;
pub(crate) const POISON_FREE: u8 = 0x6b;
pub(crate) const POISON_END: u8 = 0xa5;
pub(crate) const RED_INACTIVE: u8 = 0xbb;
pub(crate) const RED_ACTIVE: u8 = 0xcc;

impl SlabModel {
    /// check_object(): the reports for `slot` in state `active`, restoring each area that
    /// fails, and whether the object passed.
    pub(crate) fn check_object(
        &mut self,
        cid: usize,
        slot: u64,
        active: bool,
        orig: u32,
    ) -> (Vec<ReportKind>, bool) {
        let c = self.caches[cid].clone();
        let l = c.l;
        let mut out = vec![];
        let val = if active { RED_ACTIVE } else { RED_INACTIVE };
        let Some(s) = self.slots.get_mut(&slot) else {
            return (out, true);
        };
        let mut area = |lo: u32,
                        hi: u32,
                        want: &dyn Fn(u32) -> u8,
                        kind: ReportKind,
                        out: &mut Vec<ReportKind>|
         -> bool {
            let (lo64, hi64) = (u64::from(lo), u64::from(hi));
            let bad = s
                .dirty
                .within(lo64, hi64)
                .any(|(rs, re, &b)| (rs..re).any(|r| b != want(r as u32)));
            if bad {
                out.push(kind);
                s.dirty.clear(lo64, hi64);
            }
            !bad
        };
        let obj = l.rlp;
        let end = obj + l.object_size;
        if c.has(SLAB_RED_ZONE) {
            if !area(0, obj, &|_| val, ReportKind::RedzoneOverwritten, &mut out) {
                return (out, false);
            }
            if !area(
                end,
                obj + l.inuse,
                &|_| val,
                ReportKind::RedzoneOverwritten,
                &mut out,
            ) {
                return (out, false);
            }
            if c.orig_on()
                && active
                && orig < l.object_size
                && !area(
                    obj + orig,
                    end,
                    &|_| val,
                    ReportKind::RedzoneOverwritten,
                    &mut out,
                )
            {
                return (out, false);
            }
        } else if c.has(SLAB_POISON) && l.object_size < l.inuse {
            area(
                end,
                obj + l.inuse,
                &|_| POISON_INUSE,
                ReportKind::PaddingOverwritten,
                &mut out,
            );
        }
        if c.has(SLAB_POISON) {
            if !active && c.object_poison() && l.object_size > 0 {
                if !area(
                    obj,
                    end - 1,
                    &|_| POISON_FREE,
                    ReportKind::PoisonOverwritten,
                    &mut out,
                ) {
                    return (out, false);
                }
                if !area(
                    end - 1,
                    end,
                    &|_| POISON_END,
                    ReportKind::PoisonOverwritten,
                    &mut out,
                ) {
                    return (out, false);
                }
            }
            let (lo, hi) = (obj + l.pad_offset, obj + l.size_from_object);
            if lo < hi {
                area(
                    lo,
                    hi,
                    &|_| POISON_INUSE,
                    ReportKind::PaddingOverwritten,
                    &mut out,
                );
            }
        }
        (out, true)
    }

    /// init_object(): the red zones and poison rewritten.
    pub(crate) fn init_object(&mut self, cid: usize, slot: u64, active: bool, orig: u32) {
        let c = &self.caches[cid];
        let l = c.l;
        let z = c.has(SLAB_RED_ZONE);
        let poison = c.object_poison();
        let ps = if z && c.orig_on() && active {
            orig
        } else {
            l.object_size
        };
        let Some(s) = self.slots.get_mut(&slot) else {
            return;
        };
        let mut clear = |lo: u32, hi: u32| s.dirty.clear(u64::from(lo), u64::from(hi));
        if z {
            clear(0, l.rlp);
            clear(l.rlp + ps, l.rlp + l.inuse.max(ps));
        }
        if poison {
            clear(l.rlp, l.rlp + ps);
        }
    }

    /// What an INACTIVE/ACTIVE check of the slot would report, without changing anything.
    pub(crate) fn would_fail(
        &self,
        cid: usize,
        slot: u64,
        active: bool,
        orig: u32,
    ) -> Vec<ReportKind> {
        let mut tmp = self.clone_slot_only(slot);
        tmp.check_object(cid, slot, active, orig).0
    }

    pub(crate) fn clone_slot_only(&self, slot: u64) -> SlabModel {
        SlabModel {
            caches: self.caches.clone(),
            slots: self
                .slots
                .get(&slot)
                .map(|s| [(slot, s.clone())].into_iter().collect())
                .unwrap_or_default(),
            slabs: BTreeMap::new(),
            by_handle: BTreeMap::new(),
            kmalloc: self.kmalloc.settings_only(),
            mempool: MempoolModel::default(),
            traffic: Default::default(),
            internal: BTreeSet::new(),
            ..*self
        }
    }

    /// Every report any check of cache `cid` could print now (for statements whose checks
    /// the oracle cannot pin down).
    pub(crate) fn allow_cache(&self, j: &mut Judgement, cid: usize) {
        for (&pfn, s) in &self.slabs {
            if s.cache != cid {
                continue;
            }
            if s.tail_dirty() {
                j.allow.push(ReportKind::PaddingOverwritten);
            }
            for slot in self.slot_addrs(pfn) {
                if self.slots.get(&slot).is_some_and(|x| !x.dirty.is_empty()) {
                    j.allow.extend([
                        ReportKind::RedzoneOverwritten,
                        ReportKind::PoisonOverwritten,
                        ReportKind::PaddingOverwritten,
                    ]);
                }
            }
        }
    }
}
