//! What the oracle expects memory to hold, by physical page: unknown, one byte repeated, or
//! byte by byte (unknown bytes marked). Keyed by physical address, so every mapping of a page
//! is checked against the same expectation.

use std::collections::BTreeMap;

use super::facts::PAGE_SIZE;

const UNKNOWN: u16 = 0x100;

#[derive(Clone, Debug)]
enum PageShadow {
    Fill(u8),
    Bytes(Box<[u16]>),
}

#[derive(Clone, Debug, Default)]
pub struct Shadow {
    pages: BTreeMap<u64, PageShadow>,
}

/// A byte that differs from what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub index: usize,
    pub expected: u8,
    pub got: u8,
}

impl Shadow {
    pub fn forget_page(&mut self, pfn: u64) {
        self.pages.remove(&pfn);
    }

    pub fn fill_page(&mut self, pfn: u64, byte: u8) {
        self.pages.insert(pfn, PageShadow::Fill(byte));
    }

    /// Is the whole page known to hold `byte`?
    pub fn page_is(&self, pfn: u64, byte: u8) -> Option<bool> {
        match self.pages.get(&pfn)? {
            PageShadow::Fill(b) => Some(*b == byte),
            PageShadow::Bytes(v) => {
                if v.contains(&UNKNOWN) {
                    None
                } else {
                    Some(v.iter().all(|&x| x == byte as u16))
                }
            }
        }
    }

    /// Records `len` copies of `byte` at physical address `pa` (within one page).
    pub fn set(&mut self, pa: u64, len: usize, byte: u8) {
        let pfn = pa / PAGE_SIZE;
        let off = (pa % PAGE_SIZE) as usize;
        if off == 0 && len == PAGE_SIZE as usize {
            self.fill_page(pfn, byte);
            return;
        }
        let e = self
            .pages
            .entry(pfn)
            .or_insert_with(|| PageShadow::Bytes(vec![UNKNOWN; PAGE_SIZE as usize].into()));
        if let PageShadow::Fill(b) = *e {
            *e = PageShadow::Bytes(vec![b as u16; PAGE_SIZE as usize].into());
        }
        if let PageShadow::Bytes(v) = e {
            v[off..off + len].fill(byte as u16);
        }
    }

    /// Marks bytes unknown (within one page).
    pub fn unknown(&mut self, pa: u64, len: usize) {
        let pfn = pa / PAGE_SIZE;
        let off = (pa % PAGE_SIZE) as usize;
        match self.pages.get_mut(&pfn) {
            None => {}
            Some(_) if off == 0 && len == PAGE_SIZE as usize => {
                self.pages.remove(&pfn);
            }
            Some(e) => {
                if let PageShadow::Fill(b) = *e {
                    *e = PageShadow::Bytes(vec![b as u16; PAGE_SIZE as usize].into());
                }
                if let PageShadow::Bytes(v) = e {
                    v[off..off + len].fill(UNKNOWN);
                }
            }
        }
    }

    /// The byte expected at `pa`, if known.
    pub fn get(&self, pa: u64) -> Option<u8> {
        match self.pages.get(&(pa / PAGE_SIZE))? {
            PageShadow::Fill(b) => Some(*b),
            PageShadow::Bytes(v) => {
                let e = v[(pa % PAGE_SIZE) as usize];
                (e != UNKNOWN).then_some(e as u8)
            }
        }
    }

    /// Compares bytes read at `pa` (within one page) with the expectation.
    pub fn check(&self, pa: u64, got: &[u8]) -> Option<Mismatch> {
        let pfn = pa / PAGE_SIZE;
        let off = (pa % PAGE_SIZE) as usize;
        match self.pages.get(&pfn)? {
            PageShadow::Fill(b) => got.iter().position(|g| g != b).map(|i| Mismatch {
                index: i,
                expected: *b,
                got: got[i],
            }),
            PageShadow::Bytes(v) => got.iter().enumerate().find_map(|(i, &g)| {
                let e = v[off + i];
                (e != UNKNOWN && e != g as u16).then_some(Mismatch {
                    index: i,
                    expected: e as u8,
                    got: g,
                })
            }),
        }
    }
}
