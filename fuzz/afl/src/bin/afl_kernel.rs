#![forbid(unsafe_code)]
// AFL++ twin of fuzz/fuzz_targets/kernel.rs.
fn main() { afl::fuzz!(|input: kmem_oracle::KernelInput| kmem_oracle::fuzz::run(&input.0)); }
