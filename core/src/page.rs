//! `struct page`: the per-frame metadata, materialised only for frames whose state differs
//! from what boot left (free, or reserved), so a large machine costs nothing until touched.
//!
//! Free-block membership (PageBuddy and the order in `private`) is kept by the buddy
//! allocator's free lists; [`crate::Machine::page_info`] presents it as part of the page.
//! Likewise a highmem page's kmap address lives in highmem's page_address_htable, as on
//! x86 (no WANT_PAGE_VIRTUAL), and `page_info` presents it as the page's `virtual`.

use crate::radix::Radix;

/// Page flag bits (enum pageflags, Linux 6.6).
pub const PG_LOCKED: u64 = 1 << 0;
pub const PG_REFERENCED: u64 = 1 << 2;
pub const PG_HEAD: u64 = 1 << 6;
pub const PG_SLAB: u64 = 1 << 11;
pub const PG_RESERVED: u64 = 1 << 14;
pub const PG_PRIVATE: u64 = 1 << 15;

const PAGEFLAG_NAMES: &[(&str, u64)] = &[
    ("locked", PG_LOCKED),
    ("referenced", PG_REFERENCED),
    ("head", PG_HEAD),
    ("slab", PG_SLAB),
    ("reserved", PG_RESERVED),
    ("private", PG_PRIVATE),
];

/// The flags that must be clear when a page is freed (PAGE_FLAGS_CHECK_AT_FREE, the subset
/// the model uses).
pub const PAGE_FLAGS_CHECK_AT_FREE: u64 = PG_LOCKED | PG_SLAB | PG_RESERVED | PG_PRIVATE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub flags: u64,
    /// `_refcount`: 0 while free, 1 once allocated.
    pub refcount: i32,
    /// `_mapcount`: -1 when not mapped into user space (always, in this model).
    pub mapcount: i32,
    /// `private`: the buddy order of a free block's head page.
    pub private: u64,
    /// `virtual`: what page_address() gives (the direct-map address, a highmem page's
    /// kmap address, or 0). Not stored: [`crate::Machine::page_info`] fills it in from the
    /// direct map and highmem's page_address_htable, as it fills `private` from the free
    /// lists.
    pub virtual_addr: u64,
    /// The order of the block this page heads, recorded at allocation as CONFIG_PAGE_OWNER
    /// does; `None` when the page heads no allocated block.
    pub owner_order: Option<u8>,
    /// Which allocator owns an allocated block (slab cache id, vmalloc area, ...): set by
    /// the layer above the buddy, 0 when the page was handed out directly.
    pub owner_tag: u64,
}

impl Page {
    pub const FREE: Page = Page {
        flags: 0,
        refcount: 0,
        mapcount: -1,
        private: 0,
        virtual_addr: 0,
        owner_order: None,
        owner_tag: 0,
    };
    pub const RESERVED: Page = Page {
        flags: PG_RESERVED,
        refcount: 1,
        ..Page::FREE
    };
}

/// Formats page flags as `%pGp` does (without the zone/node fields).
pub fn format_page_flags(flags: u64) -> String {
    let names: Vec<&str> = PAGEFLAG_NAMES
        .iter()
        .filter(|&&(_, b)| flags & b != 0)
        .map(|&(n, _)| n)
        .collect();
    names.join("|")
}

/// A page's state at boot: reserved inside one of the `reserved` ranges, free elsewhere.
fn boot_state(reserved: &[(u64, u64)], pfn: u64) -> Page {
    if reserved.iter().any(|&(s, e)| pfn >= s && pfn < e) {
        Page::RESERVED
    } else {
        Page::FREE
    }
}

#[derive(Clone, Debug)]
pub struct MemMap {
    pages: Radix<Page>,
    reserved: Vec<(u64, u64)>,
}

impl MemMap {
    pub fn new(max_pfn: u64, reserved: Vec<(u64, u64)>) -> Self {
        MemMap {
            pages: Radix::new(max_pfn),
            reserved,
        }
    }

    /// The page's current state (a copy). `pfn` must be below max_pfn.
    pub fn get(&self, pfn: u64) -> Page {
        match self.pages.get(pfn) {
            Some(p) => *p,
            None => boot_state(&self.reserved, pfn),
        }
    }

    pub fn get_mut(&mut self, pfn: u64) -> &mut Page {
        let reserved = &self.reserved;
        self.pages
            .slot(pfn)
            .get_or_insert_with(|| boot_state(reserved, pfn))
    }

    /// Returns a page to the free state (as the buddy leaves pages it takes back).
    pub fn set_free(&mut self, pfn: u64) {
        if self.pages.get(pfn).is_some() {
            *self.pages.slot(pfn) = Some(Page::FREE);
        }
    }

    pub fn materialised(&self) -> usize {
        self.pages.count()
    }
}
