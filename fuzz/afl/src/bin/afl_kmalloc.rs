#![forbid(unsafe_code)]
// AFL++ twin of fuzz/fuzz_targets/kmalloc.rs.
fn main() { afl::fuzz!(|input: kmem_oracle::KmallocInput| kmem_oracle::fuzz::run(&input.0)); }
