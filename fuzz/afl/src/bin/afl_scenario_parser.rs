#![forbid(unsafe_code)]
// AFL++ twin of fuzz/fuzz_targets/scenario_parser.rs.
fn main() { afl::fuzz!(|data: &[u8]| kmem_oracle::fuzz::parse_never_panics(data)); }
