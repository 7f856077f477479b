#![forbid(unsafe_code)]
// AFL++ twin of fuzz/fuzz_targets/kmap.rs.
fn main() { afl::fuzz!(|input: kmem_oracle::KmapInput| kmem_oracle::fuzz::run(&input.0)); }
