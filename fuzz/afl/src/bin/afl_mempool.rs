#![forbid(unsafe_code)]
// AFL++ twin of fuzz/fuzz_targets/mempool.rs.
fn main() { afl::fuzz!(|input: kmem_oracle::MempoolInput| kmem_oracle::fuzz::run(&input.0)); }
