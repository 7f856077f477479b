//! One adapter per allocator crate, each a few dozen lines behind one engine trait.

pub mod bitmap_allocator;
pub mod buddy_alloc;
pub mod buddy_system_allocator;
pub mod free_list;
pub mod kmem_buddy;
pub mod kmem_vmap;
pub mod linked_list_allocator;
pub mod rlsf;
pub mod slabmalloc;
pub mod talc;
