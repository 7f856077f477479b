//! Physical memory: bytes live here, in 4 KiB frames materialised on first write.
//!
//! A frame never written reads as the machine's power-on contents: a deterministic junk
//! pattern derived from the physical address (as real DRAM holds garbage at boot), or 0xaa
//! when page poisoning is on (Linux poisons every page it frees into the buddy at boot).

use crate::radix::Radix;
use crate::{PAGE_SHIFT, PAGE_SIZE};

pub type Frame = Box<[u8; PAGE_SIZE as usize]>;

/// A materialised frame: its bytes, or, until something writes part of it, the one byte a
/// whole-page fill left everywhere (page poisoning, __GFP_ZERO, a client memset), kept
/// without its 4 KiB.
#[derive(Clone, Debug)]
pub(crate) struct FrameData {
    bytes: Option<Frame>,
    uniform: u8,
}

impl FrameData {
    fn uniform(byte: u8) -> Self {
        FrameData {
            bytes: None,
            uniform: byte,
        }
    }
    fn bytes(f: Frame) -> Self {
        FrameData {
            bytes: Some(f),
            uniform: 0,
        }
    }
}

/// What never-written memory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerOnFill {
    /// Junk that depends on the physical address: catches memory a client expects zeroed.
    Junk,
    /// Every byte the same (PAGE_POISON when page poisoning is on).
    Byte(u8),
}

#[derive(Clone, Debug)]
pub struct PhysMem {
    frames: Radix<FrameData>,
    fill: PowerOnFill,
}

/// The junk byte at physical address `pa`: cheap, deterministic, never all-zero.
#[inline]
fn junk(pa: u64) -> u8 {
    let x = (pa >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 56) as u8) ^ (pa as u8 & 7) | 1
}

/// The eight junk bytes at `pa`..`pa + 8` for `pa` 8-aligned, as one little-endian word:
/// byte i is junk(pa + i) = (h ^ i) | 1 with h the top byte of the shared product.
#[inline]
fn junk8(pa: u64) -> [u8; 8] {
    let h = ((pa >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) * 0x0101_0101_0101_0101;
    ((h ^ 0x0706_0504_0302_0100) | 0x0101_0101_0101_0101).to_le_bytes()
}

fn power_on_bytes(fill: PowerOnFill, pa: u64, out: &mut [u8]) {
    match fill {
        PowerOnFill::Byte(b) => out.fill(b),
        PowerOnFill::Junk => {
            // Byte by byte up to 8-byte alignment, then a word at a time, then the tail.
            let head = ((8 - (pa & 7)) & 7).min(out.len() as u64) as usize;
            let (first, rest) = out.split_at_mut(head);
            for (i, o) in first.iter_mut().enumerate() {
                *o = junk(pa + i as u64);
            }
            let pa = pa + head as u64;
            let tail_pa = pa + (rest.len() & !7) as u64;
            let mut words = rest.chunks_exact_mut(8);
            for (i, w) in words.by_ref().enumerate() {
                w.copy_from_slice(&junk8(pa + 8 * i as u64));
            }
            let tail = words.into_remainder();
            for (i, o) in tail.iter_mut().enumerate() {
                *o = junk(tail_pa + i as u64);
            }
        }
    }
}

/// A frame of `byte`s, built on the heap (no page-sized value on the stack).
fn uniform_frame(byte: u8) -> Frame {
    let f: Box<[u8]> = vec![byte; PAGE_SIZE as usize].into_boxed_slice();
    // A boxed slice of PAGE_SIZE bytes is a boxed page.
    f.try_into().unwrap_or_else(|_| unreachable!())
}

fn power_on_frame(fill: PowerOnFill, pfn: u64) -> Frame {
    match fill {
        PowerOnFill::Byte(b) => uniform_frame(b),
        PowerOnFill::Junk => {
            // 64 bytes at a time, their eight words unrolled: one loop test per 64 bytes
            // (each test a callback in a fuzzing build), where a word at a time into a
            // growing vector cost several per word.
            let pa = pfn << PAGE_SHIFT;
            let mut f = uniform_frame(0);
            let (lines, _) = f.as_chunks_mut::<64>();
            for (l, line) in (0u64..).zip(lines.iter_mut()) {
                for w in 0..8 {
                    line[8 * w..8 * w + 8].copy_from_slice(&junk8(pa + 64 * l + 8 * w as u64));
                }
            }
            f
        }
    }
}

impl PhysMem {
    pub fn new(max_pfn: u64, fill: PowerOnFill) -> Self {
        PhysMem {
            frames: Radix::new(max_pfn),
            fill,
        }
    }

    fn power_on_bytes(&self, pa: u64, out: &mut [u8]) {
        power_on_bytes(self.fill, pa, out)
    }

    /// The bytes of frame `pfn`, materialised with its contents (power-on or uniform) if
    /// they are not kept byte by byte yet.
    #[inline]
    fn frame_mut(&mut self, pfn: u64) -> &mut Frame {
        let fill = self.fill;
        let fd = self
            .frames
            .slot(pfn)
            .get_or_insert_with(|| FrameData::bytes(power_on_frame(fill, pfn)));
        let u = fd.uniform;
        fd.bytes.get_or_insert_with(|| uniform_frame(u))
    }

    /// Reads bytes within one frame. `pa..pa+out.len()` must not cross a page boundary and
    /// must be below max_pfn (the MMU guarantees both).
    pub fn read_in_page(&self, pa: u64, out: &mut [u8]) {
        let off = (pa & (PAGE_SIZE - 1)) as usize;
        match self.frames.get(pa >> PAGE_SHIFT) {
            Some(FrameData { bytes: Some(f), .. }) => out.copy_from_slice(&f[off..off + out.len()]),
            Some(FrameData {
                bytes: None,
                uniform,
            }) => out.fill(*uniform),
            None => self.power_on_bytes(pa, out),
        }
    }

    pub fn write_in_page(&mut self, pa: u64, data: &[u8]) {
        let off = (pa & (PAGE_SIZE - 1)) as usize;
        let pfn = pa >> PAGE_SHIFT;
        if off == 0 && data.len() == PAGE_SIZE as usize {
            // A whole frame: its power-on contents would all be overwritten.
            if let Ok(page) = <&[u8; PAGE_SIZE as usize]>::try_from(data) {
                match self.frames.slot(pfn) {
                    Some(FrameData { bytes: Some(f), .. }) => **f = *page,
                    s => *s = Some(FrameData::bytes(Box::new(*page))),
                }
                return;
            }
        }
        self.frame_mut(pfn)[off..off + data.len()].copy_from_slice(data);
    }

    pub fn fill_in_page(&mut self, pa: u64, len: usize, byte: u8) {
        let off = (pa & (PAGE_SIZE - 1)) as usize;
        if off == 0 && len == PAGE_SIZE as usize {
            // A whole frame: its power-on contents would all be overwritten.
            return self.fill_page(pa >> PAGE_SHIFT, byte);
        }
        self.frame_mut(pa >> PAGE_SHIFT)[off..off + len].fill(byte);
    }

    /// Fills a whole frame with one byte: O(1), whatever it held.
    pub fn fill_page(&mut self, pfn: u64, byte: u8) {
        *self.frames.slot(pfn) = Some(FrameData::uniform(byte));
    }

    /// The first offset in frame `pfn` whose byte differs from `byte`, if any; cheap for a
    /// never-written frame.
    pub fn find_not(&self, pfn: u64, byte: u8) -> Option<usize> {
        match self.frames.get(pfn) {
            Some(FrameData { bytes: Some(f), .. }) => first_not(&f[..], byte),
            Some(FrameData {
                bytes: None,
                uniform,
            }) => (*uniform != byte).then_some(0),
            None => match self.fill {
                PowerOnFill::Byte(b) if b == byte => None,
                _ => {
                    let mut buf = [0u8; PAGE_SIZE as usize];
                    self.power_on_bytes(pfn << PAGE_SHIFT, &mut buf);
                    first_not(&buf, byte)
                }
            },
        }
    }

    /// The first frame of [start, end) that holds a byte other than `byte`, with that byte's
    /// offset: what page poisoning's check of a new block asks. Never-written frames are
    /// answered a chunk at a time when the power-on fill is `byte` itself.
    pub fn find_not_in_frames(&self, start: u64, end: u64, byte: u8) -> Option<(u64, usize)> {
        if !matches!(self.fill, PowerOnFill::Byte(b) if b == byte) {
            // Never-written frames differ from `byte` each in its own way.
            return (start..end).find_map(|p| self.find_not(p, byte).map(|o| (p, o)));
        }
        let mut off = 0;
        let pfn = self.frames.find(start, end, |_, fd| {
            let found = match fd {
                None => None,
                Some(FrameData { bytes: Some(f), .. }) => first_not(&f[..], byte),
                Some(FrameData {
                    bytes: None,
                    uniform,
                }) => (*uniform != byte).then_some(0),
            };
            off = found.unwrap_or(0);
            found.is_some()
        })?;
        Some((pfn, off))
    }

    /// The first (or, with `last`, the last) offset in [off, off+n) of frame `pfn` whose
    /// byte is not `byte`: O(1) for a frame one byte fills, no copy for a materialised one.
    fn find_not_in_page(
        &self,
        pfn: u64,
        off: usize,
        n: usize,
        byte: u8,
        last: bool,
    ) -> Option<usize> {
        let scan = |s: &[u8]| {
            if last {
                last_not(s, byte)
            } else {
                first_not(s, byte)
            }
        };
        let whole = |u: u8| (u != byte).then_some(if last { n - 1 } else { 0 });
        match self.frames.get(pfn) {
            Some(FrameData { bytes: Some(f), .. }) => scan(&f[off..off + n]),
            Some(FrameData {
                bytes: None,
                uniform,
            }) => whole(*uniform),
            None => match self.fill {
                PowerOnFill::Byte(b) => whole(b),
                PowerOnFill::Junk => {
                    let mut buf = [0u8; PAGE_SIZE as usize];
                    self.power_on_bytes((pfn << PAGE_SHIFT) + off as u64, &mut buf[..n]);
                    scan(&buf[..n])
                }
            },
        }
    }

    /// The first offset in [pa, pa+len) (which may cross pages, each below max_pfn) whose
    /// byte is not `byte`, without copying: what a check of poison or a red zone needs.
    pub fn find_not_in(&self, pa: u64, len: u64, byte: u8) -> Option<u64> {
        let mut off = 0u64;
        while off < len {
            let p = pa + off;
            let n = (PAGE_SIZE - (p & (PAGE_SIZE - 1))).min(len - off);
            let in_page = (p & (PAGE_SIZE - 1)) as usize;
            if let Some(i) =
                self.find_not_in_page(p >> PAGE_SHIFT, in_page, n as usize, byte, false)
            {
                return Some(off + i as u64);
            }
            off += n;
        }
        None
    }

    /// The last offset in [pa, pa+len) whose byte is not `byte`.
    pub fn rfind_not_in(&self, pa: u64, len: u64, byte: u8) -> Option<u64> {
        let mut end = len;
        while end > 0 {
            // The piece [start, end) of the range that lies in the page of its last byte.
            let p_last = pa + end - 1;
            let in_page = p_last & (PAGE_SIZE - 1);
            let n = (in_page + 1).min(end);
            let start = end - n;
            let p = pa + start;
            let found = self.find_not_in_page(
                p >> PAGE_SHIFT,
                (p & (PAGE_SIZE - 1)) as usize,
                n as usize,
                byte,
                true,
            );
            if let Some(i) = found {
                return Some(start + i as u64);
            }
            end = start;
        }
        None
    }

    /// Appends the `n` bytes at `pa` (within one page) to `out`.
    pub fn read_in_page_into(&self, pa: u64, n: usize, out: &mut Vec<u8>) {
        let off = (pa & (PAGE_SIZE - 1)) as usize;
        match self.frames.get(pa >> PAGE_SHIFT) {
            Some(FrameData { bytes: Some(f), .. }) => out.extend_from_slice(&f[off..off + n]),
            Some(FrameData {
                bytes: None,
                uniform,
            }) => out.resize(out.len() + n, *uniform),
            None => {
                let start = out.len();
                out.resize(start + n, 0);
                self.power_on_bytes(pa, &mut out[start..]);
            }
        }
    }

    /// Reads bytes that may cross page boundaries (each page below max_pfn).
    pub fn read(&self, pa: u64, out: &mut [u8]) {
        let mut off = 0usize;
        while off < out.len() {
            let p = pa + off as u64;
            let n = ((PAGE_SIZE - (p & (PAGE_SIZE - 1))) as usize).min(out.len() - off);
            self.read_in_page(p, &mut out[off..off + n]);
            off += n;
        }
    }

    /// Writes bytes that may cross page boundaries (each page below max_pfn).
    pub fn write(&mut self, pa: u64, data: &[u8]) {
        let mut off = 0usize;
        while off < data.len() {
            let p = pa + off as u64;
            let n = ((PAGE_SIZE - (p & (PAGE_SIZE - 1))) as usize).min(data.len() - off);
            self.write_in_page(p, &data[off..off + n]);
            off += n;
        }
    }

    /// Writes little-endian words of `width` bytes (at most 8): each (pa, value) of `words`
    /// in turn, as [`PhysMem::write`] would. Consecutive words in one frame share one lookup
    /// of it: what chaining a new slab's free pointers costs is then the words, not the
    /// frames looked up for each.
    pub fn write_words(&mut self, width: usize, words: impl IntoIterator<Item = (u64, u64)>) {
        let width = width.min(8);
        let fits = |pa: u64| (pa & (PAGE_SIZE - 1)) as usize + width <= PAGE_SIZE as usize;
        let mut words = words.into_iter().peekable();
        while let Some((pa, value)) = words.next() {
            if !fits(pa) {
                // A word across two frames (never a free pointer): the general path.
                self.write(pa, &value.to_le_bytes()[..width]);
                continue;
            }
            let pfn = pa >> PAGE_SHIFT;
            let frame = self.frame_mut(pfn);
            let mut put = |pa: u64, value: u64| {
                let off = (pa & (PAGE_SIZE - 1)) as usize;
                frame[off..off + width].copy_from_slice(&value.to_le_bytes()[..width]);
            };
            put(pa, value);
            while let Some((pa, value)) =
                words.next_if(|&(pa, _)| pa >> PAGE_SHIFT == pfn && fits(pa))
            {
                put(pa, value);
            }
        }
    }

    /// Frames materialised so far (the cost of a run).
    pub fn materialised(&self) -> usize {
        self.frames.count()
    }
}

/// Bytes compared at once by [`first_not`] and [`last_not`].
const SCAN_CHUNK: usize = 64;

/// The first index of `s` whose byte is not `byte`. Whole chunks are compared at once (one
/// slice comparison each); the byte is looked for only in the first chunk that differs.
fn first_not(s: &[u8], byte: u8) -> Option<usize> {
    let same = [byte; SCAN_CHUNK];
    let mut chunks = s.chunks_exact(SCAN_CHUNK);
    let mut base = 0;
    for c in chunks.by_ref() {
        if c != same {
            return c.iter().position(|&b| b != byte).map(|i| base + i);
        }
        base += SCAN_CHUNK;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b != byte)
        .map(|i| base + i)
}

/// The last index of `s` whose byte is not `byte`, as [`first_not`] finds the first.
fn last_not(s: &[u8], byte: u8) -> Option<usize> {
    let same = [byte; SCAN_CHUNK];
    let mut chunks = s.rchunks_exact(SCAN_CHUNK);
    let mut end = s.len();
    for c in chunks.by_ref() {
        if c != same {
            return c
                .iter()
                .rposition(|&b| b != byte)
                .map(|i| end - SCAN_CHUNK + i);
        }
        end -= SCAN_CHUNK;
    }
    chunks.remainder().iter().rposition(|&b| b != byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_words_writes_what_write_does_word_by_word() {
        let words = [
            (0x1ff8, 0x0102_0304_0506_0708),
            (0x1000, 7),
            (0x1ffd, u64::MAX), // across two frames
            (0x2000, 0xdead_beef),
            (0x5010, 0x11),
        ];
        for width in [4, 8] {
            for fill in [PowerOnFill::Junk, PowerOnFill::Byte(0x6b)] {
                let (mut a, mut b) = (PhysMem::new(16, fill), PhysMem::new(16, fill));
                b.fill_page(5, 0x5a);
                a.fill_page(5, 0x5a);
                a.write_words(width, words);
                for (pa, v) in words {
                    b.write(pa, &v.to_le_bytes()[..width]);
                }
                let (mut x, mut y) = ([0u8; PAGE_SIZE as usize], [0u8; PAGE_SIZE as usize]);
                for pfn in 0..16 {
                    a.read_in_page(pfn << PAGE_SHIFT, &mut x);
                    b.read_in_page(pfn << PAGE_SHIFT, &mut y);
                    assert_eq!(x, y, "frame {pfn}, width {width}, {fill:?}");
                }
                assert_eq!(a.materialised(), b.materialised());
            }
        }
    }

    #[test]
    fn unwritten_memory_is_defined_and_lazy() {
        let mut m = PhysMem::new(1 << 20, PowerOnFill::Junk);
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        m.read_in_page(0x12340, &mut a);
        m.read_in_page(0x12340, &mut b);
        assert_eq!(a, b);
        assert!(a.iter().all(|&x| x != 0));
        assert_eq!(m.materialised(), 0);
        m.write_in_page(0x12344, &[1, 2, 3]);
        m.read_in_page(0x12340, &mut b);
        assert_eq!(&b[4..7], &[1, 2, 3]);
        assert_eq!(b[0], a[0], "rest of the frame keeps its power-on contents");
        assert_eq!(m.materialised(), 1);
    }

    #[test]
    fn word_junk_is_byte_junk() {
        for start in [0u64, 1, 3, 7, 8, 13, 0x1234_5678_9abc, (1 << 52) + 5] {
            for len in [0usize, 1, 5, 8, 9, 23, 64] {
                let mut out = vec![0u8; len];
                power_on_bytes(PowerOnFill::Junk, start, &mut out);
                let want: Vec<u8> = (0..len as u64).map(|i| junk(start + i)).collect();
                assert_eq!(out, want, "pa {start:#x} len {len}");
            }
        }
        for pfn in [0u64, 7, 0x1_2345] {
            let f = power_on_frame(PowerOnFill::Junk, pfn);
            let want: Vec<u8> = (0..PAGE_SIZE)
                .map(|i| junk((pfn << PAGE_SHIFT) + i))
                .collect();
            assert_eq!(&f[..], &want[..], "pfn {pfn:#x}");
        }
    }

    #[test]
    fn whole_page_writes_skip_power_on_but_partial_ones_keep_it() {
        let mut m = PhysMem::new(16, PowerOnFill::Junk);
        m.fill_in_page(2 << 12, 4096, 7);
        assert_eq!(m.find_not(2, 7), None);
        let page: Vec<u8> = (0..4096).map(|i| i as u8).collect();
        m.write_in_page(3 << 12, &page);
        let mut back = vec![0u8; 4096];
        m.read_in_page(3 << 12, &mut back);
        assert_eq!(back, page);
        m.fill_in_page(4 << 12 | 1, 4095, 9);
        let mut b = [0u8; 2];
        m.read_in_page(4 << 12, &mut b);
        assert_eq!(b, [junk(4 << 12), 9]);
        assert_eq!(m.materialised(), 3);
    }

    /// The frame-range search answers what asking every frame answers, over chunks never
    /// written, chunks partly written, and frames written then filled again.
    #[test]
    fn frame_range_search_agrees_with_every_frame() {
        for fill in [PowerOnFill::Junk, PowerOnFill::Byte(0xaa)] {
            let mut m = PhysMem::new(4096, fill);
            m.fill_page(700, 0xaa);
            m.fill_page(701, 0x00);
            m.fill_in_page((1030 << 12) + 17, 2, 0x11);
            m.fill_page(1031, 0xaa);
            m.fill_in_page((1031 << 12) + 4095, 1, 0x01);
            m.fill_page(2047, 0xaa);
            m.fill_page(3000, 0xab);
            for (start, end) in [
                (0, 4096),
                (0, 700),
                (700, 702),
                (702, 1031),
                (1024, 2048),
                (1032, 3000),
                (2048, 4096),
                (5, 5),
            ] {
                for byte in [0xaa, 0x00] {
                    let mut from = start;
                    while from < end {
                        let want = (from..end).find_map(|p| m.find_not(p, byte).map(|o| (p, o)));
                        assert_eq!(
                            m.find_not_in_frames(from, end, byte),
                            want,
                            "{fill:?} {from}..{end} {byte:#x}"
                        );
                        match want {
                            Some((p, _)) => from = p + 1,
                            None => break,
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn range_searches_agree_with_a_byte_by_byte_read() {
        for fill in [PowerOnFill::Junk, PowerOnFill::Byte(0xaa)] {
            let mut m = PhysMem::new(16, fill);
            m.fill_page(1, 0x6b);
            m.fill_page(2, 0x6b);
            m.fill_page(3, 0x6b);
            m.fill_in_page((2 << 12) + 100, 3, 0x11);
            m.fill_in_page((3 << 12) + 4000, 1, 0x6a);
            m.fill_page(5, 0xaa);
            let mut all = vec![0u8; 16 << 12];
            m.read(0, &mut all);
            for (pa, len) in [
                (0u64, 16u64 << 12),
                (1 << 12, 3 << 12),
                ((1 << 12) + 5, 200),
                ((2 << 12) + 99, 5),
                ((2 << 12) + 104, 4000),
                ((2 << 12) + 104, 8000),
                ((3 << 12) + 4001, 95),
                (5 << 12, 4096),
                ((4 << 12) + 7, 4096),
                (0, 0),
            ] {
                for byte in [0x6b, 0xaa, 0x11] {
                    let s = &all[pa as usize..(pa + len) as usize];
                    let first = s.iter().position(|&b| b != byte).map(|i| i as u64);
                    let last = s.iter().rposition(|&b| b != byte).map(|i| i as u64);
                    assert_eq!(
                        m.find_not_in(pa, len, byte),
                        first,
                        "{fill:?} {pa:#x}+{len} {byte:#x}"
                    );
                    assert_eq!(
                        m.rfind_not_in(pa, len, byte),
                        last,
                        "{fill:?} {pa:#x}+{len} {byte:#x}"
                    );
                }
                let mut v = vec![9u8];
                let mut off = 0;
                while off < len {
                    let p = pa + off;
                    let n = (PAGE_SIZE - (p & (PAGE_SIZE - 1))).min(len - off);
                    m.read_in_page_into(p, n as usize, &mut v);
                    off += n;
                }
                assert_eq!(&v[1..], &all[pa as usize..(pa + len) as usize]);
            }
        }
    }

    #[test]
    fn materialised_frames_keep_their_power_on_contents() {
        let mut m = PhysMem::new(16, PowerOnFill::Junk);
        let mut before = vec![0u8; 4096];
        m.read_in_page(7 << 12, &mut before);
        m.write_in_page((7 << 12) + 10, &[1]);
        let mut after = vec![0u8; 4096];
        m.read_in_page(7 << 12, &mut after);
        before[10] = 1;
        assert_eq!(before, after);
    }

    #[test]
    fn poison_fill() {
        let mut m = PhysMem::new(16, PowerOnFill::Byte(0xaa));
        assert_eq!(m.find_not(3, 0xaa), None);
        m.fill_in_page(3 << 12 | 100, 1, 0);
        assert_eq!(m.find_not(3, 0xaa), Some(100));
    }

    /// The chunked scans find what a byte-by-byte scan finds, wherever the odd byte is and
    /// however long the slice.
    #[test]
    fn chunked_scans_find_the_bytes_a_plain_scan_finds() {
        for len in [0usize, 1, 63, 64, 65, 127, 128, 200, 4096] {
            let odd = [None, Some(0), Some(len / 2), Some(len.saturating_sub(1))];
            for at in odd.into_iter().chain((0..len).step_by(61).map(Some)) {
                let mut s = vec![0x6bu8; len];
                if let Some(i) = at.filter(|&i| i < len) {
                    s[i] = 0x11;
                    if i + 70 < len {
                        s[i + 70] = 0x22;
                    }
                }
                assert_eq!(
                    first_not(&s, 0x6b),
                    s.iter().position(|&b| b != 0x6b),
                    "{len} {at:?}"
                );
                assert_eq!(
                    last_not(&s, 0x6b),
                    s.iter().rposition(|&b| b != 0x6b),
                    "{len} {at:?}"
                );
            }
        }
    }
}
