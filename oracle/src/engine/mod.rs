//! Engines: other people's allocators judged by the oracle (docs/engines.md).
//!
//! An engine is an allocator of one [`Kind`] — a frame allocator ([`FrameEngine`]), a heap
//! or object allocator over a byte arena ([`HeapEngine`]), or an address-space allocator
//! ([`RangeEngine`]) — that declares the contract [`Level`] it promises. The checker
//! ([`check_engine`]) runs an engine scenario (`engine NAME arena=SIZE`, then `allocate`,
//! `free`, `reallocate`, `write` and `read` statements) on it beside a reference model of the
//! live blocks and their bytes, and judges exactly that level. The generator
//! ([`generate_engine`]) turns fuzzer bytes into such scenarios; [`fuzz`] is what a
//! three-line fuzz target calls.
//!
//! Everything here is safe Rust (the crate forbids anything else): an engine whose
//! allocator's API needs more keeps that in its adapter (the `kmemfuzz-engines` crate, or
//! the user's own crate).

mod api;
mod check;
mod contract;
mod generate;
mod model;
mod render;
mod text;

pub use crate::verdict::Verdict;
pub use api::{
    arena_start, layout, Arena, Engine, Factory, FrameDriver, FrameEngine, HeapEngine, RangeDriver,
    RangeEngine, SimHeapDriver, SimMemory,
};
pub use check::{check_engine, EngineOptions};
pub use contract::{Fit, Info, Kind, Level, Preconditions};
pub use generate::{arenas, engine_scenario_from_bytes, generate_engine, MAX_OPS};
pub use render::engine_text;
pub use text::{is_engine_text, parse_engine, size_text, EngineScenario, DEFAULT_ARENA};

/// The fuzz target of an engine: decode the bytes into a scenario for it, check it, and
/// panic with the verdict and the scenario's text when the verdict is fail.
pub fn fuzz(data: &[u8], info: &Info, make: Factory) {
    let s = engine_scenario_from_bytes(data, info);
    let v = check_engine(&s, &make, EngineOptions::FUZZ);
    if !v.pass() {
        panic!("{}", crate::fuzz::failure_message(&v, &s.to_string()));
    }
}

#[cfg(test)]
mod tests;
