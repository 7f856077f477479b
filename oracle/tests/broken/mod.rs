//! Implementations of kmem's seams that live in the tests: deliberately broken ones, which
//! the checker must catch, and legal variants, which it must pass. Each test crate uses the
//! part it needs.
#![allow(dead_code)]

pub mod free_blocks;
pub mod page_allocator;
