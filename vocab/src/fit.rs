//! What a vmalloc address space promises about where it places an area: the part of the
//! `VmapSpace` seam's contract the oracle's prediction of addresses depends on.

/// The placement rule of a vmalloc address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmapFit {
    /// alloc_vmap_area()'s rule in Linux 6.6: the lowest free range above VMALLOC_START
    /// that holds the area and its guard page at the alignment asked (for an alignment above
    /// PAGE_SIZE, a free block no higher than the lowest one of size + align - 1 bytes). The
    /// oracle predicts every address and every failure for want of address space.
    Lowest,
    /// Any range that fits (a top-down search, another range allocator): the oracle checks
    /// only that the area lies in the space, aligned, overlapping nothing, and that a
    /// failure leaves no free range of size + align - 1 bytes.
    Any,
}
