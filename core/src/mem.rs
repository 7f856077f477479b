//! Physical memory: bytes live here, in 4 KiB frames materialised on first write.
//!
//! A frame never written reads as the machine's power-on contents: a deterministic junk
//! pattern derived from the physical address (as real DRAM holds garbage at boot), or 0xaa
//! when page poisoning is on (Linux poisons every page it frees into the buddy at boot).

use crate::radix::Radix;
use crate::{PAGE_SHIFT, PAGE_SIZE};

pub type Frame = Box<[u8; PAGE_SIZE as usize]>;

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
    frames: Radix<Frame>,
    fill: PowerOnFill,
}

/// The junk byte at physical address `pa`: cheap, deterministic, never all-zero.
#[inline]
fn junk(pa: u64) -> u8 {
    let x = (pa >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 56) as u8) ^ (pa as u8 & 7) | 1
}

impl PhysMem {
    pub fn new(max_pfn: u64, fill: PowerOnFill) -> Self {
        PhysMem {
            frames: Radix::new(max_pfn),
            fill,
        }
    }

    fn power_on_frame(&self, pfn: u64) -> Frame {
        let mut f: Frame = Box::new([0u8; PAGE_SIZE as usize]);
        self.power_on_bytes(pfn << PAGE_SHIFT, &mut f[..]);
        f
    }

    fn power_on_bytes(&self, pa: u64, out: &mut [u8]) {
        match self.fill {
            PowerOnFill::Byte(b) => out.fill(b),
            PowerOnFill::Junk => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = junk(pa + i as u64);
                }
            }
        }
    }

    fn frame_mut(&mut self, pfn: u64) -> &mut Frame {
        if self.frames.get(pfn).is_none() {
            let f = self.power_on_frame(pfn);
            *self.frames.slot(pfn) = Some(f);
        }
        self.frames.get_mut(pfn).expect("frame just materialised")
    }

    /// Reads bytes within one frame. `pa..pa+out.len()` must not cross a page boundary and
    /// must be below max_pfn (the MMU guarantees both).
    pub fn read_in_page(&self, pa: u64, out: &mut [u8]) {
        let off = (pa & (PAGE_SIZE - 1)) as usize;
        match self.frames.get(pa >> PAGE_SHIFT) {
            Some(f) => out.copy_from_slice(&f[off..off + out.len()]),
            None => self.power_on_bytes(pa, out),
        }
    }

    pub fn write_in_page(&mut self, pa: u64, data: &[u8]) {
        let off = (pa & (PAGE_SIZE - 1)) as usize;
        self.frame_mut(pa >> PAGE_SHIFT)[off..off + data.len()].copy_from_slice(data);
    }

    pub fn fill_in_page(&mut self, pa: u64, len: usize, byte: u8) {
        let off = (pa & (PAGE_SIZE - 1)) as usize;
        self.frame_mut(pa >> PAGE_SHIFT)[off..off + len].fill(byte);
    }

    /// Fills a whole frame with one byte without first materialising power-on contents.
    pub fn fill_page(&mut self, pfn: u64, byte: u8) {
        match self.frames.get_mut(pfn) {
            Some(f) => f.fill(byte),
            None => *self.frames.slot(pfn) = Some(Box::new([byte; PAGE_SIZE as usize])),
        }
    }

    /// The first offset in frame `pfn` whose byte differs from `byte`, if any; cheap for a
    /// never-written frame.
    pub fn find_not(&self, pfn: u64, byte: u8) -> Option<usize> {
        match self.frames.get(pfn) {
            Some(f) => f.iter().position(|&b| b != byte),
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
    fn poison_fill() {
        let mut m = PhysMem::new(16, PowerOnFill::Byte(0xaa));
        assert_eq!(m.find_not(3, 0xaa), None);
        m.fill_in_page(3 << 12 | 100, 1, 0);
        assert_eq!(m.find_not(3, 0xaa), Some(100));
    }
}
