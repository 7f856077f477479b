//! What the page allocator tells an observer: the `kmem:mm_page_alloc` and `kmem:mm_page_free`
//! tracepoints of Linux (include/trace/events/kmem.h), reduced to the pfn and the order.

/// One block handed out (mm_page_alloc) or taken back (mm_page_free) by the page allocator,
/// whoever asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEvent {
    Alloc { pfn: u64, order: u32 },
    Free { pfn: u64, order: u32 },
}
