//! The object checks of a cache: which areas of an object check_object() compares with the
//! byte each must hold (the seam [`ObjectChecks`]), and kmem's own answer, Linux 6.6's
//! ([`SlubChecks`]). Reading the bytes, reporting and restoring them stays with SLUB's
//! debugging (`debug.rs`).

use super::{SlotLayout, POISON_END, POISON_FREE, POISON_INUSE, SLUB_RED_ACTIVE};

/// One area of an object that check_object() compares with the byte it must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckArea {
    /// check_bytes_and_report()'s name for it ("Left Redzone", "Poison", ...).
    pub what: &'static str,
    /// Its first byte, as an offset from the object pointer (negative in the left red zone).
    pub start: i64,
    pub len: u64,
    /// The byte every byte of it must hold.
    pub value: u8,
    /// Whether a mismatch ends the check of the object (check_object() returns at once).
    pub stop: bool,
}

/// The areas of one check, in order (at most [`CheckAreas::CAPACITY`]; more are dropped).
#[derive(Clone, Copy, Debug)]
pub struct CheckAreas {
    areas: [Option<CheckArea>; CheckAreas::CAPACITY],
    len: usize,
}

impl CheckAreas {
    pub const CAPACITY: usize = 8;

    pub fn new() -> CheckAreas {
        CheckAreas {
            areas: [None; CheckAreas::CAPACITY],
            len: 0,
        }
    }

    pub fn push(&mut self, area: CheckArea) {
        if let Some(slot) = self.areas.get_mut(self.len) {
            *slot = Some(area);
            self.len += 1;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = CheckArea> + '_ {
        self.areas[..self.len].iter().flatten().copied()
    }
}

impl Default for CheckAreas {
    fn default() -> Self {
        CheckAreas::new()
    }
}

/// The object check_object() is asked about.
#[derive(Clone, Copy, Debug)]
pub struct CheckedObject {
    pub layout: SlotLayout,
    /// SLAB_RED_ZONE and SLAB_POISON of the cache, and __OBJECT_POISON (poison without a
    /// constructor).
    pub red_zone: bool,
    pub poison: bool,
    pub object_poison: bool,
    /// SLUB_RED_ACTIVE for an allocated object, SLUB_RED_INACTIVE for a free one.
    pub val: u8,
    /// The requested size (orig_size) of an allocated object, when the cache keeps it and
    /// has red zones.
    pub orig_size: Option<u32>,
}

/// Which areas of an object SLUB's debugging checks, in which order.
///
/// Real alternatives: Linux releases differ in what check_object() inspects (before
/// orig_size was kept for kmalloc caches nothing checked the bytes between the requested
/// size and the object size), and the SLAB allocator it replaced checked its red-zone
/// words and poison in its own way (mm/slab.c, until 6.8). kmem checks as Linux 6.6 does
/// ([`SlubChecks`]).
pub trait ObjectChecks {
    /// Pushes the areas to compare onto `out`, in the order they are checked.
    fn areas(&self, object: &CheckedObject, out: &mut CheckAreas);
}

/// check_object() of Linux 6.6 (mm/slub.c): the red zones (the kmalloc red zone beyond
/// orig_size included), or the alignment padding without red zones; then, with poisoning,
/// the poison of a free object and the padding after the metadata.
#[derive(Clone, Copy, Debug, Default)]
pub struct SlubChecks;

impl ObjectChecks for SlubChecks {
    fn areas(&self, o: &CheckedObject, out: &mut CheckAreas) {
        let l = o.layout;
        let object_size = i64::from(l.object_size);
        let right = u64::from(l.inuse.saturating_sub(l.object_size));
        if o.red_zone {
            out.push(CheckArea {
                what: "Left Redzone",
                start: -i64::from(l.red_left_pad),
                len: u64::from(l.red_left_pad),
                value: o.val,
                stop: true,
            });
            out.push(CheckArea {
                what: "Right Redzone",
                start: object_size,
                len: right,
                value: o.val,
                stop: true,
            });
            if let Some(orig) = o.orig_size.filter(|&s| s < l.object_size) {
                if o.val == SLUB_RED_ACTIVE {
                    out.push(CheckArea {
                        what: "kmalloc Redzone",
                        start: i64::from(orig),
                        len: u64::from(l.object_size - orig),
                        value: o.val,
                        stop: true,
                    });
                }
            }
        } else if o.poison && l.object_size < l.inuse {
            out.push(CheckArea {
                what: "Alignment padding",
                start: object_size,
                len: right,
                value: POISON_INUSE,
                stop: false,
            });
        }
        if o.poison {
            if o.val != SLUB_RED_ACTIVE && o.object_poison {
                out.push(CheckArea {
                    what: "Poison",
                    start: 0,
                    len: u64::from(l.object_size.saturating_sub(1)),
                    value: POISON_FREE,
                    stop: true,
                });
                out.push(CheckArea {
                    what: "End Poison",
                    start: object_size - 1,
                    len: 1,
                    value: POISON_END,
                    stop: true,
                });
            }
            // check_pad_bytes().
            if l.pad_offset != l.size_from_object {
                out.push(CheckArea {
                    what: "Object padding",
                    start: i64::from(l.pad_offset),
                    len: u64::from(l.size_from_object - l.pad_offset),
                    value: POISON_INUSE,
                    stop: false,
                });
            }
        }
    }
}
