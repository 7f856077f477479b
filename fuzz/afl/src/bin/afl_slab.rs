#![forbid(unsafe_code)]
// AFL++ twin of fuzz/fuzz_targets/slab.rs.
fn main() { afl::fuzz!(|input: kmem_oracle::SlabInput| kmem_oracle::fuzz::run(&input.0)); }
