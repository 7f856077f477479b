#![forbid(unsafe_code)]
// AFL++ twin of fuzz/fuzz_targets/vmalloc.rs.
fn main() { afl::fuzz!(|input: kmem_oracle::VmallocInput| kmem_oracle::fuzz::run(&input.0)); }
