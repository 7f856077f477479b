//! What the oracle expects memory to hold, by physical page: unknown, one byte repeated, or
//! byte by byte (unknown bytes marked). Keyed by physical address, so every mapping of a page
//! is checked against the same expectation.

use std::collections::BTreeMap;

use super::facts::PAGE_SIZE;

use super::runs::RunMap;

const UNKNOWN: u16 = 0x100;

/// One page's expectation.
#[derive(Clone, Debug)]
enum PageShadow {
    Fill(u8),
    Bytes(Box<[u16]>),
}

/// What the oracle expects of each page: single pages (one byte throughout, or byte by
/// byte), and runs of whole pages each holding one byte, as a block of several pages is
/// filled or forgotten whole (one entry whatever its order). A page is in at most one of
/// the two; in neither, nothing is expected of it.
#[derive(Clone, Debug, Default)]
pub struct Shadow {
    pages: BTreeMap<u64, PageShadow>,
    runs: RunMap<u8>,
}

/// A byte that differs from what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub index: usize,
    pub expected: u8,
    pub got: u8,
}

/// A page's expectation as looked up.
enum Seen<'a> {
    Fill(u8),
    Bytes(&'a [u16]),
}

impl Shadow {
    fn page(&self, pfn: u64) -> Option<Seen<'_>> {
        match self.pages.get(&pfn) {
            Some(PageShadow::Fill(b)) => Some(Seen::Fill(*b)),
            Some(PageShadow::Bytes(v)) => Some(Seen::Bytes(v)),
            None if self.runs.is_empty() => None,
            None => self.runs.get(pfn).map(|&b| Seen::Fill(b)),
        }
    }

    pub fn forget_page(&mut self, pfn: u64) {
        self.forget_pages(pfn, 1);
    }

    /// Nothing is expected of pages [pfn, pfn + n) any more.
    pub fn forget_pages(&mut self, pfn: u64, n: u64) {
        let end = pfn.saturating_add(n);
        if n == 1 {
            self.pages.remove(&pfn);
        } else {
            while let Some(&k) = self.pages.range(pfn..end).next().map(|(k, _)| k) {
                self.pages.remove(&k);
            }
        }
        if !self.runs.is_empty() {
            self.runs.clear(pfn, end);
        }
    }

    pub fn fill_page(&mut self, pfn: u64, byte: u8) {
        self.fill_pages(pfn, 1, byte);
    }

    /// Pages [pfn, pfn + n) each hold `byte` throughout.
    pub fn fill_pages(&mut self, pfn: u64, n: u64, byte: u8) {
        if n == 1 {
            if !self.runs.is_empty() {
                self.runs.clear(pfn, pfn + 1);
            }
            self.pages.insert(pfn, PageShadow::Fill(byte));
            return;
        }
        let end = pfn.saturating_add(n);
        while let Some(&k) = self.pages.range(pfn..end).next().map(|(k, _)| k) {
            self.pages.remove(&k);
        }
        self.runs.set(pfn, end, byte);
    }

    /// Is the whole page known to hold `byte`?
    pub fn page_is(&self, pfn: u64, byte: u8) -> Option<bool> {
        match self.page(pfn)? {
            Seen::Fill(b) => Some(b == byte),
            Seen::Bytes(v) => bytes_are(v, byte),
        }
    }

    /// How many pages of [pfn, pfn + n) [`Self::page_is`] says do not hold `byte`
    /// (`Some(false)`), visiting runs rather than pages.
    pub fn pages_not(&self, pfn: u64, n: u64, byte: u8) -> u64 {
        let end = pfn.saturating_add(n);
        let single = self
            .pages
            .range(pfn..end)
            .filter(|(_, e)| match e {
                PageShadow::Fill(b) => *b != byte,
                PageShadow::Bytes(v) => bytes_are(v, byte) == Some(false),
            })
            .count() as u64;
        let runs: u64 = self
            .runs
            .within(pfn, end)
            .filter(|&(_, _, &b)| b != byte)
            .map(|(s, e, _)| e - s)
            .sum();
        single + runs
    }

    /// Page `pfn`'s bytes for changing: made from its fill (or unknown) if not kept yet.
    fn bytes_mut(&mut self, pfn: u64) -> &mut [u16] {
        let runs = &mut self.runs;
        let e = self.pages.entry(pfn).or_insert_with(|| {
            let fill = runs.get(pfn).copied();
            if fill.is_some() {
                runs.clear(pfn, pfn + 1);
            }
            match fill {
                Some(b) => PageShadow::Fill(b),
                None => PageShadow::Bytes(vec![UNKNOWN; PAGE_SIZE as usize].into_boxed_slice()),
            }
        });
        if let PageShadow::Fill(b) = *e {
            *e = PageShadow::Bytes(vec![u16::from(b); PAGE_SIZE as usize].into_boxed_slice());
        }
        match e {
            PageShadow::Bytes(v) => v,
            PageShadow::Fill(_) => &mut [],
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
        self.bytes_mut(pfn)[off..off + len].fill(byte as u16);
    }

    /// Marks bytes unknown (within one page).
    pub fn unknown(&mut self, pa: u64, len: usize) {
        let pfn = pa / PAGE_SIZE;
        let off = (pa % PAGE_SIZE) as usize;
        if self.page(pfn).is_none() {
            return;
        }
        if off == 0 && len == PAGE_SIZE as usize {
            self.forget_page(pfn);
            return;
        }
        self.bytes_mut(pfn)[off..off + len].fill(UNKNOWN);
    }

    /// The byte expected at `pa`, if known.
    pub fn get(&self, pa: u64) -> Option<u8> {
        match self.page(pa / PAGE_SIZE)? {
            Seen::Fill(b) => Some(b),
            Seen::Bytes(v) => {
                let e = v[(pa % PAGE_SIZE) as usize];
                (e != UNKNOWN).then_some(e as u8)
            }
        }
    }

    /// The expectation of [pa, pa + len) (which may cross pages) as runs of equal values:
    /// (length, byte or None for unknown), in order. A page filled with one byte is one run.
    pub fn runs_of(&self, pa: u64, len: u64) -> Vec<(u64, Option<u8>)> {
        let mut out: Vec<(u64, Option<u8>)> = Vec::new();
        let mut push = |n: u64, v: Option<u8>| match out.last_mut() {
            Some((m, w)) if *w == v => *m += n,
            _ => out.push((n, v)),
        };
        let mut off = 0u64;
        while off < len {
            let a = pa.wrapping_add(off);
            let in_page = a % PAGE_SIZE;
            let n = (PAGE_SIZE - in_page).min(len - off);
            match self.page(a / PAGE_SIZE) {
                None => push(n, None),
                Some(Seen::Fill(b)) => push(n, Some(b)),
                Some(Seen::Bytes(v)) => {
                    for &e in &v[in_page as usize..(in_page + n) as usize] {
                        push(1, (e != UNKNOWN).then_some(e as u8));
                    }
                }
            }
            off += n;
        }
        out
    }

    /// Compares bytes read at `pa` (within one page) with the expectation.
    pub fn check(&self, pa: u64, got: &[u8]) -> Option<Mismatch> {
        let pfn = pa / PAGE_SIZE;
        let off = (pa % PAGE_SIZE) as usize;
        match self.page(pfn)? {
            Seen::Fill(b) => first_bad(got.len(), |i| got[i] != b).map(|i| Mismatch {
                index: i,
                expected: b,
                got: got[i],
            }),
            Seen::Bytes(v) => {
                let exp = &v[off..off + got.len()];
                first_bad(got.len(), |i| {
                    exp[i] != UNKNOWN && exp[i] != u16::from(got[i])
                })
                .map(|i| Mismatch {
                    index: i,
                    expected: exp[i] as u8,
                    got: got[i],
                })
            }
        }
    }
}

/// The first `i < n` for which `bad(i)`: blocks of 64 are tested whole first (a loop with
/// no early exit, which the compiler vectorises), so a read that matches costs a fraction of
/// a byte-by-byte search.
fn first_bad(n: usize, bad: impl Fn(usize) -> bool) -> Option<usize> {
    const BLOCK: usize = 64;
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        if (start..end).fold(false, |any, i| any | bad(i)) {
            return (start..end).find(|&i| bad(i));
        }
        start = end;
    }
    None
}

/// Whether a page known byte by byte holds `byte` throughout (None with an unknown byte).
fn bytes_are(v: &[u16], byte: u8) -> Option<bool> {
    if v.contains(&UNKNOWN) {
        None
    } else {
        Some(v.iter().all(|&x| x == byte as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_agrees_with_get() {
        let mut sh = Shadow::default();
        sh.fill_pages(3, 4, 0x6b);
        sh.set(4 * PAGE_SIZE + 100, 50, 0x11);
        sh.unknown(4 * PAGE_SIZE + 120, 3);
        sh.set(5 * PAGE_SIZE + 4090, 6, 0x22);
        sh.fill_page(9, 0);
        for (pa, len) in [
            (0, 12 * PAGE_SIZE),
            (4 * PAGE_SIZE + 90, 80),
            (5 * PAGE_SIZE + 4000, 300),
            (8 * PAGE_SIZE + 7, 5000),
            (3 * PAGE_SIZE, 0),
        ] {
            let runs = sh.runs_of(pa, len);
            let flat: Vec<Option<u8>> = runs
                .iter()
                .flat_map(|&(n, v)| std::iter::repeat_n(v, n as usize))
                .collect();
            let want: Vec<Option<u8>> = (0..len).map(|i| sh.get(pa + i)).collect();
            assert_eq!(flat, want, "{pa:#x}+{len}");
            assert!(runs.windows(2).all(|w| w[0].1 != w[1].1));
        }
    }

    #[test]
    fn checks_find_the_first_wrong_known_byte() {
        let mut sh = Shadow::default();
        sh.fill_pages(10, 4, 0xaa);
        sh.set(11 * PAGE_SIZE + 100, 50, 0x11);
        sh.unknown(11 * PAGE_SIZE + 120, 5);
        let mut got = vec![0xaau8; 300];
        assert_eq!(sh.check(10 * PAGE_SIZE, &got), None);
        got[200] = 1;
        got[250] = 2;
        let m = sh.check(10 * PAGE_SIZE + 7, &got).unwrap();
        assert_eq!((m.index, m.expected, m.got), (200, 0xaa, 1));
        // Page 11: 0xaa, then 0x11 over [100, 150) with [120, 125) unknown.
        let mut got = vec![0xaau8; 300];
        got[100..150].fill(0x11);
        got[120..125].fill(0x77);
        assert_eq!(sh.check(11 * PAGE_SIZE, &got), None);
        got[149] = 0x12;
        let m = sh.check(11 * PAGE_SIZE, &got).unwrap();
        assert_eq!((m.index, m.expected, m.got), (149, 0x11, 0x12));
        assert_eq!(sh.get(11 * PAGE_SIZE + 121), None);
        assert_eq!(sh.get(11 * PAGE_SIZE + 130), Some(0x11));
        assert_eq!(sh.get(13 * PAGE_SIZE + 5), Some(0xaa));
        assert_eq!(sh.get(14 * PAGE_SIZE), None);
        // Page 11 has unknown bytes: not known to differ.
        assert_eq!(sh.pages_not(9, 6, 0xaa), 0);
        sh.fill_page(14, 5);
        assert_eq!(sh.pages_not(9, 6, 0xaa), 1);
        assert_eq!(sh.page_is(12, 0xaa), Some(true));
        sh.forget_pages(12, 1);
        assert_eq!(
            (sh.page_is(12, 0xaa), sh.page_is(13, 0xaa)),
            (None, Some(true))
        );
    }
}
