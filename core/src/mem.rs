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
struct FrameData {
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

fn power_on_frame(fill: PowerOnFill, pfn: u64) -> Frame {
    let mut f: Frame = Box::new([0u8; PAGE_SIZE as usize]);
    power_on_bytes(fill, pfn << PAGE_SHIFT, &mut f[..]);
    f
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
        fd.bytes
            .get_or_insert_with(|| Box::new([u; PAGE_SIZE as usize]))
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
            Some(FrameData { bytes: Some(f), .. }) => f.iter().position(|&b| b != byte),
            Some(FrameData {
                bytes: None,
                uniform,
            }) => (*uniform != byte).then_some(0),
            None => match self.fill {
                PowerOnFill::Byte(b) if b == byte => None,
                _ => {
                    let mut buf = [0u8; PAGE_SIZE as usize];
                    self.power_on_bytes(pfn << PAGE_SHIFT, &mut buf);
                    buf.iter().position(|&b| b != byte)
                }
            },
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

    /// Frames materialised so far (the cost of a run).
    pub fn materialised(&self) -> usize {
        self.frames.count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn poison_fill() {
        let mut m = PhysMem::new(16, PowerOnFill::Byte(0xaa));
        assert_eq!(m.find_not(3, 0xaa), None);
        m.fill_in_page(3 << 12 | 100, 1, 0);
        assert_eq!(m.find_not(3, 0xaa), Some(100));
    }
}
