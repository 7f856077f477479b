//! The metadata SLUB keeps behind an object with SLAB_STORE_USER: the alloc and free
//! tracks (struct track) and, for kmalloc caches, the requested size (set_orig_size()).

use crate::machine::Machine;

/// Which track: TRACK_ALLOC or TRACK_FREE.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackItem {
    Alloc = 0,
    Free = 1,
}

impl Machine {
    /// set_track(): writes a track into the object's metadata, in simulated memory.
    pub(crate) fn set_track(&mut self, id: usize, obj: u64, which: TrackItem) {
        let c = &self.slub.caches[id];
        let Some(toff) = c.layout.track_offset else {
            return;
        };
        let ts = c.layout.track_size as u64;
        let t = obj + toff as u64 + which as u64 * ts;
        let ip = self.caller_ip();
        let when = self.slub.caller;
        match self.layout.arch {
            crate::Arch::I386 => {
                let mut b = [0u8; 20];
                b[0..4].copy_from_slice(&(ip as u32).to_le_bytes());
                b[12..16].copy_from_slice(&crate::context::TASK_PID.to_le_bytes());
                b[16..20].copy_from_slice(&(when as u32).to_le_bytes());
                self.phys_write(self.slab_pa(t), &b);
            }
            crate::Arch::X86_64 => {
                let mut b = [0u8; 32];
                b[0..8].copy_from_slice(&ip.to_le_bytes());
                b[16..20].copy_from_slice(&crate::context::TASK_PID.to_le_bytes());
                b[24..32].copy_from_slice(&when.to_le_bytes());
                self.phys_write(self.slab_pa(t), &b);
            }
        }
    }

    /// A track as (addr, cpu, pid, when), read back from memory.
    pub(crate) fn get_track(
        &self,
        id: usize,
        obj: u64,
        which: TrackItem,
    ) -> Option<(u64, u32, u32, u64)> {
        let c = &self.slub.caches[id];
        let toff = c.layout.track_offset?;
        let t = obj + toff as u64 + which as u64 * c.layout.track_size as u64;
        Some(match self.layout.arch {
            crate::Arch::I386 => (
                self.read_word(t, 4),
                self.read_word(t + 8, 4) as u32,
                self.read_word(t + 12, 4) as u32,
                self.read_word(t + 16, 4),
            ),
            crate::Arch::X86_64 => (
                self.read_word(t, 8),
                self.read_word(t + 12, 4) as u32,
                self.read_word(t + 16, 4) as u32,
                self.read_word(t + 24, 8),
            ),
        })
    }

    /// set_orig_size(): the requested kmalloc size, kept with U on kmalloc caches.
    pub(crate) fn set_orig_size(&mut self, id: usize, obj: u64, orig: u32) {
        if let Some(o) = self.slub.caches[id].layout.orig_size_offset {
            self.write_word(obj + o as u64, 4, orig as u64);
        }
    }

    /// get_orig_size(): object_size when the cache keeps none.
    pub(crate) fn get_orig_size(&self, id: usize, obj: u64) -> u32 {
        let c = &self.slub.caches[id];
        match c.layout.orig_size_offset {
            // A client may have overwritten it: never beyond object_size.
            Some(o) => (self.read_word(obj + o as u64, 4) as u32).min(c.layout.object_size),
            None => c.layout.object_size,
        }
    }
}
