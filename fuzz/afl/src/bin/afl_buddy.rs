#![forbid(unsafe_code)]
// AFL++ twin of fuzz/fuzz_targets/buddy.rs.
fn main() { afl::fuzz!(|input: kmem_oracle::BuddyInput| kmem_oracle::fuzz::run(&input.0)); }
