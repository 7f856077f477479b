//! Broken highmem mappings: a pkmap slot choice and a kmap_local stack that get it wrong.

use kmem::highmem::KmapLocalSlot;
use kmem::seams::{KmapLocalIdx, KmapLocalStack, NextPkmapNr, Pkmap, PkmapSlots, Seams};

/// map_new_virtual() takes the slot it handed out last again, although it is in use.
pub struct PkmapReuseInUse;

struct ReuseLast(NextPkmapNr);

impl PkmapSlots for ReuseLast {
    fn choose(&mut self, pfn: u64, pkmap: &mut Pkmap<'_>) -> Option<u64> {
        match self.0.last_pkmap_nr {
            0 => self.0.choose(pfn, pkmap),
            last => Some(last),
        }
    }
}

impl Seams for PkmapReuseInUse {
    fn pkmap_slots(&self) -> Box<dyn PkmapSlots> {
        Box::new(ReuseLast(NextPkmapNr::default()))
    }
}

/// kunmap_local() tears down the bottom slot of the stack instead of the top.
pub struct KunmapPopsWrongSlot;

struct PopsBottom(KmapLocalStack);

impl KmapLocalIdx for PopsBottom {
    fn push(&mut self, stack: &[KmapLocalSlot]) -> Option<u64> {
        self.0.push(stack)
    }
    fn pop(&mut self, stack: &[KmapLocalSlot]) -> usize {
        if stack.len() >= 2 {
            0
        } else {
            self.0.pop(stack)
        }
    }
}

impl Seams for KunmapPopsWrongSlot {
    fn kmap_local_idx(&self) -> Box<dyn KmapLocalIdx> {
        Box::new(PopsBottom(KmapLocalStack))
    }
}
