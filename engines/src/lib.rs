//! `kmemfuzz-engines`: other people's allocators behind kmemfuzz's engine traits
//! (`kmem_oracle::engine`), each fuzzed against the engine oracle (docs/engines.md).
//!
//! Unsafe code: this crate is the one place of the project allowed it, because the
//! allocators' own APIs need it (raw arenas, `init` over raw memory, frees of raw
//! pointers). It stays in [`arena`] and in the adapters under [`adapters`], and every
//! `unsafe` block carries a `// SAFETY:` comment saying why its contract holds. Every other
//! crate of the project keeps `#![forbid(unsafe_code)]`.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod adapters;
pub mod arena;
pub mod machine;

pub use arena::{HeapDriver, RawArena};
pub use kmem_oracle::engine;
pub use machine::fuzz_kernel;

use kmem_oracle::engine::{
    check_engine, engine_scenario_from_bytes, EngineOptions, EngineScenario, Factory, FrameDriver,
    Info, RangeDriver, Verdict,
};

use adapters::*;

/// One engine of the registry: its fuzz target's name, what it promises, how to build it.
#[derive(Clone, Copy)]
pub struct Registered {
    pub target: &'static str,
    pub info: Info,
    pub make: Factory,
}

/// Every engine kmemfuzz runs, by fuzz target.
pub fn registry() -> Vec<Registered> {
    use kmem_oracle::engine::{FrameEngine as _, HeapEngine as _, RangeEngine as _};
    let r = |target, info, make| Registered { target, info, make };
    vec![
        r(
            "engine_kmem_buddy",
            kmem_buddy::KmemBuddy::INFO,
            FrameDriver::<kmem_buddy::KmemBuddy>::factory(),
        ),
        r(
            "engine_kmem_vmap",
            kmem_vmap::KmemVmap::INFO,
            RangeDriver::<kmem_vmap::KmemVmap>::factory(),
        ),
        r(
            "engine_bsa_heap",
            buddy_system_allocator::BsaHeap::INFO,
            HeapDriver::<buddy_system_allocator::BsaHeap>::factory(),
        ),
        r(
            "engine_bsa_frame",
            buddy_system_allocator::BsaFrames::INFO,
            FrameDriver::<buddy_system_allocator::BsaFrames>::factory(),
        ),
        r(
            "engine_linked_list",
            linked_list_allocator::LinkedList::INFO,
            HeapDriver::<linked_list_allocator::LinkedList>::factory(),
        ),
        r(
            "engine_talc",
            talc::Talc::INFO,
            HeapDriver::<talc::Talc>::factory(),
        ),
        r(
            "engine_rlsf",
            rlsf::Rlsf::INFO,
            HeapDriver::<rlsf::Rlsf>::factory(),
        ),
        r(
            "engine_slabmalloc",
            slabmalloc::Slabmalloc::INFO,
            HeapDriver::<slabmalloc::Slabmalloc>::factory(),
        ),
        r(
            "engine_bitmap",
            bitmap_allocator::Bitmap::INFO,
            FrameDriver::<bitmap_allocator::Bitmap>::factory(),
        ),
        r(
            "engine_free_list",
            free_list::HermitFreeList::INFO,
            RangeDriver::<free_list::HermitFreeList>::factory(),
        ),
        r(
            "engine_buddy_alloc",
            buddy_alloc::BuddyAlloc::INFO,
            HeapDriver::<buddy_alloc::BuddyAlloc>::factory(),
        ),
    ]
}

/// The engine named `name` (as in `engine NAME` lines), or the one whose fuzz target it is.
pub fn by_name(name: &str) -> Option<Registered> {
    registry()
        .into_iter()
        .find(|r| r.info.name == name || r.target == name)
}

/// The names of every engine, for messages.
pub fn names() -> String {
    registry()
        .iter()
        .map(|r| r.info.name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The engine an engine scenario names, if it has that name and takes that arena (its length
/// and offset: [`Info::refuses_arena`]); else a
/// one-line message with the line and column.
pub fn resolve(s: &EngineScenario) -> Result<Registered, String> {
    let Some(r) = by_name(&s.engine) else {
        let (l, c) = s.name_at;
        return Err(format!(
            "{l}:{c}: unknown engine '{}' (one of: {})",
            s.engine,
            names()
        ));
    };
    let i = r.info;
    if let Some(why) = i.refuses_arena(s.arena, s.offset) {
        let in_len = i.refuses_arena(s.arena, 0).is_some();
        let (l, c) = if in_len { s.arena_at } else { s.offset_at };
        return Err(format!("{l}:{c}: {why}"));
    }
    Ok(r)
}

/// Checks an engine scenario on the engine it names (see [`resolve`] for the errors).
pub fn check(s: &EngineScenario, opts: EngineOptions) -> Result<Verdict, String> {
    let r = resolve(s)?;
    Ok(check_engine(s, &r.make, opts))
}

/// What the fuzz target `target` does with its bytes (panics on a failed verdict).
pub fn fuzz(target: &str, data: &[u8]) {
    match by_name(target) {
        Some(r) => kmem_oracle::engine::fuzz(data, &r.info, r.make),
        None => panic!("no engine target '{target}'"),
    }
}

/// The scenario a fuzz target's input decodes to (for `kmemfuzz show`).
pub fn scenario_for(target: &str, data: &[u8]) -> Option<EngineScenario> {
    by_name(target).map(|r| engine_scenario_from_bytes(data, &r.info))
}

/// Your own engine, as your fuzz target runs it: `fuzz_heap::<MyEngine>(data)` decodes the
/// bytes into a scenario for it, checks it, and panics with the failures and the scenario's
/// text (a readable `.kmem` reproducer) when it fails. Known bugs declared in its `INFO`
/// are kept out.
pub fn fuzz_heap<E: kmem_oracle::engine::HeapEngine>(data: &[u8]) {
    kmem_oracle::engine::fuzz(data, &E::INFO, HeapDriver::<E>::factory())
}

/// [`fuzz_heap`] for a frame engine.
pub fn fuzz_frame<E: kmem_oracle::engine::FrameEngine>(data: &[u8]) {
    kmem_oracle::engine::fuzz(data, &E::INFO, FrameDriver::<E>::factory())
}

/// [`fuzz_heap`] for a range engine.
pub fn fuzz_range<E: kmem_oracle::engine::RangeEngine>(data: &[u8]) {
    kmem_oracle::engine::fuzz(data, &E::INFO, RangeDriver::<E>::factory())
}

/// Replays an engine scenario (the text of a reproducer) on your heap engine: the replay
/// text, as `kmemfuzz replay` prints it, and whether it passed; Err for text that does not
/// parse (`LINE:COL: message`).
pub fn replay_heap<E: kmem_oracle::engine::HeapEngine>(
    text: &str,
) -> Result<(bool, String), String> {
    let s = kmem_oracle::engine::parse_engine(text).map_err(|e| e.to_string())?;
    let v = check_engine(&s, &HeapDriver::<E>::factory(), EngineOptions::REPLAY);
    Ok((v.pass(), kmem_oracle::engine::engine_text(&s, &v)))
}
